"""TD-MPC2 building blocks: NormedLinear, SimNorm, MLPs, the shallow pixel encoder and shift augmentation."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def mish(x: torch.Tensor) -> torch.Tensor:
    """Mish x·tanh(softplus(x)) written as x·n/(n+2), n = eˣ(eˣ+2): equal to F.mish within 1e-6 and about twice
    as fast on CPU builds whose tanh is not vectorised (twice differentiable, as the gradient penalty needs)."""
    e = torch.exp(x.clamp(max=20.0))
    n = e * (e + 2)
    return x * n / (n + 2)


def mish_and_derivative(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mish and its derivative from one exp and one reciprocal: x·n·r and r·(n + 4x·e(e+1)·r), r = 1/(n+2)."""
    e = torch.exp(x.clamp(max=20.0))
    n = e * (e + 2)
    r = 1 / (n + 2)
    return x * n * r, r * (n + 4 * x * e * (e + 1) * r)


_fused_mish_and_derivative = None


@torch.library.custom_op("wmil::mish_saving_derivative", mutates_args=())
def _mish_saving_derivative(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    global _fused_mish_and_derivative
    if _fused_mish_and_derivative is None:  # one kernel for both outputs, any shape
        _fused_mish_and_derivative = torch.compile(mish_and_derivative, dynamic=True)
    return _fused_mish_and_derivative(x)


@_mish_saving_derivative.register_fake
def _(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.empty_like(x), torch.empty_like(x)


def _save_derivative(ctx, inputs, output) -> None:  # noqa: ANN001
    ctx.save_for_backward(output[1])


def _backward(ctx, grad_y: torch.Tensor, _grad_d: torch.Tensor) -> torch.Tensor:  # noqa: ANN001
    if torch.is_grad_enabled():
        raise RuntimeError("mish_saving_derivative is differentiable once only: use mish() where double backward runs")
    (d,) = ctx.saved_tensors
    return grad_y * d


_mish_saving_derivative.register_autograd(_backward, setup_context=_save_derivative)


def mish_saving_derivative(x: torch.Tensor) -> torch.Tensor:
    """Mish whose forward also stores its derivative, so backward is one multiply. Under torch.compile, autograd's
    partitioner recomputes Mish's exp and divisions (three times, one per pass of the fused LayerNorm + Mish backward)
    rather than save them; an opaque custom op makes it save. Paper-size LayerNorm + Mish on (5, 1536, 512), compiled:
    15 ms forward + backward vs 31-38 ms (bench/results, 2026-12-04). Differentiable once (double backward raises,
    and torch.func transforms refuse it): not for the gradient penalty. The custom op runs a compiled kernel, so it is
    meant for compiled agents."""
    return _mish_saving_derivative(x)[0]


def save_mish_derivatives(module: nn.Module, enabled: bool = True) -> None:
    """Switch every Mish in `module` (Mish modules, Q ensembles) to `mish_saving_derivative` where gradients flow."""
    for m in module.modules():
        if hasattr(m, "save_mish_derivative"):
            m.save_mish_derivative = enabled


def mish_maybe_saving(x: torch.Tensor, save_derivative: bool) -> torch.Tensor:
    """`mish_saving_derivative` when asked and a gradient will flow through x, else `mish`."""
    if save_derivative and x.requires_grad and torch.is_grad_enabled():
        return mish_saving_derivative(x)
    return mish(x)


class Mish(nn.Module):
    """Mish; `save_mish_derivative` (see `save_mish_derivatives`) selects the saving variant for backward."""

    def __init__(self) -> None:
        super().__init__()
        self.save_mish_derivative = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return mish_maybe_saving(x, self.save_mish_derivative)


class SimNorm(nn.Module):
    """Simplicial normalisation: softmax within consecutive groups of `group` features."""

    def __init__(self, group: int = 8) -> None:
        super().__init__()
        self.group = group

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = x.shape
        return F.softmax(x.view(*shape[:-1], -1, self.group), dim=-1).view(shape)

    def extra_repr(self) -> str:
        return f"group={self.group}"


class NormedLinear(nn.Linear):
    """Linear -> (Dropout) -> LayerNorm -> activation (Mish unless `act` is given)."""

    def __init__(self, in_features: int, out_features: int, dropout: float = 0.0, act: nn.Module | None = None):
        super().__init__(in_features, out_features)
        self.ln = nn.LayerNorm(out_features)
        self.act = act if act is not None else Mish()
        self.dropout = nn.Dropout(dropout) if dropout > 0 else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = super().forward(x)
        if self.dropout is not None:
            x = self.dropout(x)
        return self.act(self.ln(x))


def mlp(in_dim: int, hidden: list[int], out_dim: int, act: nn.Module | None = None, dropout: float = 0.0):
    """MLP of NormedLinear hidden layers (dropout on the first only); the last layer is NormedLinear with `act`
    when `act` is given, else a plain Linear (heads)."""
    dims = [in_dim, *hidden]
    layers: list[nn.Module] = [
        NormedLinear(dims[i], dims[i + 1], dropout=dropout if i == 0 else 0.0) for i in range(len(hidden))
    ]
    layers.append(NormedLinear(dims[-1], out_dim, act=act) if act is not None else nn.Linear(dims[-1], out_dim))
    return nn.Sequential(*layers)


class ShiftAug(nn.Module):
    """Random shift augmentation (pad 4, random crop back) applied in training mode only (DrQ / TD-MPC2)."""

    def __init__(self, pad: int = 4) -> None:
        super().__init__()
        self.pad = pad

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return x
        x = x.float()
        n, _, h, w = x.shape
        assert h == w, "ShiftAug expects square images"
        x = F.pad(x, (self.pad,) * 4, mode="replicate")
        eps = 1.0 / (h + 2 * self.pad)
        arange = torch.linspace(-1.0 + eps, 1.0 - eps, h + 2 * self.pad, device=x.device, dtype=x.dtype)[:h]
        arange = arange.unsqueeze(0).repeat(h, 1).unsqueeze(2)
        base_grid = torch.cat([arange, arange.transpose(1, 0)], dim=2).unsqueeze(0).repeat(n, 1, 1, 1)
        shift = torch.randint(0, 2 * self.pad + 1, size=(n, 1, 1, 2), device=x.device, dtype=x.dtype)
        shift *= 2.0 / (h + 2 * self.pad)
        return F.grid_sample(x, base_grid + shift, padding_mode="zeros", align_corners=False)


class PixelPreprocess(nn.Module):
    """uint8 pixels in [0, 255] -> float in [-0.5, 0.5]."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.float().div(255.0).sub(0.5)


def conv_encoder(in_channels: int, num_channels: int, out_simnorm: int = 8) -> nn.Sequential:
    """The shallow conv encoder of TD-MPC2 / IQ-MPC App. A.1; 64x64 input gives c x 4 x 4 features, flattened."""
    c = num_channels
    return nn.Sequential(
        ShiftAug(),
        PixelPreprocess(),
        nn.Conv2d(in_channels, c, 7, stride=2),
        nn.ReLU(inplace=True),
        nn.Conv2d(c, c, 5, stride=2),
        nn.ReLU(inplace=True),
        nn.Conv2d(c, c, 3, stride=2),
        nn.ReLU(inplace=True),
        nn.Conv2d(c, c, 3, stride=1),
        nn.Flatten(),
        SimNorm(out_simnorm),
    )


def conv_out_dim(in_channels: int, num_channels: int, size: int = 64) -> int:
    """Flattened output width of `conv_encoder` for `size`x`size` input."""
    with torch.no_grad():
        enc = conv_encoder(in_channels, num_channels).eval()
        return int(enc(torch.zeros(1, in_channels, size, size, dtype=torch.uint8)).shape[-1])


def init_weights(m: nn.Module) -> None:
    """TD-MPC2 init: truncated normal (std 0.02) weights and zero biases for Linear and Conv2d layers."""
    if isinstance(m, (nn.Linear, nn.Conv2d)):
        nn.init.trunc_normal_(m.weight, std=0.02)
        if m.bias is not None:
            nn.init.zeros_(m.bias)
