"""bench.learning_bar on the golden synthetic tree: seed means, first step at the bar, lagging seeds, --of-expert."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.loader import load_results
from analysis.synthetic import write_cell, write_golden_tree
from bench.learning_bar import bar_summary, main, per_evaluation, seed_curves


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    return write_golden_tree(tmp_path_factory.mktemp("results"))


def _row(summary, task, variant):
    rows = summary[(summary["task"] == task) & (summary["variant"] == variant)]
    assert len(rows) == 1
    return rows.iloc[0]


def test_seed_means_and_first_step_at_the_bar(tree):
    summary = bar_summary(seed_curves(load_results(tree), "eval/success"), bar=0.5)
    # iqmpc/reach-v3: seed 0 = 0.2, 0.9, 0.5; seed 1 = 0.2, 0.4, 0.6; seed 2 = 0.7/3, 1.4/3, 0.7
    iq = _row(summary, "reach-v3", "iqmpc")
    assert (iq["seeds"], iq["evaluations"], iq["last_step"]) == (3, 3, 3000)
    assert (iq["first_at_bar"], iq["n_at_bar"]) == (2000, 2)
    assert iq["mean"] == pytest.approx((0.2 + 0.2 + 0.7 / 3 + 0.9 + 0.4 + 1.4 / 3 + 0.5 + 0.6 + 0.7) / 9)
    assert (iq["best"], iq["last"]) == (pytest.approx(0.6), pytest.approx(0.6))
    # cdred/reach-v3: seeds end at 0.8, 0.9, 1.0 -> means 0.3, 0.6, 0.9; the failed seed 3 has no metrics
    cd = _row(summary, "reach-v3", "cdred")
    assert (cd["seeds"], cd["first_at_bar"], cd["n_at_bar"]) == (3, 2000, 2)


def test_a_bar_hit_exactly_by_a_rounded_mean_counts_and_the_budget_cuts_the_curve(tmp_path):
    for seed, (first, last) in enumerate([(1.0, 0.5), (0.8, 0.9), (0.6, 0.4)]):
        metrics = pd.DataFrame({"agent_step": [1000, 2000], "env_step": [2000, 4000],
                                "metric": "eval/success", "value": [first, last]})
        write_cell(tmp_path, "metaworld", "reach-v3", "cdred", seed, metrics)
    sc = seed_curves(load_results(tmp_path), "eval/success")
    assert per_evaluation(sc)["mean"].iloc[0] < 0.8  # (1.0 + 0.8 + 0.6) / 3 is 0.7999999999999999 in floats
    row = _row(bar_summary(sc, bar=0.8), "reach-v3", "cdred")
    assert (row["first_at_bar"], row["n_at_bar"], row["best"]) == (1000, 1, pytest.approx(0.8))
    within = _row(bar_summary(sc, bar=0.6, within=1000), "reach-v3", "cdred")  # 2000 (mean 0.6) is over budget
    assert (within["evaluations"], within["first_at_bar"], within["n_at_bar"]) == (1, 1000, 1)
    assert pd.isna(_row(bar_summary(sc, bar=0.9), "reach-v3", "cdred")["first_at_bar"])


def test_a_lagging_seed_truncates_the_curve_instead_of_thinning_the_mean(tree):
    sc = seed_curves(load_results(tree), "eval/success")
    soccer = sc[(sc["task"] == "soccer-v3") & (sc["variant"] == "iqmpc")]
    ev = per_evaluation(soccer)  # seeds 0-2 reach 3000 steps (0.3, 0.6, 0.9); running seed 3 has 0.1 at 1000 only
    assert list(ev.index) == [1000]
    assert list(ev.columns) == ["seed 0", "seed 1", "seed 2", "seed 3", "mean"]
    assert ev["mean"].iloc[0] == pytest.approx((0.3 * 3 + 0.1) / 4)


def test_of_expert_divides_by_the_datasets_expert_return(tree):
    results = load_results(tree)
    ret = seed_curves(results, "eval/return", of_expert=True)  # returns are 1000 x success, expert return 1000
    succ = seed_curves(results, "eval/success")
    assert ret["value"].to_numpy() == pytest.approx(succ["value"].to_numpy())


def test_cli_prints_the_ablation_arms_and_names_the_metrics_when_one_is_unknown(tree, capsys):
    assert main([str(tree), "--suite", "maniskill2", "--bar", "0.7", "--curves"]) == 0
    out = capsys.readouterr().out
    assert "iqmpc[method.grad_penalty=off]" in out and "iqmpc[method.grad_penalty=on]" in out
    assert "| 2000 | 0.80 | 0.70 | 0.75 |" in out  # grad_penalty on: seeds end at 0.8 and 0.7
    assert main([str(tree), "--suite", "maniskill2", "--variant", "grad_penalty=off"]) == 0
    out = capsys.readouterr().out
    assert "grad_penalty=off" in out and "grad_penalty=on" not in out
    assert main([str(tree), "--suite", "maniskill2", "--variant", "grad_penalty=on", "--seeds", "1", "--curves"]) == 0
    out = capsys.readouterr().out
    assert "| 2000 | 0.70 | 0.70 |" in out and "seed 0" not in out  # seed 1 alone: its value is the mean
    assert main([str(tree), "--suite", "maniskill2", "--seeds", "7"]) == 2
    assert "no seeds 7 in that selection; present: 0, 1" in capsys.readouterr().err
    assert main([str(tree), "--metric", "eval/sucess"]) == 2
    assert "metrics present: " in capsys.readouterr().err
    assert main([str(tree), "--task", "reach-v2"]) == 2
    assert "present: PickCube-v0, reach-v3, soccer-v3" in capsys.readouterr().err
