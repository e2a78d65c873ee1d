"""Running cells: manifest contents, ledger skip/rerun, lock refusal, atomic writes and checkpoints."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from runner import checkpoint, ledger
from runner.config import compose_grid
from runner.grid import expand
from runner.io import atomic_write_bytes
from runner.lock import CellLock, CellLocked
from runner.loop import run_cell
from tests.toy_method import TOY_GRID

REPO = Path(__file__).resolve().parent.parent
MANIFEST_KEYS = {  # results/README.md
    "cell_id", "suite", "task", "method", "seed", "config", "config_hash", "status", "error", "git", "versions",
    "dataset", "reference", "spec", "eval_protocol", "device", "host", "slurm_job_id", "timings", "progress",
}


def grid(root: Path, *extra: str):
    return expand(compose_grid([*TOY_GRID, f"results={root}", *extra]))


@pytest.fixture(scope="module")
def ran(tmp_path_factory):
    """Two cells of a smoke grid, run to completion in this process."""
    root = tmp_path_factory.mktemp("results")
    cells = grid(root, "seeds=2")
    assert [run_cell(c, root, {"git": {"commit": "x"}, "versions": {}}) for c in cells] == ["done", "done"]
    return root, cells


def test_manifest_and_outputs(ran):
    root, cells = ran
    d = cells[0].run_dir(root)
    m = json.loads((d / "manifest.json").read_text())
    assert set(m) >= MANIFEST_KEYS
    assert m["status"] == "done" and m["cell_id"] == cells[0].cell_id == d.name
    assert m["config"] == cells[0].config == yaml.safe_load((d / "config.yaml").read_text())
    assert m["spec"]["action_repeat"] == 2 and m["progress"] == {"agent_step": 200, "total_agent_steps": 200}
    assert m["eval_protocol"]["deterministic"] is True and m["eval_protocol"]["every_agent_steps"] == 100
    assert m["eval_protocol"]["success"].startswith("last step")
    assert m["dataset"]["id"] == "toy/metaworld/reach-v3" and m["dataset"]["n_episodes"] == 100
    assert m["reference"]["expert_return"] == 10.0 and m["device"] == "cpu"
    assert m["timings"]["finished"] and m["timings"]["wall_s"] > 0 and m["versions"] == {}
    rows = list(csv.DictReader((d / "metrics.csv").read_text().splitlines()))
    assert all(int(r["env_step"]) == 2 * int(r["agent_step"]) for r in rows)
    names = {r["metric"] for r in rows}
    assert {"eval/return", "eval/success", "train/loss", "train/bc_loss", "diag/buffer",
            "train/episode_return", "diag/reward_corr"} <= names
    corr = [float(r["value"]) for r in rows if r["metric"] == "diag/reward_corr"]
    assert len(corr) == 3 and all(-1 <= c <= 1 for c in corr)  # one per evaluation (steps 0, 100, 200)
    assert all(n.split("/")[0] in ("eval", "train", "diag") for n in names)
    evals = list(csv.DictReader((d / "eval.csv").read_text().splitlines()))
    assert [int(r["agent_step"]) for r in evals] == [0, 100, 200] and all(r["length"] == "100" for r in evals)
    assert (d / "checkpoint" / "latest.pt").exists() and any((d / "tb").iterdir())
    assert not (d / ".lock").exists()


def test_rerun_skips_done_cells(ran):
    root, cells = ran
    todo, counts = ledger.select(cells, root)
    assert todo == [] and counts == {"done": 2}
    before = (cells[0].run_dir(root) / "metrics.csv").read_bytes()
    assert run_cell(cells[0], root) == "done"  # a done cell is not run again
    assert (cells[0].run_dir(root) / "metrics.csv").read_bytes() == before


def test_failed_missing_and_killed_cells_are_selected(tmp_path, capsys):
    ok, bad = grid(tmp_path, "seeds=2")[0], grid(tmp_path, "seeds=2", "method.fail_at_step=50")[1]
    missing = grid(tmp_path, "seeds=[5]")[0]
    assert run_cell(ok, tmp_path) == "done" and run_cell(bad, tmp_path) == "failed"
    m = json.loads((bad.run_dir(tmp_path) / "manifest.json").read_text())
    assert m["status"] == "failed" and "toy failure at step 50" in m["error"]
    cells = [ok, bad, missing]
    assert ledger.select(cells, tmp_path, "failed")[0] == [bad]
    assert ledger.select(cells, tmp_path, "missing")[0] == [missing]
    assert ledger.select(cells, tmp_path)[0] == [bad, missing]
    # a manifest left `running` by a killed process (no lock holder) counts as preempted and is rerun
    p = ok.run_dir(tmp_path) / "manifest.json"
    p.write_text(p.read_text().replace('"status": "done"', '"status": "running"'))
    assert ledger.cell_status(ok.run_dir(tmp_path)) == "preempted"
    table = ledger.coverage(ledger.grid_rows(cells, tmp_path))
    assert "preempted" in table.splitlines()[0] and "metaworld  toy" in table
    with pytest.raises(ValueError, match="valid values are failed, missing"):
        ledger.select(cells, tmp_path, "done")


def test_lock_refuses_second_process_and_clobbers_nothing(tmp_path):
    cell = grid(tmp_path)[0]
    d = cell.run_dir(tmp_path)
    code = ("import sys; from runner.lock import CellLock; CellLock(sys.argv[1]).acquire(); "
            "print('locked', flush=True); sys.stdin.read()")
    holder = subprocess.Popen([sys.executable, "-c", code, str(d)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              cwd=REPO, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        assert CellLock(d).is_held_elsewhere()
        with pytest.raises(CellLocked, match=f"pid={holder.pid}"):
            run_cell(cell, tmp_path)
        assert sorted(p.name for p in d.iterdir()) == [".lock"]  # nothing written
        assert ledger.cell_status(d) == "missing"
    finally:
        holder.communicate("")
    assert not CellLock(d).is_held_elsewhere()  # released by the kernel when the holder exits
    with CellLock(d), pytest.raises(CellLocked):
        CellLock(d).acquire()


def test_atomic_write_keeps_old_content_on_failure(tmp_path, monkeypatch):
    target = tmp_path / "f.bin"
    atomic_write_bytes(target, b"old")

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["f.bin"]


def test_checkpoint_hash_checked_and_kill_between_replaces_survives(tmp_path):
    checkpoint.save(tmp_path, {"a": 1})
    pt, sha = checkpoint.paths(tmp_path)
    assert checkpoint.load(tmp_path) == {"a": 1}
    # killed after the new checkpoint replaced the old one but before its hash did: .next matches
    old_sha = sha.read_text()
    checkpoint.save(tmp_path, {"a": 2})
    new_sha = sha.read_text()
    sha.write_text(old_sha)
    sha.with_name(sha.name + ".next").write_text(new_sha)
    assert checkpoint.load(tmp_path) == {"a": 2}
    pt.write_bytes(pt.read_bytes()[:-10])
    with pytest.raises(checkpoint.CorruptCheckpoint, match="sha256"):
        checkpoint.load(tmp_path)


def test_emitted_cells_run_by_index_as_sbatch_templates_do(tmp_path, capsys):
    import run_grid
    from runner.__main__ import main as run_one

    emit = tmp_path / "cells.jsonl"
    assert run_grid.main([*TOY_GRID, "seeds=2", f"results={tmp_path}", "--dry-run", f"--emit={emit}"]) == 0
    lines = emit.read_text().splitlines()
    assert len(lines) == 2
    assert run_one([str(emit), "--index", "1", "--results", str(tmp_path)]) == 0
    cells = grid(tmp_path, "seeds=2")
    assert [ledger.cell_status(c.run_dir(tmp_path)) for c in cells] == ["missing", "done"]
    for template in (REPO / "slurm" / "templates").glob("*.sbatch"):
        assert subprocess.run(["bash", "-n", str(template)]).returncode == 0, template


def test_local_pool_survives_a_crashing_cell(tmp_path, capsys):
    import run_grid

    extra = ["budget.metaworld.env_steps=200", "tensorboard=false", "seeds=2", "method.crash_at_step=30",
             "method.crash_seed=1"]
    assert run_grid.main([*TOY_GRID[:-1], "launcher.workers=2", f"results={tmp_path}", *extra]) == 1
    out = capsys.readouterr().out
    assert "finished: crashed 1, done 1" in out and "crashed (exit code -9)" in out
    cells = grid(tmp_path, *extra)
    assert [ledger.cell_status(c.run_dir(tmp_path)) for c in cells] == ["done", "preempted"]


def test_eval_success_is_read_at_the_last_step_and_any_step_is_kept(tmp_path, monkeypatch):
    """`eval/success` follows TD-MPC2's evaluation (success at the episode's last step); `success_any` is the
    lenient reading. The env reports success only at agent step 50 of every 100-step episode."""
    import gymnasium as gym

    import envs

    class SuccessAtStep50(gym.Wrapper):
        def __init__(self, env):
            super().__init__(env)
            self.wmil_spec = env.wmil_spec

        def reset(self, **kw):
            self.t = 0
            return self.env.reset(**kw)

        def step(self, action):
            obs, r, term, trunc, info = self.env.step(action)
            self.t += 1
            return obs, r, term, trunc, {**info, "success": float(self.t == 50)}

    make = envs.make
    monkeypatch.setattr(envs, "make", lambda *a, **kw: SuccessAtStep50(make(*a, **kw)))
    cell = grid(tmp_path)[0]
    assert run_cell(cell, tmp_path, {"git": {"commit": "x"}, "versions": {}}) == "done"
    d = cell.run_dir(tmp_path)
    evals = list(csv.DictReader((d / "eval.csv").read_text().splitlines()))
    assert evals and all(r["success"] == "0.0" and r["success_any"] == "1.0" for r in evals)
    rows = {(r["metric"], r["agent_step"]): float(r["value"])
            for r in csv.DictReader((d / "metrics.csv").read_text().splitlines())}
    assert rows[("eval/success", "200")] == 0.0 and rows[("eval/success_any", "200")] == 1.0
