"""The same world-model core and preset trained with the *true* reward (TD-MPC2, `experts.tdmpc2`): the reference an
imitation learning bar can be read against. Trains for `--steps` agent steps (or loads `--load`), then evaluates the
deterministic planner on shared episodes as `bench.eval_variants` does: return, success at the last step and at any
step, and on Meta-World the tool-centre-point-to-goal distance at the last step.

    .venv/bin/python -m bench.tdmpc2_reference --suite metaworld --task reach-v3 --steps 10000 --size cpu
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from bench.eval_variants import ROW_ALIGN, ROW_HEADER, episodes, row, set_variant
from experts.tdmpc2 import TDMPC2Policy, TDMPC2TrainConfig, tdmpc2_dir, train


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--suite", default="metaworld")
    ap.add_argument("--task", default="reach-v3")
    ap.add_argument("--steps", type=int, default=10_000, help="agent steps of TD-MPC2 training")
    ap.add_argument("--size", default="cpu", choices=("paper", "cpu", "smoke"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--episodes", type=int, default=20)
    ap.add_argument("--root", type=Path, default=Path("results/tdmpc2_reference"), help="where the agent goes")
    ap.add_argument("--load", type=Path, default=None, help="evaluate this saved agent (last.pt) instead of training")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    path = args.load
    if path is None:
        t0 = time.monotonic()
        train(args.suite, args.task, TDMPC2TrainConfig(steps=args.steps, seed=args.seed, size=args.size,
                                                       eval_every=max(args.steps // 4, 1),
                                                       eval_episodes=min(10, args.episodes),
                                                       torch_threads=args.threads), root=args.root)
        print(f"trained {args.steps} agent steps in {time.monotonic() - t0:.0f} s", flush=True)
        path = tdmpc2_dir(args.suite, args.task, args.root) / "last.pt"
    agent = TDMPC2Policy.load(path).agent
    where = {"config": {"obs": "state"}, "seed": args.seed, "suite": args.suite, "task": agent.spec.task}
    print(f"| agent | rule | {ROW_HEADER} |")
    print(f"| --- | --- | {ROW_ALIGN} |")
    for variant in ("mean", "elite"):
        set_variant(agent, variant)
        print(f"| {path} | {variant} | {row(episodes(agent, where, args.episodes))} |", flush=True)


if __name__ == "__main__":
    main()
