"""Expert policies and versioned demonstration datasets.

    demos = experts.load("metaworld", "reach-v3", kind="state-action", n=100)   # -> Demos
    experts.build("dmc", ["cartpole-swingup"])                                 # train experts, write datasets
    python -m experts metaworld reach-v3 --n 100                               # the same, for one task
"""

from experts.dataset import DatasetError
from experts.demos import KINDS, Demos, Episode

__all__ = ["KINDS", "DatasetError", "Demos", "Episode", "build", "load"]


def load(*args, **kwargs) -> Demos:
    """See `experts.loader.load` (imported lazily: it pulls in the simulators)."""
    from experts.loader import load as _load

    return _load(*args, **kwargs)


def build(*args, **kwargs) -> dict:
    """See `experts.builder.build`."""
    from experts.builder import build as _build

    return _build(*args, **kwargs)
