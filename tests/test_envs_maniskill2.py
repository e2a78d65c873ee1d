"""ManiSkill2 suite: headless construction, dims, determinism, step accounting, TurnFaucet asset error."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("mani_skill2", reason="mani_skill2 is not importable: ManiSkill2 suite tests skipped")

import envs  # noqa: E402
import envs.maniskill2 as ms2  # noqa: E402

DIMS = {"LiftCube-v0": (42, 4), "PickCube-v0": (51, 4)}


def _rollout(env: envs.SuiteEnv, seed: int | None, steps: int) -> tuple[np.ndarray, np.ndarray]:
    obs, _ = env.reset(seed=seed)
    rng = np.random.default_rng(123)
    observations, rewards = [obs], []
    for _ in range(steps):
        obs, reward, _, _, _ = env.step(rng.uniform(-1, 1, env.wmil_spec.action_dim))
        observations.append(obs)
        rewards.append(reward)
    return np.stack(observations), np.array(rewards)


@pytest.mark.parametrize("task", sorted(DIMS))
def test_construct_reset_step(task: str) -> None:
    env = envs.make("maniskill2", task, seed=0)
    obs_dim, act_dim = DIMS[task]
    spec = env.wmil_spec
    assert spec.obs_shape == (obs_dim,) and spec.action_dim == act_dim
    assert (spec.episode_length, spec.action_repeat, spec.has_success) == (100, 2, True)
    assert spec.versions["mani-skill2"] != "missing" and spec.versions["sapien"] != "missing"
    assert env.raw.control_mode == "pd_ee_delta_pos"
    obs, info = env.reset()
    assert obs.shape == (obs_dim,) and obs.dtype == np.float32 and info == {"env_steps": 0, "success": 0.0}
    obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
    assert obs.shape == (obs_dim,) and obs.dtype == np.float32 and np.isfinite(obs).all()
    assert np.isfinite(reward) and not terminated and not truncated
    assert info["success"] in (0.0, 1.0) and info["env_steps"] == 2
    env.close()


def test_same_seed_same_trajectory() -> None:
    a = envs.make("maniskill2", "PickCube-v0", seed=5)
    b = envs.make("maniskill2", "PickCube-v0", seed=5)
    obs_a, rew_a = _rollout(a, None, 15)
    obs_b, rew_b = _rollout(b, None, 15)
    np.testing.assert_array_equal(obs_a, obs_b)
    np.testing.assert_array_equal(rew_a, rew_b)
    obs_c, rew_c = _rollout(a, 5, 15)  # explicit reseed of a used env replays the first episode
    np.testing.assert_array_equal(obs_a, obs_c)
    np.testing.assert_array_equal(rew_a, rew_c)
    obs_d, _ = _rollout(a, None, 0)  # the next episode is a new initial state
    assert not np.array_equal(obs_a[0], obs_d[0])
    other = envs.make("maniskill2", "PickCube-v0", seed=6)
    assert not np.array_equal(obs_a[0], other.reset()[0])


def test_episode_accounting() -> None:
    env = envs.make("maniskill2", "LiftCube-v0", seed=1)
    env.reset()
    zero = np.zeros(env.wmil_spec.action_dim)
    for step in range(1, 101):
        _, _, terminated, truncated, info = env.step(zero)
        assert not terminated and "success" in info
        assert info["env_steps"] == 2 * step
        assert truncated == (step == 100)
    assert info["env_steps"] == 200 and env.raw.elapsed_steps == 200


def test_actions_outside_box_are_clipped() -> None:
    env = envs.make("maniskill2", "LiftCube-v0", seed=0)
    env.reset()
    _, _, _, _, info = env.step(np.array([5.0, -5.0, 0.5, 2.0]))
    np.testing.assert_array_equal(info["applied_action"], [1.0, -1.0, 0.5, 1.0])


def test_rendering_is_refused() -> None:
    env = envs.make("maniskill2", "LiftCube-v0", seed=0)
    with pytest.raises(RuntimeError, match="without a renderer"):
        env.raw.render()
    with pytest.raises(ValueError, match="rgb"):
        envs.make("maniskill2", "LiftCube-v0", obs="rgb")


def test_turn_faucet_without_assets_explains_download() -> None:
    try:
        ms2.check_faucet_assets()
    except FileNotFoundError:
        pass
    else:
        pytest.skip(f"PartNet-Mobility faucet models are present under {ms2.faucet_asset_root()}")
    with pytest.raises(FileNotFoundError) as err:
        envs.make("maniskill2", "TurnFaucet-v0", seed=0)
    msg = str(err.value)
    assert "PartNet-Mobility" in msg and "MS2_ASSET_DIR" in msg
    assert "python -m mani_skill2.utils.download_asset partnet_mobility_faucet" in msg


_FAUCET_URDF = """<?xml version="1.0"?>
<robot name="test_faucet">
  <link name="base"/>
  <link name="link_1">
    <collision><origin xyz="0 0 0.2"/><geometry><box size="0.1 0.1 0.4"/></geometry></collision>
  </link>
  <link name="link_0">
    <collision><origin xyz="0.1 0 0"/><geometry><box size="0.2 0.03 0.03"/></geometry></collision>
  </link>
  <joint name="joint_1" type="fixed"><parent link="base"/><child link="link_1"/></joint>
  <joint name="joint_0" type="revolute"><origin xyz="0 0 0.4"/><axis xyz="0 0 1"/>
    <parent link="link_1"/><child link="link_0"/><limit lower="0" upper="1.57" effort="10" velocity="1"/></joint>
</robot>
"""


def test_headless_turn_faucet_dims_on_a_generated_faucet(tmp_path: Path) -> None:
    """The TurnFaucet class runs headless with TD-MPC2's controller: obs 40, act 7 (a box-shaped test faucet)."""
    (tmp_path / "dataset" / "t0").mkdir(parents=True)
    (tmp_path / "dataset" / "t0" / "mobility_cvx.urdf").write_text(_FAUCET_URDF)
    info = '{"t0": {"bbox": {"min": [-0.05, -0.05, 0], "max": [0.25, 0.05, 0.45]}, '
    info += '"semantics": [["link_0", "hinge", "switch"], ["link_1", "free", "faucet_base"]]}}'
    (tmp_path / "info.json").write_text(info)
    env = ms2.HeadlessTurnFaucet(
        asset_root=str(tmp_path / "dataset"),
        model_json=str(tmp_path / "info.json"),
        obs_mode="state",
        reward_mode=ms2.REWARD_MODE,
        control_mode=ms2.CONTROL_MODES["TurnFaucet-v0"],
    )
    assert env.observation_space.shape == (40,) and env.action_space.shape == (7,)
    assert np.allclose(env.action_space.low, -1) and np.allclose(env.action_space.high, 1)
    env.reset(seed=0)
    obs, _, _, _, info = env.step(np.zeros(7, dtype=np.float32))
    assert obs.shape == (40,) and "success" in info
    env.close()


@pytest.mark.parametrize("terminate_on_success", [False, True])
def test_success_reported_and_optional_termination(terminate_on_success: bool) -> None:
    import sapien.core as sapien

    env = ms2.make("LiftCube-v0", seed=0, obs="state", p_tremble=0.0, terminate_on_success=terminate_on_success)
    env.reset()
    env.raw.obj.set_pose(sapien.Pose([0.0, 0.0, 0.5]))  # above the lift goal: success while it is falling
    _, _, terminated, truncated, info = env.step(np.zeros(4))
    assert info["success"] == 1.0 and not truncated
    assert terminated == terminate_on_success
    assert env.raw.elapsed_steps == (1 if terminate_on_success else 2)  # termination cuts the action repeat
