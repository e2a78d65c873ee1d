"""`EnvSpec`: what a method and the runner need to know about an environment, without importing it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class EnvSpec:
    """Static description of one (suite, task, obs mode) environment.

    Step units: an *agent step* is one call of `env.step`; it advances the simulator `action_repeat`
    *env steps*. `episode_length` counts agent steps (TD-MPC2's convention).
    """

    suite: str
    task: str
    obs_mode: str  # "state" | "rgb"
    obs_shape: tuple[int, ...]
    action_dim: int
    episode_length: int  # agent steps
    action_repeat: int
    has_success: bool
    versions: dict[str, str] = field(default_factory=dict)

    @property
    def env_steps_per_episode(self) -> int:
        return self.episode_length * self.action_repeat

    def env_steps(self, agent_steps: int) -> int:
        """Convert agent steps to simulator (env) steps."""
        return agent_steps * self.action_repeat

    @property
    def discount(self) -> float:
        """TD-MPC2's discount heuristic: clip((L/5 - 1)/(L/5), 0.95, 0.995), L in agent steps."""
        frac = self.episode_length / 5
        return float(min(max((frac - 1) / frac, 0.95), 0.995))

    def to_dict(self) -> dict:
        d = asdict(self)
        d["obs_shape"] = list(self.obs_shape)
        return d
