"""CDRED method (methods/cdred.py) on the world-model core: training metrics, planning return, StepLR, switches,
exact resume."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch

import methods
from envs.spec import EnvSpec
from experts.demos import Demos, Episode
from methods import Transition
from methods.cdred import CDRED, CDREDConfig, cdred_preset

SPEC = EnvSpec("metaworld", "toy", "state", (6,), 2, 10, 2, True)
CPU = torch.device("cpu")


@pytest.fixture(autouse=True)
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _demos(n: int = 3, T: int = 10) -> Demos:
    rng = np.random.default_rng(0)
    eps = [Episode(rng.normal(size=(T + 1, 6)).astype(np.float32), rng.uniform(-1, 1, (T, 2)).astype(np.float32),
                   np.zeros(T, np.float32)) for _ in range(n)]
    return Demos(eps)


def _make(seed: int = 0, spec: EnvSpec = SPEC, **kw) -> CDRED:
    return CDRED(cdred_preset("smoke", seed_steps=12, **kw), spec, _demos(), CPU, seed)


def _run(m: CDRED, steps: int, start: int = 1, seed: int = 0,
         constant_reward: bool = False) -> tuple[list[np.ndarray], dict[str, float]]:
    """Drive the method on a deterministic observation stream; returns the actions and the last metrics."""
    acts, met = [], {}
    for s in range(start, start + steps):
        rng = np.random.default_rng(1000 * seed + s)
        obs, nobs = rng.normal(size=6).astype(np.float32), rng.normal(size=6).astype(np.float32)
        a = m.act(obs, eval=False, t0=(s % 10 == 1))
        acts.append(a)
        m.observe(Transition(obs, a, 0.0 if constant_reward else float(obs[0]), nobs, False, s % 10 == 0))
        met = m.update(s) or met
    return acts, met


def test_registered_and_trains_with_diagnostics() -> None:
    assert methods.get("cdred") is CDRED
    m = _make()
    acts, met = _run(m, 16)
    assert all(a.shape == (2,) and np.all(np.abs(a) <= 1) for a in acts)
    for key in ("train/consistency", "train/value_loss", "train/pred_loss_expert", "train/pred_loss_behav",
                "train/pi_loss", "diag/reward_expert", "diag/reward_behav", "diag/reward_corr_batch", "train/lr"):
        assert key in met and np.isfinite(met[key]), key
    assert met["train/updates"] == 16  # burst of 12 at the end of seeding, then one per step
    assert met["train/pred_loss_behav"] > 0
    _, met = _run(_make(), 13, constant_reward=True)
    assert met["diag/reward_corr_batch"] == 0.0  # undefined correlation reported as 0 (computed without a host sync)


def test_plan_value_is_cdred_return() -> None:
    m = _make()
    _run(m, 13)
    z = m.model.encode(torch.randn(1, 6))
    acts = torch.rand(m.horizon, 7, 2) * 2 - 1
    torch.manual_seed(5)
    got = m._plan_value(z, acts)
    torch.manual_seed(5)
    with torch.no_grad():
        zz, want = z.expand(7, -1), 0.0
        for t in range(m.horizon):
            want = want + m.discount**t * m.reward.reward(zz, acts[t])
            zz = m.model.next(zz, acts[t])
        want = want + m.discount**m.horizon * m.model.Q(zz, m.model.pi(zz).action, "avg")
    assert got.shape == (7, 1)
    torch.testing.assert_close(got, want)


def test_step_lr_and_suite_defaults() -> None:
    m = _make(lr_step=5)
    _run(m, 13)  # 13 updates: two StepLR decays
    lrs = [g["lr"] for g in m.optim.param_groups]
    assert lrs[1] == pytest.approx(3e-4 * 0.01) and lrs[0] == pytest.approx(3e-4 * 0.3 * 0.01)
    assert m.pi_optim.param_groups[0]["lr"] == pytest.approx(3e-4 * 0.01)
    assert _make().sched.step_size == 500_000
    dmc = EnvSpec("dmc", "toy", "state", (6,), 2, 10, 2, False)
    assert _make(spec=dmc).sched.step_size == 2_000_000


def test_paper_architecture_sizes() -> None:
    cfg = cdred_preset("paper")
    rc = cfg.reward_config()
    assert (rc.embed_dim, rc.num_targets, rc.zeta, rc.alpha, rc.g) == (64, 5, 0.8, 0.9, "identity")
    assert rc.target_hidden == rc.predictor_hidden == (512, 512)
    assert cfg.mpc and cfg.model.latent_dim == 512 and cfg.model.critic == "twohot"
    rel = cdred_preset("paper", reward_sizes="released").reward_config()
    assert (rel.embed_dim, rel.target_hidden, rel.predictor_hidden) == (256, (512, 512), (1024, 1024, 1024))
    with pytest.raises(ValueError):
        CDREDConfig(reward_input="pixels")
    assert cdred_preset("cpu").reward_config().predictor_hidden == (128, 128)  # follows the cpu model's width
    wide = cdred_preset("cpu", reward_width=512).reward_config()
    assert wide.target_hidden == wide.predictor_hidden == (512, 512) and wide.embed_dim == 64
    for bad in ({"reward_width": 0}, {"reward_width": 256, "reward_sizes": "released"}):
        with pytest.raises(ValueError, match="reward_width"):
            cdred_preset("cpu", **bad)


def test_switches_policy_acting_obs_input_uncoupled() -> None:
    m = _make(mpc=False)
    _run(m, 14)
    assert torch.count_nonzero(m.planner.prev_mean) == 0  # never planned
    m = _make()
    _run(m, 14)
    assert torch.count_nonzero(m.planner.prev_mean) > 0
    m = _make(reward_input="obs")
    assert m.reward.targets.in_dim == 6 + 2
    _, met = _run(m, 14)
    assert np.isfinite(met["diag/reward_expert"])
    m = _make(coupled=False)
    assert m.reward.behav is None
    _, met = _run(m, 13)
    assert met["train/pred_loss_behav"] == 0.0


@pytest.mark.parametrize("latent_grad", [True, False])
def test_predictor_loss_reaches_the_encoder_only_with_reward_latent_grad(latent_grad: bool) -> None:
    m = _make(reward_latent_grad=latent_grad, consistency_coef=0.0, value_coef=0.0)  # loss = 0.1 (L_E + L_π)
    _run(m, 13)
    obs, act = torch.randn(m.horizon + 1, 8, 6), torch.rand(m.horizon, 8, 2) * 2 - 1
    m.optim.zero_grad(set_to_none=True)
    loss, _, met = m._losses_eager(obs, act, torch.zeros(m.horizon, 4, 1), 4)
    loss.backward()
    assert loss.item() == pytest.approx(0.1 * (met["train/pred_loss_expert"] + met["train/pred_loss_behav"]).item())
    enc = sum(p.grad.abs().sum().item() for p in m.model.encoder.parameters() if p.grad is not None)
    pred = sum(p.grad.abs().sum().item() for p in m.reward.predictor_parameters() if p.grad is not None)
    assert pred > 0 and ((enc > 0) if latent_grad else (enc == 0))


@pytest.mark.parametrize("reward_input", ["latent", "obs"])
def test_reward_estimates_are_the_cdred_reward_of_each_step(reward_input: str) -> None:
    m = _make(reward_input=reward_input)
    _run(m, 14)
    ep = _demos(1, T=7).episodes[0]
    r = m.reward_estimates(ep.obs, ep.action)
    with torch.no_grad():
        x = torch.as_tensor(ep.obs[:-1])
        x = m.model.encode(x) if reward_input == "latent" else x
        ref = m.reward.reward(x, torch.as_tensor(ep.action)).squeeze(-1).numpy()
    assert r.shape == (7,) and np.allclose(r, ref, atol=1e-6)
    terms = m.reward_terms(ep.obs, ep.action)
    assert set(terms) == {"expert", "behaviour"} and np.allclose(terms["expert"] + terms["behaviour"], r, atol=1e-6)
    assert m.model.training  # the diagnostic leaves the training mode as it was


def test_obs_norm_standardises_with_the_demos_statistics() -> None:
    obs = np.concatenate([ep.obs for ep in _demos().episodes]).astype(np.float64)
    m = _make(obs_norm="demos")
    torch.testing.assert_close(m.model.obs_norm.mean, torch.as_tensor(obs.mean(0), dtype=torch.float32))
    torch.testing.assert_close(m.model.obs_norm.inv_std, torch.as_tensor(1 / np.maximum(obs.std(0), 0.01),
                                                                         dtype=torch.float32))
    plain = _make()
    assert plain.model.obs_norm is None and "obs_norm.mean" not in plain.model.state_dict()
    for name, p in plain.model.named_parameters():  # the same initial weights: only the encoder's input differs
        assert torch.equal(p, dict(m.model.named_parameters())[name])
    with pytest.raises(ValueError, match="obs_norm"):
        CDREDConfig(obs_norm="running")


@pytest.mark.parametrize("obs_norm", ["none", "demos"])
def test_exact_resume(obs_norm: str) -> None:
    a = _make(seed=3, obs_norm=obs_norm)
    _run(a, 14, seed=1)
    buf = io.BytesIO()
    torch.save(a.state_dict(), buf)
    acts_a, met_a = _run(a, 4, start=15, seed=1)
    buf.seek(0)
    b = _make(seed=99, obs_norm=obs_norm)  # different init: all must come from the checkpoint, frozen targets too
    if obs_norm == "demos":
        b.model.obs_norm.mean.add_(1.0)  # the statistics must come from the checkpoint too
    b.load_state_dict(torch.load(buf, weights_only=False))
    acts_b, met_b = _run(b, 4, start=15, seed=1)
    for x, y in zip(acts_a, acts_b, strict=True):
        np.testing.assert_array_equal(x, y)
    assert met_a == met_b
    for (k, v), (k2, v2) in zip(a.reward.state_dict().items(), b.reward.state_dict().items(), strict=True):
        assert k == k2 and torch.equal(v, v2)
