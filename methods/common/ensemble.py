"""Vectorised ensemble of NormedLinear MLP heads (the Q ensemble): one batched computation over all heads.

Weights are stored stacked, (E, in, out); a shared input is multiplied by all heads' first-layer weights in one
matmul, later layers use `torch.baddbmm` (a scalar output layer is a fused dot product). There is no Python
loop over heads anywhere.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from methods.common.layers import NormedLinear, mish


class EnsembleMLP(nn.Module):
    """E independent MLPs in_dim -> hidden... -> out_dim; hidden layers are Linear -> (Dropout on the first)
    -> LayerNorm -> Mish, the output layer is plain Linear (TD-MPC2's Q head).

    forward(x) with x (N, in) shared by all heads or (E', N, in) per head returns (E', N, out). A shared input may
    also be given as a sequence of parts (N, d_i) whose widths sum to `in` (e.g. latent and action): the first
    layer is then one matmul per part, so backward computes input gradients only for the parts that need them
    (the action in a policy loss, the latent in a model loss) instead of for their concatenation.
    `heads` (LongTensor) selects a subset of heads; only those are computed.
    """

    def __init__(self, num_heads: int, in_dim: int, hidden: list[int], out_dim: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.num_heads, self.in_dim, self.out_dim, self.dropout = num_heads, in_dim, out_dim, dropout
        dims = [in_dim, *hidden, out_dim]
        E = num_heads
        pairs = list(zip(dims[:-1], dims[1:], strict=True))
        self.weights = nn.ParameterList([nn.Parameter(torch.empty(E, i, o)) for i, o in pairs])
        self.biases = nn.ParameterList([nn.Parameter(torch.zeros(E, 1, o)) for _, o in pairs])
        self.ln_weights = nn.ParameterList([nn.Parameter(torch.ones(E, 1, h)) for h in hidden])
        self.ln_biases = nn.ParameterList([nn.Parameter(torch.zeros(E, 1, h)) for h in hidden])
        self.reset_parameters()

    def reset_parameters(self, zero_last: bool = True) -> None:
        """Truncated-normal (std 0.02) weights, zero biases, zero output weights (TD-MPC2's Q/reward init)."""
        for w in self.weights:
            nn.init.trunc_normal_(w, std=0.02)
        if zero_last:
            nn.init.zeros_(self.weights[-1])
        for b in self.biases:
            nn.init.zeros_(b)

    def forward(self, x: torch.Tensor | Sequence[torch.Tensor], heads: torch.Tensor | None = None,
                detach: bool = False) -> torch.Tensor:
        """`detach=True` uses detached parameters (gradients reach the input only: TD-MPC2's policy-loss Q)."""

        def sel(p: torch.Tensor) -> torch.Tensor:
            p = p.detach() if detach else p
            return p if heads is None else p.index_select(0, heads)

        parts = (x,) if isinstance(x, torch.Tensor) else tuple(x)
        n_layers = len(self.weights)
        w0 = sel(self.weights[0])
        E = w0.shape[0]
        if parts[0].dim() == 2:  # shared input: (N, in) @ (in, E*h) for all heads at once, one matmul per part
            w_all = w0.permute(1, 0, 2).reshape(self.in_dim, -1)
            if sum(p.shape[-1] for p in parts) != self.in_dim:
                raise ValueError(f"input parts {[p.shape[-1] for p in parts]} do not sum to in_dim={self.in_dim}")
            h, start = None, 0
            for part in parts:
                w = w_all[start : start + part.shape[-1]]
                h = part @ w if h is None else torch.addmm(h, part, w)
                start += part.shape[-1]
            h = h.view(parts[0].shape[0], E, -1).transpose(0, 1) + sel(self.biases[0])
        else:
            h = torch.baddbmm(sel(self.biases[0]), torch.cat(parts, -1) if len(parts) > 1 else parts[0], w0)
        for i in range(n_layers):
            if i > 0 and i == n_layers - 1 and self.out_dim == 1:  # scalar head: a fused dot product, not a gemv
                h = (h * sel(self.weights[i]).transpose(1, 2)).sum(-1, keepdim=True) + sel(self.biases[i])
            elif i > 0:
                h = torch.baddbmm(sel(self.biases[i]), h, sel(self.weights[i]))
            if i == n_layers - 1:
                break
            if i == 0 and self.dropout > 0 and self.training:
                h = h * dropout_multiplier(h, self.dropout)
            h = F.layer_norm(h, h.shape[-1:])
            h = mish(h * sel(self.ln_weights[i]) + sel(self.ln_biases[i]))
        return h

    def head(self, i: int) -> nn.Sequential:
        """Head `i` as an ordinary nn.Sequential (a copy; used to check the vectorisation)."""
        layers: list[nn.Module] = []
        n_layers = len(self.weights)
        for k in range(n_layers):
            w, b = self.weights[k][i], self.biases[k][i, 0]
            if k < n_layers - 1:
                lin = NormedLinear(w.shape[0], w.shape[1], dropout=self.dropout if k == 0 else 0.0)
                lin.ln.weight.data.copy_(self.ln_weights[k][i, 0])
                lin.ln.bias.data.copy_(self.ln_biases[k][i, 0])
            else:
                lin = nn.Linear(w.shape[0], w.shape[1])
            lin.weight.data.copy_(w.t())
            lin.bias.data.copy_(b)
            layers.append(lin)
        return nn.Sequential(*layers).train(self.training)


def dropout_multiplier(x: torch.Tensor, p: float) -> torch.Tensor:
    """Inverted-dropout multiplier for `x`: 0 with probability p, else 1/(1−p), independently per element.

    On CPU the dropped positions are drawn as a Bernoulli process, its gaps Geometric(p): ~n·p random draws instead
    of n (Q dropout has p = 0.01; n uniforms took ~3 % of a paper-size CPU update, the gaps ~0.3 %). The number of
    gaps drawn, n·p + 8·√(n·p) + 16, covers all n positions except with probability < 1e-14. Elsewhere (CUDA) one
    uniform per element, which the compiler fuses into the kernel.
    """
    if x.device.type != "cpu":
        return (torch.rand_like(x) >= p).to(x.dtype) / (1.0 - p)
    n = x.numel()
    k = int(n * p + 8 * math.sqrt(n * p) + 16)
    gaps = torch.empty(k, device=x.device).geometric_(p).to(torch.int64)  # trials up to and including each drop
    drops = (gaps.cumsum(0) - 1).clamp(max=n)  # positions past the end land on the spare slot n
    multiplier = torch.full((n + 1,), 1.0 / (1.0 - p), dtype=x.dtype, device=x.device).index_fill(0, drops, 0.0)
    return multiplier[:n].view(x.shape)


def frozen_copy(module: nn.Module) -> nn.Module:
    """A deep copy with gradients off, in eval mode (target network: no dropout; `WorldModel.train` keeps it so)."""
    target = copy.deepcopy(module)
    target.requires_grad_(False)
    return target.train(False)


@torch.no_grad()
def polyak_update(target: nn.Module, source: nn.Module, tau: float) -> None:
    """target <- (1 - tau) * target + tau * source, one fused multi-tensor op."""
    torch._foreach_lerp_(list(target.parameters()), list(source.parameters()), tau)
