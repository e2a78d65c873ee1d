"""What the scheduler says about submitted sweeps (squeue for live jobs, sacct for finished ones)."""

from __future__ import annotations

import shutil
import subprocess
from collections import Counter
from pathlib import Path

from runner.io import read_json


def available() -> bool:
    return shutil.which("sbatch") is not None


def job_states(job_ids: list[str]) -> dict[str, str]:
    """Array-task id (e.g. '12_3') -> state, from sacct (covers running and finished jobs)."""
    if not job_ids or shutil.which("sacct") is None:
        return {}
    try:
        out = subprocess.run(["sacct", "-n", "-P", "-X", "-o", "JobID,State", "-j", ",".join(job_ids)],
                             capture_output=True, text=True, timeout=30, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return {}
    states = {}
    for line in out.splitlines():
        jid, _, state = line.partition("|")
        states[jid.strip()] = state.split()[0] if state else "UNKNOWN"
    return states


def sweeps_summary(sweeps_dir: Path) -> str:
    """One line per submitted sweep: its job ids and the scheduler's state counts."""
    lines = []
    for path in sorted(Path(sweeps_dir).glob("*/sweep.json")):
        rec = read_json(path)
        states = job_states(rec["array_job_ids"])
        counts = Counter(states.values())
        summary = ", ".join(f"{k}={v}" for k, v in sorted(counts.items())) or "scheduler has no record"
        lines.append(f"{rec['sweep']}: {rec['n_cells']} cells, jobs {','.join(rec['array_job_ids'])} -> {summary}")
    return "\n".join(lines)
