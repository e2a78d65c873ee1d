"""In-memory containers for demonstrations, shared by the dataset loader, the runner and the methods.

Kept free of simulator and torch imports so every layer can use them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

KINDS = ("state-action", "obs-only", "embodiment")


@dataclass
class Episode:
    """One trajectory of T agent steps.

    obs: (T+1, *obs_shape) — obs[t] is the observation before action[t], obs[t+1] after it.
    action: (T, action_dim) float32, or None for observation-only data.
    reward: (T,) float32 (the environment's reward; imitation methods must not train on it).
    success: (T,) float32 in {0, 1}, or None where the suite defines no success.
    terminated: whether the episode ended in a terminal state (else it was truncated by the time limit).
    seed: the `env.reset(seed=...)` that produced obs[0], or None where unknown (e.g. training replay).
    """

    obs: np.ndarray
    action: np.ndarray | None
    reward: np.ndarray
    success: np.ndarray | None = None
    terminated: bool = False
    seed: int | None = None

    def __post_init__(self) -> None:
        T = len(self.reward)
        if len(self.obs) != T + 1:
            raise ValueError(f"Episode: obs has {len(self.obs)} rows, expected T+1 = {T + 1}")
        if self.action is not None and len(self.action) != T:
            raise ValueError(f"Episode: action has {len(self.action)} rows, expected T = {T}")

    def __len__(self) -> int:
        return len(self.reward)

    @property
    def pre_action(self) -> np.ndarray:
        """AIME's convention: the action that led to obs[t]; zeros at t = 0. Shape (T+1, action_dim)."""
        if self.action is None:
            raise ValueError("observation-only episode has no actions")
        return np.concatenate([np.zeros_like(self.action[:1]), self.action], axis=0)


@dataclass
class Demos:
    """A set of episodes plus the data card that describes where they came from."""

    episodes: list[Episode]
    kind: str = "state-action"
    card: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.episodes)

    @property
    def has_actions(self) -> bool:
        return all(ep.action is not None for ep in self.episodes)

    @property
    def n_steps(self) -> int:
        return sum(len(ep) for ep in self.episodes)

    def returns(self) -> np.ndarray:
        return np.array([float(ep.reward.sum()) for ep in self.episodes])

    def slice_index(self, horizon: int) -> np.ndarray:
        """All (episode, start) pairs that begin an (H+1)-observation slice, as an int array (M, 2)."""
        idx = [(i, t) for i, ep in enumerate(self.episodes) for t in range(len(ep) - horizon + 1)]
        return np.asarray(idx, dtype=np.int64).reshape(-1, 2)

    def transitions(self) -> dict[str, np.ndarray]:
        """All steps flattened for a transition buffer: obs, next_obs, reward, terminated (per step), success
        (where defined) and action (unless observation-only)."""
        eps = self.episodes
        out = {
            "obs": np.concatenate([ep.obs[:-1] for ep in eps]),
            "next_obs": np.concatenate([ep.obs[1:] for ep in eps]),
            "reward": np.concatenate([ep.reward for ep in eps]),
            "terminated": np.concatenate([np.arange(len(ep)) == len(ep) - 1 if ep.terminated
                                          else np.zeros(len(ep), bool) for ep in eps]),
        }
        if self.has_actions:
            out["action"] = np.concatenate([ep.action for ep in eps])
        if all(ep.success is not None for ep in eps):
            out["success"] = np.concatenate([ep.success for ep in eps])
        return out

    def slices(self, horizon: int, index: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """Stacked (H+1)-observation slices for the (episode, start) rows of `index` (default: all of
        `slice_index(horizon)`): obs (M, H+1, *obs_shape), reward (M, H), action (M, H, A) unless obs-only."""
        index = self.slice_index(horizon) if index is None else np.asarray(index).reshape(-1, 2)
        eps = self.episodes
        out = {
            "obs": np.stack([eps[i].obs[t:t + horizon + 1] for i, t in index]),
            "reward": np.stack([eps[i].reward[t:t + horizon] for i, t in index]),
        }
        if self.has_actions:
            out["action"] = np.stack([eps[i].action[t:t + horizon] for i, t in index])
        return out
