"""A real single-node SLURM cluster (started by .ci/slurm_up.sh): a 4-cell smoke grid as one submitit job array,
non-blocking submission, and a USR2-interrupted array task that requeues and resumes bit-identically."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

import run_grid
from runner import ledger
from runner.config import compose_grid
from runner.grid import expand
from runner.loop import run_cell
from slurm.scheduler import job_states
from tests.toy_method import TOY_GRID

REPO = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slurm


STATE = Path(os.environ.get("WMIL_SLURM_STATE", "/var/lib/wmil-slurm"))


def _cluster_answers() -> bool:
    """Our own test cluster (started by .ci/slurm_up.sh) is up and has an idle node; a real cluster is never used."""
    if shutil.which("sinfo") is None or not (STATE / "pids").exists():
        return False
    try:
        out = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return False
    return out.returncode == 0 and any(state in out.stdout for state in ("idle", "mix", "alloc"))


@pytest.fixture(scope="module")
def cluster():
    """Use our running test cluster, else start one with .ci/slurm_up.sh (needs root) and stop it afterwards.
    A lock file serialises test sessions that run at the same time on one machine (they share the daemons)."""
    if os.geteuid() != 0 and not _cluster_answers():
        pytest.skip("SLURM tests need root to install and start munge, mariadb, slurmdbd, slurmctld and slurmd "
                    "(.ci/slurm_up.sh); no cluster is running")
    with open(Path(tempfile.gettempdir()) / "wmil-slurm-tests.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when this fixture's file closes (or its process dies)
        yield from _cluster()


def _cluster():
    if _cluster_answers():
        yield "existing"
        return
    if os.geteuid() != 0:
        pytest.skip("SLURM tests need root to install and start munge, mariadb, slurmdbd, slurmctld and slurmd "
                    "(.ci/slurm_up.sh); no cluster is running")
    t0 = time.monotonic()
    up = subprocess.run(["bash", ".ci/slurm_up.sh"], cwd=REPO, capture_output=True, text=True, timeout=600)
    if up.returncode != 0:
        subprocess.run(["bash", ".ci/slurm_down.sh"], cwd=REPO, capture_output=True, timeout=120)
        pytest.fail(f"could not start SLURM as root:\n{up.stdout}\n{up.stderr}")
    print(f"\n{up.stdout.strip()} (fixture: {time.monotonic() - t0:.1f} s)")
    try:
        yield "started"
    finally:
        down = subprocess.run(["bash", ".ci/slurm_down.sh"], cwd=REPO, capture_output=True, text=True, timeout=120)
        print(down.stdout)


def _wait(predicate, timeout: float, what: str, poll: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(poll)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def _manifest(run_dir: Path) -> dict:
    try:
        return json.loads((run_dir / "manifest.json").read_text())
    except (OSError, ValueError):
        return {}


def test_array_grid_usr2_requeue_resume(cluster, tmp_path, capsys):
    root = tmp_path / "results"
    overrides = [o for o in TOY_GRID if not o.startswith("launcher")] + [
        "launcher=slurm", "launcher.cpus_per_task=1", "launcher.mem_gb=1", "launcher.time_min=10",
        "seeds=2", "n_demos=[5,6]", f"results={root}", "budget.metaworld.env_steps=600",
        "method.step_sleep=0.02", "tensorboard=false",
    ]
    t0 = time.monotonic()
    assert run_grid.main(overrides) == 0
    submit_s = time.monotonic() - t0
    assert "submitted sweep" in capsys.readouterr().out
    rec = json.loads(next(root.glob(".sweeps/*/sweep.json")).read_text())
    (array,) = rec["array_job_ids"]
    assert rec["job_ids"] == [f"{array}_{i}" for i in range(4)]
    early = job_states(rec["job_ids"])
    assert not (early and all(s == "COMPLETED" for s in early.values())), "run_grid.py waited for the jobs"
    cells = expand(compose_grid(overrides))
    assert sorted(rec["cells"].values()) == sorted(c.cell_id for c in cells)
    victim_job = rec["job_ids"][0]
    cell = next(c for c in cells if c.cell_id == rec["cells"][victim_job])

    # interrupt array task 0 once it has checkpointed past its first episode, as a timeout/preemption would
    victim = cell.run_dir(root)
    _wait(lambda: _manifest(victim).get("progress", {}).get("agent_step", 0) >= 100
          and _manifest(victim).get("status") == "running", 120, "task 0 to pass its first checkpoint")
    # scancel delivers the signal at once but may keep retrying while the task is being requeued ("Job can not
    # be altered now"): do not wait for it, wait for the cell to say it stopped
    usr2_s = time.monotonic() - t0
    scancel = subprocess.Popen(["scancel", "--signal=USR2", victim_job])
    try:
        _wait(lambda: _manifest(victim).get("status") == "preempted" or _manifest(victim).get("attempts", 0) >= 2,
              60, "task 0 to stop on USR2")
    finally:
        if scancel.poll() is None:
            scancel.kill()
        scancel.wait()

    # an uninterrupted run of task 0's cell, in this process while the array goes on (run only after the USR2:
    # run before it, it let task 0 finish before the signal could reach it on a loaded machine)
    ref = tmp_path / "ref"
    assert run_cell(cell, ref) == "done"
    _wait(lambda: ledger.select(cells, root)[1].get("done") == 4, 240, "all 4 cells done", poll=0.5)
    with capsys.disabled():
        print(f"\nsubmit returned in {submit_s:.1f} s; USR2 sent at {usr2_s:.1f} s; "
              f"4 cells done {time.monotonic() - t0:.1f} s after submission")
    _wait(lambda: set(job_states(rec["job_ids"]).values()) == {"COMPLETED"}, 60, "sacct: 4 tasks COMPLETED")
    m = _manifest(victim)
    assert m["attempts"] == 2 and m["slurm_job_id"] == victim_job
    log = (Path(rec["folder"]) / "submitit" / f"{victim_job}_0_log.out").read_text()
    assert "resumed from checkpoint at agent step" in log
    history = subprocess.run(["sacct", "-D", "-X", "-n", "-P", "-o", "State", "-j", victim_job], capture_output=True,
                             text=True, timeout=30).stdout.split()
    assert "REQUEUED" in history and history[-1] == "COMPLETED", history

    # the jobs ran the code snapshot taken at submission, not the working tree
    code = Path(rec["folder"]) / "code"
    assert (code / "runner" / "loop.py").read_bytes() == (REPO / "runner" / "loop.py").read_bytes()
    assert {_manifest(c.run_dir(root))["code_dir"] for c in cells} == {str(code)}
    assert _manifest(cell.run_dir(ref))["code_dir"] == str(REPO)

    # the requeued, resumed cell wrote exactly what an uninterrupted run writes
    for name in ("metrics.csv", "eval.csv"):
        assert (victim / name).read_bytes() == (cell.run_dir(ref) / name).read_bytes(), name

    capsys.readouterr()
    assert run_grid.main(["status", f"results={root}"]) == 0
    status = capsys.readouterr().out
    assert "metaworld  toy     reach-v3  4" in status and f"jobs {array} -> COMPLETED=4" in status
