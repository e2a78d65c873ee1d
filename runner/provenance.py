"""Where a run's code and packages came from: git commit + dirty-diff hash, package versions, host."""

from __future__ import annotations

import platform
import socket
import subprocess
from importlib import metadata
from pathlib import Path

from runner.io import sha256_bytes

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("torch", "numpy", "mujoco", "gymnasium", "dm-control", "metaworld", "myosuite", "mani-skill2", "sapien")


def git_info(repo: Path = REPO) -> dict:
    """{commit, dirty, dirty_diff_sha256}; commit None outside a git checkout (e.g. a code snapshot)."""

    def git(*args: str) -> bytes:
        return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, check=True, timeout=30).stdout

    try:
        commit = git("rev-parse", "HEAD").decode().strip()
        diff = git("diff", "HEAD", "--binary")
        untracked = git("ls-files", "--others", "--exclude-standard")
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None, "dirty_diff_sha256": None}
    dirty = bool(diff or untracked)
    return {"commit": commit, "dirty": dirty,
            "dirty_diff_sha256": sha256_bytes(diff + b"\0" + untracked) if dirty else None}


def package_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for dist in PACKAGES:
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return out


def host() -> str:
    return socket.gethostname()
