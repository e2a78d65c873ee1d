"""The method interface shared by all eight methods, and the device setting.

The runner is the only caller: it builds the env, loads demos, constructs a method with
`methods.make(...)` and drives act -> env.step -> observe -> update. Methods never import envs or the runner.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch

from envs.spec import EnvSpec
from experts.demos import Demos


@dataclass
class Transition:
    """One agent step as the runner saw it (obs before, action applied, what came after)."""

    obs: np.ndarray
    action: np.ndarray
    reward: float  # ground truth; imitation methods may log it but must not learn from it
    next_obs: np.ndarray
    terminated: bool
    truncated: bool
    success: float = float("nan")


def resolve_device(name: str = "auto") -> torch.device:
    """One device setting for every method: 'auto' picks CUDA when available, else CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(name)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"device={name!r} requested but CUDA is not available (use device=auto or cpu)")
    return dev


def reward_correlation(method: Method, episodes: list[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> float | None:
    """Pearson correlation of `method.reward_estimates` with the true rewards, pooled over (obs, action, reward)
    episodes (IQ-MPC Fig. 4 reward recovery); None when the method learns no reward or either side is constant."""
    if not episodes:
        return None
    est = [method.reward_estimates(obs, action) for obs, action, _ in episodes]
    if any(e is None for e in est):
        return None
    x, y = np.concatenate(est).astype(np.float64), np.concatenate([r for _, _, r in episodes]).astype(np.float64)
    if x.std() == 0 or y.std() == 0:
        return None
    return float(np.corrcoef(x, y)[0, 1])


class Method(ABC):
    """Uniform interface. `regime` tells the runner whether it interacts online or trains offline.

    Online loop (runner):  a = act(obs, eval=False, t0=first_step); env.step(a); observe(tr); update(step)
    Offline methods:       pretrain() once, then act(eval=True) for evaluation only.
    """

    name: ClassVar[str]
    regime: ClassVar[str] = "online"  # "online" | "offline"
    demo_kind: ClassVar[str] = "state-action"  # which dataset kind the method consumes

    def __init__(self, cfg: Any, spec: EnvSpec, demos: Demos, device: torch.device, seed: int) -> None:
        self.cfg, self.spec, self.demos, self.device, self.seed = cfg, spec, demos, device, seed

    @abstractmethod
    def act(self, obs: np.ndarray, *, eval: bool, t0: bool = False) -> np.ndarray:
        """Action in [-1, 1]^action_dim. `t0` marks the first step of an episode (planner warm start)."""

    def observe(self, transition: Transition) -> None:  # noqa: B027  (offline methods ignore it)
        """Add one behavioural transition (online methods)."""

    def update(self, step: int) -> dict[str, float]:
        """Training work due after agent step `step` (zero, one, or a burst of updates); returns metrics."""
        return {}

    def reward_estimates(self, obs: np.ndarray, action: np.ndarray) -> np.ndarray | None:
        """The reward this method has learned, per step of one episode (obs (T+1, ...), action (T, A)) -> (T,);
        None when it learns none. The runner logs its correlation with the true reward on eval episodes."""
        return None

    def pretrain(self) -> dict[str, float]:
        """Offline phase before (or instead of) interaction; returns metrics."""
        return {}

    @abstractmethod
    def state_dict(self) -> dict[str, Any]:
        """Everything needed to resume exactly: networks, targets, optimisers, buffers, RNG, counters."""

    @abstractmethod
    def load_state_dict(self, state: dict[str, Any]) -> None: ...
