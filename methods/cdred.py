"""CDRED (paper 001): a TD-MPC2-style world model whose reward is the coupled distributional random expert
distillation model of `methods.cdred_reward`, planning with MPPI on that reward (Algorithm 2).

Per update, expert batch B_E and behavioural batch B_π of (H+1)-step slices, z_t rolled out by d from h(s_0):
  Eq. 15  Σ_t λ^t [ ‖z_{t+1} − sg(h(s'_t))‖²  +  CE(Q̂(z_t, a_t), q_t) ]  +  L^r (Eq. 4, predictors on z_t, a_t)
          q_t = R(z_t, a_t) + γ Q̄(h(s'_t), π(h(s'_t)))   (two-hot soft cross-entropy, min of 2 target heads)
  Eq. 16  Σ_t λ^t E[−Q(z_t, π(z_t)) + β log π]   (TD-MPC2 conventions: Q scaled by the running 5–95 % range)
  Eq. 17  planning return Σ_{t<H} γ^t R(z_t, a_t) + γ^H Q(z_H, π(z_H))
Weighted sums over t are divided by H (Algorithm 1's 1/H); loss weights are TD-MPC2's (consistency 20,
value 0.1) and the released code's predictor weight 0.1. Where the released code differs from the paper, its
choice is a named switch in `CDREDConfig` (see each field's comment); the planner's executed action (the final mean,
or TD-MPC2's drawn elite) is `PlannerConfig.action_select`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F

from envs.spec import EnvSpec
from experts.demos import Demos
from methods.cdred_reward import CDREDReward, CDREDRewardConfig
from methods.common.agent import AgentConfig, WorldModelAgent
from methods.common.twohot import RunningScale

LR_STEP = {"dmc": 2_000_000}  # StepLR step (updates) per suite (App. A.2); every other suite: 500k
LR_STEP_DEFAULT = 500_000


@dataclass(frozen=True)
class CDREDConfig(AgentConfig):
    """CDRED hyperparameters (App. A.1–A.2, the rest TD-MPC2's). `size`: paper | cpu | smoke (`cdred_preset`)."""

    MODEL_DEFAULTS: ClassVar[dict[str, Any]] = {"critic": "twohot", "reward_head": False}

    expert_batch_size: int | None = None  # None: same as batch_size (256 behavioural + 256 expert)
    consistency_coef: float = 20.0
    value_coef: float = 0.1
    pred_coef: float = 0.1  # weight of the CDRED predictor loss L^r (released code `reward_coef`)
    entropy_coef: float = 1e-4  # β
    entropy_action_dim_scale: bool = True  # β·log π·action_dim (current TD-MPC2); False: β·log π (Eq. 16 as printed)
    pi_q_reduce: str = "avg"  # Q in the policy loss: "avg" of 2 random heads (TD-MPC2); released code: "min"
    scale_tau: float = 0.01  # EMA of the running Q scale
    lr_step: int | None = None  # StepLR period in updates; None: 500k (Meta-World, ManiSkill2, ...) / 2M (DMC)
    lr_gamma: float = 0.1
    # ----- reward model (Eqs. 4–9) -----
    num_targets: int = 5  # K
    embed_dim: int | None = None  # p; None: 64 (paper), or 256 with reward_sizes="released"
    reward_sizes: str = "paper"  # "paper": 2 × mlp_dim hidden for targets and predictors (App. A.1);
    #                              "released": targets 512→512→256, predictors 1024→1024→1024→256
    reward_width: int | None = None  # hidden width of targets and predictors ("paper" sizes); None: mlp_dim
    zeta: float = 0.8  # ζ
    rnd_alpha: float = 0.9  # α of Eq. 6
    sigma: float = 1.0  # σ
    g: str = "identity"  # "identity" | "exp" (App. D.2)
    coupled: bool = True  # False: uncoupled RED (expert predictor only, Fig. 3)
    target_index: str = "update"  # "update": one k ~ U[0, K) per update (Eq. 4); "sample": per element (code)
    pred_loss_reduction: str = "mean"  # over the p dims: "mean" (code's MSELoss) | "sum" (‖·‖² as printed)
    eps_clip: tuple[float, float] | None = None  # clip of y before √ in ε; None: |y| (released code)
    reward_input: str = "latent"  # "latent" (paper) | "obs": reward model on raw observations (§4.5, Fig. 9)
    reward_latent_grad: bool = True  # True: L^r trains encoder and dynamics through z_t (Eq. 15's joint objective,
    #                                  released code); False: the predictors regress from sg(z_t) (not in the paper)
    compile: bool = False  # torch.compile the planner's return estimate, the model loss and the policy loss

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.expert_batch_size is None:
            object.__setattr__(self, "expert_batch_size", self.batch_size)
        if self.eps_clip is not None:
            object.__setattr__(self, "eps_clip", tuple(self.eps_clip))
        checks = {"reward_sizes": ("paper", "released"), "reward_input": ("latent", "obs"),
                  "pi_q_reduce": ("min", "avg")}
        for key, valid in checks.items():
            if getattr(self, key) not in valid:
                raise ValueError(f"CDREDConfig.{key} must be one of {valid}, got {getattr(self, key)!r}")
        if self.reward_width is not None and (self.reward_sizes != "paper" or self.reward_width < 1):
            raise ValueError(f"CDREDConfig.reward_width (a positive width) applies to reward_sizes='paper' only, "
                             f"got reward_width={self.reward_width!r} with reward_sizes={self.reward_sizes!r}")

    def reward_config(self) -> CDREDRewardConfig:
        """The reward model's config: paper sizes follow the model width (512 at paper size) unless
        `reward_width` sets it (e.g. a paper-width reward model on the `cpu` world model)."""
        common = dict(num_targets=self.num_targets, zeta=self.zeta, alpha=self.rnd_alpha, sigma=self.sigma,
                      g=self.g, coupled=self.coupled, target_index=self.target_index,
                      loss_reduction=self.pred_loss_reduction, eps_clip=self.eps_clip)
        if self.embed_dim is not None:
            common["embed_dim"] = self.embed_dim
        if self.reward_sizes == "released":
            return CDREDRewardConfig.released_sizes(**common)
        width = self.reward_width if self.reward_width is not None else self.model.mlp_dim
        hidden = (width, width)
        return CDREDRewardConfig(target_hidden=hidden, predictor_hidden=hidden, **common)


def cdred_preset(name: str, **overrides: Any) -> CDREDConfig:
    """`paper` (App. A.1 sizes), `cpu` (small model, lighter planner), `smoke` (tests)."""
    return CDREDConfig(size=name, **overrides)


class CDRED(WorldModelAgent):
    """CDRED on the uniform interface: `observe` fills B_π, the demos fill B_E, `act` plans with Algorithm 2
    (or acts with the policy prior when `mpc=False`, the released code's default)."""

    name = "cdred"
    demo_kind = "state-action"
    Config = CDREDConfig
    cfg: CDREDConfig

    def __init__(self, cfg: CDREDConfig | dict, spec: EnvSpec, demos: Demos, device: torch.device, seed: int):
        if isinstance(cfg, dict):
            cfg = CDREDConfig(**cfg)
        if cfg.model.critic != "twohot" or cfg.model.reward_head:
            raise ValueError("CDRED uses the two-hot Q ensemble and no learned reward head")
        if cfg.reward_input == "obs" and len(spec.obs_shape) != 1:
            raise ValueError("reward_input='obs' needs state (vector) observations")
        super().__init__(cfg, spec, demos, device, seed)
        self.expert = self._expert_buffer(demos, seed + 1)
        in_dim = cfg.model.latent_dim if cfg.reward_input == "latent" else spec.obs_shape[0]
        self.reward = CDREDReward(in_dim, spec.action_dim, cfg.reward_config()).to(device)
        self.optim.add_param_group({"params": self.reward.predictor_parameters(), "lr": cfg.lr})
        step = cfg.lr_step if cfg.lr_step is not None else LR_STEP.get(spec.suite, LR_STEP_DEFAULT)
        self.sched = torch.optim.lr_scheduler.StepLR(self.optim, step, cfg.lr_gamma)
        self.pi_sched = torch.optim.lr_scheduler.StepLR(self.pi_optim, step, cfg.lr_gamma)
        self.scale = RunningScale(cfg.scale_tau).to(device)
        self._obs_now: torch.Tensor | None = None  # the observation being planned from (reward_input="obs")
        self._plan_value_impl = self._compiled(self._plan_value_eager, cfg.compile)
        self._losses = self._compiled(self._losses_eager, cfg.compile)
        self._pi_loss = self._compiled(self._pi_loss_eager, cfg.compile)

    # ----- planning (Algorithm 2) -------------------------------------------------------------------------------------
    def act(self, obs: np.ndarray, *, eval: bool, t0: bool = False) -> np.ndarray:
        if self.cfg.reward_input == "obs":
            self._obs_now = self._obs_tensor(obs).float()
        return super().act(obs, eval=eval, t0=t0)

    def _plan_value(self, z: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        return self._plan_value_impl(z, actions)

    @torch.no_grad()
    def _plan_value_eager(self, z: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """Σ_{t<H} γ^t R(z_t, a_t) + γ^H Q(z_H, π(z_H)) (mean of 2 random heads).

        With `reward_input="obs"` only the current observation is known: R(s_0, a_0) + γ Q(z_1, π(z_1))."""
        m, H, g = self.model, self.horizon, self.discount
        z = z.expand(actions.shape[1], -1)
        if self.cfg.reward_input == "obs":
            assert self._obs_now is not None
            r = self.reward.reward(self._obs_now.expand(actions.shape[1], -1), actions[0])
            z = m.next(z, actions[0])
            return r + g * m.Q(z, m.pi(z).action, "avg")
        G, disc = 0.0, 1.0
        for t in range(H):
            G = G + disc * self.reward.reward(z, actions[t])
            z = m.next(z, actions[t])
            disc *= g
        return G + disc * m.Q(z, m.pi(z).action, "avg")

    # ----- learning (Algorithm 1) -------------------------------------------------------------------------------------
    def _losses_eager(self, obs: torch.Tensor, action: torch.Tensor, reward_true: torch.Tensor,
                      n_e: int) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
        """World-model loss (Eq. 15: consistency + two-hot TD cross-entropy with the CDRED reward + both predictor
        losses), the rolled-out latents (H+1, B, L) and metrics. Columns [:n_e] are expert slices."""
        c, m, H = self.cfg, self.model, self.horizon
        w = self.rho_weights[:H]
        with torch.no_grad():
            next_z = m.encode(obs[1:])  # h(s'_t), (H, B, L)
        z = m.encode(obs[0])
        zs, cons_t = [z], []
        for t in range(H):
            z = m.next(z, action[t])
            cons_t.append(F.mse_loss(z, next_z[t]))
            zs.append(z)
        zs_t = torch.stack(zs)
        consistency = (w * torch.stack(cons_t)).sum() / H
        r_in = zs_t[:-1] if c.reward_input == "latent" else obs[:-1].float()
        with torch.no_grad():
            r = self.reward.reward(r_in.detach(), action)  # (H, B, 1)
            td = r + self.discount * m.Q(next_z, m.pi(next_z).action, "min", target=True)
        q_logits = m.q_all(zs_t[:-1], action)  # (E, H, B, bins)
        value_ce = m.twohot.soft_ce(q_logits, td.unsqueeze(0)) * w.view(H, 1, 1)
        value_loss = value_ce.mean(dim=(2, 3)).sum() / (H * m.cfg.num_q)
        p_in = r_in if c.reward_latent_grad else r_in.detach()
        pred_e, pred_b = self.reward.loss(p_in[:, :n_e], action[:, :n_e], p_in[:, n_e:], action[:, n_e:], c.rho)
        loss = c.consistency_coef * consistency + c.value_coef * value_loss + c.pred_coef * (pred_e + pred_b)
        with torch.no_grad():
            r_b = r[:, n_e:].flatten()
            corr = torch.corrcoef(torch.stack([r_b, reward_true.flatten()]))[0, 1]  # NaN when constant: zeroed
            q_mean = q_logits.detach()
            metrics = {
                "train/consistency": consistency, "train/value_loss": value_loss,
                "train/pred_loss_expert": pred_e, "train/pred_loss_behav": pred_b,
                "diag/reward_expert": r[:, :n_e].mean(), "diag/reward_behav": r[:, n_e:].mean(),
                "diag/reward_corr_batch": torch.nan_to_num(corr),
                "diag/q_expert": m.twohot.decode(q_mean[:, :, :n_e]).mean(),
                "diag/q_behav": m.twohot.decode(q_mean[:, :, n_e:]).mean(),
            }
        return loss, zs_t, metrics

    def _pi_loss_eager(self, zd: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Policy prior (Eq. 16) on detached latents, Q with detached parameters, scaled by the running range;
        returns the loss and the entropy estimate −E[log π]."""
        c = self.cfg
        return self.policy_prior_loss(zd, c.entropy_coef, c.pi_q_reduce, self.scale, c.entropy_action_dim_scale)

    def _update_once(self) -> dict[str, torch.Tensor]:
        c = self.cfg
        be = self.expert.sample(c.expert_batch_size, self.device)
        bb = self.buffer.sample(c.batch_size, self.device)
        obs, action = torch.cat([be.obs, bb.obs], 1), torch.cat([be.action, bb.action], 1)
        loss, zs, metrics = self._losses(obs, action, bb.reward, c.expert_batch_size)
        self.optim.zero_grad(set_to_none=True)
        loss.backward()
        params = [p for g in self.optim.param_groups for p in g["params"]]
        metrics["train/grad_norm"] = torch.nn.utils.clip_grad_norm_(params, c.grad_clip)
        self.optim.step()
        self.sched.step()
        pi_loss, entropy = self._pi_loss(zs.detach())
        self._step_pi(pi_loss)
        self.pi_sched.step()
        self.model.update_targets(c.tau)
        metrics.update({
            "train/pi_loss": pi_loss, "train/pi_entropy": entropy, "train/pi_scale": self.scale.value.clone(),
            "train/lr": torch.tensor(self.optim.param_groups[1]["lr"]),
        })
        return {k: v.detach() for k, v in metrics.items()}

    # ----- diagnostics ------------------------------------------------------------------------------------------------
    def _reward_inputs(self, obs: np.ndarray, action: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        x = torch.as_tensor(np.asarray(obs)[:-1], device=self.device)
        a = torch.as_tensor(np.asarray(action, dtype=np.float32), device=self.device)
        return (self.model.encode(x) if self.cfg.reward_input == "latent" else x.float()), a

    @torch.no_grad()
    def reward_estimates(self, obs: np.ndarray, action: np.ndarray) -> np.ndarray:
        """The CDRED reward R(h(s_t), a_t) (or R(s_t, a_t) with `reward_input="obs"`) of one episode: (T,)."""
        with self.eval_mode():
            r = self.reward.reward(*self._reward_inputs(obs, action))
        return r.squeeze(-1).cpu().numpy()

    @torch.no_grad()
    def reward_terms(self, obs: np.ndarray, action: np.ndarray) -> dict[str, np.ndarray]:
        """`reward_estimates` split into its expert and behavioural summands (Eq. 5), each (T,)."""
        with self.eval_mode():
            r_e, r_b = self.reward.reward_terms(*self._reward_inputs(obs, action))
        return {"expert": r_e.squeeze(-1).cpu().numpy(), "behaviour": r_b.squeeze(-1).cpu().numpy()}

    # ----- exact resume -----------------------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "expert": self.expert.state_dict(), "reward": self.reward.state_dict(),
                "sched": self.sched.state_dict(), "pi_sched": self.pi_sched.state_dict(),
                "scale": self.scale.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.reward.load_state_dict(state["reward"])
        super().load_state_dict(state)
        self.expert.load_state_dict(state["expert"])
        self.sched.load_state_dict(state["sched"])
        self.pi_sched.load_state_dict(state["pi_sched"])
        self.scale.load_state_dict(state["scale"])
