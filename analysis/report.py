"""`python -m analysis.report SOURCE... --out reports/ [--suite S] [--method M] [--task T]`

Regenerates every table and figure from result trees (ours: results/; TD-MPC2's published curves: a folder laid
out like ../shared/data/tdmpc2-results) and writes `reports/index.md` linking them all. Hand-written orchestration.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import aggregates as agg
from analysis import coverage, figures, published, scores, tables
from analysis.loader import load_results
from analysis.results import OURS, Results
from analysis.tdmpc2 import is_tdmpc2_release, load_tdmpc2
from analysis.variants import varying_axes

BOUNDS = {"eval/success": (0.0, 1.0)}  # CIs are clipped to a metric's range
SUITE_NAMES = {"dmc": "DMControl", "metaworld": "Meta-World", "maniskill2": "ManiSkill2", "myosuite": "MyoSuite"}


@dataclass
class ReportOptions:
    suites: list[str] | None = None
    methods: list[str] | None = None
    tasks: list[str] | None = None
    reps: int = agg.REPS
    profile_reps: int = agg.PROFILE_REPS
    poi_reps: int = agg.POI_REPS
    seed: int = 0
    step_col: str = "env_step"
    progress: bool = True
    figures: bool = True


@dataclass
class Index:
    """Collects the report's sections and every file written, then renders index.md."""

    out: Path
    sections: list[str] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)

    def link(self, path: Path, label: str | None = None) -> str:
        self.files.append(path)
        return f"[{label or path.name}]({path.relative_to(self.out).as_posix()})"

    def write_text(self, rel: str, text: str) -> Path:
        p = self.out / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
        return p


def log(msg: str) -> None:
    print(f"[analysis.report] {msg}", file=sys.stderr, flush=True)


def load_sources(paths: list[str | Path], suites: list[str] | None = None) -> Results:
    """Each path is our results tree or a TD-MPC2 release folder (detected by layout)."""
    parts = []
    for p in paths:
        if is_tdmpc2_release(p):
            parts.append(load_tdmpc2(p, suites=tuple(suites) if suites else None))
        else:
            parts.append(load_results(p))
    return Results.concat(parts)


def _table_files(idx: Index, table: tables.Table, rel: str) -> str:
    md = idx.write_text(f"tables/{rel}.md", table.markdown())
    tex = idx.write_text(f"tables/{rel}.tex", table.latex())
    return f"{idx.link(md, table.title)} ({idx.link(tex, 'LaTeX')})"


def _levels(cells: pd.DataFrame, col: str) -> dict[str, float]:
    """Expert level per task from our datasets' references (TD-MPC2's 1000 is a normaliser, not an expert)."""
    c = cells[cells["source"] == OURS].dropna(subset=[col])
    return c.groupby("task")[col].apply(lambda s: float(pd.to_numeric(s).mean())).to_dict() if len(c) else {}


def _score_tables(idx: Index, res: Results, suite: str, metric: str, normalise: bool) -> tuple[list[str], dict]:
    """Final and best tables for one metric; returns index lines and the final summaries (for the registry)."""
    lines, finals = [], {}
    what = {"eval/success": "success rate", "eval/return": "return"}.get(metric, metric)
    if normalise:
        what = "normalised return"
    for which in ("final", "best"):
        s = scores.run_scores(res, metric, which, normalise=normalise)
        s = s.dropna(subset=["score"])
        if s.empty:
            continue
        summ = scores.summarise(s, bounds=None if normalise else BOUNDS.get(metric))
        if which == "final":
            finals = summ
        steps = f"{int(summ.env_step_min.min())}–{int(summ.env_step_max.max())}"
        notes = [f"{scores.WHICH_LABEL[which]} per run, then mean ± std over seeds, [95% Student-t CI], (n seeds); "
                 f"env steps of the scores: {steps}. Best mean per row in bold."]
        if normalise:
            notes.append("Normalised: (R − random) / (expert − random) with the references of each run's dataset "
                         "card (manifest); TD-MPC2's DMC curves: R / 1000.")
        title = f"{SUITE_NAMES.get(suite, suite)}: {which} {what}"
        rel = f"{suite}/{metric.replace('/', '_')}{'_normalised' if normalise else ''}_{which}"
        lines.append("- " + _table_files(idx, tables.score_table(summ, title, notes), rel))
    return lines, finals


def _curve_figures(idx: Index, res: Results, suite: str, opts: ReportOptions) -> list[str]:
    lines = []
    cells = res.cells
    metrics = sorted((m for m in res.frame["metric"].astype(str).unique() if m.startswith(("eval/", "diag/"))),
                     key=lambda m: (not m.startswith("eval/"), m))
    for metric in metrics:
        c = scores.curves(res, metric)  # done cells only, like the tables (others are in the coverage table)
        if c.empty:
            continue
        levels = {}
        if metric == "eval/return":
            levels = _levels(cells, "expert_return")
        elif metric == "eval/success":
            levels = _levels(cells, "expert_success")
        kind = "learning curves" if metric.startswith("eval/") else "diagnostic"
        name = f"{'learning_curves' if metric.startswith('eval/') else 'diagnostics'}_{metric.replace('/', '_')}"
        links = []
        task_pages = figures.pages(sorted(c["task"].unique()))
        for i, page in enumerate(task_pages):
            fig = figures.curve_grid(c[c["task"].isin(page)], metric, step_col=opts.step_col, levels=levels,
                                     bounds=BOUNDS.get(metric))
            suffix = f"_{i + 1}" if len(task_pages) > 1 else ""
            paths = figures.save(fig, idx.out / "figures" / suite, name + suffix)
            label = f"{page[0]} … {page[-1]}: " if len(task_pages) > 1 else ""
            links.append(f"{label}{idx.link(paths[0], 'PNG')} · {idx.link(paths[1], 'PDF')}")
        lines.append(f"- {kind} `{metric}` (mean ± 95% CI over seeds"
                     + (", dashed: expert level" if levels else "") + "): " + "; ".join(links))
    return lines


def _aggregate_section(idx: Index, res: Results, suite: str, opts: ReportOptions) -> list[str]:
    metric = "eval/success" if (res.frame["metric"] == "eval/success").any() else "eval/return"
    normalise = metric == "eval/return"
    label = "success rate" if not normalise else "normalised return"
    s = scores.run_scores(res, metric, "final", normalise=normalise).dropna(subset=["score"])
    sm = agg.score_matrices(s)
    if not sm.matrices or not sm.tasks:
        return [f"_No aggregate: no {label} scores shared by the methods._"]
    curves = scores.curves(res, metric, normalise=normalise)
    steps = agg.step_matrices(curves, sm, step_col=opts.step_col)
    log(f"{suite}: aggregates over {len(sm.tasks)} tasks, {len(sm.matrices)} methods "
        f"({opts.reps} bootstrap reps, profiles {opts.profile_reps}, PoI {opts.poi_reps})")
    t0 = time.perf_counter()
    a = agg.compute_aggregates(sm, steps, reps=opts.reps, profile_reps=opts.profile_reps, poi_reps=opts.poi_reps,
                               seed=opts.seed, progress=opts.progress)
    log(f"{suite}: aggregates done in {time.perf_counter() - t0:.1f} s")
    runs = {v: m.shape[0] for v, m in sm.matrices.items()}
    defaults = (agg.REPS, agg.PROFILE_REPS, agg.POI_REPS)
    recommended = ": rliable's recommended" if (opts.reps, opts.profile_reps, opts.poi_reps) == defaults else \
        f"; rliable recommends {defaults[0]}, {defaults[1]} and {defaults[2]}"
    head = (f"Final {label} over {len(sm.tasks)} tasks; runs per task: "
            + ", ".join(f"{v}: {n}" for v, n in runs.items())
            + f". 95% stratified bootstrap CIs: {opts.reps} reps (performance profiles {opts.profile_reps}, "
            f"probability of improvement {opts.poi_reps}{recommended}), seed {opts.seed}. "
            "Sample-efficiency CIs resample whole runs.")
    table = a.table()
    md = ["| method | " + " | ".join(a.names) + " |", "|---" * (len(a.names) + 1) + "|"]
    for v in sorted(a.points):
        t = table[table.variant == v].set_index("metric")
        vals = [f"{t.loc[n, 'estimate']:.3f} [{t.loc[n, 'ci_low']:.3f}, {t.loc[n, 'ci_high']:.3f}]" for n in a.names]
        md.append(f"| {v} | " + " | ".join(vals) + " |")
    poi = a.poi_table()
    if len(poi):
        md += ["", "| X | Y | P(X > Y) [95% CI] |", "|---|---|---|"]
        md += [f"| {r.X} | {r.Y} | {r['P(X > Y)']:.3f} [{r.ci_low:.3f}, {r.ci_high:.3f}] |" for _, r in poi.iterrows()]
    body = f"### {SUITE_NAMES.get(suite, suite)}: aggregate {label}\n\n{head}\n\n" + "\n".join(md) + "\n"
    body += "".join(f"\n_{n}_  " for n in sm.notes)
    md_path = idx.write_text(f"tables/{suite}/aggregates.md", body)
    csv_path = idx.out / "tables" / suite / "aggregates.csv"
    table.to_csv(csv_path, index=False)
    poi.to_csv(idx.out / "tables" / suite / "probability_of_improvement.csv", index=False)
    lines = [head, "", "\n".join(md), "", *[f"_{n}_" for n in sm.notes], "",
             f"- {idx.link(md_path, 'aggregate table')} · {idx.link(csv_path, 'CSV')}"]
    if opts.figures:
        fdir = idx.out / "figures" / suite
        figs = [("aggregate estimates", figures.aggregate_figure(a, label), "aggregates"),
                ("performance profiles", figures.profile_figure(a, label), "performance_profiles")]
        if a.poi:  # needs two methods
            figs.append(("probability of improvement", figures.poi_figure(a), "probability_of_improvement"))
        if a.curve_points:
            figs.append(("sample efficiency (IQM vs steps)",
                         figures.sample_efficiency_figure(a, opts.step_col.replace("_", " "), f"IQM {label}"),
                         "sample_efficiency"))
        for title, fig, name in figs:
            p = figures.save(fig, fdir, name)
            lines.append(f"- {title}: {idx.link(p[0], 'PNG')} · {idx.link(p[1], 'PDF')}")
    return lines


def _ablations(idx: Index, res: Results, suite: str) -> list[str]:
    lines = []
    axes = varying_axes(res.cells)
    if not axes:
        return lines
    metric = "eval/success" if (res.frame["metric"] == "eval/success").any() else "eval/return"
    s = scores.run_scores(res, metric, "final", normalise=metric == "eval/return").dropna(subset=["score"])
    s = s.merge(res.cells[["cell_id", *axes]], on="cell_id", how="left")
    for axis in axes:
        fig = figures.ablation_figure(s, axis, f"final {metric}", bounds=BOUNDS.get(metric))
        name = "ablation_" + axis.removeprefix("config.").replace(".", "_")
        p = figures.save(fig, idx.out / "figures" / suite, name)
        lines.append(f"- ablation over `{axis.removeprefix('config.')}`: {idx.link(p[0], 'PNG')} · "
                     f"{idx.link(p[1], 'PDF')}")
    return lines


def build_report(sources: list[str | Path], out: str | Path, opts: ReportOptions | None = None) -> Path:
    """Write every table and figure under `out` and `out/index.md`; returns the index path."""
    opts = opts or ReportOptions()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    idx = Index(out)
    t0 = time.perf_counter()
    res = load_sources(sources, opts.suites).filter(opts.suites, opts.methods, opts.tasks)
    log(f"loaded {len(res.cells)} cells, {len(res.frame)} rows, {len(res.problems)} problem(s)")
    sections = [f"# WMIL-Bench report\n\nSources: {', '.join(f'`{s}`' for s in sources)}. "
                f"Filters: suites={opts.suites or 'all'}, methods={opts.methods or 'all'}, "
                f"tasks={opts.tasks or 'all'}."]
    if (res.cells["source"] != OURS).any() if len(res.cells) else False:
        sections.append("_Rows whose method reads `(TD-MPC2 data)` are TD-MPC2's published curves "
                        "(nicklashansen/tdmpc2 results/, MIT), not runs of this harness._")

    cov = coverage.coverage(res.cells)
    failed = res.cells[res.cells["status"].isin(["failed", "malformed"])] if len(res.cells) else res.cells
    cov_md = coverage.coverage_markdown(cov, coverage.missing_pairs(res.cells), failed)
    cov_path = idx.write_text("tables/coverage.md", "# Coverage\n\n" + cov_md)
    n_by = res.cells["status"].value_counts().to_dict() if len(res.cells) else {}
    sections.append("## Coverage\n\n" + ", ".join(f"{k}: {v}" for k, v in sorted(n_by.items()))
                    + f" cells. Per task and method: {idx.link(cov_path, 'coverage table')}.")
    if res.problems:
        sections.append("## Load problems (these files were skipped; the rest of the report is complete)\n\n"
                        + "\n".join(f"- `{p.path}`: {p.message}" for p in res.problems))

    finals: dict[str, list[pd.DataFrame]] = {}
    for suite in sorted(res.cells["suite"].unique()) if len(res.cells) else []:
        sub = res.filter(suites=[suite])
        if sub.frame.empty:
            continue
        log(f"{suite}: tables")
        lines = [f"## {SUITE_NAMES.get(suite, suite)}", "", "### Tables", ""]
        present = set(sub.frame["metric"].astype(str).unique())
        for metric in ("eval/success", "eval/return"):
            if metric not in present:
                continue
            l, f = _score_tables(idx, sub, suite, metric, normalise=False)
            lines += l
            if len(f):
                finals.setdefault(metric, []).append(f)
            if metric == "eval/return" and sub.cells["expert_return"].notna().any():
                lines += _score_tables(idx, sub, suite, metric, normalise=True)[0]
        if opts.figures:
            log(f"{suite}: curves")
            lines += ["", "### Learning curves and diagnostics", ""] + _curve_figures(idx, sub, suite, opts)
        lines += ["", "### Aggregates (rliable)", ""] + _aggregate_section(idx, sub, suite, opts)
        if opts.figures:
            abl = _ablations(idx, sub, suite)
            if abl:
                lines += ["", "### Ablations", ""] + abl
        sections.append("\n".join(lines))

    reg = published.load_registry()
    ours_cells = res.cells[res.cells["source"] == OURS] if len(res.cells) else res.cells
    ours_finals = {m: pd.concat(v) for m, v in finals.items()}
    ours_finals = {m: f[~f["variant"].str.contains("(TD-MPC2 data)", regex=False)] for m, f in ours_finals.items()}
    cmp = published.compare(reg, ours_finals, ours_cells)
    cmp.to_csv(idx.out / "tables" / "published_comparison.csv", index=False)
    cmp_path = idx.write_text("tables/published_comparison.md",
                              "# Ours vs the papers' tables\n\n" + published.comparison_markdown(cmp))
    matched = cmp[cmp["ours_n"] > 0]
    body = (published.comparison_markdown(matched, only_ours=True) if len(matched)
            else "_None of our runs matches a published number yet._\n")
    sections.append("## Ours vs published numbers\n\nEvery number of the papers' tables is in "
                    "`analysis/data/published.csv` with its provenance (paper, table, metric, final/best, step unit, "
                    "n seeds). Our value: final score, mean over seeds with a 95% Student-t CI. "
                    f"Full registry beside ours: {idx.link(cmp_path, 'comparison')}.\n\n" + body)

    sections.append(f"_Generated in {time.perf_counter() - t0:.1f} s._")
    index = out / "index.md"
    index.write_text("\n\n".join(sections) + "\n")
    log(f"wrote {index} ({len(idx.files)} linked files) in {time.perf_counter() - t0:.1f} s")
    return index


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m analysis.report", description=__doc__.splitlines()[0])
    p.add_argument("sources", nargs="+", help="results/ trees and/or a TD-MPC2 release folder")
    p.add_argument("--out", default="reports", help="output folder (default: reports/)")
    p.add_argument("--suite", action="append", help="keep only this suite (repeatable)")
    p.add_argument("--method", action="append", help="keep only this method (repeatable)")
    p.add_argument("--task", action="append", help="keep only this task (repeatable)")
    p.add_argument("--reps", type=int, default=agg.REPS, help=f"bootstrap reps (default {agg.REPS}, rliable's)")
    p.add_argument("--profile-reps", type=int, default=agg.PROFILE_REPS)
    p.add_argument("--poi-reps", type=int, default=agg.POI_REPS)
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    p.add_argument("--steps", choices=["env_step", "agent_step"], default="env_step", help="x axis unit")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--no-figures", action="store_true", help="tables and aggregates only")
    a = p.parse_args(argv)
    opts = ReportOptions(a.suite, a.method, a.task, a.reps, a.profile_reps, a.poi_reps, a.seed, a.steps,
                         not a.no_progress, not a.no_figures)
    index = build_report(a.sources, a.out, opts)
    print(index)
    return 0


if __name__ == "__main__":
    np.seterr(invalid="ignore")
    sys.exit(main())
