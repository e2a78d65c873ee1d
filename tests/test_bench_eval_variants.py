"""bench.eval_variants switches a world-model agent between the planner's mean, a drawn elite and the policy prior,
and evaluates each on the same Meta-World episodes with the distance to the goal at the last step."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import envs
from bench.eval_variants import (
    EXPLORING,
    axis_rows,
    distance_figures,
    episode_rows,
    episodes,
    method_settings,
    parse_settings,
    row,
    set_planner,
    set_variant,
    tcp_to_goal,
)
from experts.demos import Demos, Episode
from methods.cdred import CDRED, cdred_preset


def _agent(spec) -> CDRED:
    rng = np.random.default_rng(0)
    obs_dim, act_dim = spec.obs_shape[0], spec.action_dim
    demos = Demos([Episode(rng.normal(size=(11, obs_dim)).astype(np.float32),
                           rng.uniform(-1, 1, (10, act_dim)).astype(np.float32), np.zeros(10, np.float32))
                   for _ in range(2)])
    return CDRED(cdred_preset("smoke", seed_steps=5), spec, demos, torch.device("cpu"), 0)


def _prior_mean(agent: CDRED, obs: np.ndarray) -> np.ndarray:
    """The policy prior's mean action at `obs` (what `mpc=False` evaluation executes)."""
    with torch.no_grad(), agent.eval_mode():
        return agent.model.pi(agent.model.encode(agent._obs_tensor(obs))).mean[0].numpy()


def test_variants_switch_the_action_rule_and_report_the_final_distance():
    torch.set_num_threads(1)
    env = envs.make("metaworld", "reach-v3", seed=0)
    agent = _agent(env.wmil_spec)
    obs, _ = env.reset(seed=0)
    env.close()

    set_variant(agent, "prior")
    assert not agent.cfg.mpc and np.allclose(agent.act(obs, eval=True, t0=True), _prior_mean(agent, obs))

    set_variant(agent, "mean")
    a = agent.act(obs, eval=True, t0=True)
    assert agent.cfg.mpc and np.allclose(a, agent.planner.prev_mean[0].clamp(-1, 1).numpy())
    set_variant(agent, "elite")
    assert agent.cfg.mpc and agent.planner.cfg.action_select == "elite"
    set_variant(agent, "train")  # the planner's mean rule, acting with training noise (eval=False)
    assert agent.cfg.mpc and agent.planner.cfg.action_select == "mean"
    set_variant(agent, "prior_train")  # a draw from the policy prior, as a mpc=False agent acts while training
    assert not agent.cfg.mpc and "prior_train" in EXPLORING and "prior" not in EXPLORING
    with pytest.raises(ValueError, match="variant must be one of"):
        set_variant(agent, "median")

    manifest = {"config": {"obs": "state"}, "seed": 0, "suite": "metaworld", "task": "reach-v3"}
    rows = episodes(agent, manifest, 1)
    assert set(rows) == {"return", "success", "success_any", "final_dist", "min_dist", "late_motion", "goal",
                         "final_offset"}
    assert np.linalg.norm(rows["final_offset"][0]) == pytest.approx(rows["final_dist"][0])
    goal = rows["goal"][0]  # reach-v3's goal space: x in [-0.1, 0.1], y in [0.8, 0.9], z in [0.05, 0.3]
    assert np.all(goal >= [-0.1, 0.8, 0.05]) and np.all(goal <= [0.1, 0.9, 0.3]) and "goal [" in episode_rows(rows)[0]
    assert rows["min_dist"][0] <= rows["final_dist"][0] and rows["late_motion"][0] >= 0
    assert row(rows).count("|") == 5 and len(episode_rows(rows)) == 1
    assert rows["success"][0] in (0.0, 1.0) and rows["success_any"][0] >= rows["success"][0]
    assert np.isfinite(rows["final_dist"][0]) and rows["final_dist"][0] >= 0
    assert (rows["final_dist"][0] < 0.05) == (rows["success"][0] == 1.0)  # reach-v3's success radius

    flags: list[bool] = []
    act = agent.act
    agent.act = lambda o, *, eval, t0=False: flags.append(eval) or act(o, eval=eval, t0=t0)
    episodes(agent, manifest, 1, explore=True)
    episodes(agent, manifest, 1)
    assert flags == [False] * 100 + [True] * 100  # explore: act as in training, else deterministic evaluation
    agent.act = act

    set_variant(agent, "online")
    n_buffer, n_updates = len(agent.buffer), agent.num_updates
    before = [p.detach().clone() for p in agent.model.parameters()]
    online = episodes(agent, manifest, 1, learn=True)  # stores every transition and updates as training does
    assert len(agent.buffer) == n_buffer + 100 and agent.num_updates > n_updates
    assert any(not torch.equal(b, p) for b, p in zip(before, agent.model.parameters(), strict=True))
    set_variant(agent, "prior_train")  # past the seed steps now: act(eval=False) draws from the prior
    prior_mean = _prior_mean(agent, obs)
    drawn = agent.act(obs, eval=False)
    assert len(agent.buffer) >= agent.seed_steps and not np.allclose(drawn, prior_mean)
    assert np.allclose(agent.act(obs, eval=True), prior_mean)
    assert set(online) == set(rows)


def test_set_planner_evaluates_with_other_mppi_settings():
    env = envs.make("metaworld", "reach-v3", seed=0)
    spec = env.wmil_spec
    env.close()
    agent = _agent(spec)
    before = agent.planner.cfg
    set_planner(agent, {"num_samples": "64", "iterations": "3", "num_elites": "8"})
    cfg = agent.planner.cfg
    assert (cfg.num_samples, cfg.iterations, cfg.num_elites) == (64, 3, 8) and cfg.horizon == before.horizon
    assert agent.planner.iterations == cfg.iterations_for(spec.action_dim) == 3  # reach has 4 action dims
    assert agent.act(np.zeros(spec.obs_shape, np.float32), eval=True, t0=True).shape == (spec.action_dim,)
    with pytest.raises(ValueError, match="unknown planner settings.*valid"):
        set_planner(agent, {"samples": "64"})
    with pytest.raises(ValueError, match="horizon"):
        set_planner(agent, {"horizon": "5"})
    with pytest.raises(ValueError, match="num_samples must be int"):
        set_planner(agent, {"num_samples": "many"})
    assert parse_settings(["num_samples=512", "temperature=0.5"]) == {"num_samples": "512", "temperature": "0.5"}
    with pytest.raises(ValueError, match="KEY=VALUE"):
        parse_settings(["num_samples"])


def test_method_settings_are_typed_and_leave_the_networks_alone():
    from methods.iqmpc import IQMPC

    settings = method_settings(["planner_q_reduce=all", "planner_q_dropout=true", "beta=1e-3", "mpc=false"], IQMPC)
    assert settings == {"planner_q_reduce": "all", "planner_q_dropout": True, "beta": 1e-3, "mpc": False}
    with pytest.raises(ValueError, match=r"\['model'\].*valid: \['alpha'"):
        method_settings(["model={latent_dim: 512}"], IQMPC)
    with pytest.raises(ValueError, match="unknown or network-changing.*'planner_q_reduce'"):
        method_settings(["planner_q=all"], IQMPC)


def test_tcp_to_goal_is_what_reach_success_reads():
    """Success on reach-v3 is tool-centre-point-to-goal < 5 cm, all along a scripted expert's episode."""
    from metaworld.policies import ENV_POLICY_MAP

    env = envs.make("metaworld", "reach-v3", seed=1)
    policy = ENV_POLICY_MAP["reach-v3"]()
    obs, _ = env.reset(seed=1)
    seen, done = set(), False
    while not done:
        obs, _, term, trunc, info = env.step(policy.get_action(obs).astype(np.float32))
        done = term or trunc
        assert (tcp_to_goal(env) < 0.05) == (info["success"] == 1.0)
        seen.add(info["success"])
    env.close()
    assert seen == {0.0, 1.0}


def test_distance_figures_tell_a_stall_from_a_drift():
    """Final and closest distance, and the mean step length of the second half of the episode."""
    stall = [np.array([0.0, 0.0, z]) for z in (0.3, 0.2, 0.1, 0.08, 0.08, 0.08)]
    final, closest, motion = distance_figures(stall, np.zeros(3))
    assert (final, closest, motion) == (0.08, 0.08, 0.0)
    drift = [np.array([0.0, 0.0, z]) for z in (0.3, 0.1, 0.0, 0.03, 0.06, 0.09)]
    final, closest, motion = distance_figures(drift, np.zeros(3))
    assert (final, closest) == (0.09, 0.0) and motion == pytest.approx(0.03)


def test_axis_rows_tell_an_axis_the_agent_follows_from_one_it_ignores():
    """x: the final position follows the goal (slope 1, offset +1 cm); y: it ends at 0.85 whatever the goal (slope 0);
    z: a single goal value (no slope)."""
    goal = np.array([[-0.05, 0.80, 0.2], [0.0, 0.85, 0.2], [0.05, 0.90, 0.2]])
    final = np.c_[goal[:, 0] + 0.01, np.full(3, 0.85), goal[:, 2]]
    lines = axis_rows({"goal": goal, "final_offset": final - goal})
    assert lines[0] == "  x: final offset +1.00 ± 0.00 cm | goal sd 4.08 cm | slope of final position on goal 1.00"
    assert "final offset +0.00 ± 4.08 cm | goal sd 4.08 cm" in lines[1] and lines[1].endswith("goal 0.00")
    assert lines[2].endswith("goal nan")
