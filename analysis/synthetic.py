"""Write deterministic synthetic result trees in the runner's layout (results/README.md), for tests and benchmarks.

Hand-written: a tiny writer of this project's own schema; values follow a fixed formula plus seeded noise.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


def cell_id(suite: str, task: str, method: str, seed: int, config: dict[str, Any]) -> str:
    """First 12 hex of sha256 over the canonical JSON of (suite, task, method, seed, config)."""
    blob = json.dumps([suite, task, method, seed, config], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def write_cell(
    root: Path, suite: str, task: str, method: str, seed: int, metrics: pd.DataFrame | None,
    status: str = "done", config: dict[str, Any] | None = None, reference: dict[str, float] | None = None,
    action_repeat: int = 2, error: str | None = None,
) -> Path:
    """One cell directory with manifest.json and (if given) metrics.csv; returns the directory."""
    config = config or {}
    cid = cell_id(suite, task, method, seed, config)
    d = root / suite / task / method / cid
    d.mkdir(parents=True, exist_ok=True)
    total = int(metrics["agent_step"].max()) if metrics is not None and len(metrics) else 0
    manifest = {
        "cell_id": cid, "suite": suite, "task": task, "method": method, "seed": seed, "config": config,
        "config_hash": hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:12],
        "status": status, "error": error, "git": {"commit": "0" * 40, "dirty": False, "dirty_diff_sha256": None},
        "versions": {"python": "3.11"}, "dataset": {"id": f"{suite}-{task}", "sha256": "0", "n_episodes": 100,
                                                    "kind": "state-action"},
        "reference": reference or {"expert_return": 1000.0, "expert_success": 1.0, "random_return": 0.0,
                                   "random_success": 0.0},
        "spec": {"action_repeat": action_repeat, "episode_length": 100, "has_success": True},
        "eval_protocol": {"episodes": 10, "deterministic": True, "every_agent_steps": 1000},
        "progress": {"agent_step": total, "total_agent_steps": total},
    }
    (d / "manifest.json").write_text(json.dumps(manifest, indent=1))
    if metrics is not None:
        metrics.to_csv(d / "metrics.csv", index=False)
    return d


def curve_metrics(finals: dict[str, float], n_points: int, every: int = 1000, action_repeat: int = 2,
                  noise: float = 0.0, rng: np.random.RandomState | None = None) -> pd.DataFrame:
    """Long-format metrics rising linearly from 0 to each metric's final value over `n_points` evaluations."""
    steps = np.arange(1, n_points + 1) * every
    frac = np.arange(1, n_points + 1) / n_points
    rows = []
    for metric, final in finals.items():
        vals = final * frac
        if noise and rng is not None:
            vals = vals + rng.normal(0, noise, n_points)
            vals[-1] = final  # the final value stays exact
        if metric == "eval/success":
            vals = np.clip(vals, 0.0, 1.0)
        rows.append(pd.DataFrame({"agent_step": steps, "env_step": steps * action_repeat, "metric": metric,
                                  "value": vals}))
    return pd.concat(rows, ignore_index=True)


def write_grid(root: Path, methods: list[str], tasks: list[str], seeds: int, n_points: int, suite: str = "metaworld",
               seed: int = 0, diagnostics: bool = True) -> None:
    """A full grid (every cell done) with success, return and (optionally) diag/q_diff, diag/reward_corr."""
    rng = np.random.RandomState(seed)
    for mi, m in enumerate(methods):
        for ti, t in enumerate(tasks):
            for s in range(seeds):
                level = (mi + 1) / (len(methods) + 1)
                final = float(np.clip(level + rng.normal(0, 0.1) + 0.01 * ti, 0, 1))
                finals = {"eval/success": final, "eval/return": 1000 * final}
                if diagnostics:
                    finals |= {"diag/q_diff": 1 - final, "diag/reward_corr": final}
                write_cell(root, suite, t, m, s, curve_metrics(finals, n_points, noise=0.05, rng=rng))


# Final success per (task, method) for seeds 0, 1, 2 of the golden tree (tests compare tables with these by hand).
GOLDEN_FINALS = {
    ("reach-v3", "cdred"): (0.8, 0.9, 1.0),
    ("reach-v3", "iqmpc"): (0.5, 0.6, 0.7),
    ("soccer-v3", "cdred"): (0.6, 0.7, 0.8),
    ("soccer-v3", "iqmpc"): (0.9, 0.9, 0.9),
}


def _explicit(values: list[float], action_repeat: int = 2, extra: dict[str, list[float]] | None = None) -> pd.DataFrame:
    rows = []
    for metric, vals in {"eval/success": values, "eval/return": [1000 * v for v in values], **(extra or {})}.items():
        for i, v in enumerate(vals):
            rows.append({"agent_step": 1000 * (i + 1), "env_step": 1000 * (i + 1) * action_repeat, "metric": metric,
                         "value": v})
    return pd.DataFrame(rows)


def write_golden_tree(root: Path) -> Path:
    """A small fixed tree: Meta-World 2 tasks x {cdred, iqmpc} x 3 seeds (3 evaluations each, linear to the values
    in GOLDEN_FINALS, except iqmpc/reach-v3 seed 0 which peaks at 0.9 before ending at 0.5), plus
    - metaworld/reach-v3/cdred seed 3: failed (traceback in the manifest, no metrics);
    - metaworld/soccer-v3/iqmpc seed 3: running (partial metrics);
    - metaworld/soccer-v3/cdred seed 3: done but metrics.csv lacks the `value` column (malformed);
    - metaworld/reach-v3/iqmpc/badc0ffee000/manifest.json: not JSON (malformed);
    - maniskill2/PickCube-v0/iqmpc: method.grad_penalty on / off x 2 seeds (an ablation axis, runner's config).
    """
    for (task, method), finals in GOLDEN_FINALS.items():
        for seed, f in enumerate(finals):
            vals = [f / 3, 2 * f / 3, f]
            if (task, method, seed) == ("reach-v3", "iqmpc", 0):
                vals = [0.2, 0.9, 0.5]
            diag = {"diag/q_diff": [1.0, 0.5, 0.1], "diag/reward_corr": [0.1, 0.5, 0.9]} if method == "iqmpc" else None
            write_cell(root, "metaworld", task, method, seed, _explicit(vals, extra=diag))
    write_cell(root, "metaworld", "reach-v3", "cdred", 3, None, status="failed",
               error="Traceback (most recent call last):\n  ...\nRuntimeError: CUDA out of memory")
    write_cell(root, "metaworld", "soccer-v3", "iqmpc", 3, _explicit([0.1]), status="running")
    bad = write_cell(root, "metaworld", "soccer-v3", "cdred", 3, _explicit([0.1, 0.2, 0.3]))
    (bad / "metrics.csv").write_text("agent_step,env_step,metric\n1000,2000,eval/success\n")
    broken = root / "metaworld" / "reach-v3" / "iqmpc" / "badc0ffee000"
    broken.mkdir(parents=True)
    (broken / "manifest.json").write_text("{not json")
    for gp, finals in (("on", (0.8, 0.7)), ("off", (0.5, 0.4))):
        for seed, f in enumerate(finals):
            write_cell(root, "maniskill2", "PickCube-v0", "iqmpc", seed, _explicit([f / 2, f]),
                       config={"method": {"grad_penalty": gp}, "n_demos": 100})
    return root
