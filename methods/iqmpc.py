"""IQ-MPC (paper 000): inverse soft-Q learning on a reward-free TD-MPC2-style world model, planning with rewards
decoded from Q (Algorithm 1). The paper is the specification; where the released code differs, the code's choice
is a named switch in `IQMPCConfig` (see each field's comment); the planner's executed action (the final mean,
or TD-MPC2's drawn elite) is `PlannerConfig.action_select`.

Losses (per update, expert batch B_E and behavioural batch B_π of (H+1)-step slices, z_t rolled out by d):
  Eq. 11  consistency  Σ_t λ^t ‖z_{t+1} − sg(h(s'_t))‖²
  Eq. 12  inverse soft-Q  Σ_t λ^t [ −E_E[Q(z_t,a_t) − γ V̄(h(s'_t))] + (1−γ) E_E[V(z_0)] + 1/(4α) E_B[(Q − γ V̄)²] ]
          (value_form="td": the Eq. 6 term E_π[V(z_t) − γ V(h(s'_t))] replaces (1−γ)V(z_0), App. E.3)
  Eq. 13  policy prior  Σ_t λ^t E_B[−Q(z_t, π(z_t)) + β log π]
  Eq. 14  gradient penalty  Σ_t λ^t E[(‖∇_{ẑ,â} Q(ẑ_t, â_t)‖ − 1)²] on expert/behaviour interpolates
with V(z) = Q(z, a) − β log π(a|z), a ~ π(·|z). Weighted sums over t are divided by H (Algorithm 2's 1/H).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F

from envs.spec import EnvSpec
from experts.demos import Demos
from methods.common.agent import AgentConfig, WorldModelAgent
from methods.common.twohot import RunningScale

MANIPULATION_SUITES = ("metaworld", "maniskill2", "myosuite")


@dataclass(frozen=True)
class IQMPCConfig(AgentConfig):
    """IQ-MPC hyperparameters (App. A.2). `size`: paper | cpu | smoke (see `iqmpc_preset`).

    The paper acts by MPPI (`mpc=True`, inherited). `mpc=False` acts with the policy prior instead (CDRED's released
    code); on reach-v3 it is the only rule with which a 3-seed evaluation reached the 0.8 last-step success bar
    (bench/results, sessions 15–16), though not steadily: with six seeds only once, at 15k, from TD-MPC2 demos
    (session 18).
    """

    MODEL_DEFAULTS: ClassVar[dict[str, Any]] = {"critic": "scalar", "reward_head": False}
    BATCH: ClassVar[dict[str, int]] = {"paper": 256, "cpu": 128, "smoke": 8}

    expert_batch_size: int | None = None  # None: same as batch_size (256 behavioural + 256 expert)
    alpha: float = 0.5  # χ² regulariser φ(x) = x − x²/(4α)
    beta: float = 1e-4  # fixed entropy coefficient
    iq_coef: float = 0.1
    consistency_coef: float = 20.0
    pi_coef: float = 1.0
    gp_coef: float = 1.0
    # "auto": on for manipulation suites, off for DMC (paper A.2). Released code: "off" everywhere.
    grad_penalty: str = "auto"
    # "initial": Eq. 12's (1−γ)V(z_0) on expert slices; "td": Eq. 6's E_π[V(z) − γV(z')] (App. E.3 ablation).
    value_form: str = "initial"
    # V̄ in the targets: min of 2 random target heads (TD-MPC2 convention); "avg" averages 2 heads.
    target_q_reduce: str = "min"
    # Q in the policy loss: "avg" of 2 random heads (TD-MPC2); released code: "min".
    pi_q_reduce: str = "avg"
    # Scale policy Q by the running 5–95 % range (TD-MPC2, CDRED). Paper Eq. 13 and released code: off.
    pi_q_scale: bool = False
    # log π multiplied by action_dim in every entropy term (released code, from TD-MPC2). Paper: plain log π.
    entropy_action_dim_scale: bool = False
    # Planner Q: "avg" of 2 random heads; released code evaluates all heads ("all", mean over the ensemble).
    planner_q_reduce: str = "avg"
    # Q dropout while planning: off (eval mode); the released code leaves it on (its ensemble misses `eval()`).
    planner_q_dropout: bool = False
    # Entropy term of the planned return. "action": −β log π(a_t|z_t) of the planned action (Algorithm 1, line 11);
    # with a near-deterministic policy it rewards actions far from the policy's mean, most at the ±1 clamp.
    # "policy": −β log π(â_t|z_t) of a fresh policy sample â_t (released code), independent of the planned action.
    planner_entropy: str = "action"
    compile: bool = False  # torch.compile the loss computation and the planner's return estimate

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.expert_batch_size is None:
            object.__setattr__(self, "expert_batch_size", self.batch_size)
        checks = {
            "grad_penalty": ("auto", "on", "off"), "value_form": ("initial", "td"),
            "target_q_reduce": ("min", "avg"), "pi_q_reduce": ("min", "avg"), "planner_q_reduce": ("avg", "all"),
            "planner_entropy": ("action", "policy"),
        }
        for key, valid in checks.items():
            if getattr(self, key) not in valid:
                raise ValueError(f"IQMPCConfig.{key} must be one of {valid}, got {getattr(self, key)!r}")


def iqmpc_preset(name: str, **overrides: Any) -> IQMPCConfig:
    """`paper` (App. A.1/A.2, 4.27M parameters), `cpu` (small model, lighter planner), `smoke` (tests)."""
    return IQMPCConfig(size=name, **overrides)


# ----- loss terms (pure functions; weighted means take an optional weight broadcastable to the values) ---------------
def _wmean(x: torch.Tensor, weight: torch.Tensor | None) -> torch.Tensor:
    return x.mean() if weight is None else (x * weight).sum() / weight.sum()


def expert_term(q_e: torch.Tensor, y_e: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
    """−E_E[Q(z, a) − y] with y = γ V̄(z')."""
    return -_wmean(q_e - y_e, weight)


def initial_value_term(v0: torch.Tensor, gamma: float, weight: torch.Tensor | None = None) -> torch.Tensor:
    """(1 − γ) E_{z_0}[V(z_0)] (Eq. 12)."""
    return (1 - gamma) * _wmean(v0, weight)


def td_value_term(v: torch.Tensor, v_next: torch.Tensor, gamma: float,
                  weight: torch.Tensor | None = None) -> torch.Tensor:
    """E_ρ[V(z) − γ V(z')] (Eq. 6); equals `initial_value_term` under the occupancy measure (Theorem 1)."""
    return _wmean(v - gamma * v_next, weight)


def chi2_term(q: torch.Tensor, y: torch.Tensor, alpha: float) -> torch.Tensor:
    """1/(4α) E[(Q − y)²] over expert and behavioural samples."""
    return (q - y).pow(2).mean() / (4 * alpha)


def decode_reward(q: torch.Tensor, v_next: torch.Tensor, gamma: float) -> torch.Tensor:
    """Inverse soft Bellman operator: r = Q(z, a) − γ V(z')."""
    return q - gamma * v_next


def gradient_penalty(q_fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, num_heads: int) -> torch.Tensor:
    """(‖∇_x Q_e(x)‖₂ − 1)² per head and sample, (E, N); `q_fn` maps per-head inputs (E, N, D) to (E, N, 1).
    The input gradient is a `torch.func.grad` transform, so the penalty's own gradient reaches Q's parameters and
    the whole computation traces under torch.compile (double backward through `autograd.grad` does not)."""
    xe = x.detach().unsqueeze(0).expand(num_heads, *x.shape)
    grad = torch.func.grad(lambda inp: q_fn(inp).sum())(xe)
    return (grad.norm(dim=-1) - 1).pow(2)


def pearson(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Pearson correlation of two flattened tensors (0 when either is constant)."""
    x, y = x.flatten().float(), y.flatten().float()
    x, y = x - x.mean(), y - y.mean()
    return (x * y).sum() / (x.norm() * y.norm()).clamp_min(1e-12)


# ----- the method ---------------------------------------------------------------------------------------------------
class IQMPC(WorldModelAgent):
    """IQ-MPC on the uniform interface: `observe` fills B_π, the demos fill B_E, `act` plans with Algorithm 1."""

    name = "iqmpc"
    demo_kind = "state-action"
    Config = IQMPCConfig
    cfg: IQMPCConfig

    def __init__(self, cfg: IQMPCConfig | dict, spec: EnvSpec, demos: Demos, device: torch.device, seed: int):
        if isinstance(cfg, dict):
            cfg = IQMPCConfig(**cfg)
        if cfg.model.critic != "scalar" or cfg.model.reward_head:
            raise ValueError("IQ-MPC uses a scalar Q ensemble and no reward head")
        super().__init__(cfg, spec, demos, device, seed)
        self.expert = self._expert_buffer(demos, seed + 1)
        gp = cfg.grad_penalty
        self.use_gp = gp == "on" or (gp == "auto" and spec.suite in MANIPULATION_SUITES)
        if self.use_gp and cfg.expert_batch_size != cfg.batch_size:
            raise ValueError("the gradient penalty pairs expert and behavioural samples: use equal batch sizes")
        self.scale = RunningScale().to(device)
        self._losses = self._compiled(self._losses_eager, cfg.compile)
        self._pi_loss = self._compiled(self._pi_loss_eager, cfg.compile)
        self._plan_value_impl = self._compiled(self._plan_value_eager, cfg.compile)

    # ----- values -------------------------------------------------------------------------------------------------
    def _ent(self, log_prob: torch.Tensor) -> torch.Tensor:
        return log_prob * self.action_dim if self.cfg.entropy_action_dim_scale else log_prob

    def value_heads(self, z: torch.Tensor) -> torch.Tensor:
        """V_e(z) = Q_e(z, a) − β log π(a|z) for every head e, a ~ π(·|z) with the policy held fixed: (E, ..., 1)."""
        with torch.no_grad():
            p = self.model.pi(z.detach())
        return self.model.Q(z, p.action, "all") - self.cfg.beta * self._ent(p.log_prob)

    @torch.no_grad()
    def target_value(self, z: torch.Tensor) -> torch.Tensor:
        """V̄(z) from the target ensemble (min/avg of 2 random heads): (..., 1)."""
        p = self.model.pi(z)
        q = self.model.Q(z, p.action, self.cfg.target_q_reduce, target=True)
        return q - self.cfg.beta * self._ent(p.log_prob)

    # ----- planning (Algorithm 1) -----------------------------------------------------------------------------------
    def _plan_value_eager(self, z: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """φ_Γ = Σ_t γ^t [r(z_t, a_t) − β log π(a_t|z_t)] + γ^H V(z_H), r = Q(z_t, a_t) − γ V(z_{t+1})
        (`planner_entropy="policy"`: log π(â_t|z_t) of a policy sample instead of the planned a_t)."""
        m, H, g, beta = self.model, self.horizon, self.discount, self.cfg.beta
        N = actions.shape[1]
        zs = [z.expand(N, -1)]
        for t in range(H):
            zs.append(m.next(zs[-1], actions[t]))
        zs_t = torch.stack(zs)  # (H+1, N, L)
        mu, log_std = m.pi_params(zs_t)
        if self.cfg.planner_entropy == "action":
            logp_a = m.squashed_log_prob(mu[:-1], log_std[:-1], actions)  # log π(a_t | z_t)
        else:
            logp_a = m.sample_squashed(mu[:-1], log_std[:-1]).log_prob  # log π(â_t | z_t), â_t ~ π(·|z_t)
        nxt = m.sample_squashed(mu[1:], log_std[1:])  # â_{t+1} ~ π(·|z_{t+1})
        heads = None if self.cfg.planner_q_reduce == "all" else m.random_heads(2, z.device)
        was_training = m.qs.training
        m.qs.train(self.cfg.planner_q_dropout)
        q = m.q_values(torch.cat([zs_t[:-1], zs_t[1:]]), torch.cat([actions, nxt.action]), heads=heads).mean(0)
        m.qs.train(was_training)
        v_next = q[H:] - beta * self._ent(nxt.log_prob)
        r = decode_reward(q[:H], v_next, g)
        disc = g ** torch.arange(H, device=z.device, dtype=q.dtype).view(H, 1, 1)
        return (disc * (r - beta * self._ent(logp_a))).sum(0) + g**H * v_next[-1]

    def _plan_value(self, z: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        return self._plan_value_impl(z, actions)

    # ----- learning -------------------------------------------------------------------------------------------------
    def _losses_eager(self, obs: torch.Tensor, action: torch.Tensor, reward: torch.Tensor,
                      n_e: int) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
        """Model loss (Eq. 11 + 0.1·Eq. 12, + Eq. 14 when the penalty is on), the rolled-out latents (H+1, B, L)
        and metrics. Columns [:n_e] of the batch are expert slices, the rest behavioural."""
        c, m, H, g = self.cfg, self.model, self.horizon, self.discount
        rho = self.rho_weights
        with torch.no_grad():
            next_z = m.encode(obs[1:])  # (H, B, L)
            y = g * self.target_value(next_z)  # γ V̄(h(s'_t))
        z = m.encode(obs[0])
        zs = [z]
        cons_t = []
        for t in range(H):
            z = m.next(z, action[t])
            cons_t.append(F.mse_loss(z, next_z[t]))
            zs.append(z)
        zs_t = torch.stack(zs)
        w = rho[:H]
        consistency = (w * torch.stack(cons_t)).sum() / H
        q = m.Q(zs_t[:-1], action, "all")  # (E, H, B, 1)
        diff = q - y
        expert_t = -diff[:, :, :n_e].mean(dim=(0, 2, 3))
        chi2_t = diff.pow(2).mean(dim=(0, 2, 3)) / (4 * c.alpha)
        if c.value_form == "initial":
            value_t = initial_value_term(self.value_heads(zs_t[0, :n_e]), g).expand(H)
        else:
            v = self.value_heads(zs_t[:-1, n_e:])
            v_next = self.value_heads(next_z[:, n_e:])
            value_t = (v - g * v_next).mean(dim=(0, 2, 3))
        iq_loss = (w * (expert_t + value_t + chi2_t)).sum() / H
        loss = c.consistency_coef * consistency + c.iq_coef * iq_loss
        if self.use_gp:
            gp = self._gradient_penalty(zs_t, action, n_e)
            loss = loss + c.gp_coef * gp
        metrics = {
            "train/consistency": consistency, "train/iq_loss": iq_loss, "train/expert_term": (w * expert_t).sum() / H,
            "train/value_term": (w * value_t).sum() / H, "train/chi2": (w * chi2_t).sum() / H,
        }
        with torch.no_grad():
            q_mean = q.mean(0)
            metrics["diag/q_diff"] = q_mean[:, :n_e].mean() - q_mean[:, n_e:].mean()
            metrics["diag/q_expert"] = q_mean[:, :n_e].mean()
            metrics["diag/q_behaviour"] = q_mean[:, n_e:].mean()
            metrics["diag/reward_corr_batch"] = pearson((q_mean - y)[:, n_e:], reward[:, n_e:])
        if self.use_gp:
            metrics["train/grad_penalty"] = gp
        return loss, zs_t, metrics

    def _gradient_penalty(self, zs: torch.Tensor, action: torch.Tensor, n_e: int) -> torch.Tensor:
        """Eq. 14 on interpolates of expert and behavioural (z_t, a_t) pairs (latents detached)."""
        H, w = self.horizon, self.rho_weights[: self.horizon]
        x = torch.cat([zs[:-1], action], dim=-1).detach()  # (H, B, D)
        eps = torch.rand(H, n_e, 1, device=self.device)
        x_hat = eps * x[:, :n_e] + (1 - eps) * x[:, n_e:]
        pen = gradient_penalty(self.model.qs, x_hat.reshape(-1, x.shape[-1]), self.model.cfg.num_q)
        return (w * pen.view(-1, H, n_e).mean(dim=(0, 2))).sum() / H

    def _pi_loss_eager(self, zd: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Policy prior (Eq. 13) on detached latents (H+1, B, L) with Q's parameters detached, over both batches;
        returns the loss and the entropy estimate −E[log π]."""
        c = self.cfg
        loss, entropy = self.policy_prior_loss(zd, c.beta, c.pi_q_reduce, self.scale if c.pi_q_scale else None,
                                               c.entropy_action_dim_scale)
        return c.pi_coef * loss, entropy

    def _update_once(self) -> dict[str, torch.Tensor]:
        c, m = self.cfg, self.model
        be = self.expert.sample(c.expert_batch_size, self.device)
        bb = self.buffer.sample(c.batch_size, self.device)
        obs, action = torch.cat([be.obs, bb.obs], 1), torch.cat([be.action, bb.action], 1)
        reward = torch.cat([be.reward, bb.reward], 1)
        n_e = c.expert_batch_size
        loss, zs, metrics = self._losses(obs, action, reward, n_e)
        metrics["train/grad_norm"] = self._step_model(loss)
        pi_loss, entropy = self._pi_loss(zs.detach())
        metrics["train/pi_grad_norm"] = self._step_pi(pi_loss)
        metrics["train/pi_loss"] = pi_loss.detach()
        metrics["train/pi_entropy"] = entropy
        m.update_targets(c.tau)
        return {k: v.detach() for k, v in metrics.items()}

    # ----- diagnostics ----------------------------------------------------------------------------------------------
    @torch.no_grad()
    def decode_rewards(self, obs: np.ndarray, action: np.ndarray) -> np.ndarray:
        """Decoded rewards r̂_t = Q(z_t, a_t) − γ V(d(z_t, a_t)), z_t = h(s_t), ensemble means, of one episode: (T,).
        The next latent is the dynamics' prediction, as in the paper's reward recovery (§5.2) and its planner."""
        m = self.model
        a = torch.as_tensor(np.asarray(action, dtype=np.float32), device=self.device)
        with self.eval_mode():
            z = m.encode(torch.as_tensor(np.asarray(obs)[:-1], device=self.device))
            q = m.Q(z, a, "all").mean(0)
            v_next = self.value_heads(m.next(z, a)).mean(0)
        return decode_reward(q, v_next, self.discount).squeeze(-1).cpu().numpy()

    def reward_estimates(self, obs: np.ndarray, action: np.ndarray) -> np.ndarray:
        """IQ-MPC's learned reward is the decoded one."""
        return self.decode_rewards(obs, action)

    # ----- exact resume ---------------------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "expert": self.expert.state_dict(), "scale": self.scale.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.expert.load_state_dict(state["expert"])
        self.scale.load_state_dict(state["scale"])
