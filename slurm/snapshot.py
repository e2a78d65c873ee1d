"""Copy the repository's source (tracked + untracked-not-ignored files) into a sweep folder, so jobs that wait
in the queue run the code as it was at submission, not later edits."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from runner.provenance import REPO


def source_files(repo: Path = REPO) -> list[str]:
    out = subprocess.run(["git", "-C", str(repo), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                         capture_output=True, check=True, timeout=60).stdout
    return [p for p in out.decode().split("\0") if p and (repo / p).is_file()]


def snapshot(dest: Path, repo: Path = REPO) -> Path:
    """Copy the source tree to `dest` (must not exist yet); returns `dest`."""
    dest.mkdir(parents=True)
    for rel in source_files(repo):
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(repo / rel, target)
    return dest
