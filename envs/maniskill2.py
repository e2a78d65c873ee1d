"""ManiSkill2 0.5.3 (SAPIEN 2.2.2), state observations, in a headless "no renderer" mode.

Why the run-time patches exist (site-packages is never edited):

* `mani_skill2.envs.sapien_env.BaseEnv.__init__` always creates a Vulkan `SapienRenderer`, which raises
  "Cannot find a suitable rendering device" on a machine without a Vulkan device, even for state
  observations. `_HeadlessBase` takes BaseEnv's place in each task's MRO with a copy of that constructor
  minus the renderer, and skips everything that needs one: cameras, lights, the visual background,
  render materials (ground, cubes). A SAPIEN engine without a renderer loads collision shapes only, so the
  physics, observations, rewards and success are those of the rendered env; only rendering is refused.
* sapien 2.2.2 imports `pkg_resources`, which recent setuptools (84.2.1 here) no longer ships. When missing, a
  minimal stand-in (only `resource_filename`, all sapien uses) is visible in `sys.modules` just while
  sapien and mani_skill2 are imported, so nothing else in the process sees it.

Tasks and controllers follow TD-MPC2: LiftCube/PickCube with `pd_ee_delta_pos` (obs 42 / 51, act 4),
TurnFaucet with `pd_ee_delta_pose` (obs 40, act 7); reward mode `normalized_dense`; 100 agent steps with
action repeat 2. ManiSkill2 reports `terminated = success`; by default the episode still runs its full 100
agent steps (fixed-length episodes, success in `info`); TD-MPC2's release ended the episode on success,
available as `terminate_on_success=True`. TurnFaucet needs PartNet-Mobility faucet models that are not on
PyPI; without them `make` raises `FileNotFoundError` saying how to obtain them. Nothing is downloaded here.
"""

from __future__ import annotations

import importlib.resources
import os
import sys
import types
from collections import OrderedDict
from pathlib import Path
from typing import Any


def _import_sapien_stack() -> None:
    """Import sapien and mani_skill2's envs, with a temporary `pkg_resources` stand-in if needed."""
    try:
        import pkg_resources  # noqa: F401
    except ImportError:
        shim = types.ModuleType("pkg_resources")
        shim.resource_filename = lambda package, name: str(importlib.resources.files(package) / name)
        sys.modules["pkg_resources"] = shim
        try:
            import mani_skill2.envs  # noqa: F401  (imports sapien.core and sapien.utils.viewer)
        finally:
            if sys.modules.get("pkg_resources") is shim:
                del sys.modules["pkg_resources"]
    else:
        import mani_skill2.envs  # noqa: F401


_import_sapien_stack()

import numpy as np  # noqa: E402
import sapien.core as sapien  # noqa: E402
from mani_skill2 import ASSET_DIR, PACKAGE_ASSET_DIR  # noqa: E402
from mani_skill2.envs.misc.turn_faucet import TurnFaucetEnv  # noqa: E402
from mani_skill2.envs.pick_and_place.pick_cube import LiftCubeEnv, PickCubeEnv  # noqa: E402
from mani_skill2.envs.sapien_env import BaseEnv  # noqa: E402
from mani_skill2.utils.common import convert_observation_to_space  # noqa: E402
from mani_skill2.utils.io_utils import load_json  # noqa: E402

from envs.base import SuiteEnv  # noqa: E402
from envs.registry import package_versions  # noqa: E402
from envs.spec import EnvSpec  # noqa: E402

EPISODE_LENGTH = 100
ACTION_REPEAT = 2
REWARD_MODE = "normalized_dense"
CONTROL_MODES = {
    "LiftCube-v0": "pd_ee_delta_pos",
    "PickCube-v0": "pd_ee_delta_pos",
    "TurnFaucet-v0": "pd_ee_delta_pose",
}
FAUCET_MODEL_JSON = PACKAGE_ASSET_DIR / "partnet_mobility" / "meta" / "info_faucet_train.json"
NO_RENDER = "ManiSkill2 runs here without a renderer (no Vulkan device): only state observations are available"


class _HeadlessBase(BaseEnv):
    """Stands in for `BaseEnv` in a task's MRO: its constructor without a renderer, and no visual setup."""

    def __init__(
        self,
        obs_mode: str | None = None,
        reward_mode: str | None = None,
        control_mode: str | None = None,
        render_mode: str | None = None,
        sim_freq: int = 500,
        control_freq: int = 20,
        **render_kwargs: Any,
    ) -> None:
        # Mirrors mani_skill2 0.5.3 BaseEnv.__init__ without the renderer and camera set-up.
        if render_mode is not None or render_kwargs.get("bg_name") is not None:
            raise ValueError(NO_RENDER)
        self._engine = sapien.Engine()
        self._engine.set_log_level(os.getenv("MS2_SIM_LOG_LEVEL", "error"))
        self._renderer_type = "none"
        self._renderer = None
        self._sim_freq, self._control_freq = sim_freq, control_freq
        self._sim_steps_per_control = sim_freq // control_freq
        obs_mode = obs_mode or "state"
        if obs_mode not in ("state", "state_dict"):
            raise ValueError(f"obs_mode={obs_mode!r}: {NO_RENDER}")
        self._obs_mode = obs_mode
        self._reward_mode = reward_mode or self.SUPPORTED_REWARD_MODES[0]
        if self._reward_mode not in self.SUPPORTED_REWARD_MODES:
            raise ValueError(f"Unsupported reward mode {self._reward_mode!r}")
        self._control_mode = control_mode
        self.render_mode = None
        self._viewer = None
        self._configure_agent()
        self._camera_cfgs, self._agent_camera_cfgs, self._render_camera_cfgs = OrderedDict(), OrderedDict(), {}
        self.enable_shadow = False
        self.bg_name = None
        self._main_seed = None
        self.set_main_rng(2022)
        obs, _ = self.reset(seed=2022, options=dict(reconfigure=True))
        self.observation_space = convert_observation_to_space(obs)
        self.action_space = self.agent.action_space

    def _setup_cameras(self) -> None:
        self._cameras = OrderedDict()
        self._render_cameras = OrderedDict()

    def _setup_lighting(self) -> None:
        pass

    def _load_background(self) -> None:
        pass

    def _add_ground(self, altitude: float = 0.0, render: bool = True) -> sapien.ActorStatic:
        return self._scene.add_ground(altitude=altitude, render=False)

    def update_render(self) -> None:
        raise RuntimeError(NO_RENDER)

    def render(self) -> None:
        raise RuntimeError(NO_RENDER)


class _HeadlessCubes:
    """Front mixin for the cube tasks: `StationaryManipulationEnv._build_cube` asks the renderer for a material."""

    _scene: sapien.Scene

    def _build_cube(
        self,
        half_size: np.ndarray,
        color: Any = (1, 0, 0),
        name: str = "cube",
        static: bool = False,
        render_material: Any = None,
    ) -> sapien.Actor:
        builder = self._scene.create_actor_builder()
        builder.add_box_collision(half_size=half_size)
        return builder.build_static(name) if static else builder.build(name)


class HeadlessLiftCube(_HeadlessCubes, LiftCubeEnv, _HeadlessBase):
    """LiftCube-v0 without a renderer."""


class HeadlessPickCube(_HeadlessCubes, PickCubeEnv, _HeadlessBase):
    """PickCube-v0 without a renderer."""


class HeadlessTurnFaucet(TurnFaucetEnv, _HeadlessBase):
    """TurnFaucet-v0 without a renderer (needs the PartNet-Mobility faucet models)."""


HEADLESS = {"LiftCube-v0": HeadlessLiftCube, "PickCube-v0": HeadlessPickCube, "TurnFaucet-v0": HeadlessTurnFaucet}


def faucet_asset_root() -> Path:
    """Where ManiSkill2 looks for PartNet-Mobility models: $MS2_ASSET_DIR (default ./data)/partnet_mobility/dataset."""
    return (ASSET_DIR / "partnet_mobility" / "dataset").resolve()


def check_faucet_assets(asset_root: Path | None = None) -> None:
    """Raise FileNotFoundError, saying how to obtain them, unless every TurnFaucet model is present."""
    root = asset_root or faucet_asset_root()
    model_ids = sorted(load_json(str(FAUCET_MODEL_JSON)))
    missing = [m for m in model_ids if not (root / m / "mobility_cvx.urdf").exists()]
    if missing:
        raise FileNotFoundError(
            f"TurnFaucet-v0 needs the PartNet-Mobility faucet models (ManiSkill2 assets, not on PyPI): "
            f"{len(missing)} of {len(model_ids)} are missing under {root} "
            f"(= $MS2_ASSET_DIR/partnet_mobility/dataset; MS2_ASSET_DIR defaults to ./data). Nothing is "
            f"downloaded at run time. On a machine with network access run "
            f"`python -m mani_skill2.utils.download_asset partnet_mobility_faucet` (see the ManiSkill2 0.5 docs, "
            f"'Getting Started > Assets'), then copy the data folder here and set MS2_ASSET_DIR to it."
        )


class ManiSkill2Env(SuiteEnv):
    """One ManiSkill2 task, state observations flattened to float32."""

    def __init__(self, task: str, seed: int, obs: str, p_tremble: float, terminate_on_success: bool = False) -> None:
        if obs != "state":
            raise ValueError(f"obs={obs!r}: {NO_RENDER}")
        if task == "TurnFaucet-v0":
            check_faucet_assets()
        self._env = HEADLESS[task](obs_mode="state", reward_mode=REWARD_MODE, control_mode=CONTROL_MODES[task])
        self.terminate_on_success = bool(terminate_on_success)
        act = self._env.action_space
        if not (np.allclose(act.low, -1) and np.allclose(act.high, 1)):
            raise RuntimeError(f"{task}: expected a normalised action space [-1, 1], got [{act.low}, {act.high}]")
        spec = EnvSpec(
            "maniskill2",
            task,
            obs,
            tuple(self._env.observation_space.shape),
            int(act.shape[0]),
            EPISODE_LENGTH,
            ACTION_REPEAT,
            has_success=True,
            versions=package_versions("maniskill2"),
        )
        super().__init__(spec, seed, p_tremble)

    def _raw_reset(self, seed: int | None) -> np.ndarray:
        obs, _ = self._env.reset(seed=seed)
        return np.asarray(obs, dtype=np.float32)

    def _raw_step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, float]:
        """One env step; ManiSkill2's `terminated` (= success) ends the episode only with terminate_on_success."""
        obs, reward, terminated, _, info = self._env.step(action.astype(np.float32))
        return obs, float(reward), bool(terminated) and self.terminate_on_success, float(bool(info["success"]))

    def _state(self, native_obs: np.ndarray) -> np.ndarray:
        return np.asarray(native_obs, dtype=np.float32)

    @property
    def raw(self) -> BaseEnv:
        """The underlying headless mani_skill2 env."""
        return self._env

    def close(self) -> None:
        self._env.close()


def make(task: str, seed: int, obs: str, p_tremble: float, terminate_on_success: bool = False) -> ManiSkill2Env:
    return ManiSkill2Env(task, seed, obs, p_tremble, terminate_on_success=terminate_on_success)
