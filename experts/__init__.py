"""Expert policies and versioned demonstration datasets.

    demos = experts.load("metaworld", "reach-v3", kind="state-action", n=100)   # -> Demos
    experts.build("dmc", ["cartpole-swingup"])                                 # train experts, write datasets
    python -m experts metaworld reach-v3 --n 100                               # the same, for one task

Importing this package loads no simulator and no torch (they are imported when first needed).
"""

from experts.builder import build
from experts.dataset import DatasetError
from experts.demos import KINDS, Demos, Episode
from experts.loader import load

__all__ = ["KINDS", "DatasetError", "Demos", "Episode", "build", "load"]
