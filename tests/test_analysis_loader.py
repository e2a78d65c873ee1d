"""Loader: tidy frame from the runner's layout; failed/missing cells reported; malformed files named, not fatal."""

from __future__ import annotations

import pytest

from analysis import coverage
from analysis.loader import ResultsFileError, load_results, read_manifest, read_metrics
from analysis.results import FRAME_COLUMNS
from analysis.synthetic import write_golden_tree


@pytest.fixture(scope="module")
def golden(tmp_path_factory: pytest.TempPathFactory):
    return load_results(write_golden_tree(tmp_path_factory.mktemp("results")))


def test_tidy_frame(golden) -> None:
    f = golden.frame
    assert list(f.columns) == FRAME_COLUMNS
    assert (f["env_step"] == 2 * f["agent_step"]).all()
    done = f[(f.suite == "metaworld") & (f.metric == "eval/success")]
    # 12 done runs x 3 evaluations + the running cell's single evaluation
    assert len(done) == 12 * 3 + 1
    assert set(f["metric"].astype(str)) == {"eval/success", "eval/return", "diag/q_diff", "diag/reward_corr"}


def test_statuses_counted(golden) -> None:
    counts = golden.cells["status"].value_counts().to_dict()
    assert counts == {"done": 16, "failed": 1, "running": 1, "malformed": 2}


def test_missing_and_failed_reported(golden) -> None:
    cov = coverage.coverage(golden.cells)
    row = cov[(cov.task == "reach-v3") & (cov.variant == "cdred")].iloc[0]
    assert row["failed"] == 1 and row["done"] == 3 and row["seeds_done"] == "0,1,2" and row["missing_seeds"] == ""
    row = cov[(cov.task == "reach-v3") & (cov.variant == "iqmpc")].iloc[0]
    assert row["missing_seeds"] == "3" and row["malformed"] == 1
    failed = golden.cells[golden.cells.status.isin(["failed", "malformed"])]
    md = coverage.coverage_markdown(cov, coverage.missing_pairs(golden.cells), failed)
    assert "RuntimeError: CUDA out of memory" in md
    assert "badc0ffee000" in md


def test_missing_pairs() -> None:
    import pandas as pd

    cells = pd.DataFrame({"source": "ours", "suite": "dmc", "task": ["a", "a", "b"], "method": ["m", "n", "m"]})
    assert coverage.missing_pairs(cells)[["task", "method"]].values.tolist() == [["b", "n"]]


def test_malformed_files_named(golden) -> None:
    probs = {p.path.split("results")[-1]: p.message for p in golden.problems}
    manifest = next(k for k in probs if k.endswith("badc0ffee000/manifest.json"))
    assert "unreadable manifest" in probs[manifest]
    metrics = next(k for k in probs if k.endswith("metrics.csv"))
    assert "missing column(s) value" in probs[metrics] and "soccer-v3/cdred" in metrics


def test_read_errors_name_the_file(tmp_path) -> None:
    m = tmp_path / "manifest.json"
    m.write_text('{"cell_id": "x"}')
    with pytest.raises(ResultsFileError, match=f"{m}: manifest lacks suite"):
        read_manifest(m)
    c = tmp_path / "metrics.csv"
    c.write_text("agent_step,env_step,metric,value\n10,20,eval/return,abc\n")
    with pytest.raises(ResultsFileError, match=f"{c}: line 2: non-numeric value 'abc'"):
        read_metrics(c)


def test_filters_and_variants(golden) -> None:
    ms = golden.filter(suites=["maniskill2"])
    assert sorted(ms.cells["variant"].unique()) == ["iqmpc[method.grad_penalty=off]", "iqmpc[method.grad_penalty=on]"]
    assert set(golden.filter(methods=["cdred"]).frame["method"].astype(str)) == {"cdred"}
    assert set(golden.filter(tasks=["soccer-v3"]).cells["task"]) == {"soccer-v3"}
    mw_done = golden.filter(suites=["metaworld"]).cells.query("status == 'done'")
    assert mw_done["variant"].isin(["cdred", "iqmpc"]).all()


def test_missing_root(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_results(tmp_path / "nope")


def test_bad_value_in_one_file_of_many(tmp_path) -> None:
    from analysis.synthetic import write_grid

    write_grid(tmp_path, ["a", "b"], ["t-v3"], seeds=3, n_points=4, diagnostics=False)
    bad = sorted(tmp_path.glob("*/*/b/*/metrics.csv"))[1]
    bad.write_text(bad.read_text().replace("\n2000,4000,eval/success,", "\n2000,4000,eval/success,oops", 1))
    res = load_results(tmp_path)
    assert [p.path for p in res.problems] == [str(bad)]
    assert "non-numeric value 'oops" in res.problems[0].message
    assert res.cells["status"].value_counts().to_dict() == {"done": 5, "malformed": 1}
    assert len(res.frame) == 5 * 4 * 2  # the five good files, two metrics x four evaluations each
