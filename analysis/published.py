"""Published-numbers registry (`analysis/data/published.csv`: every number in the seed papers' tables, with
provenance) and the comparison of our results against it.

Hand-written: the registry is data transcribed from /work/shared/papers/ (IQ-MPC Tables 1, 5, 6; CDRED Tables 1,
5; AIME App. D Tables 1-4); CMIL publishes no numeric tables (figures only).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

REGISTRY = Path(__file__).parent / "data" / "published.csv"
REQUIRED = ("paper", "table", "suite", "task", "method", "metric", "value", "aggregation", "step_unit", "n_seeds")
# registry metric -> (our metric, normalise); expert_return is compared with our datasets' reference.
OUR_METRIC = {"success_rate": "eval/success"}


def load_registry(path: str | Path = REGISTRY) -> pd.DataFrame:
    """The registry as a frame; raises ValueError naming the file if a column is missing."""
    df = pd.read_csv(path, dtype={"config": str, "n_seeds": str, "n_episodes": str}, keep_default_na=False)
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise ValueError(f"{path}: missing column(s) {', '.join(missing)}")
    df["value"] = pd.to_numeric(df["value"])
    df["spread"] = pd.to_numeric(df["spread"].replace("", np.nan))
    return df


def variant_matches(variant: str, method: str, config: str) -> bool:
    """Our variant label (`method` or `method[k=v, ...]`) against a registry row's method and `k=v;...` config."""
    if not config:
        return variant == method
    if not variant.startswith(method + "["):
        return False
    parts = [p.strip() for p in variant[len(method) + 1:-1].split(",")]
    return all(any(p == kv or p.endswith("." + kv) for p in parts) for kv in config.split(";"))


def compare(registry: pd.DataFrame, summaries: dict[str, pd.DataFrame], cells: pd.DataFrame) -> pd.DataFrame:
    """One row per registry number: ours beside theirs, the difference, and whether theirs lies inside our 95% CI.

    `summaries[metric]` is `scores.summarise` output (final scores) for our metric names.
    """
    rows = []
    for _, r in registry.iterrows():
        ours = {"ours_mean": np.nan, "ours_ci_low": np.nan, "ours_ci_high": np.nan, "ours_n": 0, "ours_variant": ""}
        our_metric = OUR_METRIC.get(r["metric"])
        if our_metric and our_metric in summaries:
            s = summaries[our_metric]
            s = s[(s.suite == r["suite"]) & (s.task == r["task"])]
            s = s[[variant_matches(v, r["method"], r["config"]) for v in s["variant"]]]
            if len(s):
                best = s.iloc[0]
                ours = {"ours_mean": best["mean"], "ours_ci_low": best["ci_low"], "ours_ci_high": best["ci_high"],
                        "ours_n": int(best["n"]), "ours_variant": best["variant"]}
        elif r["metric"] == "expert_return" and len(cells):
            c = cells[(cells.suite == r["suite"]) & (cells.task == r["task"])]["expert_return"].dropna().astype(float)
            if len(c):
                ours = {"ours_mean": c.mean(), "ours_ci_low": np.nan, "ours_ci_high": np.nan,
                        "ours_n": len(c), "ours_variant": "our dataset reference"}
        inside = (ours["ours_ci_low"] <= r["value"] <= ours["ours_ci_high"]) if np.isfinite(ours["ours_ci_low"]) \
            else None
        rows.append({
            "paper": r["paper"], "table": r["table"], "suite": r["suite"], "task": r["task"],
            "method": r["method_label"] or r["method"], "metric": r["metric"], "theirs": r["value"],
            "theirs_spread": r["spread"], "aggregation": r["aggregation"], "n_seeds": r["n_seeds"], **ours,
            "diff": ours["ours_mean"] - r["value"], "theirs_in_our_ci": inside,
        })
    return pd.DataFrame(rows)


def comparison_markdown(cmp: pd.DataFrame, only_ours: bool = False) -> str:
    """Markdown table of `compare` output (rows without our runs kept unless `only_ours`)."""
    if only_ours:
        cmp = cmp[cmp["ours_n"] > 0]
    head = ("| paper | table | task | method | metric | theirs | ours (95% CI, n) | ours − theirs "
            "| theirs in our CI |\n" + "|---" * 9 + "|")
    lines = [head]
    for _, r in cmp.iterrows():
        theirs = f"{r.theirs:g}" + (f" ± {r.theirs_spread:g}" if np.isfinite(r.theirs_spread) else "")
        if r.ours_n:
            ci = f" [{r.ours_ci_low:.2f}, {r.ours_ci_high:.2f}]" if np.isfinite(r.ours_ci_low) else ""
            ours = f"{r.ours_mean:.2f}{ci} (n={r.ours_n}, {r.ours_variant})"
            diff = f"{r['diff']:+.2f}"
        else:
            ours, diff = "no runs", "–"
        inside = {True: "yes", False: "no", None: "–"}[r.theirs_in_our_ci]
        lines.append(f"| {r.paper.split(' (')[0]} | {r.table} | {r.task} | {r.method} | {r.metric} | {theirs} | "
                     f"{ours} | {diff} | {inside} |")
    return "\n".join(lines) + "\n"
