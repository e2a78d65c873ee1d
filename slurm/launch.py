"""Submit cells as one submitit SLURM job array and return at once (no waiting on results).

Each sweep gets a fresh folder `<sweeps_dir>/<UTC time>-<random>/` holding submitit's files, a snapshot of the
code the jobs run from, and `sweep.json` (job ids, cell ids) that `run_grid.py status` reads. Jobs are
`submitit.helpers.Checkpointable`: on USR2 (timeout or preemption) submitit requeues the array task, and the
requeued task resumes the cell from its last checkpoint in the same run directory.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import secrets
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import submitit

from runner.cell import Cell
from runner.io import atomic_write_json
from runner.lock import CellLocked
from runner.loop import run_cell
from slurm.snapshot import snapshot


class CellJob(submitit.helpers.Checkpointable):
    """One array task = one cell. `checkpoint()` (inherited) resubmits the same call; the cell's own
    checkpoint makes the resubmitted call resume where the last periodic checkpoint left it."""

    def __call__(self, cell_json: str, results_root: str, provenance: dict[str, Any]) -> str:
        cell = Cell.from_json(cell_json)
        for module in cell.context.get("imports", []):
            importlib.import_module(module)
        try:
            return run_cell(cell, results_root, provenance)
        except CellLocked as err:
            print(err, flush=True)
            return "locked"


@contextlib.contextmanager
def _cwd(path: Path) -> Iterator[None]:
    old = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


def new_sweep_dir(sweeps_dir: Path) -> Path:
    name = f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"
    path = Path(sweeps_dir) / name
    path.mkdir(parents=True)
    return path


def make_executor(folder: Path, lc: dict[str, Any]) -> submitit.AutoExecutor:
    ex = submitit.AutoExecutor(folder=folder / "submitit", cluster="slurm",
                               slurm_max_num_timeout=int(lc["max_num_timeout"]))
    params: dict[str, Any] = {
        "timeout_min": int(lc["time_min"]), "mem_gb": lc["mem_gb"], "cpus_per_task": int(lc["cpus_per_task"]),
        "slurm_array_parallelism": int(lc["array_parallelism"]), "slurm_signal_delay_s": int(lc["signal_delay_s"]),
        "slurm_additional_parameters": dict(lc.get("additional") or {}),
    }
    if lc.get("gpus_per_node"):
        params["gpus_per_node"] = int(lc["gpus_per_node"])
    if lc.get("partition"):
        params["slurm_partition"] = lc["partition"]
    ex.update_parameters(**params)
    return ex


def submit_array(fn: Callable, args: list[tuple], sweep: Path, lc: dict[str, Any], name: str) -> list[str]:
    """Submit fn(*a) for every a in args as one array from the sweep's code snapshot; returns the job ids."""
    ex = make_executor(sweep, lc)
    ex.update_parameters(name=name)
    code = snapshot(sweep / "code") if lc.get("snapshot_code", True) else Path.cwd()
    with _cwd(code):
        jobs = ex.map_array(fn, *zip(*args, strict=True))
    return [j.job_id for j in jobs]


def launch(cells: list[Cell], root: Path, provenance: dict[str, Any], lc: dict[str, Any],
           sweeps_dir: Path) -> dict[str, Any]:
    """Submit `cells` as one job array; returns the sweep record (also written to <sweep>/sweep.json)."""
    sweep = new_sweep_dir(sweeps_dir)
    root = Path(root).resolve()
    job_ids = submit_array(CellJob(), [(c.to_json(), str(root), provenance) for c in cells], sweep, lc, "wmil-grid")
    record = {
        "sweep": sweep.name, "created": datetime.now(UTC).isoformat(timespec="seconds"), "n_cells": len(cells),
        "array_job_ids": sorted({j.split("_")[0] for j in job_ids}), "job_ids": job_ids,
        "cells": {j: c.cell_id for j, c in zip(job_ids, cells, strict=True)}, "results": str(root),
        "folder": str(sweep),
    }
    atomic_write_json(sweep / "sweep.json", record)
    return record
