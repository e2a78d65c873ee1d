"""TD-MPC2 reinforcement-learning agent on the shared core (reward head + two-hot critic), usable as an expert
trainer: it learns from the environment reward that `observe` receives."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F

from envs.spec import EnvSpec
from experts.demos import Demos
from methods.common.agent import AgentConfig, WorldModelAgent
from methods.common.twohot import RunningScale


@dataclass(frozen=True)
class TDMPC2Config(AgentConfig):
    """TD-MPC2 loss weights and entropy coefficient (its defaults); two-hot critic and reward head."""

    MODEL_DEFAULTS: ClassVar[dict[str, Any]] = {"critic": "twohot", "reward_head": True}
    consistency_coef: float = 20.0
    reward_coef: float = 0.1
    value_coef: float = 0.1
    entropy_coef: float = 1e-4
    scale_tau: float = 0.01


def tdmpc2_preset(name: str, **overrides: Any) -> TDMPC2Config:
    """`paper` (TD-MPC2 5M sizes), `cpu`, `smoke`."""
    return TDMPC2Config(size=name, **overrides)


class TDMPC2(WorldModelAgent):
    """TD-MPC2: latent consistency + reward + two-hot TD value loss; policy prior maximising scaled Q + entropy."""

    name = "tdmpc2"
    demo_kind = "none"
    Config = TDMPC2Config
    cfg: TDMPC2Config

    def __init__(self, cfg: TDMPC2Config, spec: EnvSpec, demos: Demos | None, device: torch.device, seed: int):
        if cfg.model.critic != "twohot" or not cfg.model.reward_head:
            raise ValueError("TD-MPC2 needs model.critic='twohot' and model.reward_head=True")
        super().__init__(cfg, spec, demos, device, seed)
        self.scale = RunningScale(cfg.scale_tau).to(device)

    @torch.no_grad()
    def _plan_value(self, z: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """Σ γ^t r̂(z_t, a_t) + γ^H Q(z_H, π(z_H)) (mean of 2 random heads)."""
        m = self.model
        z = z.expand(actions.shape[1], -1)
        G, disc = 0.0, 1.0
        for t in range(self.horizon):
            G = G + disc * m.twohot.decode(m.reward_logits(z, actions[t]))
            z = m.next(z, actions[t])
            disc *= self.discount
        return G + disc * m.Q(z, m.pi(z).action, "avg")

    def _update_once(self) -> dict[str, torch.Tensor]:
        c, m, H = self.cfg, self.model, self.horizon
        b = self.buffer.sample(c.batch_size, self.device)
        rho = self.rho_weights
        with torch.no_grad():
            next_z = m.encode(b.obs[1:])
            td_target = b.reward + self.discount * m.Q(next_z, m.pi(next_z).action, "min", target=True)
        z = m.encode(b.obs[0])
        zs = [z]
        consistency = 0.0
        for t in range(H):
            z = m.next(z, b.action[t])
            consistency = consistency + rho[t] * F.mse_loss(z, next_z[t])
            zs.append(z)
        zs_t = torch.stack(zs)
        q_logits = m.q_all(zs_t[:-1], b.action)  # (E, H, B, bins)
        r_logits = m.reward_logits(zs_t[:-1], b.action)
        w = rho[:H].view(H, 1, 1)
        reward_loss = (m.twohot.soft_ce(r_logits, b.reward) * w).mean(dim=(1, 2)).sum() / H
        value_ce = m.twohot.soft_ce(q_logits, td_target.unsqueeze(0)) * w
        value_loss = value_ce.mean(dim=(2, 3)).sum() / (H * c.model.num_q)
        consistency = consistency / H
        loss = c.consistency_coef * consistency + c.reward_coef * reward_loss + c.value_coef * value_loss
        grad_norm = self._step_model(loss)
        # policy prior on detached latents, Q with detached parameters, scaled by the running percentile range
        pi_loss, _ = self.policy_prior_loss(zs_t.detach(), c.entropy_coef, "avg", self.scale, True)
        self._step_pi(pi_loss)
        m.update_targets(c.tau)
        return {
            "train/consistency": consistency.detach(), "train/reward_loss": reward_loss.detach(),
            "train/value_loss": value_loss.detach(), "train/pi_loss": pi_loss.detach(),
            "train/grad_norm": grad_norm, "train/pi_scale": self.scale.value.clone(),
        }

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "scale": self.scale.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.scale.load_state_dict(state["scale"])
