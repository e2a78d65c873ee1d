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
    """

    obs: np.ndarray
    action: np.ndarray | None
    reward: np.ndarray
    success: np.ndarray | None = None
    terminated: bool = False

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
