"""The ledger is the results tree itself: a cell's state is its manifest's status (plus whether its lock is
held). Decides which cells to run and prints coverage tables."""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path

from runner import manifest
from runner.cell import Cell
from runner.lock import CellLock

ONLY = ("failed", "missing")
COLUMNS = ("done", "running", "preempted", "failed", "pending", "missing")


def cell_status(run_dir: Path) -> str:
    """missing (no manifest) | done | failed | pending | preempted | running (lock held) — a manifest that says
    `running` with no live lock holder was killed without notice and counts as `preempted`."""
    m = manifest.read(run_dir)
    if m is None:
        return "missing"
    status = m["status"]
    if status == "running" and not CellLock(run_dir).is_held_elsewhere():
        return "preempted"
    return status


def select(cells: list[Cell], root: Path, only: str | None = None) -> tuple[list[Cell], Counter]:
    """Cells to launch: all not-done cells by default; `only="failed"` / `"missing"` restricts to those.
    Returns (to run, status counts of the whole grid)."""
    if only is not None and only not in ONLY:
        raise ValueError(f"--only {only!r}: valid values are {', '.join(ONLY)}")
    counts: Counter = Counter()
    todo = []
    for cell in cells:
        s = cell_status(cell.run_dir(root))
        counts[s] += 1
        if s == "done" or s == "running":
            continue
        if only is None or s == only:
            todo.append(cell)
    return todo, counts


def scan(root: Path) -> list[tuple[str, str, str, str]]:
    """(suite, method, task, status) of every run directory under `root`."""
    out = []
    for m in sorted(Path(root).glob("*/*/*/*/manifest.json")):
        suite, task, method = m.parts[-5], m.parts[-4], m.parts[-3]
        out.append((suite, method, task, cell_status(m.parent)))
    return out


def coverage(rows: list[tuple[str, str, str, str]]) -> str:
    """Per suite/method/task table of status counts."""
    table: dict[tuple[str, str, str], Counter] = defaultdict(Counter)
    for suite, method, task, status in rows:
        table[(suite, method, task)][status] += 1
    if not table:
        return "(no cells)"
    head = ("suite", "method", "task", *COLUMNS, "total")
    lines = [head]
    for key in sorted(table):
        c = table[key]
        lines.append((*key, *(str(c[s]) for s in COLUMNS), str(sum(c.values()))))
    widths = [max(len(r[i]) for r in lines) for i in range(len(head))]
    return "\n".join("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in lines)


def grid_rows(cells: list[Cell], root: Path) -> list[tuple[str, str, str, str]]:
    return [(c.suite, c.method, c.task, cell_status(c.run_dir(root))) for c in cells]
