"""bench.reward_landscape holds the gripper at set distances from a reach goal and scores the holds with a method's
learned reward."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import envs
from bench.eval_variants import goal_position, tcp_position
from bench.reward_landscape import direction, hold_at, landscape
from experts.demos import Demos, Episode
from methods.cdred import CDRED, cdred_preset


def _smoke_cdred(spec) -> tuple[CDRED, dict]:
    """An untrained smoke-size CDRED agent on reach-v3 (random demos) and a manifest as `landscape` reads it."""
    rng = np.random.default_rng(0)
    demos = Demos([Episode(rng.normal(size=(11, 39)).astype(np.float32),
                           rng.uniform(-1, 1, (10, 4)).astype(np.float32), np.zeros(10, np.float32))
                   for _ in range(2)])
    agent = CDRED(cdred_preset("smoke", seed_steps=5), spec, demos, torch.device("cpu"), 0)
    return agent, {"config": {"obs": "state"}, "seed": 0, "suite": "metaworld", "task": "reach-v3"}


def test_hold_at_reaches_and_holds_the_offset_point():
    env = envs.make("metaworld", "reach-v3", seed=0)
    obs, act, true_r, held = hold_at(env, np.array([0.0, 0.0, 0.0]), approach=40, hold=10, seed=3)
    assert obs.shape == (11, 39) and act.shape == (10, 4) and true_r.shape == (10,)
    assert held < 0.01 and np.all(true_r > 19.0)  # inside the 5 cm success radius: 10 per env step, repeat 2
    obs, _, true_r, held = hold_at(env, np.array([0.1, 0.0, 0.0]), approach=40, hold=10, seed=3)
    env.close()
    assert abs(held - 0.1) < 0.01 and np.all(true_r < 19.0)
    assert np.abs(obs[1:, :3] - obs[:-1, :3]).max() < 2e-3  # holding still: the hand moves < 2 mm per step


def test_landscape_rows_and_zero_difference_at_the_goal():
    torch.set_num_threads(1)
    env = envs.make("metaworld", "reach-v3", seed=0)
    spec = env.wmil_spec
    env.close()
    agent, manifest = _smoke_cdred(spec)
    rows = landscape(agent, manifest, episodes=2, approach=30, hold=5, distances=(0.0, 0.1))
    assert [r["d"] for r in rows] == [0.0, 0.1]
    assert rows[0]["vs_goal"] == 0.0 and rows[0]["dz"] == 0.0
    assert rows[1]["dz"] > 0 and np.isfinite(rows[1]["learned"])
    assert rows[0]["true"] > rows[1]["true"]  # the true reward falls away from the goal
    # CDRED's difference splits into its expert and behavioural terms (Eq. 5)
    assert rows[0]["expert_vs_goal"] == 0.0 and rows[0]["behaviour_vs_goal"] == 0.0
    assert rows[1]["expert_vs_goal"] + rows[1]["behaviour_vs_goal"] == pytest.approx(rows[1]["vs_goal"], abs=1e-5)
    assert rows[1]["behaviour_vs_goal"] != 0.0


def test_direction_is_a_signed_axis_or_a_seeded_random_unit_vector():
    rng = np.random.default_rng(0)
    assert direction("y+", rng).tolist() == [0.0, 1.0, 0.0]
    assert direction("z-", rng).tolist() == [0.0, 0.0, -1.0]
    u = direction("random", np.random.default_rng(1))
    assert np.linalg.norm(u) == pytest.approx(1.0) and np.all(u == direction("random", np.random.default_rng(1)))
    with pytest.raises(ValueError, match="valid: random, x\\+, x-, y\\+, y-, z\\+, z-"):
        direction("y", rng)


def test_landscape_along_an_axis_holds_off_the_goal_on_that_axis_only():
    torch.set_num_threads(1)
    env = envs.make("metaworld", "reach-v3", seed=0)
    spec = env.wmil_spec
    _, _, _, held = hold_at(env, 0.05 * direction("y-", None), approach=40, hold=5, seed=3)
    tcp, goal = tcp_position(env), goal_position(env)
    env.close()
    assert abs(held - 0.05) < 0.01 and tcp[1] < goal[1] - 0.035 and np.all(np.abs(tcp[[0, 2]] - goal[[0, 2]]) < 0.01)
    agent, manifest = _smoke_cdred(spec)
    rows = landscape(agent, manifest, episodes=1, approach=30, hold=5, distances=(0.0, 0.05), axis="x+")
    assert abs(rows[1]["held"] - 0.05) < 0.01 and rows[0]["held"] < 0.01
