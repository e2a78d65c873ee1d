"""World-model core: sizes, vectorised ensemble, two-hot, encoders, buffer, schedule, MPPI."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from experts.demos import Episode
from methods.common.buffer import SliceBuffer
from methods.common.config import PlannerConfig, model_preset
from methods.common.ensemble import EnsembleMLP, dropout_multiplier, frozen_copy, polyak_update
from methods.common.layers import SimNorm, conv_encoder, mish
from methods.common.planner import MPPI
from methods.common.schedule import discount_heuristic, seed_steps, updates_due
from methods.common.twohot import RunningScale, TwoHot, symexp, symlog
from methods.common.world_model import WorldModel

torch.set_num_threads(1)  # small tensors: threads only add contention


def test_paper_model_has_exactly_the_printed_parameter_count():
    model = WorldModel((91,), 39, model_preset("paper"))
    assert model.num_learnable() == 4_274_259
    assert sum(p.numel() for p in model.target_qs.parameters() if p.requires_grad) == 0


def test_pixel_encoder_shapes_and_shift_augmentation():
    torch.manual_seed(0)
    enc = conv_encoder(9, 32)
    x = torch.randint(0, 255, (2, 9, 64, 64), dtype=torch.uint8)
    assert enc.eval()(x).shape == (2, 512)
    assert torch.equal(enc.eval()(x), enc.eval()(x))  # no augmentation in eval mode
    assert not torch.allclose(enc.train()(x), enc.eval()(x))  # random shifts in training
    model = WorldModel((9, 64, 64), 1, model_preset("smoke"))
    assert model.encode(x.unsqueeze(0)).shape == (1, 2, 16)


def test_simnorm_groups_sum_to_one_and_mish_matches_torch():
    x = torch.randn(4, 32)
    y = SimNorm(8)(x).view(4, 4, 8)
    assert torch.allclose(y.sum(-1), torch.ones(4, 4), atol=1e-6)
    x = torch.linspace(-30, 30, 1001)
    assert torch.allclose(mish(x), F.mish(x), atol=1e-5)


@pytest.mark.parametrize("out_dim", [3, 1])  # 1: the scalar head's dot-product path
def test_ensemble_vectorisation_equals_per_head_loop(out_dim):
    torch.manual_seed(0)
    ens = EnsembleMLP(5, 7, [16, 16], out_dim, dropout=0.0)
    for w in ens.weights:  # non-zero output layer so the check is informative
        torch.nn.init.normal_(w, std=0.3)
    for p in [*ens.biases, *ens.ln_weights, *ens.ln_biases]:
        torch.nn.init.normal_(p, std=0.3)
    x = torch.randn(11, 7)
    out = ens(x)
    loop = torch.stack([ens.head(i)(x) for i in range(5)])
    assert out.shape == (5, 11, out_dim)
    assert torch.allclose(out, loop, atol=1e-5)
    heads = torch.tensor([3, 1])
    assert torch.allclose(ens(x, heads=heads), loop[heads], atol=1e-5)
    xs = torch.randn(5, 11, 7)  # per-head inputs
    assert torch.allclose(ens(xs), torch.stack([ens.head(i)(xs[i]) for i in range(5)]), atol=1e-5)
    # gradients of the vectorised loss equal those of the loop
    ens(x).pow(2).sum().backward()
    g_first, g_last = ens.weights[0].grad.clone(), ens.weights[-1].grad.clone()
    heads_seq = [ens.head(i) for i in range(5)]
    for i, h in enumerate(heads_seq):
        h(x).pow(2).sum().backward()
        assert torch.allclose(g_first[i], h[0].weight.grad.t(), atol=1e-4)
        assert torch.allclose(g_last[i], h[-1].weight.grad.t(), atol=1e-4)



def test_ensemble_input_parts_equal_their_concatenation_and_skip_unneeded_input_gradients():
    torch.manual_seed(0)
    ens = EnsembleMLP(3, 7, [16], 2)
    for w in ens.weights:
        torch.nn.init.normal_(w, std=0.3)
    z, a = torch.randn(11, 5), torch.randn(11, 2, requires_grad=True)
    heads = torch.tensor([2, 0])
    assert torch.allclose(ens((z, a), heads=heads), ens(torch.cat([z, a], -1), heads=heads), atol=1e-6)
    ens((z, a), detach=True).sum().backward()
    assert a.grad is not None and z.grad is None

    def backward_flops(x) -> int:  # matmul FLOPs of forward + backward w.r.t. the action only
        with FlopCounterMode(display=False) as counter:
            ens(x, detach=True).sum().backward()
        return counter.get_total_flops()

    # the part that needs no gradient costs no input-gradient matmul (11 x 16 hidden, 3 heads: 2·11·48·5 FLOPs)
    assert backward_flops(torch.cat([z, a], -1)) - backward_flops((z, a)) == 2 * 11 * 48 * 5
    with pytest.raises(ValueError, match="in_dim=7"):
        ens((z, a[:, :1]))
    # the model's Q takes (latent, action) parts with any leading dims
    model = WorldModel((4,), 2, model_preset("smoke")).eval()  # no dropout
    for w in model.qs.weights:
        torch.nn.init.normal_(w, std=0.3)
    zz, aa = torch.rand(3, 6, 16), torch.rand(3, 6, 2)
    q = model.q_all(zz, aa)
    x = torch.cat([zz, aa], -1).reshape(-1, 18)
    assert q.shape == (3, 3, 6, 1) and torch.allclose(q.reshape(3, -1, 1), model.qs(x), atol=1e-6)
    with torch.no_grad():  # forward only: the concatenated input
        assert torch.allclose(model.q_all(zz, aa), q, atol=1e-6)

def test_dropout_multiplier_is_iid_bernoulli_at_rate_p_over_the_whole_tensor():
    torch.manual_seed(0)
    p, x = 0.01, torch.empty(40, 25_000)
    m = dropout_multiplier(x, p)
    assert m.shape == x.shape
    assert m.unique().tolist() == pytest.approx([0.0, 1 / (1 - p)])
    dropped = (m == 0).float()
    n = x.numel()
    assert abs(dropped.mean().item() - p) < 5 * (p * (1 - p) / n) ** 0.5  # 5 binomial standard errors
    tenth = dropped.view(10, -1).mean(1)  # every tenth of the tensor, the last one included, at rate p
    assert ((tenth - p).abs() < 5 * (p * (1 - p) / (n / 10)) ** 0.5).all()
    runs = torch.diff(torch.nonzero(dropped.flatten()).squeeze(1))  # gaps between drops: Geometric(p), mean 1/p
    assert abs(runs.float().mean().item() * p - 1) < 0.05
    torch.manual_seed(0)
    assert torch.equal(dropout_multiplier(x, p), m)  # drawn from torch's generator: seeded runs repeat


def test_ensemble_detach_blocks_parameter_gradients_only():
    ens = EnsembleMLP(2, 3, [4], 1)
    torch.nn.init.normal_(ens.weights[-1])
    x = torch.randn(5, 3, requires_grad=True)
    ens(x, detach=True).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert all(p.grad is None for p in ens.parameters())


def test_target_copy_and_polyak_update():
    ens = EnsembleMLP(2, 3, [4], 1)
    tgt = frozen_copy(ens)
    assert all(not p.requires_grad for p in tgt.parameters())
    assert ens.training and not tgt.training  # the target never samples dropout, from its construction on
    wm = WorldModel((5,), 2, model_preset("smoke"))
    assert wm.qs.training and not wm.target_qs.training
    wm.train()
    assert not wm.target_qs.training
    before = [p.clone() for p in tgt.parameters()]
    with torch.no_grad():
        for p in ens.parameters():
            p.add_(1.0)
    polyak_update(tgt, ens, 0.01)
    for b, t, s in zip(before, tgt.parameters(), ens.parameters(), strict=True):
        assert torch.allclose(t, 0.99 * b + 0.01 * s, atol=1e-6)


def test_twohot_round_trip_and_symlog():
    th = TwoHot(101, -10, 10)
    x = torch.tensor([[-50.0], [-1.3], [0.0], [0.7], [123.0]])
    assert torch.allclose(symexp(symlog(x)), x, rtol=1e-5)
    enc = th.encode(x)
    assert torch.allclose(enc.sum(-1), torch.ones(5))
    logits = torch.log(enc.clamp_min(1e-12))
    assert torch.allclose(th.decode(logits), x, rtol=1e-3, atol=1e-3)
    assert th.soft_ce(logits, x).shape == (5, 1)


def test_running_scale_tracks_percentile_range_with_floor():
    s = RunningScale(tau=0.5)
    s.update(torch.linspace(0, 0.5, 101))  # range < 1 -> floored at 1
    assert float(s.value) == pytest.approx(1.0)
    s.update(torch.linspace(0, 100, 101))  # 5-95 range = 90 -> EMA 0.5
    assert float(s.value) == pytest.approx(0.5 * 1.0 + 0.5 * 90.0, rel=1e-4)


def test_discount_and_seed_schedule():
    assert discount_heuristic(500) == pytest.approx(0.99)
    assert discount_heuristic(100) == pytest.approx(0.95)
    assert discount_heuristic(10_000) == pytest.approx(0.995)
    assert seed_steps(100) == 1000 and seed_steps(500) == 2500
    assert [updates_due(s, 1000) for s in (999, 1000, 1001)] == [0, 1000, 1]


def test_slice_buffer_online_and_episodes_never_cross_episode_boundaries():
    H = 3
    buf = SliceBuffer((2,), 1, H, capacity=4, seed=0)
    for ep in range(2):  # two online episodes of 5 steps; obs encode (episode, t)
        for t in range(5):
            obs, nxt = np.array([ep, t], np.float32), np.array([ep, t + 1], np.float32)
            buf.add(obs, np.array([10 * ep + t], np.float32), float(t), nxt, done=(t == 4))
    buf.add_episode(Episode(np.array([[7, t] for t in range(4)], np.float32), np.array([[70], [71], [72]], np.float32),
                            np.zeros(3, np.float32)))
    assert len(buf) == 13 and buf.num_episodes == 3 and buf.num_slices == 3 + 3 + 1  # T - H + 1 per episode
    b = buf.sample(64, torch.device("cpu"))
    assert b.obs.shape == (H + 1, 64, 2) and b.action.shape == (H, 64, 1) and b.reward.shape == (H, 64, 1)
    ep_id = b.obs[..., 0]
    assert torch.all(ep_id == ep_id[0])  # one episode per slice
    assert torch.all(b.obs[1:, :, 1] - b.obs[:-1, :, 1] == 1)  # consecutive steps
    online = ep_id[0] < 7
    assert torch.all(b.action[:, online, 0] == 10 * ep_id[:-1, online] + b.obs[:-1, online, 1])


def test_slice_buffer_state_round_trip_reproduces_samples():
    buf = SliceBuffer((1,), 1, 2, seed=3)
    buf.add_episode(Episode(np.arange(11, dtype=np.float32)[:, None], np.zeros((10, 1), np.float32),
                            np.zeros(10, np.float32)))
    state = buf.state_dict()
    other = SliceBuffer((1,), 1, 2, seed=99)
    other.load_state_dict(state)
    assert np.array_equal(buf.sample_starts(20), other.sample_starts(20))


def test_mppi_finds_the_optimum_of_a_concave_return():
    torch.manual_seed(0)
    target = torch.tensor([[0.3, -0.5], [0.1, 0.6], [-0.7, 0.2]])  # (H, A)

    def value(actions: torch.Tensor) -> torch.Tensor:  # concave: −Σ_t ‖a_t − a*_t‖²
        return -(actions - target.unsqueeze(1)).pow(2).sum(dim=(0, 2)).unsqueeze(-1)

    cfg = PlannerConfig(horizon=3, iterations=12, num_samples=512, num_elites=64, num_pi_trajs=0, temperature=10.0)
    mppi = MPPI(cfg, 2, torch.device("cpu"))
    a = mppi.plan(value, None, eval=True, t0=True)
    assert torch.allclose(a, target[0], atol=0.05)
    assert torch.allclose(mppi.prev_mean, target, atol=0.05)


def test_mppi_warm_start_shifts_the_previous_mean():
    cfg = PlannerConfig(iterations=1, num_samples=8, num_elites=2, num_pi_trajs=0, min_std=1e-4, max_std=1e-4)
    mppi = MPPI(cfg, 2, torch.device("cpu"))
    prev = torch.tensor([[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]])
    seen = []

    def value(actions: torch.Tensor) -> torch.Tensor:
        seen.append(actions.clone())
        return torch.zeros(actions.shape[1], 1)

    mppi.prev_mean.copy_(prev)
    mppi.plan(value, None, eval=True, t0=False)
    shifted = torch.tensor([[0.3, 0.4], [0.5, 0.6], [0.0, 0.0]])
    assert torch.allclose(seen[-1], shifted.unsqueeze(1).expand(3, 8, 2), atol=1e-3)
    mppi.plan(value, None, eval=True, t0=True)  # episode start: zero mean
    assert torch.allclose(seen[-1], torch.zeros(3, 8, 2), atol=1e-3)


def test_mppi_uses_policy_trajectories_and_noise_only_in_training():
    torch.manual_seed(0)
    best = torch.full((3, 2), 0.9)
    cfg = PlannerConfig(iterations=1, num_samples=32, num_elites=4, num_pi_trajs=4, max_std=0.05)

    def value(actions: torch.Tensor) -> torch.Tensor:
        return -(actions - best.unsqueeze(1)).pow(2).sum(dim=(0, 2)).unsqueeze(-1)

    mppi = MPPI(cfg, 2, torch.device("cpu"))
    a = mppi.plan(value, lambda n: best.unsqueeze(1).expand(3, n, 2), eval=True, t0=True)
    assert torch.allclose(a, best[0])  # the policy trajectories are the elites (Gaussian samples sit near 0)
    noisy = mppi.plan(value, lambda n: best.unsqueeze(1).expand(3, n, 2), eval=False, t0=True)
    assert not torch.allclose(noisy, best[0])


@pytest.mark.parametrize("rule", ["mean", "elite"])
def test_mppi_action_is_the_mean_or_a_drawn_elite(rule: str):
    """"mean" (the papers: a ~ N(μ*, σ*²), μ* in evaluation) returns the final mean's first step; "elite"
    (TD-MPC2's code) returns the first step of one sampled candidate sequence."""
    torch.manual_seed(0)
    target = torch.tensor([[0.3, -0.5], [0.1, 0.6], [-0.7, 0.2]])
    seen: list[torch.Tensor] = []

    def value(actions: torch.Tensor) -> torch.Tensor:
        seen.append(actions.clone())
        return -(actions - target.unsqueeze(1)).pow(2).sum(dim=(0, 2)).unsqueeze(-1)

    cfg = PlannerConfig(iterations=3, num_samples=64, num_elites=8, num_pi_trajs=0, action_select=rule)
    mppi = MPPI(cfg, 2, torch.device("cpu"))
    a = mppi.plan(value, None, eval=True, t0=True)
    is_candidate = bool((seen[-1][0] == a).all(dim=-1).any())
    if rule == "mean":
        assert torch.equal(a, mppi.prev_mean[0].clamp(-1, 1)) and not is_candidate
    else:
        assert is_candidate and not torch.equal(a, mppi.prev_mean[0])
    noisy = mppi.plan(value, None, eval=False, t0=True)
    assert not torch.equal(noisy, mppi.prev_mean[0])  # exploration noise in training, either rule


def test_planner_config_rejects_an_unknown_action_rule():
    with pytest.raises(ValueError, match="action_select"):
        PlannerConfig(action_select="median")


def test_obs_normalizer_standardises_with_floor_and_clip_before_the_encoder():
    wm = WorldModel((3,), 2, model_preset("smoke"))
    obs = torch.tensor([[1.0, 5.0, 0.0], [3.0, 5.0, 100.0]])
    raw = wm.encode(obs)
    wm.set_obs_norm(torch.tensor([2.0, 5.0, 0.0]), torch.tensor([1.0, 0.0, 1.0]))  # sd 0 is floored at 0.01
    want = torch.tensor([[-1.0, 0.0, 0.0], [1.0, 0.0, 10.0]])  # 100 clipped to 10
    torch.testing.assert_close(wm.obs_norm(obs), want)
    torch.testing.assert_close(wm.encode(obs), wm.encoder(want))
    assert not torch.allclose(wm.encode(obs), raw)
    assert wm.obs_norm(torch.tensor([[2.0, 5.02, 0.0]]))[0, 1].item() == pytest.approx(2.0)
    assert {"obs_norm.mean", "obs_norm.inv_std"} <= set(wm.state_dict())
    assert wm.num_learnable() == WorldModel((3,), 2, model_preset("smoke")).num_learnable()  # statistics are frozen
    with pytest.raises(ValueError, match="state"):
        WorldModel((9, 64, 64), 2, model_preset("smoke", num_channels=1)).set_obs_norm(torch.zeros(1), torch.ones(1))
