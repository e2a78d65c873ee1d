"""One thin gymnasium.Env per suite: action repeat, time limit, trembling hand and frame stacking in a
single `step` (no wrapper stack), so the overhead over the raw simulator stays within a few percent."""

from __future__ import annotations

from collections import deque
from typing import Any

import gymnasium as gym
import numpy as np

from envs.spec import EnvSpec


class SuiteEnv(gym.Env):
    """Base for all suites. Subclasses implement `_raw_reset`, `_raw_step` and optionally `_render_rgb`.

    Contract: actions in [-1, 1]^action_dim; `episode_length` agent steps then `truncated=True`;
    `info["success"]` (float, 1.0 once the task is solved at any env step within this agent step) where the
    suite defines success; `info["env_steps"]` = simulator steps taken since reset.
    """

    metadata = {"render_modes": []}
    frame_stack = 3

    def __init__(
        self,
        spec: EnvSpec,
        seed: int,
        p_tremble: float = 0.0,
    ) -> None:
        if not 0.0 <= p_tremble <= 1.0:
            raise ValueError(f"p_tremble must be in [0, 1], got {p_tremble}")
        self.wmil_spec = spec
        self.p_tremble = float(p_tremble)
        self._seed = int(seed)
        self._tremble_rng = np.random.default_rng([self._seed, 7919])
        self._agent_steps = 0
        self._env_steps = 0
        self._frames: deque[np.ndarray] = deque(maxlen=self.frame_stack)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (spec.action_dim,), np.float32, seed=self._seed)
        if spec.obs_mode == "rgb":
            self.observation_space = gym.spaces.Box(0, 255, spec.obs_shape, np.uint8)
        else:
            self.observation_space = gym.spaces.Box(-np.inf, np.inf, spec.obs_shape, np.float32)
        self._needs_seed = True

    # -- subclass hooks ------------------------------------------------------------------------
    def _raw_reset(self, seed: int | None) -> np.ndarray:
        """Reset the simulator (reseeding it if `seed` is given); return the flat state obs."""
        raise NotImplementedError

    def _raw_step(self, action: np.ndarray) -> tuple[Any, float, bool, float]:
        """One simulator step: (native obs, reward, terminated, success in {0,1} or nan if undefined)."""
        raise NotImplementedError

    def _state(self, native_obs: Any) -> np.ndarray:
        """Native observation -> flat float32 state (called once per agent step, not per repeat)."""
        return native_obs

    def _render_rgb(self) -> np.ndarray:
        """64x64x3 uint8 frame of the current state (only suites that support obs='rgb')."""
        raise NotImplementedError

    # -- gymnasium API -------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        if seed is None and self._needs_seed:
            seed = self._seed
        if seed is not None:
            self._tremble_rng = np.random.default_rng([int(seed), 7919])
            self.action_space.seed(int(seed))
        self._needs_seed = False
        obs = self._raw_reset(seed)
        self._agent_steps = 0
        self._env_steps = 0
        info: dict[str, Any] = {"env_steps": 0}
        if self.wmil_spec.has_success:
            info["success"] = 0.0
        return self._observe(obs, reset=True), info

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict]:
        action = np.asarray(action, dtype=np.float64)
        if action.shape != (self.wmil_spec.action_dim,):
            raise ValueError(f"action shape {action.shape} != ({self.wmil_spec.action_dim},)")
        if self.p_tremble > 0.0 and self._tremble_rng.random() < self.p_tremble:
            action = self._tremble_rng.uniform(-1.0, 1.0, self.wmil_spec.action_dim)
        else:
            action = np.minimum(np.maximum(action, -1.0), 1.0)  # np.clip costs ~5x more on tiny arrays
        total_reward, success, terminated = 0.0, 0.0, False
        repeat = self.wmil_spec.action_repeat
        for _ in range(repeat):
            obs, reward, terminated, succ = self._raw_step(action)
            self._env_steps += 1
            total_reward += reward
            if succ > success:
                success = succ
            if terminated:
                break
        self._agent_steps += 1
        truncated = (not terminated) and self._agent_steps >= self.wmil_spec.episode_length
        info: dict[str, Any] = {"env_steps": self._env_steps, "applied_action": action}
        if self.wmil_spec.has_success:
            info["success"] = float(success)
        return self._observe(self._state(obs)), float(total_reward), bool(terminated), bool(truncated), info

    def _observe(self, state: np.ndarray, reset: bool = False) -> np.ndarray:
        if self.wmil_spec.obs_mode == "state":
            return state
        frame = np.ascontiguousarray(self._render_rgb().transpose(2, 0, 1))  # 3x64x64
        if reset:
            self._frames.clear()
            self._frames.extend([frame] * self.frame_stack)
        else:
            self._frames.append(frame)
        return np.concatenate(self._frames, axis=0)

