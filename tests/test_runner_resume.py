"""Exact resume: a cell SIGKILLed at a random step, resumed, stopped again by USR2 (`python -m runner`, as the
sbatch templates run it) and resumed again writes byte-identical metrics and evals."""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import signal
import sys
import time
from pathlib import Path

import pytest

from runner.__main__ import main as runner_main
from runner.config import compose_grid
from runner.grid import expand
from runner.loop import run_cell
from tests.toy_method import TOY_GRID

REPO = Path(__file__).resolve().parent.parent
FORK = multiprocessing.get_context("fork")
PICK = random.SystemRandom()  # run_cell reseeds the global `random`; the kill steps must not follow it
# 3 episodes of 100 agent steps, a checkpoint after each, train metrics averaged every 30 steps (so the
# accumulators are mid-way at every checkpoint), trembling hands in both envs (their RNG must resume too); the toy
# method writes its step to a heartbeat file.
RESUME = ["budget.metaworld.env_steps=600", "budget.metaworld.eval_every_env_steps=200",
          "budget.metaworld.log_every_agent_steps=30", "tensorboard=false", "p_tremble=0.1", "eval_p_tremble=0.05"]


def _progress(run_dir: Path) -> int:
    try:
        return json.loads((run_dir / "manifest.json").read_text())["progress"]["agent_step"]
    except (OSError, ValueError, KeyError):
        return -1


def _exit_with(argv: list[str]) -> None:
    sys.exit(runner_main(argv))


def _beat(path: Path) -> int:
    try:
        return int(path.read_text() or -1)
    except (OSError, ValueError):
        return -1


def test_sigkill_at_random_step_then_resume_is_bit_identical(tmp_path):
    beat = tmp_path / "heartbeat"
    cell = expand(compose_grid([*TOY_GRID, *RESUME, f"method.heartbeat={beat}"]))[0]
    ref_root, root = tmp_path / "ref", tmp_path / "killed"
    t0 = time.monotonic()
    assert run_cell(cell, ref_root) == "done"
    print(f"reference run {time.monotonic() - t0:.1f} s")

    spec = tmp_path / "cell.json"
    spec.write_text(cell.to_json())
    d = cell.run_dir(root)
    # a forked child is a real process (SIGKILL cannot be caught) that skips re-importing torch and the simulator
    proc = FORK.Process(target=runner_main, args=([str(spec), "--results", str(root)],))
    proc.start()
    target = PICK.randint(1, 250)
    beat.unlink()
    deadline = time.monotonic() + 120
    while _beat(beat) < target:
        assert proc.is_alive() and time.monotonic() < deadline
        time.sleep(0.002)
    os.kill(proc.pid, signal.SIGKILL)
    proc.join()
    assert proc.exitcode == -signal.SIGKILL
    killed_at = _beat(beat)
    print(f"target step {target}: killed at agent step {killed_at}, last checkpoint at {_progress(d)} "
          f"({time.monotonic() - t0:.1f} s)")
    assert killed_at < 300
    assert json.loads((d / "manifest.json").read_text())["status"] == "running"  # no chance to say otherwise

    # second attempt, as hand-submitted SLURM jobs run it: stopped by USR2 at another random step
    target = PICK.randint(killed_at + 1, 295)
    proc = FORK.Process(target=_exit_with, args=([str(spec), "--results", str(root)],))
    proc.start()
    while _beat(beat) < target:
        assert proc.is_alive() and time.monotonic() < deadline + 120
        time.sleep(0.002)
    os.kill(proc.pid, signal.SIGUSR2)
    proc.join(60)
    assert proc.exitcode == 143  # runner's USR2 handler: stop, status preempted, keep the checkpoint
    assert json.loads((d / "manifest.json").read_text())["status"] == "preempted"
    print(f"USR2 at agent step {target} ({time.monotonic() - t0:.1f} s)")

    assert run_cell(cell, root) == "done"
    for name in ("metrics.csv", "eval.csv"):
        assert (d / name).read_bytes() == (cell.run_dir(ref_root) / name).read_bytes(), name
    m = json.loads((d / "manifest.json").read_text())
    assert m["attempts"] == 3 and m["status"] == "done"


def test_offline_regime_interrupted_in_process_resumes_identically(tmp_path, monkeypatch):
    from tests.toy_method import ToyOffline

    cell = expand(compose_grid([*TOY_GRID, "methods=[toy-offline]", "budget.metaworld.env_steps=300",
                                "budget.metaworld.checkpoint_every_env_steps=40", "tensorboard=false"]))[0]
    ref_root, root = tmp_path / "ref", tmp_path / "cut"
    assert run_cell(cell, ref_root) == "done"
    rows = (cell.run_dir(ref_root) / "metrics.csv").read_text()
    assert "train/episode_return" not in rows and "train/loss" in rows  # no interaction, only updates
    assert (cell.run_dir(ref_root) / "eval.csv").read_text().count("\n") == 1 + 3  # header + steps 0, 100, 150

    cut = PICK.randint(21, 140)
    original = ToyOffline.update

    def interrupted(self, step):
        if step == cut:
            raise KeyboardInterrupt
        return original(self, step)

    monkeypatch.setattr(ToyOffline, "update", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_cell(cell, root)
    assert json.loads((cell.run_dir(root) / "manifest.json").read_text())["status"] == "preempted"
    monkeypatch.setattr(ToyOffline, "update", original)
    assert run_cell(cell, root) == "done"
    for name in ("metrics.csv", "eval.csv"):
        assert (cell.run_dir(root) / name).read_bytes() == (cell.run_dir(ref_root) / name).read_bytes(), name
