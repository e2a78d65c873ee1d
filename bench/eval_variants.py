"""How a trained world-model cell acts under each action rule, on the same deterministic episodes: the MPPI
planner's final mean (`action_select="mean"`, the papers), a weight-drawn elite (`"elite"`, TD-MPC2's code) and the
policy prior's mean (`mpc=False`, CDRED's released code). Prints return, success at the last step and at any step,
and on Meta-World the distance from the gripper's tool centre point to the goal at the last step (on reach-v3 success
is this distance < 5 cm; the observation's hand xyz is the hand body, 4.5 cm above the tool centre point).

    .venv/bin/python -m bench.eval_variants results/metaworld/reach-v3/cdred/<cell_id> [--episodes 20]
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

import envs
from bench.reward_recovery import load_cell
from methods.common.agent import WorldModelAgent
from runner.seeding import derive

VARIANTS = ("mean", "elite", "prior")


def set_variant(agent: WorldModelAgent, variant: str) -> None:
    """Point the agent's acting at one rule (its networks are untouched)."""
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
    agent.cfg = replace(agent.cfg, mpc=variant != "prior")
    agent.planner.cfg = replace(agent.planner.cfg, action_select="mean" if variant == "prior" else variant)


def tcp_to_goal(env) -> float:
    """Meta-World: distance from the tool centre point to the goal, what reach-v3's success reads."""
    raw = env.unwrapped.raw
    return float(np.linalg.norm(raw.tcp_center - raw._target_pos))


def episodes(agent: WorldModelAgent, manifest: dict, n: int) -> dict[str, np.ndarray]:
    """`n` evaluation episodes (eval=True) on env seeds and a torch seed shared by every variant; per-episode
    figures."""
    cfg, seed = manifest["config"], int(manifest["seed"])
    torch.manual_seed(derive(seed, "variants-torch"))
    env = envs.make(manifest["suite"], manifest["task"], seed=derive(seed, "variants"), obs=cfg["obs"],
                    **dict(cfg.get("env_options") or {}))
    rows: dict[str, list[float]] = {"return": [], "success": [], "success_any": [], "final_dist": []}
    for i in range(n):
        obs, _ = env.reset(seed=derive(seed, "variants-episode", i))
        ret, succ_any, done, t0, info = 0.0, 0.0, False, True, {}
        while not done:
            obs, r, term, trunc, info = env.step(agent.act(obs, eval=True, t0=t0))
            ret, t0, done = ret + float(r), False, term or trunc
            succ_any = max(succ_any, float(info.get("success", 0.0)))
        rows["return"].append(ret)
        rows["success"].append(float(info.get("success", float("nan"))))
        rows["success_any"].append(succ_any if "success" in info else float("nan"))
        rows["final_dist"].append(tcp_to_goal(env) if manifest["suite"] == "metaworld" else float("nan"))
    env.close()
    return {k: np.asarray(v) for k, v in rows.items()}


def row(figures: dict[str, np.ndarray]) -> str:
    """Return, success at the last / any step and mean final distance as markdown cells."""
    dist = figures["final_dist"]
    final_dist = float(np.nanmean(dist)) if np.isfinite(dist).any() else float("nan")
    return (f"{figures['return'].mean():.1f} | {np.mean(figures['success']):.2f} | "
            f"{np.mean(figures['success_any']):.2f} | {final_dist:.3f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run_dirs", type=Path, nargs="+", help="cell directories under results/ with a checkpoint")
    ap.add_argument("--episodes", type=int, default=20)
    ap.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--eager", action="store_true", help="no torch.compile (actions equal up to float rounding)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print("| cell | agent step | rule | return | success (last step) | success (any step) | final distance |")
    print("| --- | ---: | --- | ---: | ---: | ---: | ---: |")
    for run_dir in args.run_dirs:
        agent, manifest, step = load_cell(run_dir, method_overrides={"compile": False} if args.eager else None)
        if not isinstance(agent, WorldModelAgent):
            raise SystemExit(f"{run_dir}: {manifest['method']} is not a world-model agent")
        for variant in args.variants:
            set_variant(agent, variant)
            print(f"| {run_dir.name} | {step} | {variant} | {row(episodes(agent, manifest, args.episodes))} |",
                  flush=True)


if __name__ == "__main__":
    main()
