"""`manifest.json` of a run directory: identity, resolved config, provenance, status, timings, progress."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from runner.cell import Cell
from runner.io import atomic_write_json, atomic_write_text, read_json
from runner.provenance import REPO

STATUSES = ("pending", "running", "done", "failed", "preempted")


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def read(run_dir: Path) -> dict[str, Any] | None:
    path = Path(run_dir) / "manifest.json"
    return read_json(path) if path.exists() else None


class Manifest:
    """The owner's (lock holder's) view of manifest.json; every `update` rewrites it atomically."""

    def __init__(self, run_dir: Path, data: dict[str, Any]) -> None:
        self.path = Path(run_dir) / "manifest.json"
        self.data = data

    @classmethod
    def open(cls, cell: Cell, run_dir: Path, provenance: dict[str, Any]) -> Manifest:
        """Load the existing manifest or create one (also writes config.yaml)."""
        existing = read(run_dir)
        if existing is not None:
            return cls(run_dir, existing)
        data = {
            "cell_id": cell.cell_id, "suite": cell.suite, "task": cell.task, "method": cell.method,
            "seed": cell.seed, "config": cell.config, "config_hash": cell.config_hash, "status": "pending",
            "error": None, "git": provenance.get("git"), "versions": provenance.get("versions"),
            "dataset": None, "reference": None, "spec": None, "eval_protocol": None, "device": None,
            "host": None, "slurm_job_id": None, "attempts": 0,
            "timings": {"created": now(), "started": None, "finished": None, "wall_s": 0.0},
            "progress": {"agent_step": 0, "total_agent_steps": None},
        }
        atomic_write_text(Path(run_dir) / "config.yaml", yaml.safe_dump(cell.config, sort_keys=True))
        m = cls(run_dir, data)
        m.write()
        return m

    def write(self) -> None:
        atomic_write_json(self.path, self.data)

    def update(self, **fields: Any) -> None:
        self.data.update(fields)
        self.write()

    def start(self, host: str) -> float:
        t = self.data["timings"]
        t["started"] = t["started"] or now()
        self.data["attempts"] = int(self.data.get("attempts", 0)) + 1
        self.update(status="running", error=None, host=host, code_dir=str(REPO),
                    slurm_job_id=os.environ.get("SLURM_ARRAY_JOB_ID") and
                    f"{os.environ['SLURM_ARRAY_JOB_ID']}_{os.environ.get('SLURM_ARRAY_TASK_ID')}"
                    or os.environ.get("SLURM_JOB_ID"))
        return time.monotonic()

    def finish(self, status: str, t0: float, error: str | None = None) -> None:
        assert status in STATUSES, status
        t = self.data["timings"]
        t["finished"] = now()
        t["wall_s"] = round(float(t.get("wall_s") or 0.0) + time.monotonic() - t0, 3)
        self.update(status=status, error=error)
