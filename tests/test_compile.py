"""`compile=true` (torch.compile of the losses and the planner's return estimate) gives the eager results: with
inductor drawing from ATen's generator on CPU, compiled and eager agents consume the same random stream, so whole
update sequences and plans agree to float rounding."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import methods
from bench.wm_speed import build


@pytest.mark.parametrize(("method", "suite"), [("iqmpc", "metaworld"), ("cdred", "dmc")])
def test_compiled_updates_and_plans_match_eager(method, suite):
    torch.set_num_threads(1)
    eager = build("smoke", torch.device("cpu"), suite, compile=False, method=method)
    comp = build("smoke", torch.device("cpu"), suite, compile=True, method=method)
    assert isinstance(comp, methods.get(method)) and comp.cfg.compile and not eager.cfg.compile
    start = {n: p.detach().clone() for n, p in eager.model.named_parameters()}
    torch.manual_seed(7)
    m_e = [eager._update_once() for _ in range(3)]
    torch.manual_seed(7)
    m_c = [comp._update_once() for _ in range(3)]
    for a, b in zip(m_e, m_c, strict=True):
        for k in a:
            assert float(b[k]) == pytest.approx(float(a[k]), rel=1e-4, abs=1e-5), k
    with torch.no_grad():
        steps = [(n, p - start[n], q - start[n])
                 for (n, p), q in zip(eager.model.named_parameters(), comp.model.parameters(), strict=True)]
    for n, step_e, step_c in steps:
        # the same updates up to rounding, which Adam's first steps amplify where a gradient is ~0
        assert float((step_c - step_e).norm()) <= 1e-2 * float(step_e.norm()) + 1e-7, n
    obs = np.random.default_rng(0).normal(size=91).astype(np.float32)
    torch.manual_seed(3)
    a_e = eager.act(obs, eval=True, t0=True)
    torch.manual_seed(3)
    a_c = comp.act(obs, eval=True, t0=True)
    assert np.allclose(a_e, a_c, atol=1e-4)
