"""Build every expert and dataset of a suite: `build(suite, tasks=None, ...)` (the `stage=experts` grid stage)
and `build_task` for one task. Idempotent: existing datasets and checkpoints are kept unless `force`."""

from __future__ import annotations

import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

import envs
from experts import dataset
from experts.artifacts import load_episodes_npz
from experts.collect import FILTER_RULES, collect, summarize
from experts.demos import Episode
from experts.loader import dataset_path
from experts.paths import checkpoint_root
from experts.policies import (
    DEFAULT_EXPERT,
    SCRIPTED_KINDS,
    TRAINED,
    NoisyPolicy,
    RandomPolicy,
    checkpoint_path,
    expert_dir,
    make_expert,
    parse_kind,
)

N_RANDOM_REFERENCE = 10
REPLAY_NOISE = 0.3  # scripted experts have no training replay: their "replay" is the expert with this noise
_VERSIONED = ("numpy", "h5py", "torch", "gymnasium", "mujoco", "stable-baselines3")


def package_versions(spec) -> dict[str, str]:
    out = dict(spec.versions)
    for dist in _VERSIONED:
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "missing"
    return out


def make_card(spec, source: str, provenance: dict, seed: int, episodes: list[Episode], attempts: int, rule: str,
              random_reference: dict, wall_s: float, **extra) -> dict:
    """The data card: what the dataset is and how it was made (AIME-style), stored inside and beside it."""
    stats = summarize(episodes)
    return {
        "suite": spec.suite, "task": spec.task, "source": source, **provenance,
        "env_spec": spec.to_dict(), "collection_seed": seed, "n_episodes": len(episodes),
        "n_attempted": attempts, "filter_rule": rule,
        "return_mean": stats["return_mean"], "return_std": stats["return_std"],
        "success_mean": stats["success_mean"], "success_std": stats["success_std"],
        "random_reference": random_reference,
        "step_units": {"agent_steps": sum(len(e) for e in episodes), "action_repeat": spec.action_repeat,
                       "env_steps": spec.env_steps(sum(len(e) for e in episodes)),
                       "note": "one row = one agent step (env.step call) = action_repeat simulator steps"},
        "package_versions": package_versions(spec), "collection_wall_s": round(wall_s, 2),
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **extra,
    }


def _collect_and_write(path: Path, env, policy, n: int, seed: int, stream: str, rule: str, source: str,
                       provenance: dict, ref: dict, log: Callable[[str], None], **extra) -> dict:
    t0 = time.time()
    episodes, attempts = collect(env, policy, n, seed, stream=stream, rule=rule)
    card = make_card(env.wmil_spec, source, provenance, seed, episodes, attempts, rule, ref, time.time() - t0,
                     **extra)
    card = dataset.write(path, episodes, card)
    log(f"wrote {path}: {len(episodes)} eps, return {card['return_mean']:.1f}±{card['return_std']:.1f}, "
        f"success {card['success_mean']}, {card['collection_wall_s']:.1f}s")
    return card


def build_task(suite: str, task: str, *, n: int = 100, seed: int = 0, expert: str | None = None,
               n_random: int = 100, n_reference: int = N_RANDOM_REFERENCE, embodiment: bool = True,
               train_cfg=None, filter_rule: str | None = None, force: bool = False,
               root: Path | None = None, ckpt_root: Path | None = None,
               log: Callable[[str], None] = print) -> dict[str, dict]:
    """Train the expert if needed, then write the expert dataset and (with `embodiment`) random and replay
    datasets of one task. `train_cfg`: the trained kind's config (`SACConfig`, `TDMPC2TrainConfig`, or a dict
    of its fields), default its defaults. `filter_rule`: override the suite's rule (`collect.FILTER_RULES`).
    Returns {dataset name: card}."""
    task = envs.canonical_task(suite, task)
    kind = expert or DEFAULT_EXPERT[suite]
    base, _ = parse_kind(kind)  # a noisy kind's embodiment data are its plain kind's
    ckpt_root = ckpt_root or checkpoint_root()
    if isinstance(train_cfg, dict):  # from a YAML / JSON config
        train_cfg = TRAINED[base].config(**train_cfg)
    if base in TRAINED and (force or not checkpoint_path(suite, task, base, ckpt_root).exists()):
        log(f"training {base} expert for {suite}/{task}")
        TRAINED[base].train(suite, task, train_cfg, root=ckpt_root)
    policy, provenance = make_expert(suite, task, kind, ckpt_root)
    env = envs.make(suite, task, seed=seed)
    spec = env.wmil_spec
    todo = {"expert": dataset_path(suite, task, "expert", kind, root)}
    if embodiment:
        todo["random"] = dataset_path(suite, task, "random", base, root)
        todo["replay"] = dataset_path(suite, task, "replay", base, root)
    cards = {name: dataset.read(p)[1] for name, p in todo.items() if p.exists() and not force}
    if len(cards) == len(todo):
        log(f"{suite}/{task}: all datasets present")
        return cards
    ref_eps, _ = collect(env, RandomPolicy(spec.action_dim), n_reference, seed, stream="random_reference")
    ref = summarize(ref_eps)
    random_prov = {"expert_kind": "random", "expert_checkpoint": None, "expert_checkpoint_sha256": None}
    if "expert" not in cards:
        cards["expert"] = _collect_and_write(todo["expert"], env, policy, n, seed, "expert",
                                             filter_rule or FILTER_RULES[suite],
                                             "expert", provenance, ref, log)
    if embodiment and "random" not in cards:
        cards["random"] = _collect_and_write(todo["random"], env, RandomPolicy(spec.action_dim), n_random, seed,
                                             "random", "keep_all", "random", random_prov, ref, log)
    if embodiment and "replay" not in cards:
        plain, plain_provenance = (policy, provenance) if base == kind else make_expert(suite, task, base, ckpt_root)
        cards["replay"] = _write_replay(todo["replay"], env, plain, plain_provenance, base, n_random, seed, ref,
                                        ckpt_root, log)
    env.close()
    return cards


def _write_replay(path: Path, env, policy, provenance: dict, kind: str, n: int, seed: int, ref: dict,
                  ckpt_root: Path, log: Callable[[str], None]) -> dict:
    """AIME's 'replay' embodiment data: a trained expert's whole training replay; for scripted experts (no
    training) the expert with N(0, REPLAY_NOISE^2) action noise, said so in the card."""
    spec = env.wmil_spec
    if kind in SCRIPTED_KINDS:
        noisy = NoisyPolicy(policy, spec.action_dim, REPLAY_NOISE)
        return _collect_and_write(path, env, noisy, n, seed, "replay", "keep_all", "replay", provenance, ref, log,
                                  replay_note=f"{kind} expert + N(0, {REPLAY_NOISE}^2) action noise")
    src = expert_dir(spec.suite, spec.task, kind, ckpt_root) / "replay.npz"
    t0 = time.time()
    episodes = load_episodes_npz(src)
    card = make_card(spec, "replay", provenance, seed, episodes, len(episodes), "keep_all", ref, time.time() - t0,
                     replay_note=f"every complete episode of the {kind} expert's training, in order, from {src}")
    card = dataset.write(path, episodes, card)
    log(f"wrote {path}: {len(episodes)} training episodes")
    return card


def build(suite: str, tasks: list[str] | None = None, **kwargs) -> dict[str, dict[str, dict]]:
    """Build every expert and dataset of a suite (default: all its registered tasks); kwargs as `build_task`.
    This is what `python run_grid.py stage=experts suite=<suite>` runs. Returns {task: {dataset: card}}."""
    return {task: build_task(suite, task, **kwargs) for task in (tasks or envs.tasks(suite))}
