"""Exact resume: a cell SIGKILLed at a random step, resumed, stopped again by USR2 (`python -m runner`, as the
sbatch templates run it) and resumed again writes byte-identical metrics and evals."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from runner.config import compose_grid
from runner.grid import expand
from runner.loop import run_cell
from tests.toy_method import TOY_GRID

REPO = Path(__file__).resolve().parent.parent
# 3 episodes of 100 agent steps, a checkpoint after each, train metrics averaged every 30 steps (so the
# accumulators are mid-way at every checkpoint), a short sleep per update so the run can be caught mid-way.
RESUME = ["budget.metaworld.env_steps=600", "budget.metaworld.eval_every_env_steps=120",
          "budget.metaworld.log_every_agent_steps=30", "method.step_sleep=0.005", "tensorboard=false"]


def _progress(run_dir: Path) -> int:
    try:
        return json.loads((run_dir / "manifest.json").read_text())["progress"]["agent_step"]
    except (OSError, ValueError, KeyError):
        return -1


def _beat(path: Path) -> int:
    try:
        return int(path.read_text() or -1)
    except (OSError, ValueError):
        return -1


def test_sigkill_at_random_step_then_resume_is_bit_identical(tmp_path):
    beat = tmp_path / "heartbeat"
    cell = expand(compose_grid([*TOY_GRID, *RESUME, f"method.heartbeat={beat}"]))[0]
    ref_root, root = tmp_path / "ref", tmp_path / "killed"
    assert run_cell(cell, ref_root) == "done"

    spec = tmp_path / "cell.json"
    spec.write_text(cell.to_json())
    d = cell.run_dir(root)
    proc = subprocess.Popen([sys.executable, "-m", "runner", str(spec), "--results", str(root)], cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    target = random.randint(1, 250)
    beat.unlink()
    deadline = time.monotonic() + 120
    while _beat(beat) < target:
        assert proc.poll() is None, proc.stderr.read().decode()
        assert time.monotonic() < deadline
        time.sleep(0.002)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stderr.close()
    killed_at = _beat(beat)
    print(f"target step {target}: killed at agent step {killed_at}, last checkpoint at {_progress(d)}")
    assert killed_at < 300
    assert json.loads((d / "manifest.json").read_text())["status"] == "running"  # no chance to say otherwise

    # second attempt, as hand-submitted SLURM jobs run it: stopped by USR2 at another random step
    target = random.randint(killed_at + 1, 295)
    proc = subprocess.Popen([sys.executable, "-m", "runner", str(spec), "--results", str(root)], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    while _beat(beat) < target:
        assert proc.poll() is None, proc.stderr.read()
        assert time.monotonic() < deadline + 120
        time.sleep(0.002)
    os.kill(proc.pid, signal.SIGUSR2)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 143 and "preempted" in err and "resumed from checkpoint" in out
    assert json.loads((d / "manifest.json").read_text())["status"] == "preempted"

    assert run_cell(cell, root) == "done"
    for name in ("metrics.csv", "eval.csv"):
        assert (d / name).read_bytes() == (cell.run_dir(ref_root) / name).read_bytes(), name
    m = json.loads((d / "manifest.json").read_text())
    assert m["attempts"] == 3 and m["status"] == "done"
