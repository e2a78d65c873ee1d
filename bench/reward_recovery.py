"""Reward recovery of a trained cell (IQ-MPC paper §5.2 / Fig. 4): the method's learned reward
(`Method.reward_estimates`) against the true reward, on fresh deterministic episodes of the cell's latest checkpoint
and on expert demos. Prints per-step and per-episode correlations, the learned reward by decile of the true reward,
and both rewards along the episode (tenths of its length), where a reward that scores expert-likeness of the states
shows as high at the shared start states and low late in the agent's episodes.

    .venv/bin/python -m bench.reward_recovery results/dmc/cartpole-swingup/iqmpc/<cell_id> [--episodes 5]
"""

from __future__ import annotations

import argparse
import importlib
import json
from pathlib import Path

import numpy as np
import torch

import envs
import methods
from experts.demos import Demos
from experts.rollout import rollout
from runner import checkpoint
from runner.demos import load as load_demos
from runner.demos import resolve as resolve_demo_source
from runner.method_config import build_method_config
from runner.seeding import derive

Episode = tuple[np.ndarray, np.ndarray, np.ndarray]  # obs (T+1, ...), action (T, A), reward (T,)


def load_cell(run_dir: Path, device: str = "cpu",
              method_overrides: dict | None = None) -> tuple[methods.Method, dict, int]:
    """The cell's method with its latest checkpoint loaded; also the manifest and the checkpoint's agent step.
    `method_overrides` replace config keys that do not change the networks (e.g. `compile`)."""
    method, manifest, step, _ = load_cell_with_demos(run_dir, device, method_overrides)
    return method, manifest, step


def load_cell_with_demos(run_dir: Path, device: str = "cpu", method_overrides: dict | None = None
                         ) -> tuple[methods.Method, dict, int, Demos]:
    """`load_cell`, plus the demos the cell trained on (loaded as the runner loads them)."""
    if not (run_dir / "manifest.json").exists() or not checkpoint.exists(run_dir):
        found = sorted(str(p.parent) for p in Path(run_dir).glob("**/manifest.json"))[:20]
        raise SystemExit(f"{run_dir} is not a cell directory with a checkpoint"
                         + (f"; cells below it: {', '.join(found)}" if found else ""))
    manifest = json.loads((run_dir / "manifest.json").read_text())
    cfg, suite, task, seed = manifest["config"], manifest["suite"], manifest["task"], int(manifest["seed"])
    for module in cfg.get("imports") or []:  # plug-in methods the cell registered
        importlib.import_module(module)
    env = envs.make(suite, task, seed=derive(seed, "env"), obs=cfg["obs"], **dict(cfg.get("env_options") or {}))
    cls = methods.get(manifest["method"])
    demos = load_demos(resolve_demo_source(cfg["demos_source"]), suite, task, cls.demo_kind, cfg["n_demos"],
                       env.wmil_spec, expert=cfg.get("demos_expert"))
    method_cfg = {**cfg["method"], **(method_overrides or {})}
    method = cls(build_method_config(cls, method_cfg), env.wmil_spec, demos, torch.device(device), seed)
    state = checkpoint.load(run_dir)
    method.load_state_dict(state["method"])
    env.close()
    return method, manifest, int(state["loop"]["step"]), demos


class _Deterministic:
    """A method as an `experts.rollout.Policy`: the deterministic planner, warm start reset at each episode."""

    def __init__(self, method: methods.Method) -> None:
        self.method, self.t0 = method, True

    def reset(self, seed: int) -> None:
        self.t0 = True

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        action, self.t0 = self.method.act(obs, eval=True, t0=self.t0), False
        return action


def rollouts(method: methods.Method, manifest: dict, n: int) -> list[Episode]:
    """`n` deterministic episodes on a fresh env, seeded apart from the runner's eval episodes."""
    cfg, seed = manifest["config"], int(manifest["seed"])
    env = envs.make(manifest["suite"], manifest["task"], seed=derive(seed, "recovery"), obs=cfg["obs"],
                    **dict(cfg.get("env_options") or {}))
    policy = _Deterministic(method)
    eps = [rollout(env, policy, derive(seed, "recovery-episode", i)) for i in range(n)]
    env.close()
    return [(e.obs, e.action, np.asarray(e.reward, dtype=np.float64)) for e in eps]


def summarise(method: methods.Method, episodes: list[Episode]) -> dict:
    """Correlations, the learned reward by true-reward decile and both rewards by tenth of the episode."""
    est = [np.asarray(method.reward_estimates(o, a), dtype=np.float64) for o, a, _ in episodes]
    true = [r for _, _, r in episodes]
    flat_e, flat_t = np.concatenate(est), np.concatenate(true)
    ret_t, ret_e = np.array([r.sum() for r in true]), np.array([e.sum() for e in est])

    def corr(x: np.ndarray, y: np.ndarray) -> float:
        return float(np.corrcoef(x, y)[0, 1]) if len(x) > 2 and x.std() > 0 and y.std() > 0 else float("nan")

    edges = np.quantile(flat_t, np.linspace(0, 1, 11))
    bins = np.clip(np.searchsorted(edges, flat_t, side="right") - 1, 0, 9)
    deciles = [(b + 1, flat_t[bins == b].mean(), flat_e[bins == b].mean(), int((bins == b).sum()))
               for b in range(10) if (bins == b).any()]
    tenths = []
    for k in range(10):
        t_k = np.concatenate([r[len(r) * k // 10: len(r) * (k + 1) // 10] for r in true])
        e_k = np.concatenate([e[len(e) * k // 10: len(e) * (k + 1) // 10] for e in est])
        tenths.append((k + 1, t_k.mean() if t_k.size else float("nan"), e_k.mean() if e_k.size else float("nan")))
    return {"episodes": len(true), "return_mean": float(ret_t.mean()), "return_std": float(ret_t.std()),
            "step_corr": corr(flat_e, flat_t), "episode_corr": corr(ret_e, ret_t), "deciles": deciles,
            "tenths": tenths}


def report(stats: dict, label: str) -> str:
    lines = [f"## {label}: {stats['episodes']} episodes, true return {stats['return_mean']:.1f} ± "
             f"{stats['return_std']:.1f}",
             f"per-step Pearson(learned, true) = {stats['step_corr']:+.3f}; per-episode return Pearson = "
             f"{stats['episode_corr']:+.3f}",
             "| true-reward decile | true mean | learned mean | steps |", "| ---: | ---: | ---: | ---: |"]
    lines += [f"| {b} | {t:.3f} | {e:.3f} | {n} |" for b, t, e, n in stats["deciles"]]
    lines += ["| tenth of the episode | true mean | learned mean |", "| ---: | ---: | ---: |"]
    lines += [f"| {k} | {t:.3f} | {e:.3f} |" for k, t, e in stats["tenths"]]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run_dir", type=Path, help="a cell directory under results/ with a checkpoint")
    ap.add_argument("--episodes", type=int, default=5, help="fresh deterministic episodes of the agent")
    ap.add_argument("--demos", type=int, default=10, help="expert demos to score (0: none)")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    method, manifest, step = load_cell(args.run_dir)
    if type(method).reward_estimates is methods.Method.reward_estimates:
        raise SystemExit(f"{manifest['method']} learns no reward (Method.reward_estimates is not implemented)")
    print(f"{manifest['method']} on {manifest['suite']}/{manifest['task']} seed {manifest['seed']}, checkpoint at "
          f"agent step {step}")
    print(report(summarise(method, rollouts(method, manifest, args.episodes)), "agent episodes"))
    demos = method.demos.episodes[: args.demos] if args.demos and method.demos is not None else []
    if demos:
        episodes = [(e.obs, e.action, np.asarray(e.reward, dtype=np.float64)) for e in demos]
        print(report(summarise(method, episodes), "expert demos"))


if __name__ == "__main__":
    main()
