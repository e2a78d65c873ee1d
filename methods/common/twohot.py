"""Symlog / two-hot regression utilities and TD-MPC2's running Q scale."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def symlog(x: torch.Tensor) -> torch.Tensor:
    return torch.sign(x) * torch.log1p(torch.abs(x))


def symexp(x: torch.Tensor) -> torch.Tensor:
    return torch.sign(x) * (torch.exp(torch.abs(x)) - 1)


class TwoHot(nn.Module):
    """Two-hot encoding on `num_bins` bins evenly spaced on [vmin, vmax] in symlog space (TD-MPC2: 101, ±10)."""

    def __init__(self, num_bins: int = 101, vmin: float = -10.0, vmax: float = 10.0) -> None:
        super().__init__()
        self.num_bins, self.vmin, self.vmax = num_bins, vmin, vmax
        self.bin_size = (vmax - vmin) / (num_bins - 1)
        self.register_buffer("bins", torch.linspace(vmin, vmax, num_bins), persistent=False)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """(..., 1) scalars -> (..., num_bins) two-hot targets of symlog(x)."""
        x = symlog(x).clamp(self.vmin, self.vmax).squeeze(-1)
        idx = torch.floor((x - self.vmin) / self.bin_size).long().clamp(0, self.num_bins - 1)
        offset = ((x - self.vmin) / self.bin_size - idx.float()).unsqueeze(-1)
        out = torch.zeros(*x.shape, self.num_bins, device=x.device, dtype=x.dtype)
        out.scatter_(-1, idx.unsqueeze(-1), 1 - offset)
        out.scatter_add_(-1, (idx.unsqueeze(-1) + 1) % self.num_bins, offset)
        return out

    def decode(self, logits: torch.Tensor) -> torch.Tensor:
        """(..., num_bins) logits -> (..., 1) scalars: expectation over bins, then symexp."""
        return symexp((F.softmax(logits, dim=-1) * self.bins).sum(-1, keepdim=True))

    def soft_ce(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Cross-entropy between logits (..., num_bins) and the two-hot encoding of target (..., 1) -> (..., 1)."""
        return -(self.encode(target) * F.log_softmax(logits, dim=-1)).sum(-1, keepdim=True)


class RunningScale(nn.Module):
    """EMA of the 5-95 percentile range of a batch of Q values, floored at 1 (TD-MPC2 policy-loss scale)."""

    def __init__(self, tau: float = 0.01) -> None:
        super().__init__()
        self.tau = tau
        self.register_buffer("value", torch.ones(()))
        self.register_buffer("initialised", torch.zeros((), dtype=torch.bool))

    @torch.no_grad()
    def update(self, x: torch.Tensor) -> None:
        q = torch.quantile(x.detach().float().flatten(), torch.tensor([0.05, 0.95], device=x.device))
        rng = (q[1] - q[0]).clamp_min(1.0)
        new = torch.where(self.initialised, self.value.lerp(rng, self.tau), rng)
        self.value.copy_(new)
        self.initialised.fill_(True)

    def forward(self, x: torch.Tensor, update: bool = False) -> torch.Tensor:
        if update:
            self.update(x)
        return x / self.value
