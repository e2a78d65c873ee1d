"""CDRED reward model (methods/cdred_reward.py): Lemma 1, coupling, loss/reward values, checkpoint round trip."""

from __future__ import annotations

import io
import math

import pytest
import torch

from methods.cdred_reward import CDREDReward, CDREDRewardConfig, occupancy_stat


@pytest.fixture(autouse=True)
def _one_thread():
    """One intra-op thread: these tiny nets are slower with more on a shared 2-core machine."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


SMALL = dict(embed_dim=8, target_hidden=(32, 32), predictor_hidden=(32, 32))


def _model(in_dim: int = 3, action_dim: int = 2, seed: int = 0, **kw) -> CDREDReward:
    torch.manual_seed(seed)
    return CDREDReward(in_dim, action_dim, CDREDRewardConfig(**{**SMALL, **kw}))


def _f_star(c: torch.Tensor, n: int, g: torch.Generator) -> torch.Tensor:
    """Optimal predictor (Eq. 8) for an input seen n times: mean of n target draws c_k, k ~ U[0, K)."""
    K, M, p = c.shape
    idx = torch.randint(K, (n, M, p), generator=g)
    return torch.gather(c.unsqueeze(0).expand(n, K, M, p), 1, idx.unsqueeze(1)).squeeze(1).mean(0)


def test_lemma1_statistic_is_unbiased_for_inverse_count() -> None:
    g = torch.Generator().manual_seed(0)
    K, M, p = 5, 4000, 16
    c = torch.randn(K, M, p, generator=g) + 0.5 * torch.randn(1, M, p, generator=g)  # non-zero target means
    mu, b2 = c.mean(0), c.pow(2).mean(0)
    m = _model(alpha=0.0)  # b = ε
    eps_prev = math.inf
    for n in (1, 2, 4, 8, 16):
        y = occupancy_stat(_f_star(c, n, g), mu, b2)
        assert y.mean().item() == pytest.approx(1 / n, rel=0.05)
        assert y.mean().sqrt().item() == pytest.approx(math.sqrt(1 / n), rel=0.03)  # √ of the unbiased estimate
        eps = m.bonus(_f_star(c, n, g), mu, b2).mean().item()
        assert eps < eps_prev  # the per-sample ε of Eq. 9 falls with the count
        eps_prev = eps


def test_lemma1_with_a_trained_predictor() -> None:
    """Inputs seen n ∈ {1, 4, 16} times, each occurrence regressing onto its own random target draw: the trained
    expert predictor reaches f* and the statistic from the model's own targets averages ≈ 1/n per group."""
    torch.manual_seed(0)
    ns, per = (1, 4, 16), 32
    M = per * len(ns)
    m = CDREDReward(M, 1, CDREDRewardConfig(embed_dim=8, target_hidden=(32,), predictor_hidden=(64,)))
    xa = torch.cat([torch.eye(M), torch.zeros(M, 1)], -1)  # one-hot inputs (raw-input mode)
    counts = torch.tensor([n for n in ns for _ in range(per)])
    rows = torch.repeat_interleave(torch.arange(M), counts)
    c_all = m.targets(xa)  # (K, M, p)
    ks = torch.randint(5, (len(rows),))
    c = c_all[ks, rows]
    opt = torch.optim.Adam(m.expert.parameters(), lr=5e-3)
    for _ in range(250):
        loss = m._pred_loss(m.expert, xa[rows], c).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        f_star = torch.zeros(M, 8).index_add_(0, rows, c) / counts[:, None]
        f = m.expert(xa)
        assert (f - f_star).abs().max() < 0.05
        _, mu, b2 = m.moments(xa)
        y = occupancy_stat(f, mu, b2)
    for i, n in enumerate(ns):
        assert y[i * per:(i + 1) * per].mean().item() == pytest.approx(1 / n, rel=0.25, abs=0.01)


def test_coupling_expert_only_pairs_get_higher_reward() -> None:
    torch.manual_seed(0)
    m = _model(in_dim=2, action_dim=1)
    opt = torch.optim.Adam(m.predictor_parameters(), lr=1e-3)

    def cloud(centre: float, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        x = centre + 0.1 * torch.randn(2, n, 2)  # (T=2, B, 2)
        return x, torch.full((2, n, 1), centre / 2)

    for _ in range(200):
        (xe, ae), (xb, ab) = cloud(1.0, 64), cloud(-1.0, 64)
        l_e, l_b = m.loss(xe, ae, xb, ab, lam=0.5)
        opt.zero_grad()
        (l_e + l_b).backward()
        opt.step()
    with torch.no_grad():
        (xe, ae), (xb, ab) = cloud(1.0, 256), cloud(-1.0, 256)
        r_e, r_b = m.reward(xe, ae), m.reward(xb, ab)
    assert r_e.shape == (2, 256, 1)
    assert r_e.mean() > r_b.mean()
    assert (r_e.flatten() > r_b.flatten().median()).float().mean() > 0.95


def test_bonus_and_reward_against_hand_computed_values() -> None:
    m = _model(alpha=0.9)
    f, mu, b2 = torch.tensor([[1.0, 2.0]]), torch.tensor([[0.0, 1.0]]), torch.tensor([[1.0, 2.0]])
    # y = [(1-0)/(1-0), (4-1)/(2-1)] = [1, 3];  ε = (1 + √3)/2;  ‖f-μ‖² = 2
    expected = 0.9 * 2.0 + 0.1 * (1 + math.sqrt(3)) / 2
    assert m.bonus(f, mu, b2).item() == pytest.approx(expected, rel=1e-6)
    # negative y (f² < μ²) enters ε through |y| (released code)
    assert m.bonus(torch.tensor([[0.5]]), torch.tensor([[1.0]]), torch.tensor([[2.0]])).item() == pytest.approx(
        0.9 * 0.25 + 0.1 * math.sqrt(0.75))


@pytest.mark.parametrize("g", ["identity", "exp"])
@pytest.mark.parametrize("coupled", [True, False])
def test_reward_matches_per_head_computation(g: str, coupled: bool) -> None:
    m = _model(g=g, coupled=coupled, sigma=0.7)
    x, a = torch.randn(6, 3), torch.rand(6, 2) * 2 - 1
    xa = torch.cat([x, a], -1)
    with torch.no_grad():
        c = torch.stack([m.targets.head(k)(xa) for k in range(5)])  # plain per-head nets
        mu, b2 = c.mean(0), c.pow(2).mean(0)

        def b(f: torch.Tensor) -> torch.Tensor:
            y = ((f**2 - mu**2) / (b2 - mu**2)).abs()
            return 0.9 * ((f - mu) ** 2).sum(-1) + 0.1 * y.sqrt().mean(-1)

        gf = torch.exp if g == "exp" else (lambda v: v)
        want = gf(-0.7 * b(m.expert(xa)))
        if coupled:
            want = 0.8 * want - 0.2 * gf(-0.7 * b(m.behav(xa)))
        got = m.reward(x, a)
    assert got.shape == (6, 1)
    torch.testing.assert_close(got.squeeze(-1), want, rtol=1e-5, atol=1e-5)
    assert (m.behav is None) == (not coupled)
    with torch.no_grad():
        r_e, r_b = m.reward_terms(x, a)  # Eq. 5's summands: they add up to R exactly
    assert r_e.shape == r_b.shape == (6, 1) and torch.equal(r_e + r_b, got)
    torch.testing.assert_close(r_e.squeeze(-1), (0.8 if coupled else 1.0) * gf(-0.7 * b(m.expert(xa))).detach())
    if not coupled:
        assert torch.count_nonzero(r_b) == 0


def test_loss_against_hand_computed_value() -> None:
    m = _model(loss_reduction="mean")
    T, B = 3, 4
    xe, ae, xb, ab = torch.randn(T, B, 3), torch.randn(T, B, 2), torch.randn(T, B, 3), torch.randn(T, B, 2)
    l_e, l_b = m.loss(xe, ae, xb, ab, lam=0.5, k=2)
    tgt = m.targets.head(2)
    with torch.no_grad():
        want_e = want_b = 0.0
        for t in range(T):
            for x, a, net, acc in ((xe, ae, m.expert, "e"), (xb, ab, m.behav, "b")):
                xa = torch.cat([x[t], a[t]], -1)
                v = 0.5**t * ((net(xa) - tgt(xa)) ** 2).mean().item()
                if acc == "e":
                    want_e += v
                else:
                    want_b += v
    assert l_e.item() == pytest.approx(want_e / T, rel=1e-5)
    assert l_b.item() == pytest.approx(want_b / T, rel=1e-5)
    l_sum, _ = _model(loss_reduction="sum").loss(xe, ae, xb, ab, lam=0.5, k=2)
    assert l_sum.item() == pytest.approx(8 * l_e.item(), rel=1e-5)  # same init (seed 0), p = 8
    # gradients reach the inputs through the predictors, never the frozen targets
    xe.requires_grad_(True)
    l_e, _ = m.loss(xe, ae, xb, ab, lam=0.5)
    l_e.backward()
    assert xe.grad is not None and xe.grad.abs().sum() > 0
    assert all(p.grad is None for p in m.targets.parameters())


def test_target_index_draws() -> None:
    torch.manual_seed(0)
    m_u, m_s = _model(), _model(target_index="sample")
    xa = torch.randn(64, 5)
    out_u = m_u.target_outputs(xa)
    heads = [m_u.targets.head(k)(xa) for k in range(5)]
    assert any(torch.allclose(out_u, h, atol=1e-6) for h in heads)  # one network for the whole update
    out_s = m_s.target_outputs(xa)
    per_row = [[k for k in range(5) if torch.allclose(out_s[i], heads[k][i], atol=1e-6)] for i in range(64)]
    assert all(len(p) == 1 for p in per_row) and len({p[0] for p in per_row}) > 1  # a draw per element


def test_checkpoint_round_trip_keeps_frozen_targets() -> None:
    a, b = _model(seed=0), _model(seed=1)
    x, act = torch.randn(5, 3), torch.randn(5, 2)
    assert not torch.allclose(a.reward(x, act), b.reward(x, act))
    state = a.state_dict()
    assert any(k.startswith("targets.") for k in state)
    assert all(not p.requires_grad for p in a.targets.parameters())
    assert {id(p) for p in a.predictor_parameters()}.isdisjoint({id(p) for p in a.targets.parameters()})
    buf = io.BytesIO()
    torch.save(state, buf)
    buf.seek(0)
    b.load_state_dict(torch.load(buf))
    torch.testing.assert_close(a.targets(torch.cat([x, act], -1)), b.targets(torch.cat([x, act], -1)))
    torch.testing.assert_close(a.reward(x, act), b.reward(x, act))


def test_released_sizes_switch() -> None:
    cfg = CDREDRewardConfig.released_sizes()
    m = CDREDReward(4, 2, cfg)
    assert m.targets.out_dim == 256 and m.targets.num_heads == 5
    assert [w.shape[-1] for w in m.targets.weights] == [512, 512, 256]
    lin = [mod for mod in m.expert.modules() if isinstance(mod, torch.nn.Linear)]
    assert [mod.out_features for mod in lin] == [1024, 1024, 1024, 256]
    assert CDREDRewardConfig().embed_dim == 64
