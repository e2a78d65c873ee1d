"""Build the expert and datasets of one task (or `all` tasks of a suite).

    python -m experts metaworld reach-v3 --n 100
    python -m experts dmc cartpole-swingup --expert sac --train-steps 60000 --train-minutes 75
    python -m experts dmc all
    python -m experts metaworld reach --expert scripted_tcp --action-noise 0.3 --no-embodiment
"""

from __future__ import annotations

import argparse
import json

from experts.builder import build
from experts.policies import DEFAULT_EXPERT, EXPERT_KINDS, TRAINED, noisy_kind


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m experts", description=__doc__.splitlines()[0])
    ap.add_argument("suite")
    ap.add_argument("task", help="task name, or 'all' for every registered task of the suite")
    ap.add_argument("--n", type=int, default=100, help="expert episodes to keep (after the filter)")
    ap.add_argument("--n-random", type=int, default=100, help="random / replay-substitute episodes")
    ap.add_argument("--seed", type=int, default=0, help="collection seed (and SAC training seed)")
    ap.add_argument("--expert", choices=EXPERT_KINDS, default=None, help="default: the suite's")
    ap.add_argument("--action-noise", type=float, default=0.0, metavar="SIGMA",
                    help="N(0, SIGMA^2) noise on every executed expert action, 0 < SIGMA <= 1; the dataset is the kind "
                         "'<expert>-noise<SIGMA>' (grid: demos_expert=<expert>-noise<SIGMA>)")
    ap.add_argument("--no-embodiment", action="store_true", help="expert dataset only")
    ap.add_argument("--train-steps", type=int, default=100_000, help="expert training agent steps (sac, tdmpc2)")
    ap.add_argument("--train-minutes", type=float, default=None, help="expert training wall-clock budget")
    ap.add_argument("--force", action="store_true", help="rebuild even if present")
    args = ap.parse_args(argv)
    base = args.expert or DEFAULT_EXPERT[args.suite]
    if not 0.0 <= args.action_noise <= 1.0:
        ap.error(f"--action-noise must be in [0, 1], got {args.action_noise}")
    kind = noisy_kind(base, args.action_noise)
    train_cfg = (TRAINED[base].config(steps=args.train_steps, seed=args.seed, max_minutes=args.train_minutes)
                 if base in TRAINED else None)
    cards = build(args.suite, None if args.task == "all" else [args.task], n=args.n, seed=args.seed,
                  expert=kind, n_random=args.n_random, embodiment=not args.no_embodiment, train_cfg=train_cfg,
                  force=args.force)
    summary = {t: {name: {k: c.get(k) for k in ("n_episodes", "return_mean", "return_std", "success_mean",
                                                  "content_sha256")} for name, c in cs.items()}
               for t, cs in cards.items()}
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
