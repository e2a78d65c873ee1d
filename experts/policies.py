"""Expert policies behind one interface (`experts.rollout.Policy`): reset(seed), then obs -> action.

Kinds: `scripted` (Meta-World's shipped policies), `scripted_tcp` (reach-v3: the shipped rule aimed at the tool
centre point that success reads, see `MetaWorldReachTCP`), `scripted_tcp_fast` (the same with gain 50: no slow final
approach, see `MetaWorldReachTCPFast`), `scripted_tcp_xlast` (the same rule on an L-shaped path whose last leg runs
along x, a diagnostic; see `MetaWorldReachTCPXLast`), `sac` (an SB3 SAC checkpoint trained by `experts.sac`),
`tdmpc2` (a TD-MPC2 RL agent trained by `experts.tdmpc2` on the world-model core), and the non-experts
`random` and `noisy` used for embodiment data. Any kind takes a `-noise<sigma>` suffix (`scripted_tcp-noise0.3`):
that expert with N(0, sigma^2) noise on every executed action, DART-style demos that also show recoveries from the
states the noise leads to (see `parse_kind`). Trained kinds are listed in `TRAINED`: checkpoint file, trainer,
training config and loader, so the builder and the CLI treat them alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from experts import sac, tdmpc2
from experts.artifacts import sha256_file
from experts.paths import checkpoint_root, task_dir

EXPERT_KINDS = ("scripted", "scripted_tcp", "scripted_tcp_fast", "scripted_tcp_xlast", "sac", "tdmpc2")
# no training: no checkpoint, no training replay
SCRIPTED_KINDS = ("scripted", "scripted_tcp", "scripted_tcp_fast", "scripted_tcp_xlast")
# TD-MPC2 becomes the default for the trained suites once a TD-MPC2 expert has been validated at paper scale
# (a GPU job); until then SAC, which is shown to work on CPU, stays the default.
DEFAULT_EXPERT = {"metaworld": "scripted", "dmc": "sac", "maniskill2": "sac", "myosuite": "sac"}
NOISE_TAG = "-noise"  # kind suffix: the expert with Gaussian noise on its executed actions


def parse_kind(kind: str) -> tuple[str, float]:
    """`'<kind>'` or `'<kind>-noise<sigma>'` -> (kind, sigma), sigma 0.0 for a plain kind. Sigma must be in (0, 1]
    and written as Python's `f"{sigma:g}"` writes it (`0.3`, not `0.30`), so one noise level is one dataset."""
    base, tagged, sigma_text = kind.partition(NOISE_TAG)
    valid = f"{', '.join(EXPERT_KINDS)}, or one of them with '{NOISE_TAG}<sigma>', sigma in (0, 1] (e.g. " \
            f"scripted_tcp{NOISE_TAG}0.3)"
    if base not in EXPERT_KINDS:
        raise ValueError(f"unknown expert kind {kind!r}; valid: {valid}")
    if not tagged:
        return base, 0.0
    try:
        sigma = float(sigma_text)
    except ValueError:
        raise ValueError(f"expert kind {kind!r}: {sigma_text!r} is not a number; valid: {valid}") from None
    if not 0.0 < sigma <= 1.0 or noisy_kind(base, sigma) != kind:
        raise ValueError(f"expert kind {kind!r}: write sigma in (0, 1] as {noisy_kind(base, sigma)!r} would; "
                         f"valid: {valid}")
    return base, sigma


def noisy_kind(kind: str, sigma: float) -> str:
    """The kind name of `kind` with action noise `sigma` (the plain name when sigma is 0)."""
    return kind if sigma == 0 else f"{kind}{NOISE_TAG}{sigma:g}"


@dataclass(frozen=True)
class TrainedKind:
    checkpoint: str  # file name inside checkpoint_root()/<suite>/<task>/<kind>/
    train: Any  # train(suite, task, cfg, root) -> card
    config: type  # the trainer's config dataclass (fields steps, seed, max_minutes)
    load: Any  # load(path) -> Policy


TRAINED = {
    "sac": TrainedKind("best.zip", sac.train, sac.SACConfig, sac.SB3Policy.load),
    "tdmpc2": TrainedKind("best.pt", tdmpc2.train, tdmpc2.TDMPC2TrainConfig, tdmpc2.TDMPC2Policy.load),
}


def expert_dir(suite: str, task: str, kind: str, root: Path | None = None) -> Path:
    """Directory of a trained expert's checkpoint, eval log, replay and card."""
    return task_dir(root or checkpoint_root(), suite, task) / kind


def checkpoint_path(suite: str, task: str, kind: str, root: Path | None = None) -> Path:
    return expert_dir(suite, task, kind, root) / TRAINED[kind].checkpoint


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


class MetaWorldReachTCP:
    """reach-v3 with Meta-World's scripted rule (hand velocity 5 × its offset from the target, gripper neutral) aimed
    so the gripper's tool centre point lands on the goal. The shipped `SawyerReachV3Policy` aims the observed hand
    position (obs[:3], the hand body), which sits `HAND_ABOVE_TCP` above the tool centre point that reach-v3's
    success reads (distance < 5 cm): its episodes end ~4.4 cm from the goal (20 episodes: 4.39 mean, 4.60 max),
    0.5 cm inside the radius, so an imitator whose final position errs by a centimetre away from the goal fails
    last-step success. This rule ends 0.35 cm mean, 1.00 max."""

    TASKS = ("reach-v3",)
    # hand body − tool centre point, measured over 500 random-action steps: z 4.496 cm (sd 0.02), x, y < 0.1 cm mean
    HAND_ABOVE_TCP = np.array([0.0, 0.0, 0.045])
    GAIN = 5.0  # SawyerReachV3Policy's p
    KIND = "scripted_tcp"

    def __init__(self, task: str) -> None:
        if task not in self.TASKS:
            raise ValueError(f"the {self.KIND} expert exists for {', '.join(self.TASKS)} only, not {task!r}; "
                             f"use 'scripted'")

    def reset(self, seed: int) -> None:
        pass

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        obs = np.asarray(obs, np.float64)
        hand, goal = obs[:3], obs[-3:]
        action = np.zeros(4)
        action[:3] = self.GAIN * (goal + self.HAND_ABOVE_TCP - hand)
        return np.clip(action, -1.0, 1.0).astype(np.float32)


class MetaWorldReachTCPFast(MetaWorldReachTCP):
    """`MetaWorldReachTCP` with gain 50 instead of 5. A hand step is 2 × action / 100 m per agent step (action scale
    1/100, action repeat 2), so gain 5 closes 10 % of the remaining offset per agent step and the last centimetres,
    mostly along y (the arm's direction of travel), take ~20 slow steps; gain 50 closes the whole offset in one step
    once within 2 cm. Over 20 episodes (seeds 0–19): within 5 cm after 14.3 agent steps (gain 5: 18.1), final
    distance 0.08 cm mean (0.33), and 0.6 % of steps (7.8 %) creep within 1.5 cm of the goal in x and z but 1.5–6 cm
    off in y below 5 mm per step — states an imitator parked short in y would share with the expert. CDRED from
    these demos did worse than from `scripted_tcp` and still missed in y (bench/results README, session 19)."""

    KIND = "scripted_tcp_fast"
    GAIN = 50.0


class MetaWorldReachTCPXLast(MetaWorldReachTCP):
    """`MetaWorldReachTCP` on an L-shaped path: first to a waypoint `X_DETOUR` m beside the goal in x (on the side
    of the workspace centre), then in along x alone. The straight rule's last centimetres run along y, the arm's
    direction of travel (its demos' steps 2–10 cm from the goal are 4.8 cm off in y, 0.7 and 0.9 in x and z); this
    rule's run along x. A diagnostic expert: fitted offline on these demos, CDRED's expert predictor is blind within
    the success radius along x instead of y (bench/results README, session 22)."""

    KIND = "scripted_tcp_xlast"
    X_DETOUR = 0.12
    SWITCH_DISTANCE = 0.01  # m from the waypoint at which the final leg starts

    def __init__(self, task: str) -> None:
        super().__init__(task)
        self._final_leg = False

    def reset(self, seed: int) -> None:
        self._final_leg = False

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        obs = np.asarray(obs, np.float64)
        hand, goal = obs[:3], obs[-3:]
        target = goal + self.HAND_ABOVE_TCP
        if not self._final_leg:
            waypoint = target + np.array([self.X_DETOUR if goal[0] < 0 else -self.X_DETOUR, 0.0, 0.0])
            self._final_leg = bool(np.linalg.norm(waypoint - hand) < self.SWITCH_DISTANCE)
            if not self._final_leg:
                target = waypoint
        action = np.zeros(4)
        action[:3] = self.GAIN * (target - hand)
        return np.clip(action, -1.0, 1.0).astype(np.float32)


REACH_TCP_RULES = {rule.KIND: rule for rule in (MetaWorldReachTCP, MetaWorldReachTCPFast, MetaWorldReachTCPXLast)}


def make_expert(suite: str, task: str, kind: str, root: Path | None = None) -> tuple[object, dict]:
    """The expert policy of `kind` for a task, and its provenance (kind, checkpoint path and sha256; for a noisy
    kind also the plain kind and sigma)."""
    base, sigma = parse_kind(kind)
    policy, provenance = _make_plain_expert(suite, task, base, root)
    if sigma == 0:
        return policy, provenance
    import envs

    noisy = NoisyPolicy(policy, envs.spec(suite, task).action_dim, sigma)
    return noisy, {**provenance, "expert_kind": kind, "expert_base_kind": base, "expert_action_noise": sigma}


def _make_plain_expert(suite: str, task: str, kind: str, root: Path | None) -> tuple[object, dict]:
    if kind == "scripted":
        if suite != "metaworld":
            raise ValueError(f"scripted experts exist for metaworld only, not {suite!r}; use 'sac' or 'tdmpc2'")
        from importlib import metadata

        source = f"metaworld=={metadata.version('metaworld')} metaworld.policies.ENV_POLICY_MAP[{task!r}]"
        return MetaWorldScripted(task), {"expert_kind": "scripted", "expert_checkpoint": None,
                                         "expert_checkpoint_sha256": None, "expert_source": source}
    if kind in REACH_TCP_RULES:
        if suite != "metaworld":
            raise ValueError(f"scripted experts exist for metaworld only, not {suite!r}; use 'sac' or 'tdmpc2'")
        cls = REACH_TCP_RULES[kind]
        source = f"experts.policies.{cls.__name__} (Meta-World's reach rule aimed at the tool centre point)"
        return cls(task), {"expert_kind": kind, "expert_checkpoint": None,
                           "expert_checkpoint_sha256": None, "expert_source": source}
    if kind not in TRAINED:
        raise ValueError(f"unknown expert kind {kind!r}; valid: {', '.join(EXPERT_KINDS)}")
    path = checkpoint_path(suite, task, kind, root)
    if not path.exists():
        raise FileNotFoundError(f"no {kind} expert checkpoint at {path}; train it with "
                                f"`python -m experts {suite} {task} --expert {kind}`")
    return TRAINED[kind].load(path), {"expert_kind": kind, "expert_checkpoint": str(path),
                                      "expert_checkpoint_sha256": sha256_file(path)}
