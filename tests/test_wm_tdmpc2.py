"""TD-MPC2 RL agent on the shared core: learns from rewards, exact resume."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from envs.spec import EnvSpec
from methods.base import Transition
from methods.common.tdmpc2 import TDMPC2, tdmpc2_preset

torch.set_num_threads(1)


def _agent(seed: int = 0) -> TDMPC2:
    spec = EnvSpec("dmc", "toy", "state", (3,), 2, 10, 2, False)
    return TDMPC2(tdmpc2_preset("smoke", seed_steps=20, batch_size=16, lr=3e-3), spec, None, torch.device("cpu"), seed)


def _drive(agent: TDMPC2, steps: int, rng: np.random.Generator) -> tuple[dict, list]:
    metrics, actions, obs = {}, [], rng.normal(size=3).astype(np.float32)
    for _ in range(steps):
        a = agent.act(obs, eval=False, t0=len(agent.buffer) % 10 == 0)
        nxt = rng.normal(size=3).astype(np.float32)
        agent.observe(Transition(obs, a, 1.0, nxt, False, len(agent.buffer) % 10 == 9))  # constant reward 1
        metrics = agent.update(len(agent.buffer)) or metrics
        actions.append(a)
        obs = nxt
    return metrics, actions


def test_tdmpc2_learns_a_constant_reward_and_resumes_exactly():
    agent = _agent()
    rng = np.random.default_rng(0)
    first, _ = _drive(agent, 21, rng)  # seed burst of 20 updates + 1
    later, _ = _drive(agent, 60, rng)
    assert later["train/reward_loss"] < first["train/reward_loss"]
    with torch.no_grad():
        z = agent.model.encode(torch.randn(4, 3))
        r = agent.model.twohot.decode(agent.model.reward_logits(z, torch.zeros(4, 2)))
    assert float(r.mean()) > 0.3  # moved from 0 towards the constant reward 1
    state = copy.deepcopy(agent.state_dict())
    rng_b = copy.deepcopy(rng)
    m_a, acts_a = _drive(agent, 3, rng)
    other = _agent(seed=5)
    other.load_state_dict(state)
    m_b, acts_b = _drive(other, 3, rng_b)
    assert m_a == m_b and all(np.array_equal(x, y) for x, y in zip(acts_a, acts_b, strict=True))


def test_obs_norm_from_demos_needs_demos():
    spec = EnvSpec("dmc", "toy", "state", (3,), 2, 10, 2, False)
    with pytest.raises(ValueError, match="needs expert demonstrations"):
        TDMPC2(tdmpc2_preset("smoke", obs_norm="demos"), spec, None, torch.device("cpu"), 0)
