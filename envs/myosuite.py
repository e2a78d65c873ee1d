"""MyoSuite hand tasks (gymnasium API). `info["solved"]` is reported as `success`; 100 steps, no repeat."""

from __future__ import annotations

import gymnasium as gym
import myosuite  # noqa: F401  (registers the myo* ids)
import numpy as np

from envs.base import SuiteEnv
from envs.registry import package_versions
from envs.spec import EnvSpec

EPISODE_LENGTH = 100
ACTION_REPEAT = 1


class MyoSuiteEnv(SuiteEnv):
    def __init__(self, task: str, seed: int, obs: str, p_tremble: float) -> None:
        self._env = gym.make(task).unwrapped  # skip gymnasium's checker/time-limit wrappers: we do both
        act = self._env.action_space
        if not (np.allclose(act.low, -1) and np.allclose(act.high, 1)):
            raise RuntimeError(f"{task}: expected normalised actions in [-1, 1]")
        spec = EnvSpec(
            "myosuite", task, obs, tuple(self._env.observation_space.shape), int(act.shape[0]),
            EPISODE_LENGTH, ACTION_REPEAT, has_success=True, versions=package_versions("myosuite"),
        )
        super().__init__(spec, seed, p_tremble)

    def _raw_reset(self, seed: int | None) -> np.ndarray:
        obs, _ = self._env.reset(seed=seed) if seed is not None else self._env.reset()
        return np.asarray(obs, dtype=np.float32)

    def _raw_step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, float]:
        obs, reward, terminated, _, info = self._env.step(action)
        return obs, float(reward), bool(terminated), float(bool(info["solved"]))

    def _state(self, native_obs: np.ndarray) -> np.ndarray:
        return np.asarray(native_obs, dtype=np.float32)

    def close(self) -> None:
        self._env.close()


def make(task: str, seed: int, obs: str, p_tremble: float) -> MyoSuiteEnv:
    return MyoSuiteEnv(task, seed, obs, p_tremble)
