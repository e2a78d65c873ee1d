"""DMControl through dm_control directly (thinner than shimmy's Dict-obs adapter): flat float32 state or
64x64 RGB rendered headless (EGL/OSMesa). TD-MPC2 conventions: 500 agent steps, action repeat 2."""

from __future__ import annotations

import numpy as np
from dm_control import suite

from envs.base import SuiteEnv
from envs.registry import package_versions
from envs.spec import EnvSpec

EPISODE_LENGTH = 500
ACTION_REPEAT = 2
IMAGE_SIZE = 64


def _camera(domain: str) -> int:
    return 2 if domain == "quadruped" else 0  # TD-MPC2's choice: camera 0 does not follow the quadruped


def _keep_key(key: str, partial_obs: bool) -> bool:
    """LPOMDP (AIME): drop every velocity-like entry ('velocity', 'joint_velocites', ...)."""
    return not (partial_obs and "veloc" in key)


class DMCEnv(SuiteEnv):
    def __init__(self, task: str, seed: int, obs: str, p_tremble: float, partial_obs: bool = False) -> None:
        domain, task_name = task.split("-", 1)
        self._domain = domain
        self._env = suite.load(domain, task_name, task_kwargs={"random": seed})
        self._keys = [k for k in self._env.observation_spec() if _keep_key(k, partial_obs)]
        spec_act = self._env.action_spec()
        # Affine map [-1, 1] -> native bounds (only quadruped's differ); None when already [-1, 1].
        low, high = spec_act.minimum.astype(np.float64), spec_act.maximum.astype(np.float64)
        native = np.allclose(low, -1) and np.allclose(high, 1)
        self._act_scale = None if native else ((high - low) / 2, (high + low) / 2)
        sizes = [int(np.prod(self._env.observation_spec()[k].shape)) for k in self._keys]
        ends = np.cumsum(sizes).tolist()
        self._slices = list(zip([0, *ends[:-1]], ends, strict=True))
        self._state_dim = state_dim = int(sum(sizes))
        obs_shape = (state_dim,) if obs == "state" else (3 * self.frame_stack, IMAGE_SIZE, IMAGE_SIZE)
        spec = EnvSpec(
            "dmc", task, obs, obs_shape, int(spec_act.shape[0]), EPISODE_LENGTH, ACTION_REPEAT,
            has_success=False, versions=package_versions("dmc"),
        )
        super().__init__(spec, seed, p_tremble)

    def _state(self, observation) -> np.ndarray:
        out = np.empty(self._state_dim, np.float32)
        for key, (start, stop) in zip(self._keys, self._slices, strict=True):
            out[start:stop] = np.ravel(observation[key])
        return out

    def _raw_reset(self, seed: int | None) -> np.ndarray:
        if seed is not None:
            self._env.task.random.seed(seed)
        return self._state(self._env.reset().observation)

    def _raw_step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, float]:
        if self._act_scale is not None:
            action = action * self._act_scale[0] + self._act_scale[1]
        ts = self._env.step(action)
        # DMC tasks never terminate early; the episode ends by our time limit.
        return ts.observation, float(ts.reward or 0.0), False, float("nan")

    def _render_rgb(self) -> np.ndarray:
        return self._env.physics.render(IMAGE_SIZE, IMAGE_SIZE, camera_id=_camera(self._domain))

    def close(self) -> None:
        self._env.close()


def make(task: str, seed: int, obs: str, p_tremble: float, partial_obs: bool = False) -> DMCEnv:
    return DMCEnv(task, seed, obs, p_tremble, partial_obs)
