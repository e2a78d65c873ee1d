"""TD-MPC2 RL expert (the papers' expert kind) on the world-model core's `methods.common.tdmpc2.TDMPC2`.

`train(suite, task, cfg)` runs TD-MPC2's online loop (seed steps of random actions, one update burst, then one
update per agent step), evaluates with the deterministic planner every `eval_every` agent steps, and writes into
`checkpoint_root()/<suite>/<task>/tdmpc2/`: best.pt / last.pt (agent config, env spec and model weights, enough
to act), eval.csv, replay.npz (every complete training episode) and card.json, like the SAC trainer.
Paper-scale experts need a GPU (`size="paper"`); `size="cpu"` is a smaller model and planner.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path

import numpy as np

import envs
from envs.spec import EnvSpec
from experts.artifacts import evaluate, save_episodes_npz, sha256_file, write_csv, write_json
from experts.demos import Episode
from experts.paths import atomic_write, checkpoint_root, task_dir


@dataclass
class TDMPC2TrainConfig:
    """Training-loop settings; `agent` holds overrides of `TDMPC2Config` fields (e.g. {"seed_steps": 500})."""

    steps: int = 100_000  # agent steps
    seed: int = 0
    size: str = "auto"  # "paper" | "cpu" | "smoke"; auto: paper on CUDA, cpu otherwise
    device: str = "auto"
    eval_every: int = 10_000
    eval_episodes: int = 5
    max_minutes: float | None = None
    torch_threads: int = 1
    agent: dict | None = None


class TDMPC2Policy:
    """Acts with the agent's deterministic planner (`act(eval=True)`), warm start reset at each episode."""

    def __init__(self, agent) -> None:
        self.agent = agent
        self._t0 = True

    @classmethod
    def load(cls, path: Path, device: str = "cpu") -> TDMPC2Policy:
        import torch

        from methods.base import resolve_device
        from methods.common.tdmpc2 import TDMPC2, TDMPC2Config

        ckpt = torch.load(Path(path), map_location="cpu", weights_only=True)
        spec_d = dict(ckpt["spec"], obs_shape=tuple(ckpt["spec"]["obs_shape"]))
        agent = TDMPC2(TDMPC2Config(**ckpt["config"]), EnvSpec(**spec_d), None, resolve_device(device), ckpt["seed"])
        agent.model.load_state_dict(ckpt["model"])
        return cls(agent)

    def reset(self, seed: int) -> None:
        self._t0 = True

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        a = self.agent.act(obs, eval=True, t0=self._t0)
        self._t0 = False
        return a


def tdmpc2_dir(suite: str, task: str, root: Path | None = None) -> Path:
    return task_dir(root or checkpoint_root(), suite, task) / "tdmpc2"


def _save(path: Path, agent, cfg_dict: dict, spec: EnvSpec, seed: int) -> None:
    import torch

    obj = {"config": cfg_dict, "spec": spec.to_dict(), "model": agent.model.state_dict(), "seed": seed}
    atomic_write(path, lambda p: torch.save(obj, p))


def train(suite: str, task: str, cfg: TDMPC2TrainConfig | None = None, root: Path | None = None) -> dict:
    """Train a TD-MPC2 expert; returns (and writes) its card."""
    import torch

    from methods.base import Transition, resolve_device
    from methods.common.tdmpc2 import TDMPC2, TDMPC2Config

    cfg = cfg or TDMPC2TrainConfig()
    torch.set_num_threads(cfg.torch_threads)
    device = resolve_device(cfg.device)
    size = cfg.size if cfg.size != "auto" else ("paper" if device.type == "cuda" else "cpu")
    task = envs.canonical_task(suite, task)
    out = tdmpc2_dir(suite, task, root)
    out.mkdir(parents=True, exist_ok=True)
    env = envs.make(suite, task, seed=cfg.seed)
    eval_env = envs.make(suite, task, seed=cfg.seed + 1)
    spec = env.wmil_spec
    agent_cfg = TDMPC2Config(size=size, **(cfg.agent or {}))
    agent = TDMPC2(agent_cfg, spec, None, device, cfg.seed)
    cfg_dict = agent_cfg.to_dict()
    t0 = time.time()
    log: list[dict] = []
    best = {"return_mean": -np.inf}
    episodes: list[Episode] = []

    def do_eval(step: int) -> None:
        row = {"agent_step": step, "env_step": spec.env_steps(step), "wall_s": round(time.time() - t0, 1),
               **evaluate(eval_env, TDMPC2Policy(agent), cfg.eval_episodes, cfg.seed)}
        log.append(row)
        _save(out / "last.pt", agent, cfg_dict, spec, cfg.seed)
        if row["return_mean"] > best["return_mean"]:
            best.update(row)
            _save(out / "best.pt", agent, cfg_dict, spec, cfg.seed)
        write_csv(out / "eval.csv", log)
        print(f"[tdmpc2 {suite}/{task}] step {step} return {row['return_mean']:.1f}±{row['return_std']:.1f} "
              f"success {row['success_mean']:.2f} ({row['wall_s']:.0f}s)", flush=True)

    obs, _ = env.reset(seed=cfg.seed)
    cur = {"obs": [obs], "action": [], "reward": [], "success": []}
    step, first = 0, True
    while step < cfg.steps and (cfg.max_minutes is None or time.time() - t0 < 60 * cfg.max_minutes):
        action = agent.act(obs, eval=False, t0=first)
        nxt, reward, term, trunc, info = env.step(action)
        applied = np.asarray(info["applied_action"], np.float32)
        agent.observe(Transition(obs, applied, reward, nxt, term, trunc, info.get("success", float("nan"))))
        step += 1
        agent.update(step)
        for key, val in (("obs", nxt), ("action", applied), ("reward", reward), ("success", info.get("success", 0))):
            cur[key].append(val)
        obs, first = nxt, False
        if term or trunc:
            succ = np.asarray(cur["success"], np.float32) if spec.has_success else None
            episodes.append(Episode(np.stack(cur["obs"]), np.stack(cur["action"]),
                                    np.asarray(cur["reward"], np.float32), succ, bool(term)))
            obs, _ = env.reset()
            cur = {"obs": [obs], "action": [], "reward": [], "success": []}
            first = True
        if step % cfg.eval_every == 0:
            do_eval(step)
    if not log or log[-1]["agent_step"] != step:
        do_eval(step)
    save_episodes_npz(out / "replay.npz", episodes)
    card = {
        "suite": suite, "task": task, "expert_kind": "tdmpc2", "config": asdict(cfg), "agent_config": cfg_dict,
        "agent_steps": step, "env_steps": spec.env_steps(step), "updates": agent.num_updates,
        "stopped_by": "steps" if step >= cfg.steps else "max_minutes", "device": str(device),
        "wall_s": round(time.time() - t0, 1), "best": best, "final": log[-1],
        "checkpoint": "best.pt", "checkpoint_sha256": sha256_file(out / "best.pt"),
        "replay_episodes": len(episodes), "env_spec": spec.to_dict(),
        "versions": {d: metadata.version(d) for d in ("torch", "gymnasium", "numpy")},
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    write_json(out / "card.json", card)
    env.close()
    eval_env.close()
    return card
