"""Replay buffer of (H+1)-observation slices from single episodes, for behavioural and expert data alike.

Episodes are stored contiguously: an episode of T steps takes T+1 rows; row t holds obs[t] and, for t < T,
the action and reward that followed it. A slice starting at row s uses obs rows s..s+H and actions s..s+H-1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from experts.demos import Episode


@dataclass
class SliceBatch:
    """obs (H+1, B, *obs_shape), action (H, B, A), reward (H, B, 1), all on the requested device."""

    obs: torch.Tensor
    action: torch.Tensor
    reward: torch.Tensor


class SliceBuffer:
    """Growable store of episodes with uniform sampling over all valid (H+1)-step slices."""

    def __init__(self, obs_shape: tuple[int, ...], action_dim: int, horizon: int, *, obs_dtype: Any = np.float32,
                 capacity: int = 4096, seed: int = 0) -> None:
        self.obs_shape, self.action_dim, self.horizon = tuple(obs_shape), action_dim, horizon
        self.obs = np.zeros((capacity, *obs_shape), dtype=obs_dtype)
        self.action = np.zeros((capacity, action_dim), dtype=np.float32)
        self.reward = np.zeros((capacity, 1), dtype=np.float32)
        self.rows = 0  # rows in use
        self.num_transitions = 0
        self.num_episodes = 0
        self._starts: list[int] = []
        self._ep_start: int | None = None  # row of the open episode's first obs (online adds)
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return self.num_transitions

    @property
    def num_slices(self) -> int:
        return len(self._starts)

    def _reserve(self, extra: int) -> None:
        need = self.rows + extra
        if need <= len(self.obs):
            return
        cap = max(need, 2 * len(self.obs))
        for name in ("obs", "action", "reward"):
            old = getattr(self, name)
            new = np.zeros((cap, *old.shape[1:]), dtype=old.dtype)
            new[: self.rows] = old[: self.rows]
            setattr(self, name, new)

    def add_episode(self, ep: Episode) -> None:
        """Append a whole episode (expert data)."""
        if ep.action is None:
            raise ValueError("SliceBuffer needs actions (state-action demonstrations)")
        T, r0 = len(ep), self.rows
        self._reserve(T + 1)
        self.obs[r0 : r0 + T + 1] = ep.obs
        self.action[r0 : r0 + T] = ep.action
        self.reward[r0 : r0 + T, 0] = ep.reward
        self.rows += T + 1
        self.num_transitions += T
        self.num_episodes += 1
        self._starts.extend(range(r0, r0 + T - self.horizon + 1))

    def add(self, obs: np.ndarray, action: np.ndarray, reward: float, next_obs: np.ndarray, done: bool) -> None:
        """Append one online transition; `done` (terminated or truncated) closes the episode."""
        self._reserve(2)
        if self._ep_start is None:
            self._ep_start = self.rows
            self.obs[self.rows] = obs
            self.rows += 1
        r = self.rows - 1  # row of obs (current last row)
        self.action[r] = action
        self.reward[r, 0] = reward
        self.obs[r + 1] = next_obs
        self.rows += 1
        self.num_transitions += 1
        s = r + 1 - self.horizon
        if s >= self._ep_start:
            self._starts.append(s)
        if done:
            self._ep_start = None
            self.num_episodes += 1

    def sample_starts(self, batch: int) -> np.ndarray:
        if not self._starts:
            raise RuntimeError("SliceBuffer.sample: no complete slice stored yet")
        return np.asarray(self._starts, dtype=np.int64)[self.rng.integers(0, len(self._starts), size=batch)]

    def gather(self, starts: np.ndarray, device: torch.device) -> SliceBatch:
        H = self.horizon
        rows = starts[None, :] + np.arange(H + 1)[:, None]  # (H+1, B)
        obs = torch.from_numpy(self.obs[rows]).to(device)
        action = torch.from_numpy(self.action[rows[:-1]]).to(device)
        reward = torch.from_numpy(self.reward[rows[:-1]]).to(device)
        return SliceBatch(obs, action, reward)

    def sample(self, batch: int, device: torch.device) -> SliceBatch:
        return self.gather(self.sample_starts(batch), device)

    def state_dict(self) -> dict[str, Any]:
        return {
            "obs": self.obs[: self.rows].copy(), "action": self.action[: self.rows].copy(),
            "reward": self.reward[: self.rows].copy(), "rows": self.rows, "num_transitions": self.num_transitions,
            "num_episodes": self.num_episodes, "starts": np.asarray(self._starts, dtype=np.int64),
            "ep_start": self._ep_start, "rng": self.rng.bit_generator.state,
        }

    def load_state_dict(self, s: dict[str, Any]) -> None:
        self.rows = 0
        self._reserve(int(s["rows"]))
        self.rows = int(s["rows"])
        self.obs[: self.rows], self.action[: self.rows], self.reward[: self.rows] = s["obs"], s["action"], s["reward"]
        self.num_transitions, self.num_episodes = int(s["num_transitions"]), int(s["num_episodes"])
        self._starts = [int(x) for x in s["starts"]]
        self._ep_start = None if s["ep_start"] is None else int(s["ep_start"])
        self.rng.bit_generator.state = s["rng"]
