"""Files an expert trainer leaves behind: episode archives (training replay), eval logs, checkpoint hashes,
and the evaluation loop shared by the SAC and TD-MPC2 expert trainers."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import numpy as np

from experts.collect import episode_seed
from experts.demos import Episode
from experts.paths import atomic_write
from experts.rollout import Policy, rollout


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def save_episodes_npz(path: Path, episodes: list[Episode]) -> None:
    """Episodes as flat arrays + lengths (compact intermediate; `experts.build` turns it into a dataset)."""
    if not episodes:
        raise ValueError(f"no complete episode to save to {path}")

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as f:
            np.savez_compressed(
                f, lengths=np.array([len(e) for e in episodes], np.int64),
                obs=np.concatenate([e.obs for e in episodes]), action=np.concatenate([e.action for e in episodes]),
                reward=np.concatenate([e.reward for e in episodes]),
                success=np.concatenate([e.success if e.success is not None else np.full(len(e), np.nan, np.float32)
                                        for e in episodes]),
                terminated=np.array([e.terminated for e in episodes]),
            )

    atomic_write(path, write)


def load_episodes_npz(path: Path) -> list[Episode]:
    """Inverse of `save_episodes_npz`."""
    with np.load(path) as z:
        lengths, success = z["lengths"], z["success"]
        out, o, a = [], 0, 0
        for T, term in zip(lengths, z["terminated"], strict=True):
            s = success[a:a + T]
            out.append(Episode(obs=z["obs"][o:o + T + 1], action=z["action"][a:a + T], reward=z["reward"][a:a + T],
                               success=None if np.isnan(s).all() else s, terminated=bool(term)))
            o, a = o + T + 1, a + T
    return out


def evaluate(env, policy: Policy, n: int, seed: int = 0) -> dict:
    """Mean/std return and success-at-any-step of `n` episodes from the 'eval' reset-seed stream."""
    eps = [rollout(env, policy, episode_seed(seed, i, "eval")) for i in range(n)]
    ret = np.array([float(e.reward.sum()) for e in eps])
    succ = [float(np.any(e.success > 0)) for e in eps if e.success is not None]
    return {"return_mean": float(ret.mean()), "return_std": float(ret.std()),
            "success_mean": float(np.mean(succ)) if succ else float("nan")}


def write_csv(path: Path, rows: list[dict]) -> None:
    def dump(tmp: Path) -> None:
        with open(tmp, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)

    atomic_write(path, dump)


def write_json(path: Path, obj: dict) -> None:
    atomic_write(path, lambda p: p.write_text(json.dumps(obj, indent=2, default=float)))
