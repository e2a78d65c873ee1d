"""Typed configs of the world-model core: model sizes and the MPPI planner, with paper / cpu / smoke presets."""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class ModelConfig:
    """Widths of the TD-MPC2-style world model. `paper` is IQ-MPC App. A.1 (4,274,259 params at 91/39)."""

    latent_dim: int = 512
    mlp_dim: int = 512
    enc_dim: int = 256
    num_enc_layers: int = 2
    num_channels: int = 32  # conv encoder channels (pixels); latent_dim must equal 16 * num_channels for rgb
    num_q: int = 5
    dropout: float = 0.01  # first Q layer
    simnorm_dim: int = 8
    log_std_min: float = -10.0
    log_std_max: float = 2.0
    critic: str = "scalar"  # "scalar" (IQ-MPC) | "twohot" (TD-MPC2, CDRED)
    reward_head: bool = False  # TD-MPC2 RL agent only
    num_bins: int = 101
    vmin: float = -10.0
    vmax: float = 10.0


@dataclass(frozen=True)
class PlannerConfig:
    """MPPI settings (TD-MPC2 / IQ-MPC App. A.2)."""

    horizon: int = 3
    iterations: int = 6
    extra_iterations_large_action: int = 2  # +2 iterations when action_dim >= 20 (TD-MPC2)
    num_samples: int = 512
    num_elites: int = 64
    num_pi_trajs: int = 24
    min_std: float = 0.05
    max_std: float = 2.0
    temperature: float = 0.5
    # The executed action. "mean": a ~ N(μ*_0, σ*_0²), μ*_0 itself in evaluation (IQ-MPC Algorithm 1 / §4.3, CDRED
    # Algorithm 2 line 16). "elite": one elite drawn by its MPPI weight, its first action (+ σ*_0 noise in
    # training), TD-MPC2's released code, which IQ-MPC's and CDRED's code inherit.
    action_select: str = "mean"

    def __post_init__(self) -> None:
        if self.action_select not in ("mean", "elite"):
            raise ValueError(f"PlannerConfig.action_select must be 'mean' or 'elite', got {self.action_select!r}")

    def iterations_for(self, action_dim: int) -> int:
        return self.iterations + (self.extra_iterations_large_action if action_dim >= 20 else 0)


MODEL_PRESETS: dict[str, ModelConfig] = {
    "paper": ModelConfig(),
    "cpu": ModelConfig(latent_dim=64, mlp_dim=128, enc_dim=64, num_channels=4),
    "smoke": ModelConfig(latent_dim=16, mlp_dim=32, enc_dim=16, num_channels=1, num_q=3),
}

PLANNER_PRESETS: dict[str, PlannerConfig] = {
    "paper": PlannerConfig(),
    "cpu": PlannerConfig(iterations=4, num_samples=128, num_elites=16, num_pi_trajs=8),
    "smoke": PlannerConfig(iterations=2, num_samples=16, num_elites=4, num_pi_trajs=4),
}


def model_preset(name: str, **overrides) -> ModelConfig:
    return replace(MODEL_PRESETS[name], **overrides)


def planner_preset(name: str, **overrides) -> PlannerConfig:
    return replace(PLANNER_PRESETS[name], **overrides)
