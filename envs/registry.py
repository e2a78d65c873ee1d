"""Registry of suites and tasks: names, package extras and valid options, importable without any simulator."""

from __future__ import annotations

import difflib
import importlib
from dataclasses import dataclass
from importlib import metadata


@dataclass(frozen=True)
class SuiteInfo:
    module: str  # envs.<suite>
    packages: tuple[str, ...]  # distributions whose versions describe the suite
    import_name: str  # module whose absence means the suite is not installed
    tasks: tuple[str, ...]
    obs_modes: tuple[str, ...]
    options: tuple[str, ...]  # suite-specific keyword options of make()
    install_hint: str


DMC_TASKS = (
    "hopper-hop", "cheetah-run", "walker-run", "walker-walk", "quadruped-walk", "humanoid-walk",
    "dog-run", "dog-stand", "dog-walk", "dog-trot", "reacher-hard", "cartpole-swingup",
)
METAWORLD_TASKS = tuple(
    f"{t}-v3"
    for t in (
        "box-close", "bin-picking", "reach-wall", "stick-pull", "stick-push", "soccer", "reach",
        "button-press-topdown", "drawer-open",
    )
)
MANISKILL2_TASKS = ("LiftCube-v0", "PickCube-v0", "TurnFaucet-v0")
MYOSUITE_TASKS = ("myoHandKeyTurnFixed-v0", "myoHandObjHoldFixed-v0", "myoHandPenTwirlFixed-v0")

_SETUP = "run `bash setup.sh` (it installs every suite with the pins that make them coexist)"

SUITES: dict[str, SuiteInfo] = {
    "dmc": SuiteInfo(
        "envs.dmc", ("dm-control", "mujoco"), "dm_control", DMC_TASKS, ("state", "rgb"),
        ("partial_obs",), f"pip install '.[dmc]' or {_SETUP}",
    ),
    "metaworld": SuiteInfo(
        "envs.metaworld", ("metaworld", "mujoco"), "metaworld", METAWORLD_TASKS, ("state",), (),
        f"pip install mujoco==3.17.0 && pip install --no-deps metaworld==3.1.1, or {_SETUP}",
    ),
    "maniskill2": SuiteInfo(
        "envs.maniskill2", ("mani-skill2", "sapien"), "mani_skill2", MANISKILL2_TASKS, ("state",),
        ("terminate_on_success",),
        f"pip install sapien==2.2.2 'numpy<2' && pip install --no-deps mani-skill2==0.5.3, or {_SETUP}",
    ),
    "myosuite": SuiteInfo(
        "envs.myosuite", ("myosuite", "mujoco"), "myosuite", MYOSUITE_TASKS, ("state",), (),
        f"pip install '.[myosuite]' or {_SETUP}",
    ),
}

# Why some (suite, obs) pairs are refused.
RGB_REFUSAL = (
    "obs='rgb' is registered for DMControl only: the papers use 64x64 pixels on DMControl alone, and "
    "ManiSkill2 has no renderer on a machine without a Vulkan device"
)


def _unknown(kind: str, name: str, valid: tuple[str, ...] | list[str]) -> ValueError:
    close = difflib.get_close_matches(name, valid, n=1, cutoff=0.5)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return ValueError(f"Unknown {kind} {name!r}.{hint} Valid {kind}s: {', '.join(valid)}")


def suite_info(suite: str) -> SuiteInfo:
    if suite not in SUITES:
        raise _unknown("suite", suite, list(SUITES))
    return SUITES[suite]


def canonical_task(suite: str, task: str) -> str:
    """Return the registered task name (Meta-World also accepts names without '-v3')."""
    info = suite_info(suite)
    if task in info.tasks:
        return task
    if suite == "metaworld" and f"{task}-v3" in info.tasks:
        return f"{task}-v3"
    raise _unknown(f"{suite} task", task, info.tasks)


def check_obs_mode(suite: str, obs: str) -> None:
    info = suite_info(suite)
    if obs not in ("state", "rgb"):
        raise ValueError(f"Unknown obs mode {obs!r}. Valid obs modes: state, rgb")
    if obs not in info.obs_modes:
        raise ValueError(f"obs={obs!r} is not available for suite {suite!r}: {RGB_REFUSAL}")


def suite_module(suite: str):
    """Import the suite's module, turning a missing simulator package into an actionable error."""
    info = suite_info(suite)
    try:
        importlib.import_module(info.import_name)
    except ImportError as err:
        raise ImportError(
            f"Suite {suite!r} needs the package {info.import_name!r}, which is not importable ({err}). "
            f"Install it with: {info.install_hint}"
        ) from err
    return importlib.import_module(info.module)


def package_versions(suite: str) -> dict[str, str]:
    out = {}
    for dist in suite_info(suite).packages:
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "missing"
    return out
