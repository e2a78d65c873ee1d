"""The LayerNorm + Mish CPU kernel (`methods.common.fused`) computes what the torch ops compute, forward and
backward, for shared and per-head affine weights, widths that are not a multiple of the vector width, strided rows
and several threads; the layers use it only when asked."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from methods.common import fused
from methods.common.ensemble import EnsembleMLP
from methods.common.layers import NormedLinear, mish


def _reference(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    D = x.shape[-1]
    return mish(F.layer_norm(x, (D,)) * w + b) if w.dim() == 3 else mish(F.layer_norm(x, (D,), w, b))


def _forward_backward(fn, x, w, b, grad):
    x, w, b = (t.detach().clone().requires_grad_(True) for t in (x, w, b))
    out = fn(x, w, b)
    out.backward(grad)
    return out.detach(), x.grad, w.grad, b.grad


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize(("x_shape", "w_shape"), [((5, 33, 48), (5, 1, 48)),  # Q ensemble: per-head affine
                                                  ((4, 9, 37), (37,)),  # shared affine, 37 = 2·16 + 5 tail
                                                  ((3, 70), (70,))])
def test_kernel_matches_torch_ops(x_shape, w_shape, threads):
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        gen = torch.Generator().manual_seed(0)
        x = 3 * torch.randn(*x_shape, generator=gen) + 1
        w, b = torch.randn(*w_shape, generator=gen), torch.randn(*w_shape, generator=gen)
        grad = torch.randn(*x_shape, generator=gen)
        ref = _forward_backward(_reference, x, w, b, grad)
        got = _forward_backward(fused.ln_mish, x, w, b, grad)
    finally:
        torch.set_num_threads(before)
    for name, r, g in zip(("out", "dx", "dw", "db"), ref, got, strict=True):
        assert g.shape == r.shape, name
        torch.testing.assert_close(g, r, rtol=1e-5, atol=1e-5, msg=name)


def test_kernel_takes_strided_rows_and_large_inputs():
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(16, 3, 40, generator=gen).transpose(0, 1)  # (3, 16, 40): rows strided, last dim contiguous
    w, b = torch.randn(3, 1, 40, generator=gen), torch.randn(3, 1, 40, generator=gen)
    torch.testing.assert_close(fused.ln_mish(x, w, b), _reference(x, w, b), rtol=1e-5, atol=1e-5)
    big = torch.tensor([[30.0, -30.0, 0.0, 1e-3] * 4])  # Mish's clamp at 20 and its negative tail
    one = torch.ones(16)
    torch.testing.assert_close(fused.ln_mish(big, one, 5 * one), _reference(big, one, 5 * one))


def test_custom_op_registration():
    gen = torch.Generator().manual_seed(2)
    args = (torch.randn(2, 5, 20, generator=gen, requires_grad=True), torch.randn(2, 20, generator=gen,
            requires_grad=True), torch.randn(2, 20, generator=gen, requires_grad=True), 1e-5)
    torch.library.opcheck(torch.ops.wmil.ln_mish.default, args)


def test_layers_use_the_kernel_only_when_asked():
    torch.manual_seed(0)
    layer, ens = NormedLinear(12, 24), EnsembleMLP(3, 12, [24, 24], 1)
    for p in [*layer.ln.parameters(), *ens.ln_weights, *ens.ln_biases]:
        p.data.normal_()  # non-trivial affine parameters
    x = torch.randn(6, 12)
    plain = layer(x), ens(x), ens(x.expand(3, 6, 12))
    assert not layer.fused and not ens.fused
    fused.enable(layer)
    fused.enable(ens)
    assert layer.fused and ens.fused
    calls = []
    original = fused._ln_mish
    fused._ln_mish = lambda *args: calls.append(1) or original(*args)
    try:
        kernel = layer(x), ens(x), ens(x.expand(3, 6, 12))
        assert len(calls) == 1 + 2 + 2  # one hidden layer in NormedLinear, two per ensemble call
        ens(x, fused=False)  # the gradient penalty's override
        assert len(calls) == 5
    finally:
        fused._ln_mish = original
    for a, b in zip(plain, kernel, strict=True):
        torch.testing.assert_close(b, a, rtol=1e-5, atol=1e-6)
    fused.enable(ens, False)
    assert not ens.fused
