"""Method registry: `methods.make(name, ...)`; `methods.available()` lists the registered names."""

from __future__ import annotations

import difflib
import importlib

from methods.base import Method, Transition, resolve_device, reward_correlation

__all__ = ["Method", "Transition", "available", "get", "register", "resolve_device", "reward_correlation"]

# name -> "module:Class"; modules are imported lazily so one method's dependencies never block another.
_REGISTRY: dict[str, str] = {}


def register(name: str, target: str) -> None:
    _REGISTRY[name] = target


def available() -> list[str]:
    return sorted(_REGISTRY)


def get(name: str) -> type[Method]:
    """The Method class registered under `name` (clear error listing the valid names)."""
    if name not in _REGISTRY:
        close = difflib.get_close_matches(name, list(_REGISTRY), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"Unknown method {name!r}.{hint} Valid methods: {', '.join(available()) or '(none)'}")
    module, cls = _REGISTRY[name].split(":")
    return getattr(importlib.import_module(module), cls)


register("iqmpc", "methods.iqmpc:IQMPC")
register("cdred", "methods.cdred:CDRED")
