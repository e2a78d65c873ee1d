"""Where datasets and expert checkpoints live (both git-ignored), and atomic file writing."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

_HERE = Path(__file__).resolve().parent


def data_root() -> Path:
    """Dataset root: `$WMIL_DATA`, else `experts/data/`."""
    return Path(os.environ.get("WMIL_DATA", _HERE / "data"))


def checkpoint_root() -> Path:
    """Expert checkpoint root: `$WMIL_CHECKPOINTS`, else `experts/checkpoints/`."""
    return Path(os.environ.get("WMIL_CHECKPOINTS", _HERE / "checkpoints"))


def task_dir(root: Path, suite: str, task: str) -> Path:
    return Path(root) / suite / task


def atomic_write(path: Path, write: Callable[[Path], None]) -> Path:
    """Call `write(tmp)` on a temporary sibling of `path`, then `os.replace` it into place, so a reader never
    sees a half-written file under its final name (the tmp file is removed if `write` fails)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path
