"""IQ-MPC: loss terms, Theorem 1, reward decoding, gradient penalty, Algorithm 1, presets, exact resume."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch

import methods
from envs.spec import EnvSpec
from experts.demos import Demos, Episode
from methods.base import Transition
from methods.iqmpc import (
    IQMPC,
    chi2_term,
    decode_reward,
    expert_term,
    gradient_penalty,
    initial_value_term,
    iqmpc_preset,
    td_value_term,
)

torch.set_num_threads(1)  # small tensors: threads only add contention

T = lambda *x: torch.tensor(x, dtype=torch.float32)  # noqa: E731


def _spec(suite: str = "metaworld") -> EnvSpec:
    return EnvSpec(suite, "toy", "state", (5,), 2, 20, 2, suite != "dmc")


def _demos(n: int = 3, seed: int = 0) -> Demos:
    rng = np.random.default_rng(seed)
    return Demos([Episode(rng.normal(size=(21, 5)).astype(np.float32), rng.uniform(-1, 1, (20, 2)).astype(np.float32),
                          rng.normal(size=20).astype(np.float32)) for _ in range(n)])


def _agent(seed: int = 0, suite: str = "metaworld", **overrides) -> IQMPC:
    return IQMPC(iqmpc_preset("smoke", seed_steps=25, **overrides), _spec(suite), _demos(), torch.device("cpu"), seed)


def _drive(agent: IQMPC, steps: int, rng: np.random.Generator, obs: np.ndarray) -> tuple[np.ndarray, dict, list]:
    metrics, actions = {}, []
    for _ in range(steps):
        a = agent.act(obs, eval=False, t0=len(agent.buffer) % 20 == 0)
        nxt = rng.normal(size=5).astype(np.float32)
        agent.observe(Transition(obs, a, float(nxt[0]), nxt, False, len(agent.buffer) % 20 == 19))
        metrics = agent.update(len(agent.buffer)) or metrics
        actions.append(a)
        obs = nxt
    return obs, metrics, actions


# ----- loss terms against hand-computed values ----------------------------------------------------------------------
def test_loss_terms_match_hand_computed_values():
    assert float(expert_term(T(1, 2), T(0.5, 1))) == pytest.approx(-0.75)
    assert float(chi2_term(T(1, 2, 3), T(0, 0, 1), alpha=0.5)) == pytest.approx((1 + 4 + 4) / 3 / 2)
    assert float(initial_value_term(T(2, 4), gamma=0.9)) == pytest.approx(0.1 * 3)
    assert float(td_value_term(T(1, 2), T(2, 2), gamma=0.5)) == pytest.approx(0.5)
    assert float(td_value_term(T(1, 2), T(2, 2), gamma=0.5, weight=T(3, 1))) == pytest.approx(0.25)
    assert float(decode_reward(T(3), T(2), 0.5)) == pytest.approx(2.0)


def test_theorem1_td_form_equals_initial_state_form_on_a_small_chain():
    """E_ρ[V(s) − γ E_{s'}V(s')] = (1 − γ) E_{p0}[V(s0)] under the discounted occupancy ρ of π."""
    g = torch.Generator().manual_seed(0)
    n_s, n_a, gamma = 4, 2, 0.9
    P = torch.rand(n_s, n_a, n_s, generator=g, dtype=torch.float64)
    P /= P.sum(-1, keepdim=True)
    pi = torch.rand(n_s, n_a, generator=g, dtype=torch.float64)
    pi /= pi.sum(-1, keepdim=True)
    p0 = torch.tensor([0.7, 0.3, 0.0, 0.0], dtype=torch.float64)
    V = torch.randn(n_s, generator=g, dtype=torch.float64)
    P_pi = torch.einsum("sa,sat->st", pi, P)
    d = (1 - gamma) * torch.linalg.solve((torch.eye(n_s, dtype=torch.float64) - gamma * P_pi).T, p0)
    rho = d[:, None] * pi  # (s, a) occupancy, sums to 1
    assert float(rho.sum()) == pytest.approx(1.0)
    v_sa = V[:, None].expand(n_s, n_a)
    v_next = torch.einsum("sat,t->sa", P, V)
    lhs = td_value_term(v_sa, v_next, gamma, weight=rho)
    rhs = initial_value_term(V, gamma, weight=p0)
    assert float(lhs) == pytest.approx(float(rhs), rel=1e-10)
    # and the identity is not trivial: a wrong distribution breaks it
    assert float(td_value_term(v_sa, v_next, gamma, weight=torch.ones_like(rho))) != pytest.approx(float(rhs))


def test_gradient_penalty_is_zero_for_unit_gradient_linear_q():
    w = T(0.6, 0.8, 0.0)  # ‖w‖ = 1
    x = torch.randn(7, 3)
    pen = gradient_penalty(lambda xe: xe @ w.view(3, 1), x, num_heads=2)
    assert pen.shape == (2, 7)
    assert torch.allclose(pen, torch.zeros(2, 7), atol=1e-12)
    pen2 = gradient_penalty(lambda xe: xe @ (2 * w).view(3, 1), x, num_heads=2)
    assert torch.allclose(pen2, torch.ones(2, 7))  # (2 − 1)²
    # gradients reach the critic's parameters
    wp = (2 * w).clone().requires_grad_(True)
    gradient_penalty(lambda xe: xe @ wp.view(3, 1), x, num_heads=1).mean().backward()
    assert torch.allclose(wp.grad, 2 * (2 - 1) * w, atol=1e-6)  # d/dw (‖w‖ − 1)² = 2(‖w‖ − 1) w/‖w‖


# ----- the method ---------------------------------------------------------------------------------------------------
def test_paper_preset_matches_appendix_a():
    c = iqmpc_preset("paper")
    assert (c.iq_coef, c.consistency_coef, c.pi_coef, c.gp_coef) == (0.1, 20.0, 1.0, 1.0)
    assert (c.rho, c.tau, c.lr, c.alpha, c.beta) == (0.5, 0.01, 3e-4, 0.5, 1e-4)
    assert (c.batch_size, c.expert_batch_size) == (256, 256)
    p = c.planner
    assert (p.iterations, p.num_samples, p.num_elites, p.num_pi_trajs) == (6, 512, 64, 24)
    assert (p.horizon, p.temperature, p.min_std, p.max_std) == (3, 0.5, 0.05, 2.0)
    assert c.value_form == "initial" and c.grad_penalty == "auto" and c.planner_entropy == "action"
    assert methods.get("iqmpc") is IQMPC
    with pytest.raises(ValueError):
        iqmpc_preset("smoke", value_form="bogus")
    with pytest.raises(ValueError, match="'action', 'policy'"):
        iqmpc_preset("smoke", planner_entropy="sample")


def test_config_round_trips_through_plain_dicts():
    from dataclasses import asdict

    from methods.iqmpc import IQMPCConfig

    c = iqmpc_preset("cpu", planner={"iterations": 3}, model={"latent_dim": 32}, value_form="td")
    assert c.planner.iterations == 3 and c.planner.num_samples == 128 and c.model.latent_dim == 32
    assert IQMPCConfig(**asdict(c)) == c  # what the runner does with a JSON config


def test_gradient_penalty_default_follows_the_suite():
    assert _agent(suite="metaworld").use_gp and _agent(suite="myosuite").use_gp
    assert not _agent(suite="dmc").use_gp
    assert _agent(suite="dmc", grad_penalty="on").use_gp and not _agent(grad_penalty="off").use_gp


@pytest.mark.parametrize("value_form", ["initial", "td"])
def test_combined_model_loss_equals_a_per_step_per_head_reference(value_form):
    """The assembled loss 20·Eq.11 + 0.1·Eq.12 (λ-weighted over t, divided by H) against a plain loop over time
    steps and heads, with dropout off, 2 heads (so 'min of 2 random heads' is the min of both) and noise-free π."""
    agent = _agent(value_form=value_form, model={"num_q": 2, "dropout": 0.0})
    m, c, H, g = agent.model, agent.cfg, agent.horizon, agent.discount
    torch.manual_seed(0)
    for p in (*m.qs.parameters(), *m.pi_net.parameters()):
        torch.nn.init.normal_(p, std=0.3)
    for p in m.target_qs.parameters():
        p.data.add_(0.1 * torch.randn_like(p))
    pi = m.pi
    m.pi = lambda z, eps=None: pi(z, eps=torch.zeros(*z.shape[:-1], 2))
    B, n_e = 6, 3
    obs, action, reward = torch.randn(H + 1, B, 5), torch.rand(H, B, 2) * 2 - 1, torch.randn(H, B, 1)
    with torch.no_grad():
        loss, _, metrics = agent._losses_eager(obs, action, reward, n_e)

        def q_head(e, z, a, target=False):
            net = m.target_qs if target else m.qs
            return net.head(e).eval()(torch.cat([z, a], -1))

        def v_head(e, z, target=False):
            p = m.pi(z)
            return q_head(e, z, p.action, target) - c.beta * p.log_prob

        zs = [m.encode(obs[0])]
        for t in range(H):
            zs.append(m.next(zs[t], action[t]))
        cons = iq = 0.0
        for t in range(H):
            s_next = m.encode(obs[t + 1])
            cons += c.rho**t * float(((zs[t + 1] - s_next) ** 2).mean())
            y = g * torch.minimum(v_head(0, s_next, True), v_head(1, s_next, True))
            expert = chi2 = value = 0.0
            for e in range(2):
                d = q_head(e, zs[t], action[t]) - y
                expert += -float(d[:n_e].mean()) / 2
                chi2 += float((d**2).mean()) / (4 * c.alpha) / 2
                if value_form == "initial":
                    value += (1 - g) * float(v_head(e, zs[0][:n_e]).mean()) / 2
                else:
                    value += float((v_head(e, zs[t][n_e:]) - g * v_head(e, s_next[n_e:])).mean()) / 2
            iq += c.rho**t * (expert + value + chi2)
    cons, iq = cons / H, iq / H
    assert float(metrics["train/consistency"]) == pytest.approx(cons, rel=1e-5)
    assert float(metrics["train/iq_loss"]) == pytest.approx(iq, rel=1e-5, abs=1e-6)
    gp = float(metrics["train/grad_penalty"]) if agent.use_gp else 0.0  # Eq. 14 is checked on its own below
    assert float(loss) == pytest.approx(20 * cons + 0.1 * iq + c.gp_coef * gp, rel=1e-5, abs=1e-6)


@pytest.mark.parametrize("value_form", ["initial", "td"])
def test_update_runs_and_reports_namespaced_diagnostics(value_form):
    agent = _agent(value_form=value_form)
    _, metrics, _ = _drive(agent, 30, np.random.default_rng(0), np.zeros(5, np.float32))
    assert agent.num_updates == 30
    for key in ("train/consistency", "train/iq_loss", "train/pi_loss", "train/grad_penalty", "diag/q_diff",
                "diag/reward_corr_batch"):
        assert np.isfinite(metrics[key]), key
    assert all("/" in k for k in metrics)


def test_reward_decoding_is_q_minus_discounted_next_value():
    agent = _agent()
    ep = _demos(1, seed=5).episodes[0]
    torch.manual_seed(3)
    r = agent.decode_rewards(ep.obs, ep.action)
    m, beta, g = agent.model, agent.cfg.beta, agent.discount
    torch.manual_seed(3)
    with torch.no_grad():
        m.eval()
        z, a = m.encode(torch.as_tensor(ep.obs[:-1])), torch.as_tensor(ep.action)
        q = m.Q(z, a, "all").mean(0)
        z_next = m.next(z, a)  # the paper's z' ~ d(z, a) (§5.2)
        p = m.pi(z_next)
        v_next = (m.Q(z_next, p.action, "all") - beta * p.log_prob).mean(0)
    assert r.shape == (20,)
    assert np.allclose(r, (q - g * v_next).squeeze(-1).numpy(), atol=1e-6)
    torch.manual_seed(3)
    assert np.array_equal(agent.reward_estimates(ep.obs, ep.action), r)  # the runner's diagnostic hook


def _planning_agent(**overrides) -> tuple[IQMPC, torch.Tensor, torch.Tensor]:
    """A smoke agent (all Q heads in planning, a non-trivial Q head, eval mode), a start latent and 6 random H-step
    action sequences."""
    agent = _agent(planner_q_reduce="all", **overrides)
    torch.nn.init.normal_(agent.model.qs.weights[-1], std=0.5)
    agent.model.eval()
    return agent, agent.model.encode(torch.randn(1, 5)), torch.rand(agent.horizon, 6, 2) * 2 - 1


def test_planner_return_follows_algorithm_1():
    agent, z0, actions = _planning_agent(entropy_action_dim_scale=True)
    m, H, g, beta, A = agent.model, agent.horizon, agent.discount, agent.cfg.beta, 2
    torch.manual_seed(11)
    with torch.no_grad():
        got = agent._plan_value_eager(z0, actions)
        torch.manual_seed(11)
        eps = torch.randn(H, 6, A)
        phi, z = torch.zeros(6, 1), z0.expand(6, -1)
        for t in range(H):
            z_next = m.next(z, actions[t])
            p = m.pi(z_next, eps=eps[t])
            v_next = m.Q(z_next, p.action, "all").mean(0) - beta * A * p.log_prob
            r = m.Q(z, actions[t], "all").mean(0) - g * v_next
            phi = phi + g**t * (r - beta * A * m.log_prob_of(z, actions[t]))
            z = z_next
        phi = phi + g**H * v_next
    assert torch.allclose(got, phi, atol=1e-5)


def test_planned_return_telescopes_to_the_first_q_plus_advantages():
    """With rewards decoded from Q (Eq. 15) and the terminal value from the same Q, Algorithm 1's return is
    Q(z_0, a_0) + Σ_{t=1}^{H−1} γ^t [Q(z_t, a_t) − V(z_t)] (entropy terms off here, β = 0): the dynamics reach the
    planner only through advantages at the rolled-out latents, never through V's slope over states (why a Q that
    prefers small actions parks the agent; bench/results/README.md, fourteenth session)."""
    agent, z0, actions = _planning_agent(beta=0.0)
    m, H, g = agent.model, agent.horizon, agent.discount
    assert H >= 2
    torch.manual_seed(11)
    with torch.no_grad():
        got = agent._plan_value_eager(z0, actions)
        torch.manual_seed(11)
        eps = torch.randn(H, 6, 2)  # the planner's samples â_{t+1} ~ π(·|z_{t+1})
        zs = [z0.expand(6, -1)]
        for t in range(H):
            zs.append(m.next(zs[-1], actions[t]))
        want = m.Q(zs[0], actions[0], "all").mean(0)
        for t in range(1, H):
            v = m.Q(zs[t], m.pi(zs[t], eps=eps[t - 1]).action, "all").mean(0)
            want = want + g**t * (m.Q(zs[t], actions[t], "all").mean(0) - v)
    assert torch.allclose(got, want, atol=1e-5)


def test_planner_entropy_policy_form_uses_a_policy_sample_at_each_step():
    """`planner_entropy="policy"` (released code): −β log π(â_t|z_t) with â_t ~ π(·|z_t) replaces the planned
    action's log-density; everything else as in Algorithm 1."""
    agent, z0, actions = _planning_agent(planner_entropy="policy")
    m, H, g, beta = agent.model, agent.horizon, agent.discount, agent.cfg.beta
    torch.manual_seed(11)
    with torch.no_grad():
        got = agent._plan_value_eager(z0, actions)
        torch.manual_seed(11)
        eps_now, eps_next = torch.randn(H, 6, 2), torch.randn(H, 6, 2)
        phi, z = torch.zeros(6, 1), z0.expand(6, -1)
        for t in range(H):
            z_next = m.next(z, actions[t])
            p = m.pi(z_next, eps=eps_next[t])
            v_next = m.Q(z_next, p.action, "all").mean(0) - beta * p.log_prob
            r = m.Q(z, actions[t], "all").mean(0) - g * v_next
            phi = phi + g**t * (r - beta * m.pi(z, eps=eps_now[t]).log_prob)
            z = z_next
        phi = phi + g**H * v_next
    assert torch.allclose(got, phi, atol=1e-5)


def test_action_form_entropy_rewards_actions_far_from_a_narrow_policy():
    """Why the switch exists: with Q ≡ 0 (the zero-initialised head) and a near-deterministic policy (σ = e⁻¹⁰ at
    mean 0), Algorithm 1's −β log π(a_t|z_t) scores a sequence at the ±1 clamp far above the policy's own mean;
    the policy-sample form gives both the same small entropy bonus."""
    values = {}
    for form in ("action", "policy"):
        agent = _agent(planner_entropy=form)
        last = agent.model.pi_net[-1]
        torch.nn.init.zeros_(last.weight)
        with torch.no_grad():
            last.bias.copy_(torch.tensor([0.0, 0.0, -20.0, -20.0]))  # mean 0, log σ at its minimum
        agent.model.eval()
        z0 = agent.model.encode(torch.randn(1, 5))
        seqs = torch.stack([torch.zeros(agent.horizon, 2), torch.full((agent.horizon, 2), 0.999)], dim=1)
        with torch.no_grad():
            values[form] = agent._plan_value_eager(z0, seqs).squeeze(-1)
    assert values["action"][1] - values["action"][0] > 1e3
    assert abs(float(values["policy"][1] - values["policy"][0])) < 1e-2


def test_state_dict_round_trip_reproduces_next_action_and_update_exactly():
    rng = np.random.default_rng(0)
    a = _agent(seed=0)
    obs, _, _ = _drive(a, 30, rng, np.zeros(5, np.float32))
    blob = io.BytesIO()
    torch.save(a.state_dict(), blob)
    rng_b = np.random.default_rng(1)
    rng_b.bit_generator.state = rng.bit_generator.state
    _, metrics_a, actions_a = _drive(a, 3, rng, obs)
    b = _agent(seed=7)  # different init and RNG streams, all overwritten by the load
    blob.seek(0)
    b.load_state_dict(torch.load(blob, weights_only=False))
    _, metrics_b, actions_b = _drive(b, 3, rng_b, obs)
    assert all(np.array_equal(x, y) for x, y in zip(actions_a, actions_b, strict=True))
    assert metrics_a == metrics_b
    for (k, va), vb in zip(a.model.state_dict().items(), b.model.state_dict().values(), strict=True):
        assert torch.equal(va, vb), k


@pytest.mark.parametrize("training", [True, False])
def test_acting_and_decoding_leave_the_model_in_its_mode(training):
    agent = _agent()
    agent.model.train(training)
    ep = _demos(1, seed=2).episodes[0]
    agent.decode_rewards(ep.obs, ep.action)
    assert agent.model.training is training
    agent.act(ep.obs[0], eval=True)
    assert agent.model.training is training
    with pytest.raises(RuntimeError), agent.eval_mode():
        assert not agent.model.training
        raise RuntimeError
    assert agent.model.training is training
