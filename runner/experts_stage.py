"""`stage=experts`: build the expert policies and datasets of a suite with `experts.build` (issue 3),
one task per job, locally or as a SLURM array."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path

from omegaconf import DictConfig, OmegaConf


def builder() -> Callable[..., dict]:
    """`experts.build(suite, tasks, **options)`, with a clear error when the experts package does not provide it."""
    try:
        fn = getattr(importlib.import_module("experts"), "build", None)
    except ImportError as err:
        raise RuntimeError(f"stage=experts needs the experts package ({err})") from err
    if fn is None:
        raise RuntimeError("stage=experts needs experts.build(suite, tasks) (issue 3), which this checkout lacks")
    return fn


def build_one(suite: str, task: str, options: dict) -> dict:
    """One job: build the expert and datasets of one task."""
    return builder()(suite, [task], **options)


def run(cfg: DictConfig, tasks: list[str], launcher: str, dry_run: bool, sweeps_dir: Path) -> None:
    suite = cfg.suite.name
    options = OmegaConf.to_container(cfg.experts, resolve=True)
    print(f"stage=experts: {suite}: {', '.join(tasks)} ({launcher})")
    if dry_run:
        return
    builder()  # fail before submitting anything
    if launcher == "slurm":
        from slurm.launch import new_sweep_dir, submit_array

        sweep = new_sweep_dir(sweeps_dir)
        lc = dict(cfg.launcher)
        ids = submit_array(build_one, [(suite, t, options) for t in tasks], sweep, lc, "wmil-experts")
        print(f"submitted {len(ids)} expert jobs: {', '.join(ids)} (logs in {sweep / 'submitit'})")
        return
    for task in tasks:
        build_one(suite, task, options)
    print(f"expert datasets built for {suite}: {', '.join(tasks)}")
