"""Golden tables on a fixed synthetic results tree: values, final vs best, bold per row, LaTeX, N per cell."""

from __future__ import annotations

from pathlib import Path

import pytest

from analysis import scores, tables
from analysis.loader import load_results
from analysis.synthetic import write_golden_tree


@pytest.fixture(scope="module")
def golden(tmp_path_factory: pytest.TempPathFactory):
    return load_results(write_golden_tree(tmp_path_factory.mktemp("results")))


def _table(res, which: str) -> tables.Table:
    s = scores.run_scores(res.filter(suites=["metaworld"]), "eval/success", which)
    return tables.score_table(scores.summarise(s, bounds=(0.0, 1.0)), f"{which} success", ["note"])


def test_final_success_table_golden(golden) -> None:
    t = _table(golden, "final")
    assert t.rows == ["reach-v3", "soccer-v3"] and t.cols == ["cdred", "iqmpc"]
    # t(0.975, 2) * 0.1 / sqrt(3) = 0.2484; the upper bound of cdred/reach (1.148) is clipped to 1.
    assert t.cells["reach-v3"]["cdred"] == "0.90 ± 0.10 [0.65, 1.00] (n=3)"
    assert t.cells["reach-v3"]["iqmpc"] == "0.60 ± 0.10 [0.35, 0.85] (n=3)"
    assert t.cells["soccer-v3"]["cdred"] == "0.70 ± 0.10 [0.45, 0.95] (n=3)"
    assert t.cells["soccer-v3"]["iqmpc"] == "0.90 ± 0.00 [0.90, 0.90] (n=3)"
    assert t.best == {"reach-v3": {"cdred"}, "soccer-v3": {"iqmpc"}}
    md = t.markdown()
    assert "| reach-v3 | **0.90 ± 0.10 [0.65, 1.00] (n=3)** | 0.60 ± 0.10 [0.35, 0.85] (n=3) |" in md
    tex = t.latex()
    assert "\\textbf{0.90 $\\pm$ 0.10 [0.65, 1.00] (n=3)}" in tex and "\\toprule" in tex
    assert "reach-v3 & " in tex


def test_best_differs_from_final(golden) -> None:
    final = scores.run_scores(golden, "eval/success", "final")
    best = scores.run_scores(golden, "eval/success", "best")
    pick = {"task": "reach-v3", "method": "iqmpc", "seed": 0}
    sel = lambda d: d[(d.task == pick["task"]) & (d.method == pick["method"]) & (d.seed == pick["seed"])]  # noqa: E731
    assert sel(final)["score"].item() == pytest.approx(0.5) and sel(final)["agent_step"].item() == 3000
    assert sel(best)["score"].item() == pytest.approx(0.9) and sel(best)["agent_step"].item() == 2000
    t = _table(golden, "best")
    assert t.cells["reach-v3"]["iqmpc"].startswith("0.73 ± ")  # (0.9 + 0.6 + 0.7) / 3


def test_normalised_return(golden) -> None:
    s = scores.run_scores(golden, "eval/return", "final", normalise=True)
    raw = scores.run_scores(golden, "eval/return", "final")
    assert (s["score"] * 1000).round(6).tolist() == raw["score"].round(6).tolist()  # references 0 / 1000


def test_only_done_cells_enter_tables(golden) -> None:
    s = scores.run_scores(golden, "eval/success", "final")
    assert set(s[s.suite == "metaworld"]["seed"]) == {0, 1, 2}  # failed, running and malformed seed-3 cells left out


def test_latex_escapes(tmp_path: Path) -> None:
    t = tables.Table("a_b & c", "task", ["x_1"], ["m%"], {"x_1": {"m%": "1 ± 2"}}, {}, [])
    tex = t.latex()
    assert "a\\_b \\& c" in tex and "x\\_1" in tex and "m\\%" in tex and "1 $\\pm$ 2" in tex
    assert tables.latex_escape("(R − random) 1–2 $") == "(R - random) 1--2 \\$"
