"""`load(suite, task, kind, n)`: the demonstrations a method trains from, as a `Demos`."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from experts import dataset
from experts.dataset import DatasetError
from experts.demos import KINDS, Demos, Episode
from experts.paths import data_root, task_dir
from experts.policies import DEFAULT_EXPERT, parse_kind

EMBODIMENT_SOURCES = ("random", "replay", "mix")


def dataset_path(suite: str, task: str, source: str, expert: str | None = None, root: Path | None = None) -> Path:
    """`<root>/<suite>/<task>/{expert-<kind>,replay-<plain kind>,random}.hdf5` (a noisy kind's replay data are its
    plain kind's: the noise is a property of the demonstrations only)."""
    if source not in ("expert", "random", "replay"):
        raise ValueError(f"unknown dataset source {source!r}; valid: expert, random, replay")
    kind = expert or DEFAULT_EXPERT[suite]
    if source == "replay":
        kind = parse_kind(kind)[0]
    name = "random" if source == "random" else f"{source}-{kind}"
    return task_dir(root or data_root(), suite, task) / f"{name}.hdf5"


def subsample(n_stored: int, n: int | None, seed: int = 0) -> np.ndarray:
    """Deterministic choice of `n` of `n_stored` episodes (sorted indices). The first n of one fixed
    permutation, so smaller subsets are nested in larger ones."""
    if n is None:
        return np.arange(n_stored)
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    if n > n_stored:
        raise DatasetError(f"asked for n={n} episodes but the dataset holds only {n_stored}")
    return np.sort(np.random.default_rng(seed).permutation(n_stored)[:n])


def _check_dims(path: Path, card: dict, spec) -> None:
    want = (tuple(spec.obs_shape), int(spec.action_dim))
    got = (tuple(card["env_spec"]["obs_shape"]), int(card["env_spec"]["action_dim"]))
    if want != got:
        raise DatasetError(f"{path} has obs_shape {got[0]} and action_dim {got[1]}, but the env "
                           f"{spec.suite}/{spec.task} has obs_shape {want[0]} and action_dim {want[1]}; "
                           "rebuild the dataset for this env")


def _load_one(path: Path, n: int | None, seed: int, spec) -> tuple[list[Episode], dict]:
    if not path.exists():
        suite, task = path.parent.parent.name, path.parent.name
        raise DatasetError(f"no dataset at {path}; build it with `python -m experts {suite} {task}`")
    episodes, card = dataset.read(path)
    if spec is not None:
        _check_dims(path, card, spec)
    try:
        idx = subsample(len(episodes), n, seed)
    except DatasetError as err:
        raise DatasetError(f"{path}: {err}") from None
    dataset_id = f"{card['suite']}/{card['task']}/{path.stem}@{card['content_sha256'][:12]}"
    card = {**card, "dataset_id": dataset_id, "path": str(path), "n_loaded": len(idx), "indices": idx.tolist(),
            "subsample_seed": seed}
    return [episodes[i] for i in idx], card


def load(suite: str, task: str, kind: str = "state-action", n: int | None = None, *, expert: str | None = None,
         source: str = "mix", root: Path | None = None, subsample_seed: int = 0, spec=None,
         check_env: bool = True) -> Demos:
    """Load `n` episodes (all if None) of a task's dataset.

    kind: 'state-action' (expert demos), 'obs-only' (the same episodes with actions dropped, nothing else),
    'embodiment' (AIME/BCO data; `source` 'random', 'replay' or 'mix' = n//2 random + the rest replay).
    expert: expert kind whose data to load (default: the suite's, see `policies.DEFAULT_EXPERT`).
    spec: the env's EnvSpec to check dims against; built with `envs.spec` when None and `check_env`.
    """
    import envs

    task = envs.canonical_task(suite, task)
    if kind not in KINDS:
        raise ValueError(f"unknown demo kind {kind!r}; valid: {', '.join(KINDS)}")
    if spec is None and check_env:
        spec = envs.spec(suite, task)
    if kind in ("state-action", "obs-only"):
        episodes, card = _load_one(dataset_path(suite, task, "expert", expert, root), n, subsample_seed, spec)
        if kind == "obs-only":
            episodes = [Episode(ep.obs, None, ep.reward, ep.success, ep.terminated, ep.seed) for ep in episodes]
        return Demos(episodes, kind=kind, card=card)
    if source not in EMBODIMENT_SOURCES:
        raise ValueError(f"unknown embodiment source {source!r}; valid: {', '.join(EMBODIMENT_SOURCES)}")
    parts = ["random", "replay"] if source == "mix" else [source]
    counts = [None, None] if n is None else ([n // 2, n - n // 2] if source == "mix" else [n])
    episodes, cards = [], []
    for part, count in zip(parts, counts, strict=False):
        if count == 0:
            continue
        eps, card = _load_one(dataset_path(suite, task, part, expert, root), count, subsample_seed, spec)
        episodes += eps
        cards.append(card)
    card = cards[0] if len(cards) == 1 else {"source": "mix", "parts": cards,
                                             "content_sha256": [c["content_sha256"] for c in cards]}
    return Demos(episodes, kind="embodiment", card=card)
