"""One versioned, content-hashed dataset schema for demonstrations and embodiment data (HDF5).

Why this layout: it is robomimic's HDF5 layout (`data/demo_<i>/{obs,next_obs}/<key>, actions, rewards, dones`,
per-demo `num_samples`, `data` attrs `total`), the de-facto standard for robot-learning demonstrations, read by
any HDF5 tool and written with `h5py`, which the harness already installs. Minari (the Farama standard, also
HDF5 underneath) was considered and not chosen: it ties a dataset to a registered gymnasium env id and a
recovered env spec, while our environments come from `envs.make(suite, task)` with their own conventions (action
repeat, step units, trembling hand), and it adds a dependency with its own gymnasium pins to an environment
that already needs hand-made pins. Additions to robomimic's layout, all in attributes or extra datasets:

    /                 attrs: schema="wmil-demos", schema_version, content_sha256, card (JSON data card)
    /data             attrs: total (agent steps), num_episodes
    /data/demo_<i>    attrs: num_samples (T), seed (reset seed of obs[0]; -1 unknown), terminated
        obs/state       (T, *obs_shape)  observation before actions[t]
        next_obs/state  (T, *obs_shape)  observation after actions[t]  (== obs/state[t+1])
        actions         (T, action_dim)  float32, the action the env applied (clipped / trembled)
        rewards, dones, terminated, truncated  (T,)   dones = terminated | truncated (robomimic's name)
        success         (T,)  only where the suite defines success

`content_sha256` is a SHA-256 over the data card (without the hash itself) and every array, name, dtype and
shape in a fixed order: it identifies the dataset (run manifests record it), and `read` recomputes it, so a
truncated or corrupted file raises `DatasetError` naming the file. Files are written to a temporary sibling
and `os.replace`d into place; a readable JSON copy of the card sits next to each file (`<name>.card.json`).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import h5py
import numpy as np

from experts.demos import Episode
from experts.paths import atomic_write

SCHEMA = "wmil-demos"
SCHEMA_VERSION = 1
_ARRAYS = ("obs/state", "next_obs/state", "actions", "rewards", "dones", "terminated", "truncated", "success")


class DatasetError(RuntimeError):
    """A dataset that cannot be used: unreadable, hash mismatch, wrong dims, too few episodes."""


def _episode_arrays(ep: Episode) -> dict[str, np.ndarray]:
    T = len(ep)
    if ep.action is None:
        raise DatasetError("datasets store actions; observation-only demos are derived at load time")
    term = np.zeros(T, np.uint8)
    trunc = np.zeros(T, np.uint8)
    (term if ep.terminated else trunc)[-1] = 1
    out = {
        "obs/state": np.asarray(ep.obs[:-1]), "next_obs/state": np.asarray(ep.obs[1:]),
        "actions": np.asarray(ep.action, np.float32), "rewards": np.asarray(ep.reward, np.float32),
        "dones": term | trunc, "terminated": term, "truncated": trunc,
    }
    if ep.success is not None:
        out["success"] = np.asarray(ep.success, np.float32)
    return out


def _hash(card: dict, demos: list[tuple[dict[str, np.ndarray], dict]]) -> str:
    h = hashlib.sha256()
    body = {k: v for k, v in card.items() if k != "content_sha256"}
    h.update(json.dumps(body, sort_keys=True, default=str).encode())
    for i, (arrays, attrs) in enumerate(demos):
        h.update(f"demo_{i}:{json.dumps(attrs, sort_keys=True)}".encode())
        for name in _ARRAYS:
            if name in arrays:
                a = np.ascontiguousarray(arrays[name])
                h.update(f"{name}:{a.dtype.str}:{a.shape}".encode())
                h.update(a.tobytes())
    return h.hexdigest()


def _attrs(ep: Episode) -> dict:
    return {"num_samples": len(ep), "seed": -1 if ep.seed is None else int(ep.seed), "terminated": bool(ep.terminated)}


def write(path: Path, episodes: list[Episode], card: dict) -> dict:
    """Write `episodes` with `card` atomically; returns the card with `content_sha256` filled in."""
    if not episodes:
        raise DatasetError(f"refusing to write an empty dataset to {path}")
    demos = [(_episode_arrays(ep), _attrs(ep)) for ep in episodes]
    card = {**card, "schema": SCHEMA, "schema_version": SCHEMA_VERSION}
    card["content_sha256"] = _hash(card, demos)

    def dump(tmp: Path) -> None:
        with h5py.File(tmp, "w") as f:
            f.attrs.update(schema=SCHEMA, schema_version=SCHEMA_VERSION, content_sha256=card["content_sha256"],
                           card=json.dumps(card, sort_keys=True, default=str))
            data = f.create_group("data")
            data.attrs.update(total=sum(len(ep) for ep in episodes), num_episodes=len(episodes))
            for i, (arrays, attrs) in enumerate(demos):
                g = data.create_group(f"demo_{i}")
                g.attrs.update(attrs)
                for name, a in arrays.items():
                    g.create_dataset(name, data=a)

    atomic_write(path, dump)
    atomic_write(card_path(path), lambda p: p.write_text(json.dumps(card, indent=2, sort_keys=True, default=str)))
    return card


def card_path(path: Path) -> Path:
    return Path(path).with_name(Path(path).name + ".card.json")


def read(path: Path) -> tuple[list[Episode], dict]:
    """Read and verify a dataset; raises `DatasetError` naming the file if it is unreadable or altered."""
    path = Path(path)
    if not path.exists():
        raise DatasetError(f"no dataset at {path}")
    try:
        with h5py.File(path, "r") as f:
            if f.attrs.get("schema") != SCHEMA:
                raise DatasetError(f"{path} is not a {SCHEMA} dataset (schema={f.attrs.get('schema')!r})")
            version = int(f.attrs["schema_version"])
            if version != SCHEMA_VERSION:
                raise DatasetError(f"{path} has schema_version {version}; this code reads {SCHEMA_VERSION}")
            card = json.loads(f.attrs["card"])
            stored = str(f.attrs["content_sha256"])
            n = int(f["data"].attrs["num_episodes"])
            demos = []
            for i in range(n):
                g = f[f"data/demo_{i}"]
                arrays = {name: g[name][()] for name in _ARRAYS if name in g}
                attrs = {"num_samples": int(g.attrs["num_samples"]), "seed": int(g.attrs["seed"]),
                         "terminated": bool(g.attrs["terminated"])}
                demos.append((arrays, attrs))
    except DatasetError:
        raise
    except Exception as err:  # h5py raises OSError/KeyError/ValueError on truncated or damaged files
        raise DatasetError(f"cannot read dataset {path}: truncated or corrupted ({type(err).__name__}: {err})") from err
    computed = _hash(card, demos)
    if computed != stored or card.get("content_sha256") != stored:
        raise DatasetError(f"content hash mismatch in {path}: stored {stored[:16]}…, computed {computed[:16]}… "
                           "(the file was corrupted or modified; rebuild it with `python -m experts`)")
    return [_to_episode(path, i, a, attrs) for i, (a, attrs) in enumerate(demos)], card


def _to_episode(path: Path, i: int, a: dict[str, np.ndarray], attrs: dict) -> Episode:
    obs, nxt = a["obs/state"], a["next_obs/state"]
    if len(obs) > 1 and not np.array_equal(obs[1:], nxt[:-1]):
        raise DatasetError(f"{path} demo_{i}: next_obs[t] != obs[t+1] (misaligned transitions)")
    return Episode(
        obs=np.concatenate([obs, nxt[-1:]]), action=a["actions"], reward=a["rewards"], success=a.get("success"),
        terminated=attrs["terminated"], seed=None if attrs["seed"] < 0 else attrs["seed"],
    )
