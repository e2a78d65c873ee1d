"""Local launcher: one fresh process per cell, at most `workers` at a time (default: one per core), so a cell that
crashes its process (e.g. a simulator segfault) takes nothing else down. One worker runs cells in this process."""

from __future__ import annotations

import importlib
import multiprocessing as mp
import os
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from runner.cell import Cell
from runner.lock import CellLocked
from runner.loop import run_cell


def default_workers(torch_threads: int) -> int:
    return max(1, (os.cpu_count() or 1) // max(1, torch_threads))


def _run_one(cell: Cell, root: str, provenance: dict[str, Any]) -> str:
    """Import plug-ins, run the cell; a cell owned by another process is reported `locked`."""
    for module in cell.context.get("imports", []):
        importlib.import_module(module)
    try:
        return run_cell(cell, root, provenance)
    except CellLocked as err:
        print(f"[{cell.cell_id}] skipped: {err}", flush=True)
        return "locked"


def _child(cell: Cell, root: str, provenance: dict[str, Any], conn: Connection) -> None:
    conn.send(_run_one(cell, root, provenance))
    conn.close()


def launch(cells: list[Cell], root: Path, provenance: dict[str, Any], workers: int | None,
           start_method: str = "fork") -> dict[str, str]:
    """Run `cells`; returns cell_id -> final status (done | failed | locked | crashed). `start_method`: fork
    (fast: the child inherits the imported modules) or spawn (a clean interpreter per cell)."""
    threads = cells[0].context.get("torch_threads", 1) if cells else 1
    n = min(len(cells), workers or default_workers(threads))
    if n <= 1:
        return {c.cell_id: _run_one(c, str(root), provenance) for c in cells}
    ctx = mp.get_context(start_method)
    pending, running, results = list(cells), {}, {}
    try:
        while pending or running:
            while pending and len(running) < n:
                cell = pending.pop(0)
                recv, send = ctx.Pipe(duplex=False)
                proc = ctx.Process(target=_child, args=(cell, str(root), provenance, send), name=cell.cell_id)
                proc.start()
                send.close()
                running[proc.sentinel] = (proc, cell, recv)
            for sentinel in wait(list(running)):
                proc, cell, recv = running.pop(sentinel)
                proc.join()
                try:
                    status = recv.recv()
                except EOFError:  # died without reporting
                    status = f"crashed (exit code {proc.exitcode})"
                recv.close()
                if status.startswith("crashed"):
                    print(f"[{cell.cell_id}] {status}", flush=True)
                results[cell.cell_id] = status
    finally:
        for proc, _, _ in running.values():  # interrupted: the children got the same SIGINT; let them finish
            proc.join()
    return results
