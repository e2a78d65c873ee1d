"""LayerNorm + Mish as one hand-written CPU kernel (`csrc/ln_mish.cpp`), used by compiled CPU agents.

Hand-written because no library fuses it well on CPU: inductor's generated code for LayerNorm + Mish reads each
activation 3–4 times in backward (row reductions, input gradient, the LayerNorm weights' column reductions), each
time recomputing the normalisation and Mish, and these kernels took about a third of a `paper`-size update
(bench/results). The kernel reads a row once into L1 and does everything there: forward one pass (statistics, then
normalise, affine and Mish), backward one pass (the weights' column sums accumulate per thread). Same formulas as
`layers.mish` after `F.layer_norm`, equal up to float rounding.

`layers.NormedLinear` and `ensemble.EnsembleMLP` call `ln_mish` when their `fused` flag is set (`enable`; compiled
agents on CPU set it, `WorldModelAgent._compiled`) and `supports(x)`; otherwise torch ops: on CUDA, where inductor
fuses well, and in the gradient penalty, which differentiates Q twice. The kernel is a torch custom op
(`wmil::ln_mish`) with a registered backward, so it runs eagerly and inside torch.compile graphs. It is built by
`torch.utils.cpp_extension` with inductor's vector flags for this CPU on first use (about a minute, then cached in
`TORCH_EXTENSIONS_DIR`, by default ~/.cache/torch_extensions).
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import torch

SOURCE = Path(__file__).with_name("csrc") / "ln_mish.cpp"


@functools.cache
def extension():
    """The compiled kernel module (built once per machine and vector instruction set, then loaded from cache)."""
    from torch._inductor import cpu_vec_isa  # the flags inductor compiles its own CPU kernels with
    from torch.utils.cpp_extension import load

    try:  # the `ninja` wheel (requirements/core.txt) keeps its binary in the venv, which may not be on PATH
        import ninja

        if ninja.BIN_DIR not in os.environ.get("PATH", "").split(os.pathsep):
            os.environ["PATH"] = os.pathsep.join([ninja.BIN_DIR, os.environ.get("PATH", "")])
    except ImportError:
        pass

    isa = cpu_vec_isa.pick_vec_isa()
    flags = ["-O3", *str(isa.build_arch_flags()).split(), *(f"-D{m}" for m in isa.build_macro())] if isa else ["-O3"]
    name = f"wmil_ln_mish_{type(isa).__name__.lower() if isa else 'scalar'}"
    return load(name=name, sources=[str(SOURCE)], extra_cflags=flags, verbose=False)


@torch.library.custom_op("wmil::ln_mish", mutates_args=())
def _ln_mish(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor,
             eps: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    out, mean, rstd = extension().forward(x, weight, bias, eps)
    return out, mean, rstd


@_ln_mish.register_fake
def _(x, weight, bias, eps):
    G, R, D = x.shape
    return x.new_empty(G, R, D), x.new_empty(G, R), x.new_empty(G, R)


@torch.library.custom_op("wmil::ln_mish_backward", mutates_args=())
def _ln_mish_backward(grad: torch.Tensor, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor,
                      mean: torch.Tensor, rstd: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    dx, dw, db = extension().backward(grad, x, weight, bias, mean, rstd)
    return dx, dw, db


@_ln_mish_backward.register_fake
def _(grad, x, weight, bias, mean, rstd):
    return x.new_empty(x.shape), weight.new_empty(weight.shape), bias.new_empty(bias.shape)


def _setup_context(ctx, inputs, output) -> None:
    x, weight, bias, _ = inputs
    _, mean, rstd = output
    ctx.save_for_backward(x, weight, bias, mean, rstd)


def _backward(ctx, grad_out, _grad_mean, _grad_rstd):
    x, weight, bias, mean, rstd = ctx.saved_tensors
    dx, dw, db = _ln_mish_backward(grad_out, x, weight, bias, mean, rstd)
    return dx, dw, db, None


_ln_mish.register_autograd(_backward, setup_context=_setup_context)


def enable(module: torch.nn.Module, enabled: bool = True) -> None:
    """Set the `fused` flag of every layer in `module` that has one (NormedLinear, EnsembleMLP)."""
    for m in module.modules():
        if isinstance(getattr(m, "fused", None), bool):
            m.fused = enabled


def supports(x: torch.Tensor) -> bool:
    """Whether the kernel takes `x`: float32 on CPU."""
    return x.device.type == "cpu" and x.dtype == torch.float32


def ln_mish(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """mish(LayerNorm(x) · weight + bias) over the last dimension by the CPU kernel (`supports(x)` must hold).

    `weight`, `bias`: (D,) shared by all rows, or (G, 1, D) per group for x (G, N, D) (the Q ensemble's heads).
    """
    D = x.shape[-1]
    if x.stride(-1) != 1:
        x = x.contiguous()
    if weight.dim() == 3:
        G = weight.shape[0]
        return _ln_mish(x, weight.reshape(G, D), bias.reshape(G, D), eps)[0]
    return _ln_mish(x.reshape(1, -1, D), weight.view(1, D), bias.view(1, D), eps)[0].view(x.shape)
