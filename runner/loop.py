"""The single-cell training loop shared by all methods (online and offline regimes), resumable exactly.

Order of one online agent step: act -> env.step -> observe -> update -> (log) -> (eval) -> (checkpoint).
Checkpoints are taken at the first episode boundary at or after every `checkpoint_every` agent steps, so the
environment never has to be pickled: every training episode is reset with its own derived seed. Together with
the method's state_dict, the global RNG states and the CSV byte lengths, this makes a resumed run produce
byte-identical metrics on CPU.
"""

from __future__ import annotations

import sys
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

import envs
import methods
from methods import Transition, reward_correlation
from runner import checkpoint
from runner.cell import Cell
from runner.demos import describe
from runner.demos import load as load_demos
from runner.demos import resolve as resolve_demo_source
from runner.lock import CellLock
from runner.logger import CellLogger
from runner.manifest import Manifest
from runner.method_config import build_method_config
from runner.provenance import host
from runner.seeding import derive, global_rng_state, seed_globals, set_global_rng_state


class Preempted(BaseException):  # noqa: N818  (a signal, like KeyboardInterrupt)
    """Raised by the USR2/TERM handlers of hand-submitted jobs: stop, keep the checkpoint, exit."""


@dataclass
class Budget:
    """Agent-step schedule of one cell (converted from the config's env steps by the action repeat)."""

    total: int
    eval_every: int
    eval_episodes: int
    final_eval_episodes: int
    checkpoint_every: int
    log_every: int

    @classmethod
    def from_config(cls, b: dict, repeat: int) -> Budget:
        def agent(key: str) -> int:
            return max(1, int(b[key]) // repeat)

        return cls(agent("env_steps"), agent("eval_every_env_steps"), int(b["eval_episodes"]),
                   int(b.get("final_eval_episodes", b["eval_episodes"])), agent("checkpoint_every_env_steps"),
                   int(b["log_every_agent_steps"]))


@dataclass
class LoopState:
    step: int = 0  # agent steps done (offline: update steps)
    episode: int = 0  # training episodes finished
    pretrained: bool = False
    next_checkpoint: int = 0
    acc: dict[str, list[float]] = field(default_factory=dict)  # train metric -> [sum, count] since last log


def _namespaced(metrics: dict[str, float]) -> dict[str, float]:
    return {(k if "/" in k else f"train/{k}"): float(v) for k, v in metrics.items()}


class CellRun:
    """One attempt at one cell: builds everything, resumes if a checkpoint exists, runs to the budget."""

    def __init__(self, cell: Cell, run_dir: Path, manifest: Manifest) -> None:
        self.cell, self.run_dir, self.manifest = cell, run_dir, manifest
        cfg, ctx = cell.config, cell.context
        torch.set_num_threads(int(ctx.get("torch_threads", 1)))
        seed_globals(cell.seed)
        env_opts = dict(cfg.get("env_options") or {})
        eval_tremble = cfg["p_tremble"] if cfg.get("eval_p_tremble") is None else cfg["eval_p_tremble"]
        self.env = envs.make(cell.suite, cell.task, seed=derive(cell.seed, "env"), obs=cfg["obs"],
                             p_tremble=cfg["p_tremble"], **env_opts)
        self.eval_env = envs.make(cell.suite, cell.task, seed=derive(cell.seed, "eval"), obs=cfg["obs"],
                                  p_tremble=eval_tremble, **env_opts)
        self.spec = self.env.wmil_spec
        self.budget = Budget.from_config(cfg["budget"], self.spec.action_repeat)
        cls = methods.get(cell.method)
        demos = load_demos(resolve_demo_source(cfg["demos_source"]), cell.suite, cell.task, cls.demo_kind,
                           cfg["n_demos"], self.spec, expert=cfg.get("demos_expert"))
        self.device = methods.resolve_device(ctx.get("device", "auto"))
        self.method = cls(build_method_config(cls, cfg["method"]), self.spec, demos, self.device, cell.seed)
        self.regime = cls.regime
        self.logger = CellLogger(run_dir, self.spec.action_repeat, tensorboard=bool(ctx.get("tensorboard", True)))
        dataset, reference = describe(demos)
        manifest.update(
            spec=self.spec.to_dict(), dataset=dataset, reference=reference, device=str(self.device),
            eval_protocol={"episodes": self.budget.eval_episodes, "final_episodes": self.budget.final_eval_episodes,
                           "deterministic": True, "success": "last step (TD-MPC2); success_any: any step",
                           "every_agent_steps": self.budget.eval_every, "p_tremble": eval_tremble,
                           "episode_seeds": "derive(seed, 'eval-episode', i), the same i = 0..episodes-1 each time"},
            regime=self.regime,
        )
        self.state = LoopState(next_checkpoint=self.budget.checkpoint_every)
        resume_step = None
        if checkpoint.exists(run_dir):
            ck = checkpoint.load(run_dir)
            self.method.load_state_dict(ck["method"])
            self.state = LoopState(**ck["loop"])
            set_global_rng_state(ck["rng"])
            self.logger.truncate(ck["csv_bytes"])
            resume_step = self.state.step
            self._say(f"resumed from checkpoint at agent step {resume_step}")
        manifest.update(progress={"agent_step": self.state.step, "total_agent_steps": self.budget.total})
        self.logger.start(resume_step)
        self._t0, self._s0 = time.monotonic(), self.state.step

    # -- pieces ------------------------------------------------------------------------------------
    def _say(self, msg: str) -> None:
        print(f"[{self.cell.cell_id}] {msg}", flush=True)

    def _save(self) -> None:
        self.checkpoint_bytes = self.logger.sizes()
        checkpoint.save(self.run_dir, {
            "method": self.method.state_dict(), "loop": asdict(self.state), "rng": global_rng_state(),
            "csv_bytes": self.checkpoint_bytes, "cell_id": self.cell.cell_id,
        })
        self.manifest.update(progress={"agent_step": self.state.step, "total_agent_steps": self.budget.total})

    def _accumulate(self, metrics: dict[str, float]) -> None:
        for k, v in _namespaced(metrics).items():
            s = self.state.acc.setdefault(k, [0.0, 0.0])
            s[0] += v
            s[1] += 1.0
        if self.state.step % self.budget.log_every == 0 and self.state.acc:
            self.logger.scalars(self.state.step, {k: s / n for k, (s, n) in sorted(self.state.acc.items())})
            self.state.acc = {}

    def evaluate(self) -> dict[str, float]:
        """`eval_episodes` deterministic episodes on the eval env (`final_eval_episodes` at the last step),
        started from the same derived seeds every time. `eval/success` is success at the episode's last step
        (TD-MPC2's evaluation, which IQ-MPC's and CDRED's released code inherit); `eval/success_any` at any step."""
        final = self.state.step == self.budget.total
        rets, succs, succs_any, episodes = [], [], [], []
        keep_episodes = type(self.method).reward_estimates is not methods.Method.reward_estimates  # it learns one
        for i in range(self.budget.final_eval_episodes if final else self.budget.eval_episodes):
            obs, _ = self.eval_env.reset(seed=derive(self.cell.seed, "eval-episode", i))
            ret, succ, succ_any, done, t0 = 0.0, 0.0, 0.0, False, True
            traj_obs, traj_act, traj_rew = [obs], [], []
            while not done:
                action = self.method.act(obs, eval=True, t0=t0)
                obs, r, term, trunc, info = self.eval_env.step(action)
                traj_obs.append(obs), traj_act.append(action), traj_rew.append(r)
                ret, t0, done = ret + r, False, term or trunc
                succ = float(info.get("success", 0.0))
                succ_any = max(succ_any, succ)
            nan = float("nan")
            success, success_any = (succ, succ_any) if self.spec.has_success else (nan, nan)
            self.logger.episode(self.state.step, i, ret, success, success_any, len(traj_act))
            rets.append(ret)
            succs.append(success)
            succs_any.append(success_any)
            if keep_episodes:
                episodes.append((np.stack(traj_obs), np.stack(traj_act), np.asarray(traj_rew)))
        out = {"eval/return": float(np.mean(rets))}
        if self.spec.has_success:
            out["eval/success"] = float(np.mean(succs))
            out["eval/success_any"] = float(np.mean(succs_any))
        corr = reward_correlation(self.method, episodes) if keep_episodes else None
        if corr is not None:
            out["diag/reward_corr"] = corr
        self.logger.scalars(self.state.step, out)
        sps = (self.state.step - self._s0) / max(time.monotonic() - self._t0, 1e-9)
        self._say(f"{self.state.step}/{self.budget.total} agent steps | "
                  + " | ".join(f"{k} {v:.3f}" for k, v in out.items()) + f" | {sps:.1f} steps/s")
        return out

    def _pretrain(self) -> None:
        if self.state.pretrained:
            return
        metrics = self.method.pretrain()
        if metrics:
            self.logger.scalars(0, _namespaced(metrics))
        self.state.pretrained = True
        self.evaluate()
        self._save()

    # -- regimes -----------------------------------------------------------------------------------
    def run(self) -> None:
        self._pretrain()
        if self.regime == "offline":
            self._run_offline()
        else:
            self._run_online()

    def _due_eval(self) -> bool:
        return self.state.step % self.budget.eval_every == 0 or self.state.step == self.budget.total

    def _run_offline(self) -> None:
        b, st = self.budget, self.state
        while st.step < b.total:
            st.step += 1
            self._accumulate(self.method.update(st.step))
            if self._due_eval():
                self.evaluate()
            if st.step >= st.next_checkpoint or st.step == b.total:
                st.next_checkpoint = (st.step // b.checkpoint_every + 1) * b.checkpoint_every
                self._save()

    def _run_online(self) -> None:
        b, st, seed = self.budget, self.state, self.cell.seed
        obs = None
        while st.step < b.total:
            if obs is None:
                obs, _ = self.env.reset(seed=derive(seed, "train-episode", st.episode))
                ep_ret, ep_succ, t0 = 0.0, 0.0, True
            action = np.asarray(self.method.act(obs, eval=False, t0=t0), dtype=np.float32)
            next_obs, r, term, trunc, info = self.env.step(action)
            succ = float(info.get("success", float("nan")))
            self.method.observe(Transition(obs, action, float(r), next_obs, bool(term), bool(trunc), succ))
            st.step += 1
            ep_ret, t0, obs = ep_ret + r, False, next_obs
            ep_succ = max(ep_succ, succ) if self.spec.has_success else ep_succ
            self._accumulate(self.method.update(st.step))
            if term or trunc:
                done = {"train/episode_return": ep_ret}
                if self.spec.has_success:
                    done["train/episode_success"] = ep_succ
                self.logger.scalars(st.step, done)
                st.episode += 1
                obs = None
            if self._due_eval():
                self.evaluate()
            if (obs is None and st.step >= st.next_checkpoint) or st.step == b.total:
                st.next_checkpoint = (st.step // b.checkpoint_every + 1) * b.checkpoint_every
                self._save()

    def close(self) -> None:
        self.logger.close()
        self.env.close()
        self.eval_env.close()


def run_cell(cell: Cell, results_root: str | Path, provenance: dict[str, Any] | None = None) -> str:
    """Run (or resume) one cell under its lock; returns the final status.

    Raises `runner.lock.CellLocked` when another live process owns the cell. Errors inside the cell are
    recorded in the manifest (status `failed`, traceback tail) and returned as "failed"; interrupts
    (KeyboardInterrupt, SystemExit from submitit's requeue, Preempted) mark it `preempted` and propagate.
    """
    run_dir = cell.run_dir(results_root)
    lock = CellLock(run_dir).acquire()
    try:
        manifest = Manifest.open(cell, run_dir, provenance or {})
        if manifest.data["status"] == "done":
            return "done"
        t0 = manifest.start(host())
        run = None
        try:
            run = CellRun(cell, run_dir, manifest)
            run.run()
        except (KeyboardInterrupt, SystemExit, Preempted):
            manifest.finish("preempted", t0)
            raise
        except Exception:
            tb = traceback.format_exc()
            print(tb, file=sys.stderr, flush=True)
            manifest.finish("failed", t0, error=tb[-4000:])
            return "failed"
        finally:
            if run is not None:
                run.close()
        manifest.finish("done", t0)
        return "done"
    finally:
        lock.release()
