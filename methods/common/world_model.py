"""TD-MPC2-style latent world model: encoder h, latent dynamics d, policy prior π, Q ensemble (+ optional reward).

Device-agnostic: build it, then `.to(device)`. All methods take latents with arbitrary leading dims.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from methods.common.config import ModelConfig
from methods.common.ensemble import EnsembleMLP, frozen_copy, polyak_update
from methods.common.layers import SimNorm, conv_encoder, conv_out_dim, init_weights, mlp
from methods.common.twohot import TwoHot


@dataclass
class PolicyOut:
    """Policy prior sample: squashed mean and action, log-density of the squashed action (..., 1)."""

    mean: torch.Tensor
    action: torch.Tensor
    log_prob: torch.Tensor


def build_encoder(obs_shape: tuple[int, ...], cfg: ModelConfig) -> nn.Module:
    """State MLP encoder (NormedLinear layers ending in SimNorm) or the shallow conv encoder for (C, 64, 64)."""
    if len(obs_shape) == 1:
        hidden = max(cfg.num_enc_layers - 1, 1) * [cfg.enc_dim]
        return mlp(obs_shape[0], hidden, cfg.latent_dim, act=SimNorm(cfg.simnorm_dim))
    if len(obs_shape) == 3:
        out = conv_out_dim(obs_shape[0], cfg.num_channels, obs_shape[-1])
        if out != cfg.latent_dim:
            raise ValueError(f"pixel encoder gives {out} features but latent_dim={cfg.latent_dim}; set num_channels")
        return conv_encoder(obs_shape[0], cfg.num_channels, cfg.simnorm_dim)
    raise ValueError(f"unsupported observation shape {obs_shape}")


class ObsNormalizer(nn.Module):
    """s -> clip((s − μ) / max(σ, min_std), ±clip) with fixed per-dimension statistics (buffers, so checkpointed).

    Hand-written because the ecosystem's normalisers (SB3 `VecNormalize`, gymnasium `NormalizeObservation`) wrap the
    env and keep running statistics, while the demos and replay hold raw states; here μ, σ are the demos', frozen."""

    def __init__(self, mean: torch.Tensor, std: torch.Tensor, min_std: float = 1e-2, clip: float = 10.0) -> None:
        super().__init__()
        self.clip = clip
        self.register_buffer("mean", mean.detach().float().clone())
        self.register_buffer("inv_std", 1.0 / std.detach().float().clamp_min(min_std))

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return ((obs - self.mean) * self.inv_std).clamp(-self.clip, self.clip)


class WorldModel(nn.Module):
    """h(s) -> z, d(z, a) -> z', π(z), Q(z, a) ensemble with a Polyak target copy, optional reward head."""

    def __init__(self, obs_shape: tuple[int, ...], action_dim: int, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg, self.action_dim = cfg, action_dim
        L, M = cfg.latent_dim, cfg.mlp_dim
        self.encoder = build_encoder(tuple(obs_shape), cfg)
        self.dynamics = mlp(L + action_dim, [M, M], L, act=SimNorm(cfg.simnorm_dim))
        self.pi_net = mlp(L, [M, M], 2 * action_dim)
        q_out = cfg.num_bins if cfg.critic == "twohot" else 1
        self.reward = mlp(L + action_dim, [M, M], cfg.num_bins) if cfg.reward_head else None
        self.apply(init_weights)
        self.qs = EnsembleMLP(cfg.num_q, L + action_dim, [M, M], q_out, dropout=cfg.dropout)
        if self.reward is not None:
            nn.init.zeros_(self.reward[-1].weight)
        self.target_qs = frozen_copy(self.qs)
        self.twohot = TwoHot(cfg.num_bins, cfg.vmin, cfg.vmax) if cfg.critic == "twohot" or cfg.reward_head else None
        self.obs_norm: ObsNormalizer | None = None  # see `set_obs_norm`

    def set_obs_norm(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        """Standardise state observations before the encoder (`ObsNormalizer`); state encoders only."""
        if not isinstance(self.encoder[0], nn.Linear):
            raise ValueError("observation normalisation applies to state (vector) observations only")
        self.obs_norm = ObsNormalizer(mean, std).to(self.encoder[0].weight.device)

    # ----- parameter groups -------------------------------------------------------------------------------------
    def model_parameters(self) -> list[nn.Parameter]:
        """Everything trained by the model loss: encoder, dynamics, reward (if any), Q ensemble."""
        mods = [self.encoder, self.dynamics, self.qs] + ([self.reward] if self.reward is not None else [])
        return [p for m in mods for p in m.parameters()]

    def num_learnable(self) -> int:
        return sum(p.numel() for p in self.parameters() if p.requires_grad)

    def train(self, mode: bool = True) -> WorldModel:
        super().train(mode)
        self.target_qs.train(False)  # never dropout in the target
        return self

    @torch.no_grad()
    def update_targets(self, tau: float) -> None:
        polyak_update(self.target_qs, self.qs, tau)

    # ----- components ---------------------------------------------------------------------------------------------
    def encode(self, obs: torch.Tensor) -> torch.Tensor:
        """obs (..., *obs_shape) -> z (..., latent)."""
        nd = 1 if isinstance(self.encoder[0], nn.Linear) else 3
        lead = obs.shape[: obs.dim() - nd]
        if self.obs_norm is not None:
            obs = self.obs_norm(obs)
        z = self.encoder(obs.reshape(-1, *obs.shape[obs.dim() - nd :]))
        return z.view(*lead, -1)

    def next(self, z: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        return self.dynamics(torch.cat([z, a], dim=-1))

    def reward_logits(self, z: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        assert self.reward is not None, "model built without reward head"
        return self.reward(torch.cat([z, a], dim=-1))

    def pi_params(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Pre-squash Gaussian mean and log σ = min + ½(max − min)(tanh(x) + 1)."""
        mu, log_std = self.pi_net(z).chunk(2, dim=-1)
        c = self.cfg
        return mu, c.log_std_min + 0.5 * (c.log_std_max - c.log_std_min) * (torch.tanh(log_std) + 1)

    @staticmethod
    def sample_squashed(mu: torch.Tensor, log_std: torch.Tensor, eps: torch.Tensor | None = None) -> PolicyOut:
        """Tanh-squashed Gaussian sample from pre-squash parameters; `eps` overrides the N(0, 1) noise."""
        if eps is None:
            eps = torch.randn_like(mu)
        action = mu + eps * log_std.exp()
        log_prob = (-0.5 * eps.pow(2) - log_std).sum(-1, keepdim=True) - 0.5 * math.log(2 * math.pi) * eps.shape[-1]
        mu, action = torch.tanh(mu), torch.tanh(action)
        log_prob = log_prob - torch.log(F.relu(1 - action.pow(2)) + 1e-6).sum(-1, keepdim=True)
        return PolicyOut(mu, action, log_prob)

    @staticmethod
    def squashed_log_prob(mu: torch.Tensor, log_std: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        """Log-density of squashed actions a in [-1, 1] (clipped to ±(1 − 1e-6)) -> (..., 1)."""
        a = a.clamp(-1 + 1e-6, 1 - 1e-6)
        eps = (torch.atanh(a) - mu) * torch.exp(-log_std)
        log_prob = (-0.5 * eps.pow(2) - log_std).sum(-1, keepdim=True) - 0.5 * math.log(2 * math.pi) * a.shape[-1]
        return log_prob - torch.log(F.relu(1 - a.pow(2)) + 1e-6).sum(-1, keepdim=True)

    def pi(self, z: torch.Tensor, eps: torch.Tensor | None = None) -> PolicyOut:
        """Sample the tanh-squashed Gaussian policy prior at z."""
        return self.sample_squashed(*self.pi_params(z), eps)

    def log_prob_of(self, z: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        """Log-density under π(·|z) of given squashed actions -> (..., 1)."""
        return self.squashed_log_prob(*self.pi_params(z), a)

    def q_all(self, z: torch.Tensor, a: torch.Tensor, *, target: bool = False, detach: bool = False,
              heads: torch.Tensor | None = None) -> torch.Tensor:
        """Raw outputs of (a subset of) the heads: (E', ..., out) with out = 1 (scalar) or num_bins (two-hot)."""
        lead = z.shape[:-1]
        if a.shape[:-1] != lead:
            raise ValueError(f"latent {tuple(z.shape)} and action {tuple(a.shape)} leading dims differ")
        net = self.target_qs if target else self.qs
        if torch.is_grad_enabled():  # latent and action as separate parts: backward skips unneeded input gradients
            x = (z.reshape(-1, z.shape[-1]), a.reshape(-1, a.shape[-1]))
        else:  # forward only (planning, targets): one matmul over the concatenation is faster
            x = torch.cat([z, a], dim=-1).reshape(-1, z.shape[-1] + a.shape[-1])
        out = net(x, heads=heads, detach=detach)
        return out.view(out.shape[0], *lead, out.shape[-1])

    def q_values(self, z: torch.Tensor, a: torch.Tensor, *, target: bool = False, detach: bool = False,
                 heads: torch.Tensor | None = None) -> torch.Tensor:
        """Scalar Q of (a subset of) heads: (E', ..., 1), two-hot logits decoded."""
        out = self.q_all(z, a, target=target, detach=detach, heads=heads)
        return self.twohot.decode(out) if self.cfg.critic == "twohot" else out

    def random_heads(self, k: int = 2, device: torch.device | None = None) -> torch.Tensor:
        """k distinct random head indices (on the model's device; no host sync)."""
        dev = device or next(self.parameters()).device
        return torch.randperm(self.cfg.num_q, device=dev)[:k]

    def Q(self, z: torch.Tensor, a: torch.Tensor, reduce: str = "min", *, target: bool = False,
          detach: bool = False) -> torch.Tensor:
        """TD-MPC2's reduction: min or mean over 2 random heads -> (..., 1); "all" -> (E, ..., 1) scalars."""
        if reduce == "all":
            return self.q_values(z, a, target=target, detach=detach)
        q = self.q_values(z, a, target=target, detach=detach, heads=self.random_heads(2, z.device))
        if reduce == "min":
            return q.min(0).values
        if reduce == "avg":
            return q.mean(0)
        raise ValueError(f"reduce must be min | avg | all, got {reduce!r}")
