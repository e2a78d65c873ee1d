"""Per-run scores from the tidy frame: curves, final and best values, normalisation by the dataset's references.

Hand-written: "final" = the run's last evaluation, "best" = its maximum over evaluations (the papers' two
conventions); normalised return = (R - random) / (expert - random) with the references from the manifest.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from analysis.results import Results

Which = Literal["final", "best"]
RUN_KEYS = ["source", "suite", "task", "method", "variant", "seed", "cell_id"]
WHICH_LABEL = {"final": "final (last evaluation)", "best": "best (max over evaluations)"}
REFERENCE_COLUMNS = {"eval/return": ("random_return", "expert_return"), "eval/success": None}


def curves(
    results: Results, metric: str, statuses: tuple[str, ...] = ("done",), normalise: bool = False
) -> pd.DataFrame:
    """One row per (run, step) for `metric` from cells in `statuses`; `value` normalised if asked."""
    cells = results.cells[results.cells["status"].isin(statuses)]
    f = results.frame
    df = f[(f["metric"] == metric) & f["cell_id"].isin(cells["cell_id"])]
    df = df[RUN_KEYS + ["agent_step", "env_step", "value"]].copy()
    for col in ("source", "suite", "task", "method", "variant", "cell_id"):
        df[col] = df[col].astype(str)
    if normalise:
        df = normalise_values(df, cells, metric)
    return df.sort_values(RUN_KEYS + ["agent_step"]).reset_index(drop=True)


def normalise_values(df: pd.DataFrame, cells: pd.DataFrame, metric: str) -> pd.DataFrame:
    """(value - random) / (expert - random) for returns (NaN where a reference is missing); success unchanged."""
    refs = REFERENCE_COLUMNS.get(metric)
    if refs is None:
        return df
    lo_col, hi_col = refs
    ref = cells.set_index("cell_id")[[lo_col, hi_col]].astype(float)
    lo = df["cell_id"].map(ref[lo_col])
    hi = df["cell_id"].map(ref[hi_col])
    span = (hi - lo).where((hi - lo) != 0)
    return df.assign(value=(df["value"] - lo) / span)


def run_scores(
    results: Results, metric: str, which: Which = "final", normalise: bool = False,
    statuses: tuple[str, ...] = ("done",),
) -> pd.DataFrame:
    """One row per run: `score` (final or best), the `agent_step`/`env_step` it came from."""
    c = curves(results, metric, statuses, normalise)
    if c.empty:
        return pd.DataFrame(columns=RUN_KEYS + ["score", "agent_step", "env_step"])
    g = c.groupby(RUN_KEYS, sort=True)
    idx = g["agent_step"].idxmax() if which == "final" else g["value"].idxmax()
    out = c.loc[idx.values, RUN_KEYS + ["value", "agent_step", "env_step"]].rename(columns={"value": "score"})
    return out.reset_index(drop=True)


def summarise(
    scores: pd.DataFrame, by: list[str] | None = None, bounds: tuple[float, float] | None = None
) -> pd.DataFrame:
    """Mean, std (ddof=1), n and a 95% Student-t interval over seeds per (task, variant), clipped to `bounds`."""
    from scipy import stats

    by = by or ["suite", "task", "variant"]
    g = scores.groupby(by, sort=True)
    out = g["score"].agg(mean="mean", std="std", n="count").reset_index()
    out["std"] = out["std"].where(out["n"] > 1)
    half = stats.t.ppf(0.975, np.maximum(out["n"] - 1, 1)) * out["std"] / np.sqrt(out["n"])
    out["ci_low"], out["ci_high"] = out["mean"] - half, out["mean"] + half
    if bounds is not None:
        out[["ci_low", "ci_high"]] = out[["ci_low", "ci_high"]].clip(*bounds)
    steps = g["env_step"].agg(["min", "max"]).reset_index(drop=True)
    out["env_step_min"], out["env_step_max"] = steps["min"].values, steps["max"].values
    return out
