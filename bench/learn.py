"""Learning benchmark: IQ-MPC (cpu preset) from expert demos, printing the evaluation curve.

    .venv/bin/python -m bench.learn --suite metaworld --task reach-v3 --seed 0 --steps 30000
    .venv/bin/python -m bench.learn --suite dmc --task cartpole-swingup --seed 0 --steps 50000

Demonstrations come from `experts.load` when a dataset exists, else (Meta-World only) they are collected here
with the suite's scripted policy. Each eval point: mean success / return over deterministic episodes, and the
Pearson correlation of decoded (r = Q − γV') and true rewards on those episodes and on as many demonstrations.
One torch thread.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings

import numpy as np
import torch

import envs
from experts.demos import Demos, Episode
from methods.base import Transition
from methods.iqmpc import IQMPC, iqmpc_preset


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


def load_demos(suite: str, task: str, n: int, seed: int) -> Demos:
    try:
        import experts

        return experts.load(suite, task, kind="state-action", n=n)
    except Exception as err:  # noqa: BLE001 - any missing dataset falls back to the scripted policy
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


def evaluate(method: IQMPC, env, episodes: int, seed: int, demos: Demos) -> dict[str, float]:
    eps = [rollout(env, lambda o, t0: method.act(o, eval=True, t0=t0), seed + i) for i in range(episodes)]
    return {
        "eval/return": float(np.mean([e.reward.sum() for e in eps])),
        "eval/success": float(np.mean([e.success.max() for e in eps])),
        "diag/reward_corr": method.reward_correlation(eps),
        "diag/reward_corr_expert": method.reward_correlation(demos.episodes[:episodes]),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--suite", default="metaworld")
    ap.add_argument("--task", default="reach-v3")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--steps", type=int, default=30_000, help="agent steps")
    ap.add_argument("--n-demos", type=int, default=100)
    ap.add_argument("--eval-every", type=int, default=2_000)
    ap.add_argument("--eval-episodes", type=int, default=10)
    ap.add_argument("--log-every", type=int, default=500, help="progress line every this many agent steps")
    ap.add_argument("--preset", default="cpu")
    ap.add_argument("--set", nargs="*", default=[], help="config overrides key=json_value")
    args = ap.parse_args()
    torch.set_num_threads(1)
    overrides = {k: json.loads(v) for k, v in (s.split("=", 1) for s in args.set)}
    demos = load_demos(args.suite, args.task, args.n_demos, args.seed)
    print(f"demos: {len(demos)} episodes, mean return {demos.returns().mean():.1f}", flush=True)
    env = envs.make(args.suite, args.task, seed=args.seed)
    eval_env = envs.make(args.suite, args.task, seed=args.seed + 1000)
    method = IQMPC(iqmpc_preset(args.preset, **overrides), env.wmil_spec, demos, torch.device("cpu"), args.seed)
    print(f"config: {method.cfg}", flush=True)
    obs, _ = env.reset(seed=args.seed)
    t0, start, ep_ret, last = True, time.time(), 0.0, {}
    for step in range(1, args.steps + 1):
        action = method.act(obs, eval=False, t0=t0)
        nobs, rew, term, trunc, info = env.step(action)
        method.observe(Transition(obs, action, float(rew), nobs, term, trunc, float(info.get("success", 0.0))))
        last = method.update(step) or last
        obs, t0, ep_ret = nobs, False, ep_ret + rew
        if term or trunc:
            obs, _ = env.reset()
            t0, ep_ret = True, 0.0
        if step % args.log_every == 0 and last:
            print(f"  step {step} updates {method.num_updates} consistency {last['train/consistency']:.4f} "
                  f"q_diff {last['diag/q_diff']:.3f} wall {time.time() - start:.0f}s", flush=True)
        if step % args.eval_every == 0 or step == args.steps:
            ev = evaluate(method, eval_env, args.eval_episodes, 10_000 * (args.seed + 1), demos)
            keys = ("train/consistency", "diag/q_diff", "train/iq_loss", "diag/reward_corr_batch")
            extra = " ".join(f"{k}={last[k]:.4f}" for k in keys if k in last)
            print(f"step {step} env_step {step * env.wmil_spec.action_repeat} success {ev['eval/success']:.2f} "
                  f"return {ev['eval/return']:.1f} reward_corr {ev['diag/reward_corr']:.3f} "
                  f"(on demos {ev['diag/reward_corr_expert']:.3f}) {extra} "
                  f"wall {time.time() - start:.0f}s", flush=True)


if __name__ == "__main__":
    main()
