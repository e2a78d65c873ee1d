"""Pluggable demonstration source: a "module:function" path called as fn(suite, task, kind=..., n=...)."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable

from experts.demos import Demos

DEFAULT_SOURCE = "experts:load"
DemoSource = Callable[..., Demos]


def resolve(path: str) -> DemoSource:
    """Import the demo source named by `path` ("module:function"); a clear error when it is missing."""
    module, _, name = path.partition(":")
    if not module or not name:
        raise ValueError(f"demos_source must look like 'module:function', got {path!r}")
    try:
        fn = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as err:
        raise RuntimeError(
            f"demo source {path!r} is not available ({err}). The default, experts.load, comes with the experts "
            "package (issue 3); set demos_source=module:function to use another loader."
        ) from err
    return fn


def load(source: DemoSource, suite: str, task: str, kind: str, n: int, spec: object,
         expert: str | None = None) -> Demos:
    """Call the source; pass the env's spec when it accepts one (saves building the env again) and `expert` (the
    expert kind whose demos to load) when it is set, which the source must then accept."""
    params = inspect.signature(source).parameters
    extra: dict = {"spec": spec} if "spec" in params else {}
    if expert is not None:
        if "expert" not in params:
            raise ValueError(f"demos_expert={expert!r} is set but the demo source {source.__module__}:"
                             f"{source.__name__} takes no `expert` argument")
        extra["expert"] = expert
    return source(suite, task, kind=kind, n=n, **extra)


def describe(demos: Demos) -> tuple[dict, dict]:
    """(dataset, reference) entries of the manifest, read from the demos' data card (experts' card keys:
    dataset_id, content_sha256, return_mean, success_mean, random_reference)."""
    card = demos.card or {}
    dataset = {"id": card.get("dataset_id", card.get("id")), "sha256": card.get("content_sha256", card.get("sha256")),
               "n_episodes": len(demos), "kind": demos.kind}
    rand = card.get("random_reference") or {}
    reference = {
        "expert_return": card.get("return_mean", card.get("expert_return")),
        "expert_success": card.get("success_mean", card.get("expert_success")),
        "random_return": rand.get("return_mean", card.get("random_return")),
        "random_success": rand.get("success_mean", card.get("random_success")),
    }
    return dataset, reference
