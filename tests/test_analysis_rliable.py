"""Our vectorised bootstraps equal rliable's own values on the same data and seed; aggregate goldens."""

from __future__ import annotations

import numpy as np
import pytest
from rliable import library as rly
from rliable import metrics

from analysis import bootstrap as bs
from analysis.aggregates import point_aggregates


def _rliable_aggregate(x: np.ndarray) -> np.ndarray:
    return np.array([metrics.aggregate_median(x), metrics.aggregate_iqm(x), metrics.aggregate_mean(x),
                     metrics.aggregate_optimality_gap(x)])


@pytest.mark.parametrize("ny", [6, 4])  # equal run counts (one batched draw) and unequal (per-sample draws)
def test_probability_of_improvement_equals_rliable(ny: int) -> None:
    data = np.random.RandomState(1)
    x = data.rand(6, 3).round(1)  # rounding makes ties, which Mann-Whitney counts as 1/2
    y = data.rand(ny, 3).round(1)
    pairs = {"x,y": (x, y), "y,x": (y, x)}
    np.random.seed(11)
    theirs_p, theirs_ci = rly.get_interval_estimates(
        {k: list(v) for k, v in pairs.items()}, metrics.probability_of_improvement, reps=60)
    ours_p, ours_ci = bs.probability_of_improvement(pairs, reps=60, rng=np.random.RandomState(11))
    for k in pairs:
        assert ours_p[k] == pytest.approx(theirs_p[k], abs=1e-12)
        np.testing.assert_allclose(ours_ci[k], theirs_ci[k], atol=1e-12)
    assert ours_p["x,y"] + ours_p["y,x"] == pytest.approx(1.0)


def test_interval_estimates_equal_rliable() -> None:
    data = np.random.RandomState(2)
    scores = {"a": data.rand(5, 7), "b": data.rand(3, 7)}
    np.random.seed(5)
    theirs_p, theirs_ci = rly.get_interval_estimates(scores, _rliable_aggregate, reps=400)
    ours_p, ours_ci = bs.interval_estimates(scores, bs.aggregate_stats, 400, np.random.RandomState(5))
    for k in scores:
        np.testing.assert_allclose(ours_p[k], theirs_p[k], rtol=1e-12)
        np.testing.assert_allclose(ours_ci[k], theirs_ci[k], rtol=1e-12)
        np.testing.assert_allclose(point_aggregates(scores[k]), theirs_p[k], rtol=1e-12)


def test_performance_profiles_equal_rliable() -> None:
    data = np.random.RandomState(3)
    scores = {"a": data.rand(4, 6), "b": data.rand(4, 6) * 1.2}
    taus = np.linspace(0, 1.2, 13)
    np.random.seed(6)
    theirs_p, theirs_ci = rly.create_performance_profile(scores, taus, reps=150)
    ours_p, ours_ci = bs.interval_estimates(scores, bs.profile_stat(taus), 150, np.random.RandomState(6))
    for k in scores:
        np.testing.assert_array_equal(ours_p[k], theirs_p[k])
        np.testing.assert_allclose(ours_ci[k], theirs_ci[k], atol=1e-15)


def test_sample_efficiency_iqm_equals_rliable() -> None:
    x = np.random.RandomState(4).rand(4, 5, 6)  # runs x tasks x steps

    def per_step(s: np.ndarray) -> np.ndarray:
        return np.array([metrics.aggregate_iqm(s[..., j]) for j in range(s.shape[-1])])

    np.random.seed(7)
    theirs_p, theirs_ci = rly.get_interval_estimates({"a": x}, per_step, reps=200)
    ours_p, ours_ci = bs.interval_estimates({"a": x}, bs.iqm_per_step, 200, np.random.RandomState(7))
    np.testing.assert_allclose(ours_p["a"], theirs_p["a"], rtol=1e-12)
    np.testing.assert_allclose(ours_ci["a"], theirs_ci["a"], rtol=1e-12)


def test_aggregate_golden_values() -> None:
    # 4 runs x 2 tasks, hand-computed: task means 0.25 and 0.75; sorted 8 values, IQM = mean of middle four.
    x = np.array([[0.0, 0.5], [0.2, 0.7], [0.3, 0.9], [0.5, 0.9]])
    median, iqm, mean, gap = point_aggregates(x)
    assert mean == pytest.approx(0.5)
    assert median == pytest.approx(0.5)  # median of the two task means
    assert iqm == pytest.approx((0.3 + 0.5 + 0.5 + 0.7) / 4)
    assert gap == pytest.approx(0.5)
    assert bs.iqm(x[None])[0] == pytest.approx(iqm)
    # column 0 vs column 1: no wins, one tie (0.5 vs 0.5) among 16 pairs
    assert bs.poi_stat(x[None, :, :1], x[None, :, 1:])[0] == pytest.approx(0.5 / 16)


def test_curve_cis_resample_whole_runs() -> None:
    x = np.random.RandomState(8).rand(4, 3, 5)  # runs x tasks x steps
    points, cis = bs.curve_interval_estimates({"a": x}, reps=120, rng=np.random.RandomState(9))
    theirs_p, _ = rly.get_interval_estimates({"a": x}, lambda s: np.array(
        [metrics.aggregate_iqm(s[..., j]) for j in range(s.shape[-1])]), reps=2)
    np.testing.assert_array_equal(points["a"], theirs_p["a"])  # point estimates: rliable's own values
    rng, samples = np.random.RandomState(9), []
    for _ in range(120):  # slow reference: one run index per (run slot, task), shared by every step
        idx = rng.choice(4, (4, 3))
        b = x[idx, np.arange(3)[None, :], :]
        samples.append([metrics.aggregate_iqm(b[..., j]) for j in range(5)])
    np.testing.assert_allclose(cis["a"], np.percentile(np.array(samples), [2.5, 97.5], axis=0), rtol=1e-12)
