"""Stable-Baselines3 SAC expert trainer for DMC, ManiSkill2 and MyoSuite (the CPU-friendly expert).

`train(suite, task, cfg)` trains on `envs.make(...)` (TD-MPC2 conventions: agent steps, action repeat inside
the env), evaluates every `eval_every` agent steps with deterministic actions, and writes into
`checkpoint_root()/<suite>/<task>/sac/`:

    best.zip    the checkpoint with the highest mean eval return so far (the expert used for collection)
    last.zip    the latest checkpoint
    eval.csv    agent_step, env_step, wall_s, return_mean, return_std, success_mean
    replay.npz  every complete training episode (the "expert's training replay" for AIME/BCO)
    card.json   config, steps, wall time, best and final eval, sha256 of best.zip, package versions

All writes are atomic. Training stops at `steps` agent steps or after `max_minutes` of wall time, whichever
comes first; the card records which.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path

import gymnasium as gym
import numpy as np

import envs
from experts.artifacts import (  # noqa: F401  (re-exported for callers of the SAC expert)
    evaluate,
    load_episodes_npz,
    save_episodes_npz,
    sha256_file,
    write_csv,
    write_json,
)
from experts.demos import Episode
from experts.paths import atomic_write, checkpoint_root, task_dir


@dataclass
class SACConfig:
    """SB3 SAC settings (SB3/CleanRL defaults, TD-MPC2's seed steps and discount)."""

    steps: int = 100_000  # agent steps
    seed: int = 0
    learning_starts: int | None = None  # None: TD-MPC2's max(1000, 5 * episode_length)
    batch_size: int = 256
    learning_rate: float = 3e-4
    net: tuple[int, ...] = (256, 256)
    tau: float = 0.005
    gamma: float | None = None  # None: EnvSpec.discount
    eval_every: int = 10_000
    eval_episodes: int = 5
    max_minutes: float | None = None
    torch_threads: int = 1


class ReplayRecorder(gym.Wrapper):
    """Records every transition the learner sees, episode by episode (AIME's 'replay' embodiment data)."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self.episodes: list[Episode] = []
        self._cur: dict[str, list] | None = None

    def reset(self, **kwargs):
        self._cur = None  # an unfinished episode is dropped
        obs, info = self.env.reset(**kwargs)
        self._cur = {"obs": [obs], "action": [], "reward": [], "success": []}
        return obs, info

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        cur = self._cur
        cur["obs"].append(obs)
        cur["action"].append(np.asarray(info.get("applied_action", action), dtype=np.float32))
        cur["reward"].append(reward)
        cur["success"].append(info.get("success", 0.0))
        if terminated or truncated:
            self.episodes.append(Episode(
                obs=np.stack(cur["obs"]), action=np.stack(cur["action"]),
                reward=np.asarray(cur["reward"], np.float32),
                success=np.asarray(cur["success"], np.float32) if self.env.wmil_spec.has_success else None,
                terminated=bool(terminated),
            ))
            self._cur = None
        return obs, reward, terminated, truncated, info


class SB3Policy:
    """Deterministic action of an SB3 SAC model (the `sac` expert kind)."""

    def __init__(self, model) -> None:
        self.model = model

    @classmethod
    def load(cls, path: Path) -> SB3Policy:
        from stable_baselines3 import SAC

        return cls(SAC.load(Path(path), device="cpu"))

    def reset(self, seed: int) -> None:
        pass

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        return self.model.predict(obs, deterministic=True)[0]


def sac_dir(suite: str, task: str, root: Path | None = None) -> Path:
    return task_dir(root or checkpoint_root(), suite, task) / "sac"


def train(suite: str, task: str, cfg: SACConfig | None = None, root: Path | None = None) -> dict:
    """Train an SB3 SAC expert; returns (and writes) its card. See the module docstring for the outputs."""
    import torch
    from stable_baselines3 import SAC
    from stable_baselines3.common.callbacks import BaseCallback

    cfg = cfg or SACConfig()
    torch.set_num_threads(cfg.torch_threads)
    task = envs.canonical_task(suite, task)
    out = sac_dir(suite, task, root)
    out.mkdir(parents=True, exist_ok=True)
    env = ReplayRecorder(envs.make(suite, task, seed=cfg.seed))
    eval_env = envs.make(suite, task, seed=cfg.seed + 1)
    spec = eval_env.wmil_spec
    starts = cfg.learning_starts if cfg.learning_starts is not None else max(1000, 5 * spec.episode_length)
    model = SAC(
        "MlpPolicy", env, learning_rate=cfg.learning_rate, buffer_size=cfg.steps, learning_starts=starts,
        batch_size=cfg.batch_size, tau=cfg.tau, gamma=cfg.gamma if cfg.gamma is not None else spec.discount,
        policy_kwargs={"net_arch": list(cfg.net)}, seed=cfg.seed, device="cpu", verbose=0,
    )
    t0 = time.time()
    log: list[dict] = []
    best = {"return_mean": -np.inf}

    def do_eval(step: int) -> None:
        row = {"agent_step": step, "env_step": spec.env_steps(step), "wall_s": round(time.time() - t0, 1),
               **evaluate(eval_env, SB3Policy(model), cfg.eval_episodes, cfg.seed)}
        log.append(row)
        atomic_write(out / "last.zip", lambda p: model.save(p))
        if row["return_mean"] > best["return_mean"]:
            best.update(row)
            atomic_write(out / "best.zip", lambda p: model.save(p))
        write_csv(out / "eval.csv", log)
        print(f"[sac {suite}/{task}] step {step} return {row['return_mean']:.1f}±{row['return_std']:.1f} "
              f"success {row['success_mean']:.2f} ({row['wall_s']:.0f}s)", flush=True)

    class _Cb(BaseCallback):
        def _on_step(self) -> bool:
            if self.num_timesteps % cfg.eval_every == 0:
                do_eval(self.num_timesteps)
            return cfg.max_minutes is None or (time.time() - t0) < 60 * cfg.max_minutes

    model.learn(total_timesteps=cfg.steps, callback=_Cb())
    steps_done = int(model.num_timesteps)
    if not log or log[-1]["agent_step"] != steps_done:
        do_eval(steps_done)
    save_episodes_npz(out / "replay.npz", env.episodes)
    card = {
        "suite": suite, "task": task, "expert_kind": "sac", "config": asdict(cfg), "learning_starts": starts,
        "agent_steps": steps_done, "env_steps": spec.env_steps(steps_done),
        "stopped_by": "steps" if steps_done >= cfg.steps else "max_minutes",
        "wall_s": round(time.time() - t0, 1), "best": best, "final": log[-1],
        "checkpoint": "best.zip", "checkpoint_sha256": sha256_file(out / "best.zip"),
        "replay_episodes": len(env.episodes), "env_spec": spec.to_dict(),
        "versions": {d: metadata.version(d) for d in ("stable-baselines3", "torch", "gymnasium", "numpy")},
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    write_json(out / "card.json", card)
    env.close()
    eval_env.close()
    return card
