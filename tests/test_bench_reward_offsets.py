"""bench.reward_offsets scores the demos' last steps with the hand moved off the goal or the puck swapped."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bench.reward_offsets import AXES, near_goal_offsets, offsets, puck_from, shifted
from envs.spec import EnvSpec
from experts.demos import Demos, Episode
from methods.cdred import CDRED, cdred_preset

SPEC = EnvSpec(suite="metaworld", task="reach-v3", obs_mode="state", obs_shape=(39,), action_dim=4,
               episode_length=100, action_repeat=2, has_success=True)


def _demos(n: int = 3, T: int = 12) -> Demos:
    rng = np.random.default_rng(0)
    return Demos([Episode(rng.normal(size=(T + 1, 39)).astype(np.float32),
                          rng.uniform(-1, 1, (T, 4)).astype(np.float32), np.zeros(T, np.float32)) for _ in range(n)])


def test_shifted_moves_only_the_hand_now_and_one_frame_earlier():
    obs = np.linspace(-1, 1, 2 * 39, dtype=np.float32).reshape(2, 39)
    out = shifted(obs, "y-", 0.05)
    changed = np.flatnonzero(np.any(out != obs, axis=0)).tolist()
    assert changed == [1, 19]
    assert np.allclose(out[:, [1, 19]] - obs[:, [1, 19]], -0.05, atol=1e-6)
    assert np.allclose(shifted(obs, "z+", 0.1)[:, [2, 20]] - obs[:, [2, 20]], 0.1, atol=1e-6)
    with pytest.raises(ValueError, match="valid: x\\+, x-, y\\+, y-, z\\+, z-"):
        shifted(obs, "y", 0.05)


def test_puck_from_takes_only_the_puck_columns_from_the_donor():
    obs, donor = np.zeros((3, 39), np.float32), np.ones((3, 39), np.float32)
    out = puck_from(obs, donor)
    assert np.flatnonzero(out[0]).tolist() == [4, 5, 6, 22, 23, 24] and not obs.any()


def test_offsets_rows_recorded_is_zero_and_terms_add_up():
    torch.set_num_threads(1)
    demos = _demos()
    agent = CDRED(cdred_preset("smoke", seed_steps=5), SPEC, demos, torch.device("cpu"), 0)
    rows = offsets(agent, demos, episodes=3, tail=5, distance=0.05)
    assert [r["variant"] for r in rows] == ["recorded", *(f"hand {a} 5 cm" for a in AXES), "puck of the next demo"]
    assert rows[0]["minus_recorded"] == 0.0 and rows[0]["sd"] == 0.0
    for r in rows[1:]:
        assert np.isfinite(r["learned"]) and r["minus_recorded"] != 0.0
        total = r["expert_minus_recorded"] + r["behaviour_minus_recorded"]
        assert total == pytest.approx(r["minus_recorded"], abs=1e-5)
    with pytest.raises(ValueError, match="at least 2 state-action demos"):
        offsets(agent, demos, episodes=1, tail=5, distance=0.05)


def test_near_goal_offsets_reads_the_tool_centre_point_band_per_axis():
    T = 4
    obs = np.zeros((T + 1, 39), np.float32)
    obs[:, 36:39] = [0.0, 0.8, 0.1]  # goal
    obs[:, 0:3] = [0.0, 0.8, 0.145]  # hand 4.5 cm above the goal: tool centre point on it
    obs[1:3, 1] -= [0.05, 0.2]  # one step 5 cm short in y (in the band), one 20 cm short (outside)
    share, mean_abs = near_goal_offsets(Demos([Episode(obs, np.zeros((T, 4), np.float32), np.zeros(T, np.float32))]))
    assert share == pytest.approx(1 / T) and np.allclose(mean_abs, [0.0, 0.05, 0.0], atol=1e-6)


def test_offsets_score_a_method_without_reward_terms():
    """IQ-MPC's learned reward is the decoded r = Q − γV′; it has no split, so only the total is reported."""
    from methods.iqmpc import IQMPC, iqmpc_preset

    torch.set_num_threads(1)
    demos = _demos()
    agent = IQMPC(iqmpc_preset("smoke", seed_steps=5), SPEC, demos, torch.device("cpu"), 0)
    rows = offsets(agent, demos, episodes=2, tail=4, distance=0.05)
    assert rows[0]["minus_recorded"] == 0.0 and all(np.isfinite(r["learned"]) for r in rows)
    assert not any(key.endswith("_term_minus_recorded") or key.startswith("expert") for key in rows[1])
