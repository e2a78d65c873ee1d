"""A reach cell's learned reward on the expert's own demos, with the hand moved off the goal: what each axis costs.

For each of the first `--episodes` demos, the last `--tail` steps (where the expert holds its tool centre point on
the goal) are scored by the method's learned reward (`Method.reward_estimates`) three ways: as recorded; with the
hand shifted by d along one signed world axis (its current and previous-frame positions, so it still holds still,
with the demo's own near-zero actions); and with the puck's position (current and previous frame), which reach-v3's
reward and success ignore, taken from the next demo. Prints, per perturbation, the learned reward minus the
recorded one (mean ± sd over demos) and, for CDRED (`reward_terms`), Eq. 5's expert and behavioural terms. Before
each cell's table it prints where the demos' near-goal states lie: per axis, the mean |tool centre point − goal| of
the steps 2–10 cm from the goal (the direction a support-estimating reward learns to treat as expert-like).

Unlike `bench.reward_landscape`, which holds the gripper on fresh goals in the simulator, these are the states the
reward model trained on. A shift that costs little here is a blind spot of the reward itself, not of its
generalisation to new goals. Needs no simulator, so it also runs where Meta-World is not installed.

    .venv/bin/python -m bench.reward_offsets results/metaworld/reach-v3/cdred/<cell_id> [...] [--distance 0.05]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from bench.reward_recovery import load_cell_with_demos
from experts.demos import Demos
from experts.policies import MetaWorldReachTCP

REACH_TASKS = ("reach-v3", "reach-wall-v3")
# Meta-World's 39-dim state: hand xyz at 0:3 and, one frame earlier, at 18:21; the first object's xyz at 4:7 / 22:25.
HAND_COLUMNS = (slice(0, 3), slice(18, 21))
PUCK_COLUMNS = [4, 5, 6, 22, 23, 24]
AXES = ("x+", "x-", "y+", "y-", "z+", "z-")


def shifted(obs: np.ndarray, axis: str, distance: float) -> np.ndarray:
    """A copy of `obs` (T, 39) with the hand's current and previous-frame position moved `distance` along `axis`."""
    if axis not in AXES:
        raise ValueError(f"unknown axis {axis!r}; valid: {', '.join(AXES)}")
    out = obs.copy()
    delta = distance if axis[1] == "+" else -distance
    for cols in HAND_COLUMNS:
        out[:, cols.start + "xyz".index(axis[0])] += delta
    return out


def puck_from(obs: np.ndarray, donor: np.ndarray) -> np.ndarray:
    """A copy of `obs` with the puck's current and previous-frame position taken row by row from `donor`."""
    out = obs.copy()
    out[:, PUCK_COLUMNS] = donor[:, PUCK_COLUMNS]
    return out


def near_goal_offsets(demos: Demos, lo: float = 0.02, hi: float = 0.1) -> tuple[float, np.ndarray]:
    """The share of all demo steps whose tool centre point lies `lo`–`hi` m from the goal, and their mean |offset|
    per world axis (m). The tool centre point sits `MetaWorldReachTCP.HAND_ABOVE_TCP` below the hand (obs[:3])."""
    offset = np.concatenate([e.obs[:-1, 0:3] - MetaWorldReachTCP.HAND_ABOVE_TCP - e.obs[:-1, 36:39]
                             for e in demos.episodes])
    dist = np.linalg.norm(offset, axis=1)
    band = (dist >= lo) & (dist < hi)
    return float(band.mean()), (np.abs(offset[band]).mean(0) if band.any() else np.full(3, np.nan))


def _scores(method, obs: np.ndarray, action: np.ndarray) -> dict[str, float]:
    """Mean learned reward over the steps and, where the method splits it, the mean of each term. Each call draws
    from the same reseeded torch generator (common random numbers): IQ-MPC's decoded reward samples a ~ π for its
    soft value, and a perturbation's difference should not carry that sampling noise."""
    device = getattr(method, "device", torch.device("cpu"))
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(0)
        row = {"learned": float(np.mean(method.reward_estimates(obs, action)))}
        if hasattr(method, "reward_terms"):
            torch.manual_seed(0)
            row.update({k: float(np.mean(v)) for k, v in method.reward_terms(obs, action).items()})
    return row


def offsets(method, demos: Demos, episodes: int, tail: int, distance: float) -> list[dict[str, float | str]]:
    """Per perturbation ("recorded", each signed axis, "puck of the next demo"): the mean learned reward over the
    demos' last `tail` steps and its difference to the recorded states' (mean and sd over demos; the terms too)."""
    eps = [e for e in demos.episodes[:episodes] if e.action is not None and len(e) >= tail]
    if len(eps) < 2:
        raise ValueError(f"need at least 2 state-action demos of >= {tail} steps, got {len(eps)}")
    tails = [(e.obs[-tail - 1:], e.action[-tail:]) for e in eps]
    variants = {"recorded": None,
                **{f"hand {a} {distance * 100:g} cm": (lambda o, i, a=a: shifted(o, a, distance)) for a in AXES},
                "puck of the next demo": lambda o, i: puck_from(o, tails[(i + 1) % len(tails)][0])}
    base = [_scores(method, o, a) for o, a in tails]
    rows = []
    for name, make in variants.items():
        scored = base if name == "recorded" else [_scores(method, make(o, i), a) for i, (o, a) in enumerate(tails)]
        diff = {k: np.asarray([s[k] - b[k] for s, b in zip(scored, base, strict=True)]) for k in base[0]}
        rows.append({"variant": name, "learned": float(np.mean([s["learned"] for s in scored])),
                     "minus_recorded": float(diff["learned"].mean()), "sd": float(diff["learned"].std()),
                     **{f"{k}_minus_recorded": float(v.mean()) for k, v in diff.items() if k != "learned"}})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run_dirs", type=Path, nargs="+", help="Meta-World reach cell directories with a checkpoint")
    ap.add_argument("--episodes", type=int, default=20, help="demos scored (the first N of the cell's dataset)")
    ap.add_argument("--tail", type=int, default=20, help="last agent steps of each demo (the expert on the goal)")
    ap.add_argument("--distance", type=float, default=0.05, help="hand shift in metres (success radius: 0.05)")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    for run_dir in args.run_dirs:
        method, manifest, step, demos = load_cell_with_demos(run_dir, method_overrides={"compile": False})
        if manifest["suite"] != "metaworld" or manifest["task"] not in REACH_TASKS:
            raise SystemExit(f"{run_dir}: reward_offsets moves the hand off a reach goal, which means something on "
                             f"{', '.join(REACH_TASKS)}; got {manifest['suite']}/{manifest['task']}")
        share, mean_abs = near_goal_offsets(demos)
        print(f"\n{run_dir.name}: {len(demos)} demos; {share:.1%} of their steps lie 2-10 cm from the goal, mean "
              f"|offset| x / y / z there {' / '.join(f'{v * 100:.2f}' for v in mean_abs)} cm\n")
        print("| cell | agent step | states | learned reward | minus recorded (± sd over demos) | of which expert term "
              "| of which behavioural term |")
        print("| --- | ---: | --- | ---: | ---: | ---: | ---: |")
        for r in offsets(method, demos, args.episodes, args.tail, args.distance):
            terms = [f"{r[k]:+.3f}" if k in r else "" for k in ("expert_minus_recorded", "behaviour_minus_recorded")]
            print(f"| {run_dir.name} | {step} | {r['variant']} | {r['learned']:+.3f} | {r['minus_recorded']:+.3f} "
                  f"(± {r['sd']:.3f}) | {terms[0]} | {terms[1]} |", flush=True)


if __name__ == "__main__":
    main()
