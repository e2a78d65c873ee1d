"""CDRED reward model (CDRED paper, Eqs. 4–9): coupled distributional random expert distillation.

K frozen random target networks f_θk and two trained predictors (expert f_φ, behavioural f_ψ) map an input
pair (latent state z, action a) — or (raw observation, action) for the §4.5 ablation — to R^p. The reward is

    R = ζ g(−σ b(f_φ)) − (1 − ζ) g(−σ b(f_ψ)),          b(f) = α ‖f − μ‖² + (1 − α) ε(f)          (Eqs. 5–6)

with μ, B₂ the mean and second moment of the K target outputs (Eq. 7, Lemma 1) and ε the √(1/n) estimator
of Eq. 9, per embedding dimension j:  y_j = (f_j² − μ_j²) / (B₂_j − μ_j²),  ε = mean_j √|y_j|  (the released
code's reduction; the paper leaves it open). Each predictor regresses onto ONE target network per update,
index k ~ U[0, K) (Eq. 4); `target_index="sample"` draws k per batch element (released code).

The frozen targets are registered buffers, so they are part of `state_dict` (the released code kept them in a
plain list and lost them on checkpoint).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from methods.common.ensemble import EnsembleMLP
from methods.common.layers import init_weights, mlp


@dataclass
class CDREDRewardConfig:
    """Hyperparameters of the reward model. Defaults follow the paper (App. A.1–A.2)."""

    num_targets: int = 5  # K
    embed_dim: int = 64  # p (paper); released code: 256
    target_hidden: tuple[int, ...] = (512, 512)  # released code: (512, 512)
    predictor_hidden: tuple[int, ...] = (512, 512)  # released code: (1024, 1024, 1024)
    zeta: float = 0.8  # ζ: weight of the expert term
    alpha: float = 0.9  # α: weight of ‖f − μ‖² against ε
    sigma: float = 1.0  # σ: decay rate (released code `bias_scale` = 1)
    g: str = "identity"  # "identity" (paper, all experiments) | "exp" (App. D.2 ablation)
    coupled: bool = True  # False: uncoupled RED, expert predictor only, R = g(−σ b(f_φ)) (Fig. 3)
    target_index: str = "update"  # "update": one k per update (paper Eq. 4) | "sample": one k per element (code)
    loss_reduction: str = "mean"  # over embedding dims: "mean" (code's MSELoss) | "sum" (paper's ‖·‖²)
    eps_clip: tuple[float, float] | None = None  # clip y before √ (DRND uses (1e-3, 1)); None: |y| (CDRED code)

    @classmethod
    def released_sizes(cls, **overrides) -> CDREDRewardConfig:
        """The released code's network sizes: targets 512→512→256, predictors 1024→1024→1024→256."""
        base = dict(embed_dim=256, target_hidden=(512, 512), predictor_hidden=(1024, 1024, 1024))
        return cls(**{**base, **overrides})


def _predictor(in_dim: int, hidden: tuple[int, ...], out_dim: int) -> nn.Sequential:
    """NormedLinear hidden layers and a plain Linear head, TD-MPC2 init (trunc-normal 0.02, zero biases)."""
    net = mlp(in_dim, list(hidden), out_dim)
    net.apply(init_weights)
    return net


def _targets(in_dim: int, hidden: tuple[int, ...], out_dim: int, num: int) -> EnsembleMLP:
    """K frozen random MLPs of the predictors' shape, evaluated in one batched pass (the core's `EnsembleMLP`).

    Orthogonal weights with gain √2 and zero biases (the released code's init of its targets); gradients off.
    The weights are parameters of the module, so `state_dict` carries them.
    """
    ens = EnsembleMLP(num, in_dim, list(hidden), out_dim)
    with torch.no_grad():
        for w in ens.weights:
            for k in range(num):
                wk = torch.empty(w.shape[2], w.shape[1])
                nn.init.orthogonal_(wk, gain=math.sqrt(2.0))
                w[k].copy_(wk.T)
    return ens.requires_grad_(False)


def occupancy_stat(f: torch.Tensor, mu: torch.Tensor, b2: torch.Tensor) -> torch.Tensor:
    """Lemma 1's statistic per embedding dimension: y = (f² − μ²) / (B₂ − μ²), unbiased for 1/n at f = f*."""
    return (f.pow(2) - mu.pow(2)) / (b2 - mu.pow(2)).clamp_min(1e-8)


class CDREDReward(nn.Module):
    """Targets + expert/behavioural predictors on concatenated (x, a) inputs; `reward`, `bonus`, `loss`."""

    def __init__(self, in_dim: int, action_dim: int, cfg: CDREDRewardConfig | None = None) -> None:
        super().__init__()
        self.cfg = cfg = cfg or CDREDRewardConfig()
        if cfg.g not in ("identity", "exp"):
            raise ValueError(f"g must be 'identity' or 'exp', got {cfg.g!r}")
        if cfg.target_index not in ("update", "sample"):
            raise ValueError(f"target_index must be 'update' or 'sample', got {cfg.target_index!r}")
        if cfg.loss_reduction not in ("mean", "sum"):
            raise ValueError(f"loss_reduction must be 'mean' or 'sum', got {cfg.loss_reduction!r}")
        d = in_dim + action_dim
        self.targets = _targets(d, tuple(cfg.target_hidden), cfg.embed_dim, cfg.num_targets)
        self.expert = _predictor(d, tuple(cfg.predictor_hidden), cfg.embed_dim)
        self.behav = _predictor(d, tuple(cfg.predictor_hidden), cfg.embed_dim) if cfg.coupled else None

    @staticmethod
    def _cat(x: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, a], dim=-1)

    def predictor_parameters(self) -> list[nn.Parameter]:
        """The trained parameters (expert and behavioural predictors); the targets are frozen."""
        nets = [self.expert] + ([self.behav] if self.behav is not None else [])
        return [p for n in nets for p in n.parameters()]

    def moments(self, xa: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Target outputs (K, B, p), their mean μ (Eq. 7) and second moment B₂ (Lemma 1), each (B, p)."""
        with torch.no_grad():
            c = self.targets(xa)
        return c, c.mean(0), c.pow(2).mean(0)

    def bonus(self, f: torch.Tensor, mu: torch.Tensor, b2: torch.Tensor) -> torch.Tensor:
        """b = α ‖f − μ‖² + (1 − α) ε (Eq. 6), ε = mean_j √y_j (Eq. 9); shape (B,)."""
        y = occupancy_stat(f, mu, b2)
        y = y.abs() if self.cfg.eps_clip is None else y.clamp(*self.cfg.eps_clip)
        eps = y.sqrt().mean(-1)
        return self.cfg.alpha * (f - mu).pow(2).sum(-1) + (1 - self.cfg.alpha) * eps

    def _g(self, x: torch.Tensor) -> torch.Tensor:
        return x.exp() if self.cfg.g == "exp" else x

    def _terms(self, x: torch.Tensor, a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Eq. 5's two summands, flat (N,): ζ g(−σ b(f_φ)) and −(1 − ζ) g(−σ b(f_ψ)); uncoupled: g(−σ b(f_φ)), None."""
        xa = self._cat(x, a).reshape(-1, x.shape[-1] + a.shape[-1])
        _, mu, b2 = self.moments(xa)
        s = self.cfg.sigma
        r_e = self._g(-s * self.bonus(self.expert(xa), mu, b2))
        if self.behav is None:
            return r_e, None
        return self.cfg.zeta * r_e, -(1 - self.cfg.zeta) * self._g(-s * self.bonus(self.behav(xa), mu, b2))

    def reward(self, x: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        """R(x, a) of Eq. 5, shape (..., 1). Differentiable w.r.t. predictors and inputs (callers detach)."""
        r_e, r_b = self._terms(x, a)
        r = r_e if r_b is None else r_e + r_b
        return r.reshape(*x.shape[:-1], 1)

    def reward_terms(self, x: torch.Tensor, a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The expert and behavioural summands of `reward` (each (..., 1), their sum is R); the behavioural one is
        zero when uncoupled. Diagnostics: which term moves the reward."""
        r_e, r_b = self._terms(x, a)
        r_b = torch.zeros_like(r_e) if r_b is None else r_b
        lead = x.shape[:-1]
        return r_e.reshape(*lead, 1), r_b.reshape(*lead, 1)

    def _pred_loss(self, net: nn.Module, xa: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        """Per-element ‖f(x) − c‖² (mean or sum over the p dims); xa (N, d), c (N, p) target outputs."""
        err = (net(xa) - c).pow(2)
        return err.mean(-1) if self.cfg.loss_reduction == "mean" else err.sum(-1)

    @torch.no_grad()
    def target_outputs(self, xa: torch.Tensor, k: int | None = None) -> torch.Tensor:
        """(N, p) regression targets: network k for all rows (drawn ~ U[0, K) once when `target_index="update"`
        and k is None), or a fresh k per row (`target_index="sample"`)."""
        K, dev = self.cfg.num_targets, xa.device
        if k is not None or self.cfg.target_index == "update":
            head = torch.full((1,), int(k), device=dev) if k is not None else torch.randint(K, (1,), device=dev)
            return self.targets(xa, heads=head)[0]
        ks = torch.randint(K, (xa.shape[0],), device=dev)
        return self.targets(xa)[ks, torch.arange(xa.shape[0], device=dev)]

    def loss(self, x_e: torch.Tensor, a_e: torch.Tensor, x_b: torch.Tensor, a_b: torch.Tensor, lam: float,
             k: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Eq. 4 over a horizon: inputs (T, B, ·); returns (expert, behavioural) losses Σ_t λ^t L_t / T.

        One k ~ U[0, K) per call (= per update) shared by both predictors and all steps, unless
        `target_index="sample"`; an explicit `k` fixes it. No gradient flows through the targets; gradients do
        reach the inputs through the predictors. The behavioural loss is 0 when uncoupled.
        """
        T = x_e.shape[0]
        w = lam ** torch.arange(T, dtype=x_e.dtype, device=x_e.device)
        xa_e = self._cat(x_e, a_e).flatten(0, 1)
        xa_b = self._cat(x_b, a_b).flatten(0, 1)
        c = self.target_outputs(torch.cat([xa_e, xa_b]).detach(), k)
        l_e = (self._pred_loss(self.expert, xa_e, c[: len(xa_e)]).view(T, -1).mean(1) * w).sum() / T
        if self.behav is None:
            return l_e, torch.zeros((), device=x_e.device)
        l_b = (self._pred_loss(self.behav, xa_b, c[len(xa_e):]).view(T, -1).mean(1) * w).sum() / T
        return l_e, l_b
