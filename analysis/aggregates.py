"""rliable-style aggregates over tasks: IQM / mean / median / optimality gap, performance profiles, probability of
improvement and sample-efficiency curves, with stratified bootstrap CIs.

Point estimates use rliable's own metric functions; the bootstrap samples come from `analysis.bootstrap`, a
vectorised equivalent of rliable's (equal values for equal seeds, see tests) because rliable's loops are too slow.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from rliable import metrics

from analysis import bootstrap as bs

# rliable's recommended reps (its README: aggregates and sample efficiency 50,000; probability of improvement
# 2,000; performance profiles: create_performance_profile's default 2,000).
REPS = 50_000
POI_REPS = 2_000
PROFILE_REPS = 2_000
SAMPLE_EFFICIENCY_POINTS = 11


@dataclass
class ScoreMatrices:
    """Per variant a (runs x tasks) final-score matrix over the tasks every variant has, plus what was left out."""

    tasks: list[str]
    runs: dict[str, pd.DataFrame]  # variant -> the runs used (cell_id, task, seed), rows in matrix order
    matrices: dict[str, np.ndarray]
    notes: list[str] = field(default_factory=list)


def score_matrices(scores: pd.DataFrame) -> ScoreMatrices:
    """Rectangular matrices for rliable: common tasks only; per variant the same number of runs on each task."""
    scores = scores.dropna(subset=["score"]).assign(key=lambda d: d["suite"] + "/" + d["task"])
    variants = sorted(scores["variant"].unique())
    per_variant = {v: set(scores.loc[scores.variant == v, "key"]) for v in variants}
    tasks = sorted(set.intersection(*per_variant.values())) if variants else []
    notes = []
    for v in variants:
        if per_variant[v] - set(tasks):
            left = ", ".join(sorted(per_variant[v] - set(tasks)))
            notes.append(f"{v}: tasks left out (not run by every method): {left}")
    runs, matrices = {}, {}
    for v in variants:
        sub = scores[(scores.variant == v) & scores.key.isin(tasks)].sort_values(["key", "seed"])
        n = sub.groupby("key").size().min() if len(sub) else 0
        counts = sub.groupby("key").size()
        if (counts > n).any():
            notes.append(f"{v}: using {n} runs per task (first seeds); tasks with more: "
                         + ", ".join(f"{k} ({c})" for k, c in counts[counts > n].items()))
        used = sub.groupby("key").head(n)
        runs[v] = used
        matrices[v] = np.stack([used.loc[used.key == t, "score"].to_numpy() for t in tasks], axis=1) if n else None
    matrices = {v: m for v, m in matrices.items() if m is not None}
    return ScoreMatrices(tasks, runs, matrices, notes)


def step_matrices(curves: pd.DataFrame, sm: ScoreMatrices, points: int = SAMPLE_EFFICIENCY_POINTS,
                  step_col: str = "env_step") -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(runs x tasks x steps) curves of the runs in `sm`, linearly interpolated onto `points` evenly spaced steps
    from 0 to the median last step (runs evaluate at slightly different steps). A run that ended earlier keeps its
    last value (as its "final" score does); such runs are listed in `sm.notes`."""
    used = pd.concat(sm.runs.values()) if sm.runs else pd.DataFrame(columns=["cell_id"])
    c = curves[curves["cell_id"].isin(used["cell_id"])].sort_values(step_col)
    if c.empty:
        return np.array([]), {}
    runs = {cid: (g[step_col].to_numpy(float), g["value"].to_numpy(float)) for cid, g in c.groupby("cell_id")}
    last = float(np.median([s[-1] for s, _ in runs.values()]))
    steps = np.linspace(0.0, last, points).round()
    short = sorted(f"{cid} (last step {s[-1]:.0f})" for cid, (s, _) in runs.items() if s[-1] < last)
    if short:
        shown = ", ".join(short[:5]) + (f" and {len(short) - 5} more" if len(short) > 5 else "")
        sm.notes.append(f"sample-efficiency curves: {len(short)} run(s) ending before step {last:.0f} hold their "
                        f"last value: {shown}")
    out = {}
    for v, vr in sm.runs.items():
        n = len(vr) // max(len(sm.tasks), 1)
        arr = np.full((n, len(sm.tasks), len(steps)), np.nan)
        for j, t in enumerate(sm.tasks):
            for i, cid in enumerate(vr.loc[vr.key == t, "cell_id"]):
                if cid in runs:
                    arr[i, j] = np.interp(steps, *runs[cid])
        out[v] = arr
    return steps, out


@dataclass
class Aggregates:
    """All aggregate estimates of one score matrix set (points, (2, k) CIs) and the settings that made them."""

    names: tuple[str, ...]
    points: dict[str, np.ndarray]
    intervals: dict[str, np.ndarray]
    taus: np.ndarray
    profiles: dict[str, np.ndarray]
    profile_cis: dict[str, np.ndarray]
    poi: dict[tuple[str, str], float]
    poi_cis: dict[tuple[str, str], np.ndarray]
    steps: np.ndarray
    curve_points: dict[str, np.ndarray]
    curve_cis: dict[str, np.ndarray]
    reps: int
    profile_reps: int
    poi_reps: int
    seed: int

    def table(self) -> pd.DataFrame:
        rows = []
        for v, p in self.points.items():
            for i, name in enumerate(self.names):
                rows.append({"variant": v, "metric": name, "estimate": p[i],
                             "ci_low": self.intervals[v][0, i], "ci_high": self.intervals[v][1, i]})
        return pd.DataFrame(rows)

    def poi_table(self) -> pd.DataFrame:
        return pd.DataFrame([
            {"X": x, "Y": y, "P(X > Y)": p, "ci_low": self.poi_cis[(x, y)][0, 0], "ci_high": self.poi_cis[(x, y)][1, 0]}
            for (x, y), p in self.poi.items()
        ])


def point_aggregates(m: np.ndarray) -> np.ndarray:
    """rliable's own metric functions (median, IQM, mean, optimality gap) on one (runs x tasks) matrix."""
    return np.array([metrics.aggregate_median(m), metrics.aggregate_iqm(m), metrics.aggregate_mean(m),
                     metrics.aggregate_optimality_gap(m)])


def compute_aggregates(
    sm: ScoreMatrices, step_curves: tuple[np.ndarray, dict[str, np.ndarray]] | None = None,
    reps: int = REPS, profile_reps: int = PROFILE_REPS, poi_reps: int = POI_REPS, seed: int = 0,
    progress: bool = False, taus: np.ndarray | None = None,
) -> Aggregates:
    """Every aggregate with its CI; one RandomState(seed) drives all bootstraps in a fixed order."""
    rng = np.random.RandomState(seed)
    m = sm.matrices
    _, intervals = bs.interval_estimates(m, bs.aggregate_stats, reps, rng, progress=progress)
    points = {v: point_aggregates(x) for v, x in m.items()}
    if taus is None:
        hi = max([float(np.nanmax(x)) for x in m.values()] + [1.0])
        taus = np.linspace(0.0, hi, 81)
    profiles, profile_cis = bs.interval_estimates(m, bs.profile_stat(taus), profile_reps, rng, progress=progress)
    pairs = {(x, y): (m[x], m[y]) for x, y in itertools.combinations(sorted(m), 2)}
    poi, poi_cis = bs.probability_of_improvement(pairs, poi_reps, rng, progress=progress)
    steps, curve_points, curve_cis = np.array([]), {}, {}
    if step_curves is not None and step_curves[1]:
        steps, arrays = step_curves
        curve_points, curve_cis = bs.curve_interval_estimates(arrays, reps, rng, progress=progress)
    return Aggregates(bs.AGGREGATE_NAMES, points, intervals, taus, profiles, profile_cis, poi, poi_cis,
                      steps, curve_points, curve_cis, reps, profile_reps, poi_reps, seed)
