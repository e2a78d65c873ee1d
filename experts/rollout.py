"""Roll out a policy for one episode in a `SuiteEnv`, recording everything a dataset keeps."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from experts.demos import Episode


class Policy(Protocol):
    """What collection needs from an expert: reset with a seed at episode start, then obs -> action."""

    def reset(self, seed: int) -> None: ...

    def __call__(self, obs: np.ndarray) -> np.ndarray: ...


def rollout(env, policy: Policy, seed: int) -> Episode:
    """One episode from `env.reset(seed=seed)` until terminated or truncated.

    Stores the action as applied by the env (clipped to [-1, 1]; `p_tremble` replacements included), so
    replaying `action` from `reset(seed=seed)` reproduces `obs` exactly.
    """
    obs, info = env.reset(seed=seed)
    policy.reset(seed)
    has_success = env.wmil_spec.has_success
    observations, actions, rewards, successes = [obs], [], [], []
    terminated = truncated = False
    while not (terminated or truncated):
        action = np.asarray(policy(obs), dtype=np.float32)
        obs, reward, terminated, truncated, info = env.step(action)
        actions.append(np.asarray(info.get("applied_action", action), dtype=np.float32))
        observations.append(obs)
        rewards.append(reward)
        successes.append(info.get("success", 0.0))
    return Episode(
        obs=np.stack(observations),
        action=np.stack(actions),
        reward=np.asarray(rewards, dtype=np.float32),
        success=np.asarray(successes, dtype=np.float32) if has_success else None,
        terminated=bool(terminated),
        seed=int(seed),
    )
