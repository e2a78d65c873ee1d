"""Environment factory: registry, paper dimensions, step accounting, determinism, options, bad input."""

from __future__ import annotations

import numpy as np
import pytest

import envs
from envs.registry import SUITES

# Observation / action dimensions printed in the papers (IQ-MPC App. D Tables 2-4, CDRED App. C Tables 2-4).
# humanoid-walk: both papers print 24 actions; dm_control's humanoid has 21 actuators, so we assert 21.
PAPER_DIMS = {
    ("dmc", "hopper-hop"): (15, 4),
    ("dmc", "cheetah-run"): (17, 6),
    ("dmc", "walker-run"): (24, 6),
    ("dmc", "walker-walk"): (24, 6),
    ("dmc", "quadruped-walk"): (78, 12),
    ("dmc", "humanoid-walk"): (67, 21),  # paper: 24 (wrong, see above)
    ("dmc", "dog-run"): (223, 38),
    ("dmc", "dog-stand"): (223, 38),
    ("dmc", "dog-walk"): (223, 38),
    ("dmc", "dog-trot"): (223, 38),
    ("dmc", "reacher-hard"): (6, 2),
    ("dmc", "cartpole-swingup"): (5, 1),  # not in the papers' tables; dm_control's value
    **{("metaworld", t): (39, 4) for t in SUITES["metaworld"].tasks},
    ("myosuite", "myoHandKeyTurnFixed-v0"): (93, 39),
    ("myosuite", "myoHandObjHoldFixed-v0"): (91, 39),
    ("myosuite", "myoHandPenTwirlFixed-v0"): (83, 39),
}
MUJOCO_SUITES = ("dmc", "metaworld", "myosuite")  # maniskill2 has its own test module


@pytest.mark.parametrize("suite,task", [k for k in PAPER_DIMS])
def test_every_task_constructs_and_matches_paper_dims(suite: str, task: str) -> None:
    env = envs.make(suite, task, seed=0)
    obs, info = env.reset()
    spec = env.wmil_spec
    assert (spec.obs_shape[0], spec.action_dim) == PAPER_DIMS[(suite, task)]
    assert obs.shape == spec.obs_shape and obs.dtype == np.float32
    assert env.action_space.shape == (spec.action_dim,)
    assert np.all(env.action_space.low == -1) and np.all(env.action_space.high == 1)
    obs2, reward, term, trunc, info = env.step(env.action_space.sample())
    assert obs2.shape == spec.obs_shape and np.isfinite(obs2).all() and np.isfinite(reward)
    assert info["env_steps"] == spec.action_repeat
    assert ("success" in info) == spec.has_success
    assert spec.versions and all(v != "missing" for v in spec.versions.values())
    env.close()


def test_all_registered_mujoco_tasks_are_covered() -> None:
    registered = {(s, t) for s in MUJOCO_SUITES for t in envs.tasks(s)}
    assert registered == set(PAPER_DIMS)


@pytest.mark.parametrize(
    "suite,task,length,repeat",
    [
        ("dmc", "cartpole-swingup", 500, 2),
        ("metaworld", "reach-v3", 100, 2),
        ("myosuite", "myoHandKeyTurnFixed-v0", 100, 1),
    ],
)
def test_episode_length_and_action_repeat_accounting(suite: str, task: str, length: int, repeat: int) -> None:
    env = envs.make(suite, task, seed=3)
    spec = env.wmil_spec
    assert (spec.episode_length, spec.action_repeat) == (length, repeat)
    assert spec.env_steps_per_episode == length * repeat
    env.reset()
    zero = np.zeros(spec.action_dim, np.float32)
    for t in range(1, length + 1):
        _, _, term, trunc, info = env.step(zero)
        assert info["env_steps"] == t * repeat
        if term:
            pytest.skip("terminated early with zero actions")
        assert trunc == (t == length)


def test_action_repeat_sums_rewards_of_simulator_steps() -> None:
    """One agent step with repeat 2 equals two raw dm_control steps with the same action."""
    from dm_control import suite

    env = envs.make("dmc", "cheetah-run", seed=5)
    env.reset()
    raw = suite.load("cheetah", "run", task_kwargs={"random": 5})
    raw.reset()
    rng = np.random.default_rng(0)
    for _ in range(5):
        a = rng.uniform(-1, 1, 6)
        _, r, *_ = env.step(a)
        r_raw = raw.step(a).reward + raw.step(a).reward
        assert r == pytest.approx(r_raw, abs=1e-12)


def test_discount_heuristic() -> None:
    dmc = envs.spec("dmc", "cartpole-swingup")
    mw = envs.spec("metaworld", "reach-v3")
    assert dmc.discount == pytest.approx(0.99) and mw.discount == pytest.approx(0.95)


def _rollout(suite: str, task: str, seed: int, steps: int = 15, **kw) -> np.ndarray:
    env = envs.make(suite, task, seed=seed, **kw)
    obs, _ = env.reset()
    rng = np.random.default_rng(123)
    out = [obs]
    for _ in range(steps):
        obs, *_ = env.step(rng.uniform(-1, 1, env.wmil_spec.action_dim))
        out.append(obs)
    return np.stack(out)


@pytest.mark.parametrize(
    "suite,task", [("dmc", "walker-walk"), ("metaworld", "reach-v3"), ("myosuite", "myoHandKeyTurnFixed-v0")]
)
def test_same_seed_same_trajectory(suite: str, task: str) -> None:
    a, b = _rollout(suite, task, 7), _rollout(suite, task, 7)
    np.testing.assert_array_equal(a, b)
    if suite != "myosuite":  # the *Fixed MyoSuite tasks start from one fixed state whatever the seed
        c = _rollout(suite, task, 8)
        assert not np.array_equal(a[0], c[0]), "different seeds should give different initial states"


def test_reset_with_seed_reproduces_and_goal_is_randomised() -> None:
    env = envs.make("metaworld", "reach-v3", seed=0)
    first = env.reset()[0]
    second = env.reset()[0]  # next episode: a new random goal (MT1 style)
    assert not np.array_equal(first[-3:], second[-3:])
    again = env.reset(seed=0)[0]
    np.testing.assert_array_equal(first, again)


def test_metaworld_scripted_policy_reaches_success() -> None:
    from metaworld.policies import ENV_POLICY_MAP

    policy = ENV_POLICY_MAP["reach-v3"]()
    env = envs.make("metaworld", "reach-v3", seed=0)
    successes = []
    for ep in range(3):
        obs, _ = env.reset(seed=ep)
        solved = 0.0
        for _ in range(env.wmil_spec.episode_length):
            obs, _, term, trunc, info = env.step(np.clip(policy.get_action(obs), -1, 1))
            solved = max(solved, info["success"])
            if term or trunc:
                break
        successes.append(solved)
    assert np.mean(successes) >= 2 / 3


def test_p_tremble_statistics() -> None:
    """With probability p the applied action is uniform random, else the agent's (clipped) action."""
    p, n = 0.3, 2000
    env = envs.make("dmc", "cartpole-swingup", seed=0, p_tremble=p)
    env.reset()
    action = np.array([0.5], np.float32)
    replaced = 0
    for _ in range(n):
        _, _, _, trunc, info = env.step(action)
        replaced += not np.allclose(info["applied_action"], action)
        if trunc:
            env.reset()
    assert abs(replaced / n - p) < 4 * np.sqrt(p * (1 - p) / n)
    clean = envs.make("dmc", "cartpole-swingup", seed=0, p_tremble=0.0)
    clean.reset()
    assert np.allclose(clean.step(action)[4]["applied_action"], action)
    with pytest.raises(ValueError, match="p_tremble"):
        envs.make("dmc", "cartpole-swingup", seed=0, p_tremble=1.5)


def test_pixel_observations() -> None:
    env = envs.make("dmc", "cheetah-run", seed=0, obs="rgb")
    obs, _ = env.reset()
    assert obs.shape == (9, 64, 64) and obs.dtype == np.uint8
    assert env.wmil_spec.obs_shape == (9, 64, 64)
    np.testing.assert_array_equal(obs[:3], obs[6:])  # reset fills the stack with the first frame
    assert obs.std() > 0  # an actual rendered image, not a blank buffer
    nxt, *_ = env.step(np.ones(6, np.float32))
    assert not np.array_equal(nxt[6:], obs[6:])  # the newest frame shows the moved cheetah


def test_frame_stack_slides() -> None:
    env = envs.make("dmc", "cheetah-run", seed=0, obs="rgb")
    env.reset()
    prev, *_ = env.step(np.ones(6, np.float32))
    nxt, *_ = env.step(-np.ones(6, np.float32))
    np.testing.assert_array_equal(nxt[:6], prev[3:])


def test_partial_obs_drops_velocities() -> None:
    full = envs.spec("dmc", "walker-walk")
    part = envs.spec("dmc", "walker-walk", partial_obs=True)
    assert full.obs_shape == (24,) and part.obs_shape == (15,)  # orientations 14 + height 1


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda: envs.make("dmcc", "cartpole-swingup"), r"Unknown suite 'dmcc'.*Did you mean 'dmc'.*Valid suites"),
        (lambda: envs.make("dmc", "cartpole-swingupp"), r"Did you mean 'cartpole-swingup'.*hopper-hop"),
        (lambda: envs.make("metaworld", "reach-v3", obs="rgb"), r"not available for suite 'metaworld'"),
        (lambda: envs.make("dmc", "cartpole-swingup", obs="depth"), r"Valid obs modes: state, rgb"),
        (lambda: envs.make("metaworld", "reach-v3", partial_obs=True), r"Unknown option"),
    ],
)
def test_bad_input_is_refused_with_valid_names(call, match: str) -> None:
    with pytest.raises((ValueError, TypeError), match=match):
        call()


def test_metaworld_task_alias() -> None:
    assert envs.make("metaworld", "reach", seed=0).wmil_spec.task == "reach-v3"


def test_missing_suite_package_names_the_install(monkeypatch) -> None:
    import builtins

    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "myosuite":
            raise ImportError("No module named 'myosuite'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    monkeypatch.setattr("importlib.import_module", lambda n: fake_import(n))
    with pytest.raises(ImportError, match=r"Suite 'myosuite' needs the package 'myosuite'.*setup.sh"):
        envs.make("myosuite", "myoHandKeyTurnFixed-v0")
