"""CDRED learning benchmark: train on one task for a few seeds and print evaluation success / return over time.

    .venv/bin/python -m bench.learn_cdred --suite metaworld --task reach-v3 --seeds 0 1 2 --steps 30000
    .venv/bin/python -m bench.learn_cdred --suite dmc --task cartpole-swingup --steps 50000 --eval-every 5000

Bars (issue 5, `cpu` preset, 100 demos): Meta-World reach-v3 mean success ≥ 0.8 over 3 seeds within 30k agent
steps; DMC cartpole-swingup ≥ 0.8 × expert return within 50k agent steps. Evaluation: deterministic actions
(the planner with `mpc`, else the policy mean), `--eval-episodes` episodes on a separately seeded env.
Rows go to `--out` (CSV: seed, agent_step, env_step, return, success, wall_s) as they are produced.
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from pathlib import Path

import numpy as np
import torch

import envs
import experts
from methods import Transition
from methods.cdred import CDRED, cdred_preset


def evaluate(method: CDRED, env, episodes: int, seed: int) -> tuple[float, float]:
    """Mean return and mean success-at-any-step over `episodes` deterministic episodes."""
    rets, succ = [], []
    for i in range(episodes):
        obs, _ = env.reset(seed=seed + i)
        done, ret, ok, t0 = False, 0.0, 0.0, True
        while not done:
            obs, r, term, trunc, info = env.step(method.act(obs, eval=True, t0=t0))
            t0, ret, done = False, ret + float(r), term or trunc
            ok = max(ok, float(info.get("success", 0.0)))
        rets.append(ret)
        succ.append(ok)
    return float(np.mean(rets)), float(np.mean(succ))


def run_seed(args: argparse.Namespace, seed: int, writer: csv.writer) -> list[tuple[int, float, float]]:
    torch.manual_seed(seed)
    env = envs.make(args.suite, args.task, seed=seed)
    eval_env = envs.make(args.suite, args.task, seed=seed + 10_000)
    demos = experts.load(args.suite, args.task, kind="state-action", n=args.demos)
    overrides = json.loads(args.overrides)
    cfg = cdred_preset(args.preset, mpc=args.mpc, batch_size=args.batch, **overrides)
    method = CDRED(cfg, env.wmil_spec, demos, torch.device(args.device), seed)
    obs, _ = env.reset(seed=seed)
    t_start, t0, curve = time.time(), True, []
    for step in range(1, args.steps + 1):
        a = method.act(obs, eval=False, t0=t0)
        nobs, r, term, trunc, info = env.step(a)
        method.observe(Transition(obs, a, float(r), nobs, term, trunc, float(info.get("success", np.nan))))
        obs, t0 = nobs, False
        if term or trunc:
            obs, _ = env.reset()
            t0 = True
        metrics = method.update(step)
        if step % args.eval_every == 0:
            ret, succ = evaluate(method, eval_env, args.eval_episodes, seed=10_000 * (seed + 1) + step)
            wall = time.time() - t_start
            writer.writerow([seed, step, env.wmil_spec.env_steps(step), ret, succ, round(wall, 1)])
            diag = {k: round(v, 3) for k, v in metrics.items() if k.startswith("diag/reward")}
            print(f"seed {seed} step {step}: return {ret:.1f} success {succ:.2f} ({wall:.0f}s) {diag}", flush=True)
            curve.append((step, ret, succ))
    return curve


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--suite", default="metaworld")
    p.add_argument("--task", default="reach-v3")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--steps", type=int, default=30_000, help="agent steps per seed")
    p.add_argument("--eval-every", type=int, default=2_500)
    p.add_argument("--eval-episodes", type=int, default=10)
    p.add_argument("--demos", type=int, default=100)
    p.add_argument("--preset", default="cpu", choices=["paper", "cpu", "smoke"])
    p.add_argument("--batch", type=int, default=256, help="behavioural batch (the expert batch matches it)")
    p.add_argument("--mpc", action=argparse.BooleanOptionalAction, default=True,
                   help="plan with MPPI (paper); --no-mpc acts with the policy prior (released code)")
    p.add_argument("--overrides", default="{}", help="JSON dict of further CDREDConfig fields")
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    out = args.out or Path(f"results/bench/learn_cdred_{args.suite}_{args.task}.csv")
    out.parent.mkdir(parents=True, exist_ok=True)
    finals = []
    with out.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["seed", "agent_step", "env_step", "return", "success", "wall_s"])
        for seed in args.seeds:
            curve = run_seed(args, seed, _Flushing(writer, fh))
            if curve:
                finals.append(curve[-1])
    if finals:
        print(f"final over {len(finals)} seeds: return {np.mean([f[1] for f in finals]):.1f}, "
              f"success {np.mean([f[2] for f in finals]):.2f} at {finals[-1][0]} agent steps; rows in {out}")


class _Flushing:
    """csv.writer that flushes after every row (the benchmark is read while it runs)."""

    def __init__(self, writer: csv.writer, fh) -> None:
        self.writer, self.fh = writer, fh

    def writerow(self, row: list) -> None:
        self.writer.writerow(row)
        self.fh.flush()


if __name__ == "__main__":
    main()
