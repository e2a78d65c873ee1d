"""Print what the expert stage produced: per task, the expert's training (steps, wall time, best eval) and each
dataset's return/success, random reference and collection time, read from the data cards. `--actions` also reads
each dataset and prints how the demonstrator acts before and after the episode first succeeds: the RMS action
(over steps and action dimensions) and the RMS step-to-step action change. Two experts with the same success can
hold a solved task very differently (Meta-World's scripted reach policy holds with actions near 0, a TD-MPC2 agent
with RMS ~0.4 and RMS change ~0.6), and adversarial imitators such as IQ-MPC pick that up as a feature of the expert.

    python -m bench.experts_report [--suite dmc] [--actions]    # prints a markdown table
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from experts import dataset
from experts.demos import Episode
from experts.paths import checkpoint_root, data_root


def _fmt(mean, std, digits: int = 1) -> str:
    return "–" if mean is None else f"{mean:.{digits}f} ± {std:.{digits}f}"


def _rms(chunks: list[np.ndarray]) -> float | None:
    chunks = [c for c in chunks if c.size]
    return float(np.sqrt(np.mean(np.concatenate([c.ravel() for c in chunks]) ** 2))) if chunks else None


def action_stats(episodes: list[Episode]) -> dict[str, float | None]:
    """RMS action before / after each episode's first success (the step whose `success` is 1 and every later step
    count as after; episodes that never succeed, or carry no success, count wholly as before), and the RMS change
    between consecutive actions after it. None where a phase has no steps; empty dict for observation-only data."""
    if not episodes or episodes[0].action is None:
        return {}
    before, after, change = [], [], []
    for ep in episodes:
        hits = np.flatnonzero(ep.success > 0) if ep.success is not None else np.array([], dtype=int)
        first = int(hits[0]) if hits.size else len(ep.action)
        before.append(ep.action[:first])
        after.append(ep.action[first:])
        change.append(np.diff(ep.action[first:], axis=0))
    return {"rms a before success": _rms(before), "rms a after success": _rms(after),
            "rms Δa after success": _rms(change)}


def rows(suite: str | None = None, actions: bool = False) -> list[dict]:
    out = []
    for card_file in sorted(data_root().glob("*/*/*.hdf5.card.json")):
        c = json.loads(card_file.read_text())
        if suite and c["suite"] != suite:
            continue
        row = {"suite": c["suite"], "task": c["task"], "dataset": card_file.name.removesuffix(".hdf5.card.json"),
               "expert": c.get("expert_kind"), "n": c["n_episodes"], "attempts": c["n_attempted"],
               "return": _fmt(c["return_mean"], c["return_std"]),
               "success": _fmt(c["success_mean"], c["success_std"], 2),
               "random ref": _fmt(c["random_reference"].get("return_mean"), c["random_reference"].get("return_std")),
               "agent steps": c["step_units"]["agent_steps"], "collect s": c["collection_wall_s"],
               "sha256": c["content_sha256"][:12]}
        train = checkpoint_root() / c["suite"] / c["task"] / str(c.get("expert_kind")) / "card.json"
        if train.exists() and row["dataset"].startswith("expert"):
            t = json.loads(train.read_text())
            row["train"] = (f"{t['agent_steps']} steps, {t['wall_s'] / 60:.0f} min, best eval "
                            f"{t['best']['return_mean']:.1f} @ {t['best']['agent_step']}")
        if actions:
            episodes, _ = dataset.read(card_file.parent / card_file.name.removesuffix(".card.json"))
            row.update({k: "–" if v is None else f"{v:.3f}" for k, v in action_stats(episodes).items()})
        out.append(row)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--suite")
    ap.add_argument("--actions", action="store_true", help="also read each dataset: RMS action before / after "
                    "the first success and RMS action change after it")
    args = ap.parse_args()
    table = rows(args.suite, actions=args.actions)
    if not table:
        print(f"no datasets under {data_root()}")
        return
    cols = list(dict.fromkeys(k for r in table for k in r))
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    for r in table:
        print("| " + " | ".join(str(r.get(k, "")) for k in cols) + " |")


if __name__ == "__main__":
    main()
