"""How a trained world-model cell acts under each action rule, on the same deterministic episodes: the MPPI planner's
final mean (`action_select="mean"`, the papers), a weight-drawn elite (`"elite"`, TD-MPC2's code), the policy
prior's mean (`mpc=False`, CDRED's released code) and the planner as it acts while training (`"train"`: the final
mean plus σ*_0 exploration noise, the `act(eval=False)` path; not a deterministic evaluation), `"prior_train"`: a
draw from the policy prior, as a `mpc=False` agent acts while training (not deterministic either), and `"online"`: as
`"train"`, and also storing each transition and updating the model every step as the training loop does, on a
freshly loaded copy (how much of a training curve's success comes from adapting within the episode). Prints return,
success at the last step and at any step, and on Meta-World the distance from the gripper's tool centre point to
the goal at the last step (on reach-v3 success is this distance < 5 cm; the observation's hand xyz is the hand
body, 4.5 cm above the tool centre point), the closest approach, and how far the tool centre point still moves per
agent step in the episode's second half: an agent that stalls short of the goal shows a final distance near its
closest with little motion; one that reaches the goal and drifts away shows a small closest approach and more
motion. `--axes` adds, per world axis, the mean and sd of the final tool-centre-point-minus-goal offset and the slope
of the final tool-centre-point coordinate on the goal's (1: the agent follows the goal on that axis; 0: it ends at
the same place whatever the goal). `--per-episode` prints every episode; `--planner KEY=VALUE ...` evaluates with
other MPPI settings (e.g. the `paper` planner on a `cpu`-size cell); `--set KEY=VALUE ...` with other method settings
that leave the networks as trained (e.g. IQ-MPC's `planner_q_reduce=all`; Hydra override syntax, as
`run_grid.py method.*`).

    .venv/bin/python -m bench.eval_variants results/metaworld/reach-v3/cdred/<cell_id> [--episodes 20]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException

import envs
import methods
from bench.reward_recovery import load_cell
from methods.base import Transition
from methods.common.agent import WorldModelAgent
from methods.common.config import PlannerConfig
from runner.seeding import derive

VARIANTS = ("mean", "elite", "prior", "train", "prior_train", "online")
EXPLORING = ("train", "prior_train")  # act as in training, `act(eval=False)` ("online" does too, as it learns)


def set_variant(agent: WorldModelAgent, variant: str) -> None:
    """Point the agent's acting at one rule (its networks are untouched)."""
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
    agent.cfg = replace(agent.cfg, mpc=variant not in ("prior", "prior_train"))
    agent.planner.cfg = replace(agent.planner.cfg, action_select="elite" if variant == "elite" else "mean")


def parse_settings(pairs: list[str]) -> dict[str, str]:
    """["key=value", ...] -> {key: value}."""
    bad = [kv for kv in pairs if "=" not in kv]
    if bad:
        raise ValueError(f"planner settings must be KEY=VALUE, got {bad}")
    return dict(kv.split("=", 1) for kv in pairs)


NETWORK_KEYS = ("size", "model", "planner")  # what the checkpoint's shapes depend on (planner: `--planner`)


def method_settings(pairs: list[str], cls: type) -> dict[str, object]:
    """["key=value", ...] -> overrides of `cls.Config`, values typed by Hydra's override parser (as `run_grid.py`
    reads `method.*`); unknown keys and the keys the networks depend on are refused."""
    parse_settings(pairs)  # KEY=VALUE shape, with the same message as --planner
    try:
        parsed = OverridesParser.create().parse_overrides(pairs)
    except HydraException as err:
        raise ValueError(f"cannot parse method settings {pairs}: {err}") from None
    settings = {ov.key_or_group: ov.value() for ov in parsed}
    fields = {f.name for f in dataclasses.fields(cls.Config)} - set(NETWORK_KEYS)
    unknown = sorted(set(settings) - fields)
    if unknown:
        raise ValueError(f"unknown or network-changing method settings {unknown}; valid: {sorted(fields)}")
    return settings


def set_planner(agent: WorldModelAgent, overrides: dict[str, str]) -> None:
    """Evaluate with other MPPI settings (e.g. the `paper` planner on a `cpu`-size cell); networks untouched."""
    fields = {f.name for f in dataclasses.fields(PlannerConfig)}
    unknown = sorted(set(overrides) - fields)
    if unknown:
        raise ValueError(f"unknown planner settings {unknown}; valid: {sorted(fields)}")
    cfg = agent.planner.cfg
    typed = {}
    for key, value in overrides.items():
        kind = type(getattr(cfg, key))
        try:
            typed[key] = kind(value)
        except ValueError:
            raise ValueError(f"planner setting {key} must be {kind.__name__}, got {value!r}") from None
    if typed.get("horizon", cfg.horizon) != cfg.horizon:
        raise ValueError("the horizon is part of what the cell learned; it cannot change at evaluation")
    agent.planner.cfg = replace(cfg, **typed)


def tcp_position(env) -> np.ndarray:
    """Meta-World: the tool centre point's xyz."""
    return np.array(env.unwrapped.raw.tcp_center, dtype=np.float64)


def goal_position(env) -> np.ndarray:
    """Meta-World: the episode's goal xyz."""
    return np.array(env.unwrapped.raw._target_pos, dtype=np.float64)


def tcp_to_goal(env) -> float:
    """Meta-World: distance from the tool centre point to the goal, what reach-v3's success reads."""
    return float(np.linalg.norm(tcp_position(env) - goal_position(env)))


def distance_figures(tcp: list[np.ndarray], goal: np.ndarray) -> tuple[float, float, float]:
    """Final and closest distance to the goal, and the mean per-step tool-centre-point motion over the second half
    of an episode, from the tool centre point's positions after each step."""
    positions = np.asarray(tcp)
    dist = np.linalg.norm(positions - goal, axis=1)
    late = positions[len(positions) // 2 :]
    motion = float(np.linalg.norm(np.diff(late, axis=0), axis=1).mean()) if len(late) > 1 else float("nan")
    return float(dist[-1]), float(dist.min()), motion


def episodes(agent: WorldModelAgent, manifest: dict, n: int, *, explore: bool = False,
             learn: bool = False) -> dict[str, np.ndarray]:
    """`n` evaluation episodes (eval=True; `explore`: acting as in training, eval=False; `learn`: also observe each
    transition and update after every step, which changes `agent`) on env seeds and a torch seed shared by every
    variant; per-episode figures."""
    cfg, seed = manifest["config"], int(manifest["seed"])
    torch.manual_seed(derive(seed, "variants-torch"))
    env = envs.make(manifest["suite"], manifest["task"], seed=derive(seed, "variants"), obs=cfg["obs"],
                    **dict(cfg.get("env_options") or {}))
    keys = ("return", "success", "success_any", "final_dist", "min_dist", "late_motion", "goal", "final_offset")
    rows: dict[str, list] = {k: [] for k in keys}
    metaworld = manifest["suite"] == "metaworld"
    for i in range(n):
        obs, _ = env.reset(seed=derive(seed, "variants-episode", i))
        ret, succ_any, done, t0, info = 0.0, 0.0, False, True, {}
        tcp: list[np.ndarray] = []
        while not done:
            action = agent.act(obs, eval=not (explore or learn), t0=t0)
            next_obs, r, term, trunc, info = env.step(action)
            if learn:
                agent.observe(Transition(obs, action, float(r), next_obs, bool(term), bool(trunc),
                                         float(info.get("success", float("nan")))))
                agent.update(0)
            obs = next_obs
            ret, t0, done = ret + float(r), False, term or trunc
            succ_any = max(succ_any, float(info.get("success", 0.0)))
            if metaworld:
                tcp.append(tcp_position(env))
        rows["return"].append(ret)
        rows["success"].append(float(info.get("success", float("nan"))))
        rows["success_any"].append(succ_any if "success" in info else float("nan"))
        final, closest, motion = distance_figures(tcp, goal_position(env)) if metaworld else (float("nan"),) * 3
        rows["final_dist"].append(final)
        rows["min_dist"].append(closest)
        rows["late_motion"].append(motion)
        rows["goal"].append(goal_position(env) if metaworld else np.full(3, np.nan))
        rows["final_offset"].append(tcp[-1] - goal_position(env) if metaworld else np.full(3, np.nan))
    env.close()
    return {k: np.asarray(v) for k, v in rows.items()}


ROW_HEADER = ("return | success (last step) | success (any step) | final distance (m) | closest (m) "
              "| late motion (mm/step)")
ROW_ALIGN = " | ".join(["---:"] * 6)


def _mean(x: np.ndarray) -> float:
    return float(np.nanmean(x)) if np.isfinite(x).any() else float("nan")


def row(figures: dict[str, np.ndarray]) -> str:
    """Return, success at the last / any step, mean final and closest distance (m) and late motion (mm per agent
    step) as markdown cells."""
    return (f"{figures['return'].mean():.1f} | {np.mean(figures['success']):.2f} | "
            f"{np.mean(figures['success_any']):.2f} | {_mean(figures['final_dist']):.3f} | "
            f"{_mean(figures['min_dist']):.3f} | {1e3 * _mean(figures['late_motion']):.1f}")


def axis_rows(figures: dict[str, np.ndarray]) -> list[str]:
    """Per world axis: mean and sd (cm) of the final tool-centre-point-minus-goal offset over episodes, and the
    least-squares slope of the final tool-centre-point coordinate on the goal's (nan with fewer than 2 episodes or
    one goal value)."""
    offset, goal = 100 * figures["final_offset"], 100 * figures["goal"]
    lines = []
    for k, axis in enumerate("xyz"):
        g, t = goal[:, k], goal[:, k] + offset[:, k]
        slope = round(float(np.polyfit(g, t, 1)[0]), 2) + 0.0 if len(g) > 1 and np.ptp(g) > 0 else float("nan")
        mean = round(float(offset[:, k].mean()), 2) + 0.0  # + 0.0: no "-0.00"
        lines.append(f"  {axis}: final offset {mean:+.2f} ± {offset[:, k].std():.2f} cm | goal sd "
                     f"{g.std():.2f} cm | slope of final position on goal {slope:.2f}")
    return lines


def episode_rows(figures: dict[str, np.ndarray]) -> list[str]:
    """One line per episode: return, last-step success, final / closest distance (cm), late motion (mm/step) and
    the goal's xyz (m)."""
    return [f"  episode {i}: return {figures['return'][i]:.1f} | success {figures['success'][i]:.0f} | final "
            f"{100 * figures['final_dist'][i]:.1f} cm | closest {100 * figures['min_dist'][i]:.1f} cm | late motion "
            f"{1e3 * figures['late_motion'][i]:.1f} mm/step | goal {np.array2string(figures['goal'][i], precision=3)}"
            for i in range(len(figures["return"]))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run_dirs", type=Path, nargs="+", help="cell directories under results/ with a checkpoint")
    ap.add_argument("--episodes", type=int, default=20)
    ap.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--eager", action="store_true", help="no torch.compile (actions equal up to float rounding)")
    ap.add_argument("--per-episode", action="store_true", help="also print every episode's figures")
    ap.add_argument("--axes", action="store_true",
                    help="Meta-World: also print the final offset to the goal per world axis, and how the final "
                         "position follows the goal on each")
    ap.add_argument("--planner", nargs="+", default=[], metavar="KEY=VALUE",
                    help="MPPI settings for evaluation, e.g. num_samples=512 iterations=6 num_elites=64")
    ap.add_argument("--set", nargs="+", default=[], metavar="KEY=VALUE", dest="method_settings",
                    help="method settings that leave the networks as trained, e.g. planner_q_reduce=all")
    args = ap.parse_args()
    try:
        planner = parse_settings(args.planner)
        parse_settings(args.method_settings)
    except ValueError as err:
        ap.error(str(err))
    torch.set_num_threads(args.threads)
    if planner or args.method_settings:
        print(f"settings: planner {planner or 'as trained'}, method {args.method_settings or 'as trained'}\n")
    print(f"| cell | agent step | rule | {ROW_HEADER} |")
    print(f"| --- | ---: | --- | {ROW_ALIGN} |")
    for run_dir in args.run_dirs:
        overrides = {}
        manifest_path = run_dir / "manifest.json"
        if args.method_settings and manifest_path.exists():  # else load_cell says what is missing
            method_name = json.loads(manifest_path.read_text())["method"]
            try:
                overrides = method_settings(args.method_settings, methods.get(method_name))
            except ValueError as err:
                ap.error(f"{run_dir}: {err}")
        if args.eager:
            overrides["compile"] = False
        try:
            agent, manifest, step = load_cell(run_dir, method_overrides=overrides)
        except ValueError as err:  # e.g. a --set value the method's config refuses
            ap.error(f"{run_dir}: {err}")
        if not isinstance(agent, WorldModelAgent):
            raise SystemExit(f"{run_dir}: {manifest['method']} is not a world-model agent")
        for variant in args.variants:
            online = variant == "online"  # learning changes the agent: a freshly loaded copy learns
            acting = load_cell(run_dir, method_overrides=overrides)[0] if online else agent
            set_planner(acting, planner)
            set_variant(acting, variant)
            figures = episodes(acting, manifest, args.episodes, explore=variant in EXPLORING, learn=online)
            print(f"| {run_dir.name} | {step} | {variant} | {row(figures)} |", flush=True)
            if args.axes and manifest["suite"] == "metaworld":
                print("\n".join(axis_rows(figures)), flush=True)
            if args.per_episode:
                print("\n".join(episode_rows(figures)), flush=True)


if __name__ == "__main__":
    main()
