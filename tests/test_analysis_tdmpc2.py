"""TD-MPC2's published curves as a results source: ids mapped, numbers match the CSVs, the aggregate report builds."""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

import pandas as pd
import pytest

from analysis import scores
from analysis.report import ReportOptions, build_report
from analysis.tdmpc2 import is_tdmpc2_release, load_tdmpc2, map_task

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "tdmpc2-results"
ALGOS = ("tdmpc2", "tdmpc", "sac", "dreamerv3")
pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason=f"TD-MPC2 release data not found at {DATA}")


def _csv_finals(algo: str, task: str) -> dict[int, tuple[int, float, float]]:
    """Per seed (last step, value at it, best value), read with the csv module (independent of the loader)."""
    out: dict[int, tuple[int, float, float]] = {}
    with open(DATA / algo / f"{task}.csv") as f:
        for row in csv.DictReader(f):
            seed, step, v = int(row["seed"]), int(row["step"]), float(row["success"])
            last, val, best = out.get(seed, (-1, 0.0, -1.0))
            out[seed] = (step, v, max(best, v)) if step > last else (last, val, max(best, v))
    return out


@pytest.fixture(scope="module")
def mw():
    return load_tdmpc2(DATA, ALGOS, suites=("metaworld",))


def test_task_mapping() -> None:
    assert map_task("mw-box-close") == ("metaworld", "box-close-v3")
    assert map_task("walker-walk") == ("dmc", "walker-walk")
    assert map_task("pick-cube") == ("maniskill2", "PickCube-v0")
    assert map_task("myo-hand-key-turn") == ("myosuite", "myoHandKeyTurnFixed-v0")
    assert map_task("myo-hand-obj-hold-hard") == ("myosuite", "myoHandObjHoldRandom-v0")
    assert is_tdmpc2_release(DATA)


def test_labelled_as_theirs(mw) -> None:
    assert set(mw.frame["source"]) == {"tdmpc2-release"}
    assert all(v.endswith("(TD-MPC2 data)") for v in mw.cells["variant"])
    assert len(mw.cells) == 4 * 50 * 3 and not mw.problems
    f = mw.frame
    assert (f["agent_step"] * 2 == f["env_step"]).all()  # TD-MPC2's step counts env steps, repeat 2


def test_final_means_match_csv(mw) -> None:
    summ = scores.summarise(scores.run_scores(mw, "eval/success", "final")).set_index(["task", "variant"])
    # Hand-checked from the CSVs: mw-box-close last evaluations per seed
    # tdmpc2: 1.0 (2M), 0.9 (2M), 1.0 (seed 3 ends at 1.9M); sac: 0.0, 0.9, 0.0; dreamerv3: 0.2, 0.0, 0.0.
    assert summ.loc[("box-close-v3", "tdmpc2 (TD-MPC2 data)"), "mean"] == pytest.approx((1.0 + 0.9 + 1.0) / 3)
    assert summ.loc[("box-close-v3", "sac (TD-MPC2 data)"), "mean"] == pytest.approx(0.3)
    assert summ.loc[("box-close-v3", "dreamerv3 (TD-MPC2 data)"), "mean"] == pytest.approx(0.2 / 3)
    assert summ.loc[("box-close-v3", "tdmpc2 (TD-MPC2 data)"), "env_step_min"] == 1_900_000
    for algo in ALGOS:
        for task in ("mw-box-close", "mw-soccer", "mw-reach"):
            ref = _csv_finals(algo, task)
            key = (map_task(task)[1], f"{algo} (TD-MPC2 data)")
            assert summ.loc[key, "mean"] == pytest.approx(sum(v for _, v, _ in ref.values()) / len(ref))
            assert summ.loc[key, "n"] == 3


def test_best_matches_csv(mw) -> None:
    best = scores.run_scores(mw, "eval/success", "best")
    got = best[(best.task == "soccer-v3") & (best.method == "sac")].set_index("seed")["score"].to_dict()
    assert got == pytest.approx({s: b for s, (_, _, b) in _csv_finals("sac", "mw-soccer").items()})


def test_aggregate_report_builds(tmp_path: Path) -> None:
    opts = ReportOptions(suites=["metaworld"], reps=300, profile_reps=50, poi_reps=50, progress=False,
                         figures=False)
    index = build_report([DATA], tmp_path, opts)
    text = index.read_text()
    assert "Meta-World: aggregate success rate" in (tmp_path / "tables/metaworld/aggregates.md").read_text()
    assert "TD-MPC2's published curves" in text
    agg = pd.read_csv(tmp_path / "tables/metaworld/aggregates.csv")
    assert sorted(agg["variant"].unique()) == sorted(f"{a} (TD-MPC2 data)" for a in ALGOS)
    assert set(agg["metric"]) == {"IQM", "Mean", "Median", "Optimality Gap"}
    assert ((agg["ci_low"] <= agg["estimate"] + 1e-12) & (agg["estimate"] <= agg["ci_high"] + 1e-12)).all()
    # The aggregate mean equals the mean of every (task, seed) last evaluation in the CSVs.
    for algo in ALGOS:
        finals = defaultdict(list)
        for p in sorted((DATA / algo).glob("mw-*.csv")):
            finals[algo] += [v for _, v, _ in _csv_finals(algo, p.stem).values()]
        mean = agg[(agg.variant == f"{algo} (TD-MPC2 data)") & (agg.metric == "Mean")]["estimate"].item()
        assert mean == pytest.approx(sum(finals[algo]) / len(finals[algo]))
    iqm = agg[agg.metric == "IQM"].set_index("variant")["estimate"]
    assert iqm["tdmpc2 (TD-MPC2 data)"] > iqm["dreamerv3 (TD-MPC2 data)"]
    for rel in ("tables/metaworld/eval_success_final.md", "tables/metaworld/eval_success_best.tex",
                "tables/coverage.md", "tables/published_comparison.md"):
        assert f"({rel})" in text or rel in text, rel
