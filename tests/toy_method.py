"""A small deterministic method, registered only for the runner's tests: a tanh-MLP policy trained with Adam
by behaviour cloning on the demos plus a penalty on online buffer actions. It uses every kind of state a real
method has (network, optimiser moments, replay buffer, numpy Generator, the global torch RNG), so an exact
resume is a meaningful check."""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

import methods
from experts.demos import Demos, Episode
from methods.base import Method, Transition


@dataclass
class ToyConfig:
    hidden: int = 16
    lr: float = 3e-3
    batch_size: int = 16
    explore_std: float = 0.3
    buffer_size: int = 100_000
    step_sleep: float = 0.0  # seconds slept per update (lets tests kill a run mid-way)
    fail_at_step: int = -1  # raise at this update step (tests the failed status)
    crash_at_step: int = -1  # SIGKILL its own process at this update step (tests the local launcher) ...
    crash_seed: int = -1  # ... in the cell with this seed only
    heartbeat: str = ""  # file the current update step is written to (lets tests kill at a chosen step)


class Adam:
    """A plain Adam (Kingma & Ba) with the torch.optim state_dict shape: torch.optim's first use imports
    torch._dynamo, seconds per process that the tests' many short-lived processes do not need to pay."""

    def __init__(self, params: list[torch.Tensor], lr: float, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8) -> None:
        self.params, self.lr, self.betas, self.eps = params, lr, betas, eps
        self.t = 0
        self.m = [torch.zeros_like(p) for p in params]
        self.v = [torch.zeros_like(p) for p in params]

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        self.t += 1
        b1, b2 = self.betas
        for p, m, v in zip(self.params, self.m, self.v, strict=True):
            m.mul_(b1).add_(p.grad, alpha=1 - b1)
            v.mul_(b2).addcmul_(p.grad, p.grad, value=1 - b2)
            denom = (v / (1 - b2**self.t)).sqrt_().add_(self.eps)
            p.addcdiv_(m, denom, value=-self.lr / (1 - b1**self.t))

    def state_dict(self) -> dict[str, Any]:
        return {"t": self.t, "m": [x.clone() for x in self.m], "v": [x.clone() for x in self.v]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.t = state["t"]
        for dst, src in zip(self.m + self.v, state["m"] + state["v"], strict=True):
            dst.copy_(src)


class ToyMethod(Method):
    name = "toy"
    regime = "online"
    demo_kind = "state-action"
    Config = ToyConfig

    def __init__(self, cfg: ToyConfig, spec, demos: Demos, device: torch.device, seed: int) -> None:
        super().__init__(cfg, spec, demos, device, seed)
        d, a = spec.obs_shape[0], spec.action_dim
        self.net = nn.Sequential(nn.Linear(d, cfg.hidden), nn.Tanh(), nn.Linear(cfg.hidden, a))
        self.opt = Adam(list(self.net.parameters()), lr=cfg.lr)
        self.rng = np.random.default_rng(seed)
        self.demo_obs = np.concatenate([ep.obs[:-1] for ep in demos.episodes]).astype(np.float32)
        self.demo_act = np.concatenate([ep.action for ep in demos.episodes]).astype(np.float32)
        self.buf = np.zeros((cfg.buffer_size, d), np.float32)
        self.n = 0

    def act(self, obs: np.ndarray, *, eval: bool, t0: bool = False) -> np.ndarray:
        with torch.no_grad():
            a = torch.tanh(self.net(torch.as_tensor(obs, dtype=torch.float32)))
            if not eval:
                a = (a + self.cfg.explore_std * torch.randn(a.shape)).clamp(-1, 1)
        return a.numpy()

    def observe(self, tr: Transition) -> None:
        self.buf[self.n % len(self.buf)] = tr.obs
        self.n += 1

    def _step(self) -> float:
        i = self.rng.integers(0, len(self.demo_obs), self.cfg.batch_size)
        pred = torch.tanh(self.net(torch.as_tensor(self.demo_obs[i])))
        loss = ((pred - torch.as_tensor(self.demo_act[i])) ** 2).mean()
        if self.n:
            j = self.rng.integers(0, min(self.n, len(self.buf)), self.cfg.batch_size)
            loss = loss + 0.01 * (self.net(torch.as_tensor(self.buf[j])) ** 2).mean()
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        return float(loss.detach())

    def pretrain(self) -> dict[str, float]:
        return {"bc_loss": float(np.mean([self._step() for _ in range(5)]))}

    def update(self, step: int) -> dict[str, float]:
        if step == self.cfg.fail_at_step:
            raise RuntimeError(f"toy failure at step {step}")
        if step == self.cfg.crash_at_step and self.seed == self.cfg.crash_seed:
            os.kill(os.getpid(), signal.SIGKILL)
        if self.cfg.step_sleep:
            time.sleep(self.cfg.step_sleep)
        if self.cfg.heartbeat:
            with open(self.cfg.heartbeat, "w") as f:
                f.write(str(step))
        return {"loss": self._step(), "diag/buffer": float(self.n)}

    def reward_estimates(self, obs: np.ndarray, action: np.ndarray) -> np.ndarray:
        """A 'learned reward' for the runner's diagnostic: minus the squared action norm."""
        return -(np.asarray(action) ** 2).sum(-1)

    def state_dict(self) -> dict[str, Any]:
        return {"net": self.net.state_dict(), "opt": self.opt.state_dict(), "rng": self.rng.bit_generator.state,
                "buf": self.buf[: min(self.n, len(self.buf))].copy(), "n": self.n}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.net.load_state_dict(state["net"])
        self.opt.load_state_dict(state["opt"])
        self.rng.bit_generator.state = state["rng"]
        self.buf[: len(state["buf"])] = state["buf"]
        self.n = state["n"]


class ToyOffline(ToyMethod):
    """The same learner in the offline regime: no environment interaction, `update` trains on the demos."""

    name = "toy-offline"
    regime = "offline"


def make_demos(suite: str, task: str, kind: str, n: int, spec) -> Demos:
    """Synthetic, deterministic state-action demos with the env's dimensions (the expert: a = tanh(obs[:A]))."""
    rng = np.random.default_rng(1234)
    eps = []
    for _ in range(n):
        obs = rng.normal(size=(11, *spec.obs_shape)).astype(np.float32)
        act = np.tanh(obs[:-1, : spec.action_dim]).astype(np.float32)
        eps.append(Episode(obs, act, np.ones(10, np.float32)))
    return Demos(eps, kind=kind, card={"dataset_id": f"toy/{suite}/{task}", "content_sha256": "0" * 64,
                                       "return_mean": 10.0, "random_reference": {"return_mean": 0.0}})


methods.register("toy", "tests.toy_method:ToyMethod")
methods.register("toy-offline", "tests.toy_method:ToyOffline")

# Overrides that make a tiny grid of this method (Meta-World reach: 100-step episodes, cheap steps).
TOY_GRID = [
    "suite=metaworld", "methods=[toy]", "tasks=[reach]", "imports=[tests.toy_method]",
    "demos_source=tests.toy_method:make_demos", "launcher=local", "launcher.workers=1",
]
