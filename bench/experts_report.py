"""Print what the expert stage produced: per task, the expert's training (steps, wall time, best eval) and each
dataset's return/success, random reference and collection time, read from the data cards.

    python -m bench.experts_report [--suite dmc] [--markdown]
"""

from __future__ import annotations

import argparse
import json

from experts.paths import checkpoint_root, data_root


def _fmt(mean, std, digits: int = 1) -> str:
    return "–" if mean is None else f"{mean:.{digits}f} ± {std:.{digits}f}"


def rows(suite: str | None = None) -> list[dict]:
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
        out.append(row)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--suite")
    args = ap.parse_args()
    table = rows(args.suite)
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
