"""Hydra-style overrides -> one composed grid config, with errors that name the valid choices."""

from __future__ import annotations

import difflib
import importlib
from pathlib import Path
from typing import Any

from hydra import compose, initialize_config_dir
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException
from omegaconf import DictConfig, OmegaConf

CONF = Path(__file__).resolve().parent.parent / "conf"
GROUPS = ("suite", "budget", "launcher")
FREE_FORM = ("method", "env_options")  # sub-keys checked later (method Config, env options)


class OverrideError(ValueError):
    """A bad override name or value; the message lists the valid ones."""


def _suggest(name: str, valid: list[str]) -> str:
    close = difflib.get_close_matches(name, valid, n=1, cutoff=0.5)
    return f" Did you mean {close[0]!r}?" if close else ""


def group_options(group: str) -> list[str]:
    return sorted(p.stem for p in (CONF / group).glob("*.yaml"))


def top_level_keys() -> list[str]:
    raw = OmegaConf.load(CONF / "grid.yaml")
    return sorted([k for k in raw if k != "defaults"] + list(GROUPS))


def _check_path(cfg: DictConfig, key: str) -> None:
    node: Any = cfg
    parts = key.split(".")
    for i, part in enumerate(parts):
        if parts[0] in FREE_FORM and i >= 1:
            return
        if not isinstance(node, DictConfig) or part not in node:
            where = ".".join(parts[:i]) or "the grid config"
            valid = sorted(node.keys()) if isinstance(node, DictConfig) else []
            raise OverrideError(f"Unknown override {key!r}: {where} has no key {part!r}.{_suggest(part, valid)} "
                                f"Valid keys: {', '.join(map(str, valid))}")
        node = node[part]


def compose_grid(overrides: list[str]) -> DictConfig:
    """Compose conf/grid.yaml with `overrides` (Hydra syntax: key=value, key=[a,b], group=option)."""
    try:
        parsed = OverridesParser.create().parse_overrides(overrides)
    except HydraException as err:
        raise OverrideError(f"Cannot parse overrides {overrides}: {err}") from None
    keys = top_level_keys()
    group_choices, final = [], []
    for ov, text in zip(parsed, overrides, strict=True):
        # method.* and env_options.* are open maps: add-or-override ("++") instead of Hydra's struct error
        free = "." in ov.key_or_group and ov.key_or_group.split(".")[0] in FREE_FORM and not text.startswith("+")
        final.append(f"++{text}" if free else text)
        key = ov.key_or_group
        top = key.split(".")[0]
        if top not in keys:
            raise OverrideError(f"Unknown override {key!r}.{_suggest(top, keys)} Valid names: {', '.join(keys)}")
        if key in GROUPS:
            value = ov.value()
            if not isinstance(value, str) or value not in group_options(key):
                raise OverrideError(f"Invalid {key}={value!r}. Valid {key}s: {', '.join(group_options(key))}")
            group_choices.append(ov.input_line)
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        base = compose("grid", overrides=group_choices)
        for ov in parsed:
            if ov.key_or_group not in GROUPS:
                _check_path(base, ov.key_or_group)
        try:
            cfg = compose("grid", overrides=final)
        except HydraException as err:
            raise OverrideError(str(err)) from None
    for module in cfg.imports or []:
        importlib.import_module(module)
    return cfg
