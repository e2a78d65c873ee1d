"""Expert policies and versioned demonstration datasets."""

from experts.demos import KINDS, Demos, Episode

__all__ = ["KINDS", "Demos", "Episode"]
