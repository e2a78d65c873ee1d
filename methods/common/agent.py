"""Shared online agent on the world-model core: acting (seed-phase random actions, MPPI or policy prior),
the behavioural buffer, the update schedule, optimisers and exact-resume state. Subclasses supply the losses
(`_update_once`) and how a planner scores action sequences (`_plan_value`).
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from typing import Any, ClassVar

import numpy as np
import torch

from envs.spec import EnvSpec
from experts.demos import Demos
from methods.base import Method, Transition
from methods.common.buffer import SliceBuffer
from methods.common.config import MODEL_PRESETS, PLANNER_PRESETS, ModelConfig, PlannerConfig
from methods.common.planner import MPPI
from methods.common.rng import rng_state, set_rng_state
from methods.common.schedule import discount_heuristic, seed_steps
from methods.common.twohot import RunningScale
from methods.common.world_model import WorldModel


@dataclass(frozen=True)
class AgentConfig:
    """Optimisation and acting settings shared by world-model agents (TD-MPC2 defaults).

    `size` picks the model / planner presets (`paper` | `cpu` | `smoke`); `model` and `planner` may be given as
    dataclasses, or as dicts of overrides on that preset (what a JSON / YAML config provides).
    """

    MODEL_DEFAULTS: ClassVar[dict[str, Any]] = {}  # per-method ModelConfig fields (e.g. TD-MPC2's two-hot critic)
    BATCH: ClassVar[dict[str, int]] = {"paper": 256, "cpu": 128, "smoke": 8}

    size: str = "paper"
    model: ModelConfig | dict | None = None
    planner: PlannerConfig | dict | None = None
    lr: float = 3e-4
    enc_lr_scale: float = 0.3  # TD-MPC2: encoder lr x 0.3
    pi_adam_eps: float = 1e-5
    grad_clip: float = 20.0
    tau: float = 0.01  # Polyak coefficient of the target Q ensemble
    rho: float = 0.5  # temporal weight over the horizon (λ in IQ-MPC)
    batch_size: int | None = None  # None: 256 (paper), 128 (cpu), 8 (smoke)
    mpc: bool = True  # plan with MPPI; False acts with the policy prior
    seed_steps: int | None = None  # None: max(1000, 5 L)
    discount: float | None = None  # None: TD-MPC2 heuristic from the episode length
    updates_per_step: int = 1
    buffer_capacity: int = 10_000  # initial rows; the buffer grows as needed
    # "none": raw states into the encoder (TD-MPC2, IQ-MPC, CDRED). "demos": each state dimension standardised with
    # the expert demos' mean and sd (sd floored at 0.01, result clipped to ±10), frozen; not in the papers. Meta-World
    # reach's goal y spans 10 cm (x 20, z 25); the `cpu` runs left its first-layer weights at init (bench/results, s20).
    obs_norm: str = "none"

    def __post_init__(self) -> None:
        if self.size not in MODEL_PRESETS:
            raise ValueError(f"size must be one of {sorted(MODEL_PRESETS)}, got {self.size!r}")
        model = self.model
        if not isinstance(model, ModelConfig):
            base = replace(MODEL_PRESETS[self.size], **self.MODEL_DEFAULTS)
            model = replace(base, **(model or {}))
        planner = self.planner
        if not isinstance(planner, PlannerConfig):
            planner = replace(PLANNER_PRESETS[self.size], **(planner or {}))
        object.__setattr__(self, "model", model)
        object.__setattr__(self, "planner", planner)
        if self.batch_size is None:
            object.__setattr__(self, "batch_size", self.BATCH[self.size])
        if self.obs_norm not in ("none", "demos"):
            raise ValueError(f"obs_norm must be 'none' or 'demos', got {self.obs_norm!r}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def adam(params: Any, device: torch.device, **kwargs: Any) -> torch.optim.Adam:
    """Adam, single-kernel ("fused") where torch has that for the device (CPU, CUDA): the same update rule; at `paper`
    size on CPU its step took 2.6-5.1 ms vs 22-26 ms for the default multi-tensor one, ~1 % of an update (bench/results,
    2026-12-04). A checkpoint written without it resumes with the optimiser settings it was saved with."""
    return torch.optim.Adam(params, fused=True if device.type in ("cpu", "cuda") else None, **kwargs)


def demo_obs_stats(demos: Demos | None, spec: EnvSpec) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-dimension mean and sd of every observation in the demos (for `AgentConfig.obs_norm="demos"`)."""
    if demos is None or len(demos) == 0:
        raise ValueError("obs_norm='demos' needs expert demonstrations")
    if len(spec.obs_shape) != 1:  # before the statistics: over pixel demos they would take gigabytes
        raise ValueError("obs_norm='demos' applies to state (vector) observations only")
    obs = torch.as_tensor(np.concatenate([ep.obs for ep in demos.episodes]), dtype=torch.float64)
    return obs.mean(0).float(), obs.std(0, correction=0).float()


class WorldModelAgent(Method):
    """Base for TD-MPC2-style agents: one `WorldModel`, Adam for the model (encoder lr scaled) and the policy."""

    cfg: AgentConfig

    def __init__(self, cfg: AgentConfig, spec: EnvSpec, demos: Demos | None, device: torch.device, seed: int):
        super().__init__(cfg, spec, demos, device, seed)
        torch.manual_seed(seed)
        self.np_rng = np.random.default_rng(seed)
        self.action_dim = spec.action_dim
        self.horizon = cfg.planner.horizon
        self.discount = cfg.discount if cfg.discount is not None else discount_heuristic(spec.episode_length)
        self.seed_steps = cfg.seed_steps if cfg.seed_steps is not None else seed_steps(spec.episode_length)
        self.model = WorldModel(spec.obs_shape, spec.action_dim, cfg.model).to(device)
        if cfg.obs_norm == "demos":
            self.model.set_obs_norm(*demo_obs_stats(demos, spec))
        enc = list(self.model.encoder.parameters())
        enc_ids = {id(p) for p in enc}
        rest = [p for p in self.model.model_parameters() if id(p) not in enc_ids]
        self.optim = adam(
            [{"params": enc, "lr": cfg.lr * cfg.enc_lr_scale}, {"params": rest, "lr": cfg.lr}], device, lr=cfg.lr
        )
        self.pi_optim = adam(self.model.pi_net.parameters(), device, lr=cfg.lr, eps=cfg.pi_adam_eps)
        self.planner = MPPI(cfg.planner, spec.action_dim, device)
        self.buffer = self._new_buffer(seed)
        self.num_updates = 0
        self.rho_weights = cfg.rho ** torch.arange(self.horizon + 1, dtype=torch.float32, device=device)

    def _new_buffer(self, seed: int) -> SliceBuffer:
        dtype = np.uint8 if len(self.spec.obs_shape) == 3 else np.float32
        return SliceBuffer(self.spec.obs_shape, self.action_dim, self.horizon, obs_dtype=dtype,
                           capacity=self.cfg.buffer_capacity, seed=seed)

    def _expert_buffer(self, demos: Demos | None, seed: int) -> SliceBuffer:
        """B_E for the imitation methods: every demonstration episode, checked to have actions and H+1 steps."""
        if demos is None or len(demos) == 0 or not demos.has_actions:
            raise ValueError(f"{self.name} needs state-action expert demonstrations")
        buffer = self._new_buffer(seed)
        for ep in demos.episodes:
            buffer.add_episode(ep)
        if buffer.num_slices == 0:
            raise ValueError(f"expert episodes are shorter than the horizon H={self.horizon}")
        return buffer

    def _compiled(self, fn: Callable[..., Any], enabled: bool) -> Callable[..., Any]:
        """`fn` under torch.compile when `enabled`, else `fn` itself. On CPU, inductor draws its random numbers
        with ATen's generator (`fallback_random`): its own per-element Philox is about 2x slower there (Q dropout
        masks, policy samples), and compiled runs then consume the same random stream as eager ones. On CUDA
        inductor's fused generator is kept."""
        return torch.compile(fn, options={"fallback_random": self.device.type == "cpu"}) if enabled else fn

    # ----- acting -------------------------------------------------------------------------------------------------
    def _obs_tensor(self, obs: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(np.asarray(obs), device=self.device).unsqueeze(0)

    @abstractmethod
    def _plan_value(self, z: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """Returns (N, 1) of action sequences (H, N, A) from latent z (1, L)."""

    def _policy_rollout(self, z: torch.Tensor, n: int) -> torch.Tensor:
        """(H, n, A) action sequences sampled from the policy prior along the latent dynamics."""
        z = z.expand(n, -1)
        out = []
        for t in range(self.horizon):
            a = self.model.pi(z).action
            out.append(a)
            if t < self.horizon - 1:
                z = self.model.next(z, a)
        return torch.stack(out)

    @contextmanager
    def eval_mode(self) -> Iterator[None]:
        """The model in eval mode (no dropout, no augmentation) for the block; its previous mode is restored."""
        was_training = self.model.training
        self.model.eval()
        try:
            yield
        finally:
            self.model.train(was_training)

    @torch.no_grad()
    def act(self, obs: np.ndarray, *, eval: bool, t0: bool = False) -> np.ndarray:
        if not eval and len(self.buffer) < self.seed_steps:
            return self.np_rng.uniform(-1, 1, self.action_dim).astype(np.float32)
        with self.eval_mode():
            z = self.model.encode(self._obs_tensor(obs))
            if self.cfg.mpc:
                a = self.planner.plan(lambda acts: self._plan_value(z, acts), lambda n: self._policy_rollout(z, n),
                                      eval=eval, t0=t0)
            else:
                p = self.model.pi(z)
                a = (p.mean if eval else p.action)[0]
        return a.cpu().numpy().astype(np.float32)

    def observe(self, transition: Transition) -> None:
        tr = transition
        self.buffer.add(tr.obs, tr.action, tr.reward, tr.next_obs, bool(tr.terminated or tr.truncated))

    # ----- learning -----------------------------------------------------------------------------------------------
    def updates_total_due(self) -> int:
        n = len(self.buffer)
        return 0 if n < self.seed_steps else self.seed_steps + (n - self.seed_steps) * self.cfg.updates_per_step

    @abstractmethod
    def _update_once(self) -> dict[str, torch.Tensor]:
        """One gradient update; returns metric tensors (converted to floats once, after the burst)."""

    def update(self, step: int) -> dict[str, float]:
        due = self.updates_total_due() - self.num_updates
        metrics: dict[str, torch.Tensor] = {}
        for _ in range(max(due, 0)):
            metrics = self._update_once()
            self.num_updates += 1
        if not metrics:
            return {}
        out = {k: float(v) for k, v in metrics.items()}
        out["train/updates"] = float(self.num_updates)
        return out

    def policy_prior_loss(self, zd: torch.Tensor, entropy_coef: float, q_reduce: str, scale: RunningScale | None,
                          entropy_action_dim_scale: bool) -> tuple[torch.Tensor, torch.Tensor]:
        """Max-entropy policy prior (TD-MPC2; IQ-MPC Eq. 13, CDRED Eq. 16) on detached latents zd (H+1, B, L), Q
        with detached parameters, ρ-weighted over t: E[c·log π − Q] (Q divided by the running range when `scale` is
        given, log π times the action dim when `entropy_action_dim_scale`). Returns the loss and −E[log π]."""
        p = self.model.pi(zd)
        q = self.model.Q(zd, p.action, q_reduce, detach=True)
        if scale is not None:
            scale.update(q[0])
            q = scale(q)
        log_prob = p.log_prob * self.action_dim if entropy_action_dim_scale else p.log_prob
        loss = ((entropy_coef * log_prob - q).mean(dim=(1, 2)) * self.rho_weights).mean()
        return loss, -p.log_prob.detach().mean()

    def _step_model(self, loss: torch.Tensor) -> torch.Tensor:
        """Backward + clip + Adam step for the model parameters; returns the pre-clip grad norm."""
        self.optim.zero_grad(set_to_none=True)
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(self.model.model_parameters(), self.cfg.grad_clip)
        self.optim.step()
        return norm.detach()

    def _step_pi(self, loss: torch.Tensor) -> torch.Tensor:
        self.pi_optim.zero_grad(set_to_none=True)
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(self.model.pi_net.parameters(), self.cfg.grad_clip)
        self.pi_optim.step()
        return norm.detach()

    # ----- exact resume -------------------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {
            "model": self.model.state_dict(), "optim": self.optim.state_dict(), "pi_optim": self.pi_optim.state_dict(),
            "planner": self.planner.state_dict(), "buffer": self.buffer.state_dict(), "num_updates": self.num_updates,
            "np_rng": self.np_rng.bit_generator.state, "rng": rng_state(self.device),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        self.optim.load_state_dict(state["optim"])
        self.pi_optim.load_state_dict(state["pi_optim"])
        self.planner.load_state_dict(state["planner"])
        self.buffer.load_state_dict(state["buffer"])
        self.num_updates = int(state["num_updates"])
        self.np_rng.bit_generator.state = state["np_rng"]
        set_rng_state(state["rng"], self.device)
