"""Meta-World v3, single task with a fresh random goal every episode (MT1 style, as TD-MPC2 does).

Run-time fix (never an edit of site-packages): metaworld 3.1.1 writes 11 weld parameters into
`model.eq_data`, which has 12 fields from MuJoCo 3.4 on; we write the same 11 into the first 11 fields.
"""

from __future__ import annotations

import mujoco
import numpy as np
from metaworld.env_dict import ALL_V3_ENVIRONMENTS
from metaworld.sawyer_xyz_env import SawyerMocapBase

from envs.base import SuiteEnv
from envs.registry import package_versions
from envs.spec import EnvSpec

EPISODE_LENGTH = 100
ACTION_REPEAT = 2
_WELD = np.array([0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -1.0, 0.0, 0.0, 0.0, 5.0])


def _reset_mocap_welds(self) -> None:
    if self.model.nmocap > 0 and self.model.eq_data is not None:
        for i in range(self.model.eq_data.shape[0]):
            if self.model.eq_type[i] == mujoco.mjtEq.mjEQ_WELD:
                self.model.eq_data[i, : len(_WELD)] = _WELD


SawyerMocapBase.reset_mocap_welds = _reset_mocap_welds


class MetaWorldEnv(SuiteEnv):
    def __init__(self, task: str, seed: int, obs: str, p_tremble: float) -> None:
        env = ALL_V3_ENVIRONMENTS[task]()
        env._partially_observable = False  # goal position in the observation (MT1 override)
        env.__dict__.pop("sawyer_observation_space", None)  # cached with the goal bounds zeroed: recompute
        env._freeze_rand_vec = False  # a new random goal at every reset
        env._set_task_called = True
        env.seeded_rand_vec = True  # draw goals from env.np_random (seeded) instead of the global np.random
        env.seed(seed)
        self._env = env
        self.task_name = task
        spec = EnvSpec(
            "metaworld", task, obs, tuple(env.observation_space.shape), int(env.action_space.shape[0]),
            EPISODE_LENGTH, ACTION_REPEAT, has_success=True, versions=package_versions("metaworld"),
        )
        super().__init__(spec, seed, p_tremble)

    def _raw_reset(self, seed: int | None) -> np.ndarray:
        if seed is not None:
            self._env.seed(seed)
        obs, _ = self._env.reset()
        return obs.astype(np.float32)

    def _raw_step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, float]:
        obs, reward, _, _, info = self._env.step(action)
        return obs, float(reward), False, float(info["success"])

    def _state(self, native_obs: np.ndarray) -> np.ndarray:
        return native_obs.astype(np.float32)

    @property
    def raw(self):
        """The underlying metaworld env (for scripted experts that read its state)."""
        return self._env

    def close(self) -> None:
        self._env.close()


def make(task: str, seed: int, obs: str, p_tremble: float) -> MetaWorldEnv:
    return MetaWorldEnv(task, seed, obs, p_tremble)
