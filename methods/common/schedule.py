"""TD-MPC2's schedule heuristics: discount from episode length, and the seed-step phase."""

from __future__ import annotations


def discount_heuristic(episode_length: int, denom: float = 5.0, lo: float = 0.95, hi: float = 0.995) -> float:
    """γ = clip((L/5 − 1)/(L/5), 0.95, 0.995), L in agent steps (0.99 for 500-step DMC, 0.95 for 100 steps)."""
    frac = episode_length / denom
    return float(min(max((frac - 1) / frac, lo), hi))


def seed_steps(episode_length: int, minimum: int = 1000) -> int:
    """Random-action steps before learning: max(1000, 5·L)."""
    return max(minimum, 5 * episode_length)


def updates_due(step: int, seed: int, updates_per_step: int = 1) -> int:
    """Gradient updates due after agent step `step` (1-based count of steps taken): none while seeding, one burst
    of `seed` updates when seeding ends, then `updates_per_step` per agent step."""
    if step < seed:
        return 0
    if step == seed:
        return seed
    return updates_per_step
