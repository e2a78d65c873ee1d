"""Expand a composed grid config into cells; every axis value is validated against what is registered."""

from __future__ import annotations

import itertools
from typing import Any

import torch
from omegaconf import DictConfig, ListConfig, OmegaConf

import methods
from envs.registry import canonical_task, check_obs_mode, suite_info
from experts.policies import EXPERT_KINDS, parse_kind
from runner import method_config
from runner.cell import Cell
from runner.config import OverrideError
from runner.demos import DEFAULT_SOURCE

STAGES = ("train", "experts")


def as_list(x: Any) -> list:
    if x is None:
        return [None]
    return list(x) if isinstance(x, list | tuple | ListConfig) else [x]


def seeds_of(cfg: DictConfig) -> list[int]:
    """`seeds=N` -> 0..N-1; `seeds=[3,7]` -> [3, 7]; null -> the budget's seed count."""
    s = cfg.seeds if cfg.seeds is not None else cfg.budget.seeds
    if isinstance(s, int) and not isinstance(s, bool):
        if s < 1:
            raise OverrideError(f"seeds={s}: give a count >= 1 or a list of seeds")
        return list(range(s))
    try:
        return [int(x) for x in s]
    except (TypeError, ValueError):
        raise OverrideError(f"seeds={s!r}: give a count (seeds=3) or a list (seeds=[0,1,2])") from None


def tasks_of(cfg: DictConfig) -> list[str]:
    suite = cfg.suite.name
    if cfg.tasks is None:
        return list(suite_info(suite).tasks)
    try:
        return [canonical_task(suite, str(t)) for t in as_list(cfg.tasks)]
    except ValueError as err:
        raise OverrideError(str(err)) from None


def _probabilities(name: str, values: list) -> list:
    for v in values:
        if v is not None and not (isinstance(v, int | float) and 0.0 <= float(v) <= 1.0):
            raise OverrideError(f"{name}={v!r}: must be a probability in [0, 1]")
    return [None if v is None else float(v) for v in values]


def _n_demos(cfg: DictConfig, task: str, value: Any) -> int:
    if value is None:
        table = cfg.suite.n_demos
        value = table.get(task, table.default)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise OverrideError(f"n_demos={value!r}: must be a positive integer (or a list of them)")
    return int(value)


def _method_overrides(cfg: DictConfig, name: str, names: list[str]) -> dict[str, Any]:
    """The budget's method settings (where the method's Config has them), then `method.<key>=v` for every
    method, then `method.<name>.<key>=v` for method <name> only."""
    raw = OmegaConf.to_container(cfg.method, resolve=True)
    common = {k: v for k, v in raw.items() if k not in names}
    fields = method_config.field_names(methods.get(name))
    implied = {k: v for k, v in OmegaConf.to_container(cfg.budget.get("method") or {}).items()
               if fields is None or k in fields}
    return {**implied, **common, **(raw.get(name) or {})}


def validate(cfg: DictConfig) -> None:
    if cfg.stage not in STAGES:
        raise OverrideError(f"stage={cfg.stage!r}. Valid stages: {', '.join(STAGES)}")
    for m in as_list(cfg.methods):
        try:
            methods.get(str(m))
        except ValueError as err:
            raise OverrideError(str(err)) from None
    for obs in as_list(cfg.obs):
        try:
            check_obs_mode(cfg.suite.name, str(obs))
        except ValueError as err:
            raise OverrideError(str(err)) from None
    valid_opts = suite_info(cfg.suite.name).options
    bad = sorted(set(cfg.env_options) - set(valid_opts))
    if bad:
        raise OverrideError(f"env_options {bad} are not options of suite {cfg.suite.name!r}. "
                            f"Valid: {', '.join(valid_opts) or '(none)'}")
    expert = cfg.get("demos_expert")
    if expert is not None and (not isinstance(expert, str) or not expert):
        raise OverrideError(f"demos_expert={expert!r}: an expert kind name (experts: "
                            f"{', '.join(EXPERT_KINDS)}) or null for the suite's default")
    if expert is not None and str(cfg.demos_source) == DEFAULT_SOURCE:
        try:
            parse_kind(expert)
        except ValueError as err:
            raise OverrideError(f"demos_expert={expert!r}. With demos_source={DEFAULT_SOURCE}: {err}") from None
    if not isinstance(cfg.torch_threads, int) or cfg.torch_threads < 1:
        raise OverrideError(f"torch_threads={cfg.torch_threads!r}: must be a positive integer")
    if str(cfg.device) != "auto":
        try:
            torch.device(str(cfg.device))
        except (RuntimeError, ValueError):
            raise OverrideError(f"device={cfg.device!r}. Valid: auto, cpu, cuda, cuda:<index>, mps") from None
    start = cfg.launcher.get("start_method", "fork")
    if start not in ("fork", "spawn"):
        raise OverrideError(f"launcher.start_method={start!r}. Valid: fork, spawn")
    workers = cfg.launcher.get("workers")
    if workers is not None and (not isinstance(workers, int) or workers < 1):
        raise OverrideError(f"launcher.workers={workers!r}: a positive integer, or null for one per core")


def expand(cfg: DictConfig) -> list[Cell]:
    """All cells of the grid, in a stable order (task, method, axes, seed)."""
    validate(cfg)
    suite = cfg.suite.name
    budget = {**OmegaConf.to_container(cfg.budget[suite], resolve=True), "name": cfg.budget.name}
    names = [str(m) for m in as_list(cfg.methods)]
    context = {"device": str(cfg.device), "torch_threads": int(cfg.torch_threads),
               "tensorboard": bool(cfg.tensorboard), "imports": list(cfg.imports or [])}
    method_cfgs = {}
    for name in names:
        try:
            method_cfgs[name] = method_config.resolve(name, _method_overrides(cfg, name, names))
        except (TypeError, ValueError) as err:
            raise OverrideError(str(err)) from None
    axes = itertools.product(
        as_list(cfg.n_demos), _probabilities("p_tremble", as_list(cfg.p_tremble)),
        _probabilities("eval_p_tremble", as_list(cfg.eval_p_tremble)), [str(o) for o in as_list(cfg.obs)],
    )
    axes = list(axes)
    cells = []
    for task in tasks_of(cfg):
        for name in names:
            for n_demos, p, ep, obs in axes:
                for seed in seeds_of(cfg):
                    config = {
                        "stage": "train", "budget": budget, "obs": obs,
                        "env_options": OmegaConf.to_container(cfg.env_options, resolve=True),
                        "n_demos": _n_demos(cfg, task, n_demos), "p_tremble": p if p is not None else 0.0,
                        "eval_p_tremble": ep, "demos_source": str(cfg.demos_source), "method": method_cfgs[name],
                        "demos_expert": None if cfg.get("demos_expert") is None else str(cfg.demos_expert),
                    }
                    cells.append(Cell(suite, task, name, seed, config, context))
    return cells
