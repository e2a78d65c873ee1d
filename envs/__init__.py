"""Environment factory: `envs.make(suite, task, seed, obs=...)` -> gymnasium.Env with `.wmil_spec`."""

from __future__ import annotations

import os

# MuJoCo picks its GL backend at import time: default to headless EGL (OSMesa also works on CPU).
os.environ.setdefault("MUJOCO_GL", "egl")
os.environ.setdefault("PYOPENGL_PLATFORM", os.environ["MUJOCO_GL"])

from envs.base import SuiteEnv  # noqa: E402
from envs.registry import SUITES, canonical_task, check_obs_mode, suite_info, suite_module  # noqa: E402
from envs.spec import EnvSpec  # noqa: E402

__all__ = ["EnvSpec", "SUITES", "SuiteEnv", "make", "spec", "tasks"]


def tasks(suite: str) -> tuple[str, ...]:
    """The registered (paper) tasks of a suite."""
    return suite_info(suite).tasks


def _check_options(suite: str, opts: dict) -> None:
    valid = suite_info(suite).options
    bad = sorted(set(opts) - set(valid))
    if bad:
        raise TypeError(
            f"Unknown option(s) {bad} for suite {suite!r}. Valid: p_tremble, "
            + ", ".join(valid or ("(no suite-specific options)",))
        )


def make(suite: str, task: str, seed: int = 0, obs: str = "state", p_tremble: float = 0.0, **opts) -> SuiteEnv:
    """Build one environment. `p_tremble`: probability of replacing the action with a uniform random one
    (CDRED App. D.4 trembling hand); pass different values to the train and eval envs as needed.
    Suite options: dmc `partial_obs=True` keeps positions only (AIME's LPOMDP)."""
    task = canonical_task(suite, task)
    check_obs_mode(suite, obs)
    _check_options(suite, opts)
    return suite_module(suite).make(task, seed=seed, obs=obs, p_tremble=p_tremble, **opts)


def spec(suite: str, task: str, obs: str = "state", **opts) -> EnvSpec:
    """The EnvSpec of a task (builds the env once to read its dimensions)."""
    env = make(suite, task, seed=0, obs=obs, **opts)
    try:
        return env.wmil_spec
    finally:
        env.close()
