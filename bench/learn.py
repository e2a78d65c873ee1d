"""Learning benchmark: one world-model method (`cpu` preset) from expert demos, printing the evaluation curve.

    .venv/bin/python -m bench.learn --method iqmpc --suite metaworld --task reach-v3 --seeds 0 1 2 --steps 30000
    .venv/bin/python -m bench.learn --method cdred --suite dmc --task cartpole-swingup --steps 50000

Bars (issues 4 and 5, `cpu` preset, 100 demos): Meta-World reach-v3 mean success >= 0.8 over 3 seeds within 30k
agent steps; DMC cartpole-swingup >= 0.8 x expert return within 50k agent steps. Demonstrations come from
`experts.load` when a dataset exists, else (Meta-World only) from the suite's scripted policy. Each eval point:
mean success / return over deterministic episodes on a separately seeded env (success at each episode's last step,
TD-MPC2's evaluation, and at any step), and the Pearson correlation of the
method's learned reward (`Method.reward_estimates`) with the true reward on those episodes and on as many demos.
Rows go to `--out` (CSV) as they are produced. One torch thread unless `--threads`.
This is a quick loop without checkpoints; `run_grid.py` runs the same cells resumably.
"""

from __future__ import annotations

import argparse
import csv
import json
import time
import warnings
from pathlib import Path

import numpy as np
import torch

import envs
import methods
from experts.demos import Demos, Episode
from methods.base import Method, Transition, reward_correlation

CSV_HEADER = ["method", "seed", "agent_step", "env_step", "return", "success_final", "success_any", "reward_corr",
              "reward_corr_demos", "wall_s"]


def scripted_demos(suite: str, task: str, n: int, seed: int) -> Demos:
    """n successful episodes of Meta-World's scripted policy acting on the env's observations."""
    if suite != "metaworld":
        raise RuntimeError(f"no expert dataset for {suite}/{task} and no scripted policy: build one with experts/")
    import metaworld.policies as mw_policies

    warnings.filterwarnings("ignore", message="Constant")
    policy = mw_policies.ENV_POLICY_MAP[task]()
    env = envs.make(suite, task, seed=seed + 10_000)
    episodes: list[Episode] = []
    i = 0
    while len(episodes) < n:
        ep = rollout(env, lambda o, t0: np.clip(policy.get_action(o), -1, 1).astype(np.float32), seed + 10_000 + i)
        i += 1
        if ep.success is not None and ep.success.max() > 0:
            episodes.append(ep)
    return Demos(episodes, card={"source": "metaworld scripted policy", "n": n})


def load_demos(suite: str, task: str, n: int, seed: int, kind: str, expert: str | None = None) -> Demos:
    """`experts.load` (of the `expert` kind's dataset when given), else, with no `expert` given, Meta-World's
    scripted policy."""
    try:
        import experts

        return experts.load(suite, task, kind=kind, n=n, expert=expert)
    except Exception as err:  # noqa: BLE001 - any missing dataset falls back to the scripted policy
        if expert is not None:
            raise
        print(f"experts.load unavailable ({type(err).__name__}: {err}); collecting scripted demos", flush=True)
        return scripted_demos(suite, task, n, seed)


def rollout(env, policy, seed: int) -> Episode:
    obs, _ = env.reset(seed=seed)
    o, a, r, s = [obs], [], [], []
    done, t0 = False, True
    while not done:
        act = policy(obs, t0)
        obs, rew, term, trunc, info = env.step(act)
        o.append(obs), a.append(act), r.append(rew), s.append(float(info.get("success", 0.0)))
        done, t0 = term or trunc, False
    return Episode(np.asarray(o, np.float32), np.asarray(a, np.float32), np.asarray(r, np.float32),
                   np.asarray(s, np.float32), bool(term))


def evaluate(method: Method, env, episodes: int, seed: int, demos: Demos) -> dict[str, float]:
    eps = [rollout(env, lambda o, t0: method.act(o, eval=True, t0=t0), seed + i) for i in range(episodes)]
    corr = reward_correlation(method, [(e.obs, e.action, e.reward) for e in eps])
    corr_demos = reward_correlation(method, [(e.obs, e.action, e.reward) for e in demos.episodes[:episodes]])
    return {
        "return": float(np.mean([e.reward.sum() for e in eps])),
        "success_final": float(np.mean([e.success[-1] for e in eps])),  # TD-MPC2's eval: success at the last step
        "success_any": float(np.mean([e.success.max() for e in eps])),
        "reward_corr": float("nan") if corr is None else corr,
        "reward_corr_demos": float("nan") if corr_demos is None else corr_demos,
    }


def run_seed(args: argparse.Namespace, seed: int, demos: Demos, writer) -> None:
    env = envs.make(args.suite, args.task, seed=seed)
    eval_env = envs.make(args.suite, args.task, seed=seed + 1000)
    cls = methods.get(args.method)
    overrides = {k: json.loads(v) for k, v in (s.split("=", 1) for s in args.set)}
    if args.batch is not None:
        overrides["batch_size"] = args.batch
    method = cls(cls.Config(size=args.preset, **overrides), env.wmil_spec, demos, torch.device(args.device), seed)
    print(f"seed {seed} config: {method.cfg}", flush=True)
    obs, _ = env.reset(seed=seed)
    t0, start, last = True, time.time(), {}
    for step in range(1, args.steps + 1):
        action = method.act(obs, eval=False, t0=t0)
        nobs, rew, term, trunc, info = env.step(action)
        method.observe(Transition(obs, action, float(rew), nobs, term, trunc, float(info.get("success", 0.0))))
        last = method.update(step) or last
        obs, t0 = nobs, False
        if term or trunc:
            obs, _ = env.reset()
            t0 = True
        if step % args.eval_every == 0 or step == args.steps:
            ev = evaluate(method, eval_env, args.eval_episodes, 10_000 * (seed + 1), demos)
            wall = time.time() - start
            keys = ("return", "success_final", "success_any", "reward_corr", "reward_corr_demos")
            writer.writerow([args.method, seed, step, env.wmil_spec.env_steps(step),
                             *(round(ev[k], 2 if k == "return" else 4) for k in keys), round(wall, 1)])
            diag = " ".join(f"{k}={float(v):.3f}" for k, v in sorted(last.items())
                            if k.startswith("diag/") or k == "train/consistency")
            print(f"{args.method} seed {seed} step {step}: success {ev['success_final']:.2f} "
                  f"(any step {ev['success_any']:.2f}) return {ev['return']:.1f} "
                  f"reward_corr {ev['reward_corr']:.3f} (demos {ev['reward_corr_demos']:.3f}) {diag} "
                  f"wall {wall:.0f}s", flush=True)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--method", default="iqmpc", choices=["iqmpc", "cdred"])
    ap.add_argument("--suite", default="metaworld")
    ap.add_argument("--task", default="reach-v3")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--steps", type=int, default=30_000, help="agent steps per seed")
    ap.add_argument("--n-demos", type=int, default=100)
    ap.add_argument("--expert", default=None, help="expert kind of the demos (scripted | sac | tdmpc2); default: "
                    "the suite's")
    ap.add_argument("--eval-every", type=int, default=2_000)
    ap.add_argument("--eval-episodes", type=int, default=10)
    ap.add_argument("--preset", default="cpu", choices=["paper", "cpu", "smoke"])
    ap.add_argument("--batch", type=int, default=None, help="behavioural batch (default: the preset's)")
    ap.add_argument("--set", nargs="*", default=[], help="config overrides key=json_value, e.g. compile=true")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", type=Path, default=None, help="CSV of eval rows")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    demos = load_demos(args.suite, args.task, args.n_demos, args.seeds[0], methods.get(args.method).demo_kind,
                       args.expert)
    print(f"demos: {len(demos)} episodes, mean return {demos.returns().mean():.1f}", flush=True)
    out = args.out or Path(f"results/bench/learn_{args.method}_{args.suite}_{args.task}.csv")
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(CSV_HEADER)

        class Flushing:  # rows are read while the benchmark runs
            @staticmethod
            def writerow(row: list) -> None:
                writer.writerow(row)
                fh.flush()

        for seed in args.seeds:
            run_seed(args, seed, demos, Flushing)
    print(f"rows in {out}", flush=True)


if __name__ == "__main__":
    main()
