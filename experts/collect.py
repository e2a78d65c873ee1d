"""Collect N episodes of a policy with a seed, keeping those that pass the suite's filter rule."""

from __future__ import annotations

import numpy as np

from experts.demos import Episode
from experts.rollout import Policy, rollout

# Per-suite filter rule for expert demonstrations. Suites with a success signal keep episodes that succeed at
# any step (the stick tasks lose success after reaching it); DMC has no success signal and keeps every episode.
FILTER_RULES = {"metaworld": "success_any_step", "maniskill2": "success_any_step", "myosuite": "success_any_step",
                "dmc": "keep_all"}
# Reset-seed streams: the same collection seed never reuses an initial state across purposes.
STREAMS = {"expert": 0, "random": 1, "random_reference": 2, "replay": 3, "eval": 4}


class CollectionError(RuntimeError):
    """The policy did not produce enough episodes that pass the filter rule."""


def episode_seed(seed: int, i: int, stream: str = "expert") -> int:
    """Reset seed of attempt `i` of a collection with seed `seed` (uint32, collision-free across streams)."""
    return int(np.random.SeedSequence([int(seed), STREAMS[stream], int(i)]).generate_state(1)[0])


def passes(rule: str, ep: Episode) -> bool:
    """Whether an episode is kept under a filter rule."""
    if rule == "keep_all":
        return True
    if rule == "success_any_step":
        return ep.success is not None and bool(np.any(ep.success > 0))
    raise ValueError(f"unknown filter rule {rule!r}; valid: keep_all, success_any_step")


def collect(env, policy: Policy, n: int, seed: int, stream: str = "expert", rule: str = "keep_all",
            max_attempts: int | None = None) -> tuple[list[Episode], int]:
    """Roll out until `n` episodes pass `rule` (at most `max_attempts`, default 3n); returns (kept, attempts).

    Attempt i starts from `env.reset(seed=episode_seed(seed, i, stream))`, stored as `Episode.seed`.
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    max_attempts = max_attempts or 3 * n
    kept: list[Episode] = []
    attempts = 0
    while len(kept) < n:
        if attempts >= max_attempts:
            raise CollectionError(f"only {len(kept)} of {attempts} episodes passed filter {rule!r} "
                                  f"({env.wmil_spec.suite}/{env.wmil_spec.task}); needed {n}")
        ep = rollout(env, policy, episode_seed(seed, attempts, stream))
        attempts += 1
        if passes(rule, ep):
            kept.append(ep)
    return kept, attempts


def summarize(episodes: list[Episode]) -> dict:
    """Mean ± std of return and of success-at-any-step (None without success), and episode length."""
    ret = np.array([float(ep.reward.sum()) for ep in episodes])
    out = {"n": len(episodes), "return_mean": float(ret.mean()), "return_std": float(ret.std()),
           "success_mean": None, "success_std": None, "length_mean": float(np.mean([len(ep) for ep in episodes]))}
    if all(ep.success is not None for ep in episodes):
        succ = np.array([float(np.any(ep.success > 0)) for ep in episodes])
        out.update(success_mean=float(succ.mean()), success_std=float(succ.std()))
    return out
