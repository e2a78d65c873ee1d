"""A method's resolved config: its preset (conf/method/<name>.yaml, if any) + `method.<key>=` overrides,
checked against the method's `Config` dataclass when it declares one."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

import methods

CONF = Path(__file__).resolve().parent.parent / "conf" / "method"


def _config_type(cls: type) -> type | None:
    t = getattr(cls, "Config", None)
    return t if isinstance(t, type) and dataclasses.is_dataclass(t) else None


def field_names(cls: type) -> set[str] | None:
    """The method's config fields, or None when it declares no Config dataclass."""
    ctype = _config_type(cls)
    return None if ctype is None else {f.name for f in dataclasses.fields(ctype)}


def resolve(name: str, overrides: dict[str, Any]) -> dict[str, Any]:
    """Plain-JSON config for method `name`: defaults of its Config dataclass < conf/method/<name>.yaml < overrides
    (the budget's implied settings, then the user's)."""
    cls = methods.get(name)
    preset_path = CONF / f"{name}.yaml"
    preset = OmegaConf.to_container(OmegaConf.load(preset_path)) if preset_path.exists() else {}
    merged = {**preset, **overrides}
    ctype = _config_type(cls)
    if ctype is None:
        return merged
    valid = [f.name for f in dataclasses.fields(ctype)]
    bad = sorted(set(merged) - set(valid))
    if bad:
        raise ValueError(f"Unknown {name} config key(s) {bad}. Valid keys: {', '.join(valid)}")
    return _jsonable(dataclasses.asdict(ctype(**merged)))


def _jsonable(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_jsonable(v) for v in x]
    return x


def build_method_config(cls: type, cfg: dict[str, Any]) -> Any:
    """What the method's constructor receives: its Config dataclass, else an attribute-accessible DictConfig."""
    ctype = _config_type(cls)
    return ctype(**cfg) if ctype is not None else OmegaConf.create(cfg)
