"""Expert policies behind one interface (`experts.rollout.Policy`): reset(seed), then obs -> action.

Kinds: `scripted` (Meta-World's shipped policies), `sac` (an SB3 SAC checkpoint trained by `experts.sac`),
`tdmpc2` (the TD-MPC2 RL agent of the world-model core, issue 4: not available yet), and the non-experts
`random` and `noisy` used for embodiment data.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from experts.paths import checkpoint_root
from experts.sac import SB3Policy, sac_dir, sha256_file

EXPERT_KINDS = ("scripted", "sac", "tdmpc2")
DEFAULT_EXPERT = {"metaworld": "scripted", "dmc": "sac", "maniskill2": "sac", "myosuite": "sac"}


class RandomPolicy:
    """Uniform actions in [-1, 1]^action_dim, reseeded at every episode from its reset seed."""

    def __init__(self, action_dim: int) -> None:
        self.action_dim = action_dim
        self._rng = np.random.default_rng(0)

    def reset(self, seed: int) -> None:
        self._rng = np.random.default_rng([seed, 17])

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        return self._rng.uniform(-1.0, 1.0, self.action_dim).astype(np.float32)


class NoisyPolicy:
    """`base` plus Gaussian action noise N(0, sigma^2), clipped (exploration-style data from an expert)."""

    def __init__(self, base, action_dim: int, sigma: float) -> None:
        self.base, self.action_dim, self.sigma = base, action_dim, sigma
        self._rng = np.random.default_rng(0)

    def reset(self, seed: int) -> None:
        self.base.reset(seed)
        self._rng = np.random.default_rng([seed, 23])

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        a = np.asarray(self.base(obs), np.float64) + self.sigma * self._rng.standard_normal(self.action_dim)
        return np.clip(a, -1.0, 1.0).astype(np.float32)


class MetaWorldScripted:
    """Meta-World's scripted policy for a task (`metaworld.policies.ENV_POLICY_MAP`) on the 39-dim state."""

    def __init__(self, task: str) -> None:
        from metaworld.policies import ENV_POLICY_MAP

        if task not in ENV_POLICY_MAP:
            raise ValueError(f"metaworld ships no scripted policy for {task!r}")
        self.policy = ENV_POLICY_MAP[task]()

    def reset(self, seed: int) -> None:
        pass

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        return np.clip(self.policy.get_action(np.asarray(obs, np.float64)), -1.0, 1.0).astype(np.float32)


def make_expert(suite: str, task: str, kind: str, root: Path | None = None) -> tuple[object, dict]:
    """The expert policy of `kind` for a task, and its provenance (kind, checkpoint path and sha256)."""
    if kind == "scripted":
        if suite != "metaworld":
            raise ValueError(f"scripted experts exist for metaworld only, not {suite!r}; use kind='sac'")
        from importlib import metadata

        source = f"metaworld=={metadata.version('metaworld')} metaworld.policies.ENV_POLICY_MAP[{task!r}]"
        return MetaWorldScripted(task), {"expert_kind": "scripted", "expert_checkpoint": None,
                                         "expert_checkpoint_sha256": None, "expert_source": source}
    if kind == "sac":
        path = sac_dir(suite, task, root or checkpoint_root()) / "best.zip"
        if not path.exists():
            raise FileNotFoundError(f"no SAC expert checkpoint at {path}; train it with "
                                    f"`python -m experts {suite} {task} --expert sac`")
        return SB3Policy(path), {"expert_kind": "sac", "expert_checkpoint": str(path),
                                 "expert_checkpoint_sha256": sha256_file(path)}
    if kind == "tdmpc2":
        raise NotImplementedError(
            "expert kind 'tdmpc2' needs the TD-MPC2 RL agent of the world-model core (issue 4), which does not "
            "exist yet; use expert='sac' (or 'scripted' on metaworld) until methods/common provides it"
        )
    raise ValueError(f"unknown expert kind {kind!r}; valid: {', '.join(EXPERT_KINDS)}")
