"""The learned reward of a Meta-World reach cell where the gripper holds still at a known distance from the goal.

Drives the tool centre point with a proportional controller to `goal + centre + d·u` (u a seeded random unit vector,
or with `--axis` one signed coordinate axis, e.g. `y-`: short of a reach-v3 goal along the arm's direction of travel)
for `--approach` agent steps, holds it there for `--hold` more, and prints, per distance d: the method's learned
reward (`Method.reward_estimates`) and the true reward averaged over the hold steps, the distance to the goal
actually held, the learned reward minus the one held at the smallest d on the same goal (goals move the reward
more than distance does), and for world-model agents how far the held latent h(s) lies from that hold's (mean |Δz|
per dimension). A reward that ranks the centre above holding 5–20 cm away shows as a falling column; a flat one
cannot tell the agent where to stop. For CDRED (`reward_terms`) the difference is also split into Eq. 5's expert
term and its behavioural term (the novelty bonus on states the agent has rarely visited). `--centre` (default:
the goal) matters because Meta-World's scripted reach policy steers the hand body, not the tool centre point
success reads: its demos hold the tool centre point ~4.5 cm below the goal, 0.5 cm inside the 5 cm success radius.

    .venv/bin/python -m bench.reward_landscape results/metaworld/reach-v3/cdred/<cell_id> [--episodes 10]
        [--centre 0 0 -0.045]   # around the scripted expert's hold point instead of the goal
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

import envs
from bench.eval_variants import tcp_to_goal
from bench.reward_recovery import load_cell
from methods.common.agent import WorldModelAgent
from runner.seeding import derive

REACH_TASKS = ("reach-v3", "reach-wall-v3")
DISTANCES = (0.0, 0.02, 0.05, 0.1, 0.15, 0.2)
AXES = ("random", "x+", "x-", "y+", "y-", "z+", "z-")


def direction(axis: str, rng: np.random.Generator | None) -> np.ndarray:
    """The unit vector an episode's holds step along: seeded random, or a signed coordinate axis (world frame)."""
    if axis not in AXES:
        raise ValueError(f"unknown axis {axis!r}; valid: {', '.join(AXES)}")
    if axis == "random":
        if rng is None:
            raise ValueError("a random direction needs a generator")
        u = rng.normal(size=3)
        return u / np.linalg.norm(u)
    u = np.zeros(3)
    u["xyz".index(axis[0])] = 1.0 if axis[1] == "+" else -1.0
    return u


def hold_at(env, offset: np.ndarray, approach: int, hold: int, seed: int, gain: float = 10.0
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """One episode: tool centre point driven to goal + offset, then held. Returns the hold steps' observations
    (hold + 1), actions (hold), true rewards (hold) and the final tool-centre-point-to-goal distance."""
    obs, _ = env.reset(seed=seed)
    raw = env.unwrapped.raw
    target = raw._target_pos + offset
    observations, actions, rewards = [obs], [], []
    for t in range(approach + hold):
        action = np.zeros(env.action_space.shape, np.float32)
        action[:3] = np.clip(gain * (target - raw.tcp_center), -1.0, 1.0)
        obs, reward, _, _, _ = env.step(action)
        if t >= approach:
            actions.append(action)
            rewards.append(float(reward))
            observations.append(obs)
        elif t == approach - 1:
            observations = [obs]
    return np.asarray(observations), np.asarray(actions), np.asarray(rewards), tcp_to_goal(env)


def landscape(method, manifest: dict, episodes: int, approach: int, hold: int,
              distances: tuple[float, ...] = DISTANCES, centre: tuple[float, float, float] = (0.0, 0.0, 0.0),
              axis: str = "random") -> list[dict[str, float]]:
    """Per distance d from goal + `centre` along `axis` (see `direction`): learned and true reward over the hold
    steps, held distance to the goal, the learned reward minus the one held at the smallest d on the same goal (mean
    and sd over goals), latent distance to that hold."""
    cfg, seed = manifest["config"], int(manifest["seed"])
    env = envs.make(manifest["suite"], manifest["task"], seed=derive(seed, "landscape"), obs=cfg["obs"],
                    **dict(cfg.get("env_options") or {}))
    if approach + hold > env.wmil_spec.episode_length:
        raise SystemExit(f"--approach + --hold must fit in an episode ({env.wmil_spec.episode_length} agent steps)")
    rng = np.random.default_rng(derive(seed, "landscape-directions"))
    split = hasattr(method, "reward_terms")
    keys = ("learned", "true", "held", "dz", "expert", "behaviour")
    per_d: dict[float, dict[str, list[float]]] = {d: {k: [] for k in keys} for d in distances}
    for i in range(episodes):
        u = direction(axis, rng)
        ep_seed = derive(seed, "landscape-episode", i)
        z_goal = None
        for d in sorted(distances):
            obs, act, true_r, held = hold_at(env, np.asarray(centre) + d * u, approach, hold, ep_seed)
            rows = per_d[d]
            rows["learned"].append(float(np.mean(method.reward_estimates(obs, act))))
            if split:
                for name, values in method.reward_terms(obs, act).items():
                    rows[name].append(float(np.mean(values)))
            rows["true"].append(float(np.mean(true_r)))
            rows["held"].append(held)
            if isinstance(method, WorldModelAgent):
                with torch.no_grad(), method.eval_mode():
                    z = method.model.encode(torch.as_tensor(obs[:-1], device=method.device)).mean(0)
                z_goal = z if z_goal is None else z_goal
                rows["dz"].append(float((z - z_goal).abs().mean()))
    env.close()
    base = per_d[min(distances)]

    def vs_goal(d: float, key: str) -> float:  # mean over goals of (value at d − value at the smallest d)
        return float(np.mean(np.asarray(per_d[d][key]) - np.asarray(base[key]))) if base[key] else float("nan")

    return [{"d": d, **{k: float(np.mean(v)) if v else float("nan") for k, v in per_d[d].items()},
             "vs_goal": vs_goal(d, "learned"),
             "vs_goal_sd": float(np.std(np.asarray(per_d[d]["learned"]) - np.asarray(base["learned"]))),
             "expert_vs_goal": vs_goal(d, "expert"), "behaviour_vs_goal": vs_goal(d, "behaviour")}
            for d in distances]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run_dirs", type=Path, nargs="+", help="Meta-World reach cell directories with a checkpoint")
    ap.add_argument("--episodes", type=int, default=10, help="goals (episodes) per distance")
    ap.add_argument("--approach", type=int, default=60, help="agent steps to reach the held point")
    ap.add_argument("--hold", type=int, default=20, help="agent steps held (the rewards averaged)")
    ap.add_argument("--centre", type=float, nargs=3, default=(0.0, 0.0, 0.0), metavar=("X", "Y", "Z"),
                    help="hold around goal + this offset (m); Meta-World's scripted reach expert holds its tool "
                         "centre point at about 0 0 -0.045")
    ap.add_argument("--axis", choices=AXES, default="random",
                    help="hold along this signed world axis instead of a random direction per goal")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print("| cell | agent step | d (m) | held distance (m) | learned reward | minus at d = 0, same goal (± sd) | "
          "of which expert term | of which behavioural term | true reward | mean abs latent difference to d = 0 |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for run_dir in args.run_dirs:
        method, manifest, step = load_cell(run_dir, method_overrides={"compile": False})
        if manifest["suite"] != "metaworld" or manifest["task"] not in REACH_TASKS:
            raise SystemExit(f"{run_dir}: reward_landscape drives the gripper to points near the goal, which "
                             f"means something on {', '.join(REACH_TASKS)}; got {manifest['task']}")
        for r in landscape(method, manifest, args.episodes, args.approach, args.hold, centre=tuple(args.centre),
                           axis=args.axis):
            print(f"| {run_dir.name} | {step} | {r['d']:.2f} | {r['held']:.3f} | {r['learned']:+.3f} | "
                  f"{r['vs_goal']:+.3f} (± {r['vs_goal_sd']:.3f}) | {r['expert_vs_goal']:+.3f} | "
                  f"{r['behaviour_vs_goal']:+.3f} | {r['true']:.2f} | {r['dz']:.4f} |", flush=True)


if __name__ == "__main__":
    main()
