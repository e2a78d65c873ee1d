"""Run one cell from its JSON spec (what the sbatch templates call):

    python -m runner CELL.json --results results
    python -m runner CELLS.jsonl --index $SLURM_ARRAY_TASK_ID --results results   # one line of a grid

SIGUSR2 / SIGTERM stop the cell at once (status `preempted`); its last checkpoint is kept, so running the
same command again resumes it.
"""

from __future__ import annotations

import argparse
import importlib
import signal
import sys
from pathlib import Path

from runner.cell import Cell
from runner.lock import CellLocked
from runner.loop import Preempted, run_cell
from runner.provenance import git_info, package_versions


def _preempt(signum: int, frame: object) -> None:
    raise Preempted(f"signal {signal.Signals(signum).name}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("cell", type=Path, help="a JSON cell spec, or a JSONL grid (run_grid.py --dry-run --emit FILE)")
    ap.add_argument("--index", type=int, default=None, help="0-based line of a JSONL grid")
    ap.add_argument("--results", default="results")
    args = ap.parse_args(argv)
    text = args.cell.read_text()
    if args.index is not None:
        text = text.splitlines()[args.index]
    cell = Cell.from_json(text)
    for module in cell.context.get("imports", []):
        importlib.import_module(module)
    signal.signal(signal.SIGUSR2, _preempt)
    signal.signal(signal.SIGTERM, _preempt)
    try:
        status = run_cell(cell, args.results, {"git": git_info(), "versions": package_versions()})
    except CellLocked as err:
        print(err, file=sys.stderr)
        return 3
    except Preempted as err:
        print(f"preempted ({err}); rerun the same command to resume", file=sys.stderr)
        return 143
    print(f"{status}: {cell.run_dir(args.results)}")
    return 0 if status == "done" else 1


if __name__ == "__main__":
    sys.exit(main())
