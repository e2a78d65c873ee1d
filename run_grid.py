#!/usr/bin/env python
"""Run a grid of cells (suite x tasks x methods x seeds x ablation axes) locally or on SLURM.

    python run_grid.py suite=metaworld methods=[iqmpc,cdred] seeds=3 budget=cpu launcher=local
    python run_grid.py suite=dmc tasks=[cheetah-run] n_demos=[5,10,100] p_tremble=[0,0.02] --dry-run
    python run_grid.py suite=dmc --only failed          # rerun just the failed cells (default: every not-done cell)
    python run_grid.py status [overrides]               # coverage table (of that grid, or of all results) + SLURM
    python run_grid.py stage=experts suite=metaworld    # build expert datasets (experts.build)

Overrides are Hydra-style (conf/grid.yaml lists every key): key=value, key=[a,b], group=option for the groups
suite (conf/suite), budget (smoke|cpu|paper) and launcher (auto|local|slurm); nested keys like
launcher.partition=gpu or budget.dmc.env_steps=5000 or method.batch_size=128.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

from runner import ledger
from runner.config import OverrideError, compose_grid
from runner.grid import expand, tasks_of
from runner.provenance import git_info, package_versions


def _sweeps_dir(cfg, root: Path) -> Path:
    d = cfg.launcher.get("sweeps_dir")
    return Path(d).resolve() if d else root / ".sweeps"


def _launcher(cfg) -> str:
    name = cfg.launcher.name
    if name == "auto":
        from slurm.scheduler import available

        return "slurm" if available() else "local"
    return name


NOT_GRID = ("results", "launcher", "imports", "device", "torch_threads", "tensorboard", "report")


def report(cfg, cells, root: Path) -> None:
    """Write the analysis report (tables, rliable aggregates, figures) of this grid's cells to cfg.report."""
    from analysis.report import ReportOptions, build_report

    opts = ReportOptions(
        suites=sorted({c.suite for c in cells}),
        methods=sorted({c.method for c in cells}),
        tasks=sorted({c.task for c in cells}),
    )
    index = build_report([root], cfg.report, opts)
    print(f"report: {index}")


def status(cfg, overrides: list[str], root: Path) -> None:
    """Coverage of the grid the overrides describe (missing cells included), or of everything under results/
    when they name no grid key; then the scheduler's view of submitted sweeps."""
    names_grid = any(o.split("=")[0].split(".")[0].lstrip("+~") not in NOT_GRID for o in overrides)
    rows = ledger.grid_rows(expand(cfg), root) if names_grid else ledger.scan(root)
    print(f"results: {root}")
    print(ledger.coverage(rows))
    sweeps = _sweeps_dir(cfg, root)
    if sweeps.exists():
        from slurm.scheduler import sweeps_summary

        text = sweeps_summary(sweeps)
        if text:
            print("\nSLURM sweeps:\n" + text)


def train(cfg, args: argparse.Namespace, root: Path) -> int:
    cells = expand(cfg)
    todo, counts = ledger.select(cells, root, args.only)
    launcher = _launcher(cfg)
    summary = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
    print(f"grid: {len(cells)} cells ({summary}); {len(todo)} to run with launcher={launcher}")
    if args.emit:
        Path(args.emit).write_text("".join(c.to_json() + "\n" for c in todo))
        print(f"wrote {len(todo)} cell specs to {args.emit} (python -m runner {args.emit} --index I)")
    if args.dry_run:
        for c in todo:
            print(f"  {c.label}  -> {c.run_dir(root)}")
        return 0
    if not todo:
        print(f"nothing to do; results in {root}")
        if cfg.report:
            report(cfg, cells, root)
        return 0
    provenance = {"git": git_info(), "versions": package_versions()}
    if launcher == "slurm":
        from slurm.launch import launch

        rec = launch(todo, root, provenance, dict(cfg.launcher), _sweeps_dir(cfg, root))
        print(f"submitted sweep {rec['sweep']}: array job(s) {', '.join(rec['array_job_ids'])}, {len(todo)} tasks")
        print(f"follow it with: {sys.argv[0]} status {' '.join(args.overrides)}")
        print(f"results will be in {root}")
        return 0
    from runner.local import launch

    results = launch(todo, root, provenance, cfg.launcher.get("workers"), cfg.launcher.get("start_method", "fork"))
    final = Counter(r.split(" ")[0] for r in results.values())
    print(f"finished: {', '.join(f'{k} {v}' for k, v in sorted(final.items()))}")
    for c in todo:
        print(f"  {results[c.cell_id]:7s} {c.run_dir(root)}")
    print(f"results in {root}  (summary: {sys.argv[0]} status {' '.join(args.overrides)})")
    if cfg.report:
        report(cfg, cells, root)
    return 0 if set(final) <= {"done"} else 1


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog=__doc__.split("\n\n", 1)[1],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("overrides", nargs="*", help="'status' first for the coverage table; then key=value overrides")
    ap.add_argument("--dry-run", action="store_true", help="print the cells that would run, run nothing")
    ap.add_argument("--only", choices=ledger.ONLY, help="run only the failed / the missing (never started) cells")
    ap.add_argument("--emit", metavar="FILE", help="write the cells to run as JSONL (for slurm/*.sbatch)")
    args = ap.parse_intermixed_args(argv)
    is_status = bool(args.overrides) and args.overrides[0] == "status"
    if is_status:
        args.overrides = args.overrides[1:]
    try:
        cfg = compose_grid(args.overrides)
        root = Path(cfg.results).resolve()
        if is_status:
            status(cfg, args.overrides, root)
            return 0
        if cfg.stage == "experts":
            from runner import experts_stage

            experts_stage.run(cfg, tasks_of(cfg), _launcher(cfg), args.dry_run, _sweeps_dir(cfg, root))
            return 0
        return train(cfg, args, root)
    except OverrideError as err:
        print(f"run_grid.py: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
