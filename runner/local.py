"""Local launcher: a process pool sized to the cores (or in-process when one worker suffices)."""

from __future__ import annotations

import importlib
import multiprocessing as mp
import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from runner.cell import Cell
from runner.lock import CellLocked
from runner.loop import run_cell


def default_workers(torch_threads: int) -> int:
    return max(1, (os.cpu_count() or 1) // max(1, torch_threads))


def _run_one(cell: Cell, root: str, provenance: dict[str, Any]) -> tuple[str, str]:
    """Pool worker: import plug-ins, run the cell; a cell owned by another process is reported `locked`."""
    for module in cell.context.get("imports", []):
        importlib.import_module(module)
    try:
        return cell.cell_id, run_cell(cell, root, provenance)
    except CellLocked as err:
        print(f"[{cell.cell_id}] skipped: {err}", flush=True)
        return cell.cell_id, "locked"


def launch(cells: list[Cell], root: Path, provenance: dict[str, Any], workers: int | None) -> dict[str, str]:
    """Run `cells`; returns cell_id -> final status (done | failed | locked)."""
    threads = cells[0].context.get("torch_threads", 1) if cells else 1
    n = min(len(cells), workers or default_workers(threads))
    if n <= 1:
        return dict(_run_one(c, str(root), provenance) for c in cells)
    results: dict[str, str] = {}
    with ProcessPoolExecutor(n, mp_context=mp.get_context("spawn")) as pool:
        futures = [pool.submit(_run_one, c, str(root), provenance) for c in cells]
        for fut in as_completed(futures):
            cid, status = fut.result()
            results[cid] = status
    return results
