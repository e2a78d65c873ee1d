"""The one-command report on the golden tree: every link resolves, PNG + PDF figures, problems listed, registry."""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from analysis import published  # noqa: E402
from analysis.report import ReportOptions, build_report, main  # noqa: E402
from analysis.synthetic import write_golden_tree  # noqa: E402


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = write_golden_tree(tmp_path_factory.mktemp("results"))
    out = tmp_path_factory.mktemp("reports")
    build_report([root], out, ReportOptions(reps=200, profile_reps=50, poi_reps=50, progress=False))
    return out


def test_index_links_resolve(report: Path) -> None:
    text = (report / "index.md").read_text()
    links = re.findall(r"\]\(([^)]+)\)", text)
    assert len(links) >= 20
    for rel in links:
        assert (report / rel).is_file(), rel
    figures = {p.stem for p in (report / "figures").rglob("*.png")}
    assert figures == {p.stem for p in (report / "figures").rglob("*.pdf")}
    for name in ("learning_curves_eval_success", "learning_curves_eval_return", "diagnostics_diag_q_diff",
                 "diagnostics_diag_reward_corr", "aggregates", "performance_profiles", "probability_of_improvement",
                 "sample_efficiency", "ablation_method_grad_penalty"):
        assert name in figures, name
    for f in (p for p in (report / "figures").rglob("*") if p.is_file()):
        assert f.suffix in {".png", ".pdf"} and f.stat().st_size > 1000


def test_final_and_best_labelled(report: Path) -> None:
    final = (report / "tables/metaworld/eval_success_final.md").read_text()
    best = (report / "tables/metaworld/eval_success_best.md").read_text()
    assert "final (last evaluation)" in final and "best (max over evaluations)" in best
    assert "**0.90 ± 0.10 [0.65, 1.00] (n=3)**" in final
    assert (report / "tables/metaworld/eval_return_normalised_final.tex").read_text().count("\\textbf") == 2


def test_problems_and_coverage_reported(report: Path) -> None:
    text = (report / "index.md").read_text()
    section = text.split("## Load problems")[1].split("\n## ")[0]
    assert "badc0ffee000/manifest.json" in section and "unreadable manifest" in section
    assert "soccer-v3/cdred" in section and "missing column(s) value" in section
    assert "done: 16" in text and "failed: 1" in text and "malformed: 2" in text and "running: 1" in text
    cov = (report / "tables/coverage.md").read_text()
    assert "RuntimeError: CUDA out of memory" in cov


def test_published_comparison(report: Path) -> None:
    cmp = pd.read_csv(report / "tables/published_comparison.csv")
    soccer = cmp[(cmp.task == "soccer-v3") & (cmp.table == "Table 1") & cmp.paper.str.startswith("CDRED")]
    cdred = soccer[soccer.method == "CDRED(Ours)"].iloc[0]
    assert cdred.theirs == 0.81 and cdred.ours_mean == pytest.approx(0.7) and cdred.ours_n == 3
    assert cdred["diff"] == pytest.approx(-0.11) and bool(cdred.theirs_in_our_ci)
    iq = soccer[soccer.method == "IQ-MPC"].iloc[0]
    assert iq["diff"] == pytest.approx(0.9 - 0.12) and not bool(iq.theirs_in_our_ci)
    gp = cmp[(cmp.table == "Table 6")].set_index("method")
    assert gp.loc["IQ-MPC, gradient penalty: Yes", "ours_variant"] == "iqmpc[method.grad_penalty=on]"
    assert gp.loc["IQ-MPC, gradient penalty: No", "ours_mean"] == pytest.approx(0.45)
    assert "Ours vs published numbers" in (report / "index.md").read_text()


def test_registry_provenance() -> None:
    reg = published.load_registry()
    assert len(reg) == 84
    for col in ("paper", "paper_file", "table", "task", "method", "metric", "aggregation"):
        assert (reg[col] != "").all(), col
    row = reg[(reg.table == "Table 1") & (reg.task == "box-close-v3") & (reg.method == "cdred")].iloc[0]
    assert (row.value, row.spread, row.n_seeds, row.suite) == (0.96, 0.03, "3", "metaworld")
    assert set(reg.paper_file) == {"000_63dee5a55cb97d81.txt", "001_7dec74e3a63cb183.txt", "004_3a2f273503720f66.txt"}
    key_turn = reg[(reg.task == "myoHandKeyTurnFixed-v0") & (reg.method == "iqmpc")].iloc[0]
    assert key_turn.value == 0.87 and key_turn.table == "Table 1"
    assert published.variant_matches("iqmpc[method.grad_penalty=on]", "iqmpc", "grad_penalty=on")
    assert not published.variant_matches("iqmpc[method.grad_penalty=off]", "iqmpc", "grad_penalty=on")
    assert not published.variant_matches("iqmpc", "iqmpc", "grad_penalty=on")


def test_cli_filters(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    root = write_golden_tree(tmp_path / "results")
    out = tmp_path / "rep"
    assert main([str(root), "--out", str(out), "--suite", "metaworld", "--method", "cdred", "--reps", "50",
                 "--profile-reps", "20", "--poi-reps", "20", "--no-progress", "--no-figures"]) == 0
    assert capsys.readouterr().out.strip().endswith("index.md")
    final = (out / "tables/metaworld/eval_success_final.md").read_text()
    assert "cdred" in final and "iqmpc" not in final
    assert not (out / "tables/maniskill2").exists()
