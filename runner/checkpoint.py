"""Atomic, hash-verified checkpoints: `checkpoint/latest.pt` + `latest.pt.sha256`."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import torch

from runner.io import atomic_write_bytes, atomic_write_text, sha256_bytes


class CorruptCheckpoint(RuntimeError):
    pass


def paths(run_dir: Path) -> tuple[Path, Path]:
    d = Path(run_dir) / "checkpoint"
    return d / "latest.pt", d / "latest.pt.sha256"


def save(run_dir: Path, state: dict[str, Any]) -> str:
    """Serialise `state`, write the hash to a side file first, then replace the checkpoint atomically."""
    buf = io.BytesIO()
    torch.save(state, buf)
    data = buf.getvalue()
    digest = sha256_bytes(data)
    pt, sha = paths(run_dir)
    atomic_write_text(sha.with_name(sha.name + ".next"), digest + "\n")
    atomic_write_bytes(pt, data)
    atomic_write_text(sha, digest + "\n")
    sha.with_name(sha.name + ".next").unlink(missing_ok=True)
    return digest


def exists(run_dir: Path) -> bool:
    return paths(run_dir)[0].exists()


def load(run_dir: Path) -> dict[str, Any]:
    """Load the latest checkpoint after checking its sha256 (the `.next` hash covers a kill between the
    checkpoint's replace and its hash's replace)."""
    pt, sha = paths(run_dir)
    data = pt.read_bytes()
    digest = sha256_bytes(data)
    known = {p.read_text().strip() for p in (sha, sha.with_name(sha.name + ".next")) if p.exists()}
    if digest not in known:
        raise CorruptCheckpoint(f"{pt}: sha256 {digest[:12]} matches neither {sorted(known)}")
    return torch.load(io.BytesIO(data), map_location="cpu", weights_only=False)
