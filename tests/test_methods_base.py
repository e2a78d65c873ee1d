"""The uniform method interface's shared helpers (methods/base.py)."""

from __future__ import annotations

import numpy as np
import pytest

import methods


def test_reward_correlation_pools_episodes_and_handles_methods_without_a_reward():
    class Fixed(methods.Method):
        name = "fixed"

        def __init__(self, est):
            self.est = est

        def act(self, obs, *, eval, t0=False):
            return np.zeros(1)

        def reward_estimates(self, obs, action):
            return None if self.est is None else self.est(obs)

        def state_dict(self):
            return {}

        def load_state_dict(self, state):
            pass

    obs = [np.array([[0.0], [1.0], [2.0]]), np.array([[5.0], [3.0], [4.0]])]
    eps = [(o, np.zeros((2, 1)), r) for o, r in zip(obs, (np.array([1.0, 2.0]), np.array([4.0, 3.0])), strict=True)]
    # estimates 0,1 | 5,3 against rewards 1,2 | 4,3: pooled Pearson by hand
    x, y = np.array([0.0, 1.0, 5.0, 3.0]), np.array([1.0, 2.0, 4.0, 3.0])
    dx, dy = x - x.mean(), y - y.mean()
    assert methods.reward_correlation(Fixed(lambda o: o[:-1, 0]), eps) == pytest.approx(
        (dx * dy).sum() / np.sqrt((dx**2).sum() * (dy**2).sum()))
    assert methods.reward_correlation(Fixed(None), eps) is None
    assert methods.reward_correlation(Fixed(lambda o: np.ones(len(o) - 1)), eps) is None  # constant estimate
