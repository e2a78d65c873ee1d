"""MPPI planner over action sequences (TD-MPC2 / IQ-MPC Algorithm 1), independent of how returns are estimated.

The caller supplies two closures over the current latent: `value_fn(actions (H, N, A)) -> (N, 1)` returns of
action sequences, and `policy_fn(n) -> (H, n, A)` sequences sampled from the policy prior through the dynamics.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from methods.common.config import PlannerConfig

ValueFn = Callable[[torch.Tensor], torch.Tensor]
PolicyFn = Callable[[int], torch.Tensor]


class MPPI:
    """Iterative elite re-weighting of a diagonal Gaussian over H-step action sequences.

    Warm start: the mean starts from last step's final mean shifted by one step (zeros at an episode start);
    the std restarts at `max_std` each step. The action is the final mean's first step (`action_select="mean"`,
    the papers) or a weight-drawn elite's (`"elite"`, TD-MPC2's code); `eval=True` adds no exploration noise.
    """

    def __init__(self, cfg: PlannerConfig, action_dim: int, device: torch.device) -> None:
        self.cfg, self.action_dim, self.device = cfg, action_dim, device
        self.prev_mean = torch.zeros(cfg.horizon, action_dim, device=device)

    @property
    def iterations(self) -> int:
        """MPPI iterations for this action dimension (follows `cfg`, which evaluation tools may replace)."""
        return self.cfg.iterations_for(self.action_dim)

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {"prev_mean": self.prev_mean.clone()}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        self.prev_mean.copy_(state["prev_mean"])

    @torch.no_grad()
    def plan(self, value_fn: ValueFn, policy_fn: PolicyFn | None, *, eval: bool, t0: bool) -> torch.Tensor:
        """One planning call; returns the action (A,) in [-1, 1] (stays on device)."""
        c, A = self.cfg, self.action_dim
        H, N = c.horizon, c.num_samples
        n_pi = c.num_pi_trajs if policy_fn is not None else 0
        actions = torch.empty(H, N, A, device=self.device)
        if n_pi > 0:
            actions[:, :n_pi] = policy_fn(n_pi)
        mean = torch.zeros(H, A, device=self.device)
        if not t0:
            mean[:-1] = self.prev_mean[1:]
        std = torch.full((H, A), c.max_std, device=self.device)
        for _ in range(self.iterations):
            noise = torch.randn(H, N - n_pi, A, device=self.device)
            actions[:, n_pi:] = (mean.unsqueeze(1) + std.unsqueeze(1) * noise).clamp(-1, 1)
            value = torch.nan_to_num(value_fn(actions).reshape(N, 1))
            elite_idx = torch.topk(value.squeeze(1), c.num_elites, dim=0).indices
            elite_value, elite_actions = value[elite_idx], actions[:, elite_idx]
            score = torch.exp(c.temperature * (elite_value - elite_value.max(0).values))
            score = score / score.sum(0)
            mean = (score.unsqueeze(0) * elite_actions).sum(1)
            var = (score.unsqueeze(0) * (elite_actions - mean.unsqueeze(1)).pow(2)).sum(1)
            std = var.sqrt().clamp(c.min_std, c.max_std)
        if c.action_select == "elite":
            pick = torch.multinomial(score.squeeze(1), 1).squeeze(0)
            a = elite_actions[0].index_select(0, pick.view(1)).squeeze(0)
        else:
            a = mean[0]
        self.prev_mean.copy_(mean)
        if not eval:
            a = a + std[0] * torch.randn(A, device=self.device)
        return a.clamp(-1, 1)
