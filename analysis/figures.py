"""Figures: learning curves (mean ± 95% CI, dashed expert level), diagnostics, aggregates, profiles, probability of
improvement, sample efficiency and ablations. Saved as PNG and PDF with tight bounds.

Aggregate, profile and sample-efficiency panels use rliable's plot_utils; curves and ablations are seaborn /
matplotlib (hand-written bands: seaborn's bootstrapped error bands are too slow for hundreds of curves).
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # the report only writes files; never open a window

import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
from rliable import plot_utils  # noqa: E402
from scipy import stats  # noqa: E402

from analysis.aggregates import Aggregates  # noqa: E402

sns.set_theme(style="whitegrid", context="paper")


def save(fig: plt.Figure, out_dir: Path, name: str) -> list[Path]:
    """Write `name`.png and `name`.pdf (bbox_inches="tight") and close the figure."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / f"{name}.png", out_dir / f"{name}.pdf"]
    fig.savefig(paths[0], bbox_inches="tight", dpi=110, pil_kwargs={"compress_level": 1})
    fig.savefig(paths[1], bbox_inches="tight")
    plt.close(fig)
    return paths


def palette(variants: list[str]) -> dict[str, tuple]:
    return dict(zip(variants, sns.color_palette("colorblind", n_colors=max(len(variants), 1)), strict=False))


def mean_ci(df: pd.DataFrame, by: list[str], col: str = "value") -> pd.DataFrame:
    """Mean and 95% Student-t interval of `col` over runs per group (n = 1 gives a zero-width band)."""
    g = df.groupby(by, sort=True)[col].agg(["mean", "std", "count"]).reset_index()
    half = stats.t.ppf(0.975, np.maximum(g["count"] - 1, 1)) * g["std"].fillna(0) / np.sqrt(g["count"])
    return g.assign(lo=g["mean"] - half, hi=g["mean"] + half)


def _grid(n: int, width: float = 3.2, height: float = 2.6, max_cols: int = 4,
          sharex: bool = False) -> tuple[plt.Figure, np.ndarray]:
    cols = min(n, max_cols)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(width * cols, height * rows), squeeze=False)
    if sharex:  # x tick labels under the last panel of each column only (fewer texts to lay out: faster saves);
        for i, ax in enumerate(axes.flat):  # not matplotlib's sharex, whose autoscaling cascades through all axes
            ax.tick_params(labelbottom=i + cols >= n)
    for ax in axes.flat:
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(4))
        ax.yaxis.set_major_locator(matplotlib.ticker.MaxNLocator(4))
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, axes.flat


def curve_grid(curves: pd.DataFrame, ylabel: str, step_col: str = "env_step",
               levels: dict[str, float] | None = None, level_label: str = "expert",
               bounds: tuple[float, float] | None = None) -> plt.Figure:
    """One panel per task, one line per variant (mean ± 95% CI over seeds, clipped to `bounds`); dashed line at
    `levels[task]`.
    One shared legend (per-panel `loc="best"` legends make saving slow); seeds per line shown as n."""
    tasks = sorted(curves["task"].unique())
    variants = sorted(curves["variant"].unique())
    colors = palette(variants)
    band = mean_ci(curves, ["task", "variant", step_col])
    if bounds is not None:
        band[["lo", "hi"]] = band[["lo", "hi"]].clip(*bounds)
    n_runs = curves.groupby(["task", "variant"])["cell_id"].nunique()
    uniform = n_runs.groupby("variant").nunique().max() == 1
    fig, axes = _grid(len(tasks), sharex=True)
    for i, (ax, task) in enumerate(zip(axes, tasks, strict=False)):
        for v in variants:
            b = band[(band.task == task) & (band.variant == v)]
            if b.empty:
                continue
            ax.plot(b[step_col], b["mean"], color=colors[v], lw=1.4)
            ax.fill_between(b[step_col], b["lo"], b["hi"], color=colors[v], alpha=0.2, lw=0, rasterized=True)
        if levels and task in levels and np.isfinite(levels[task]):
            ax.axhline(levels[task], color="k", ls="--", lw=1.2)
        title = task if uniform else f"{task}\nn = " + ", ".join(str(n) for n in n_runs[task].to_numpy())
        ax.set_title(title, fontsize="small")
        ax.set_xlim(curves[step_col].min(), curves[step_col].max())
        if i + min(len(tasks), 4) >= len(tasks):
            ax.set_xlabel(step_col.replace("_", " "))
        ax.set_ylabel(ylabel)
    handles = [plt.Line2D([], [], color=colors[v], lw=2) for v in variants]
    labels = [f"{v} (n={int(n_runs.xs(v, level='variant').iloc[0])})" if uniform else v for v in variants]
    if levels:
        handles.append(plt.Line2D([], [], color="k", ls="--"))
        labels.append(level_label)
    height = fig.get_size_inches()[1]
    # fixed spacing (tight_layout costs a full draw); the shared legend sits below the bottom x labels
    fig.subplots_adjust(hspace=0.55, wspace=0.35, bottom=0.6 / height, top=1 - 0.35 / height)
    fig.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=min(len(labels), 4),
               fontsize="small", frameon=False)
    return fig


def pages(items: list[str], per_page: int = 16) -> list[list[str]]:
    """Split tasks into figure pages (a 50-panel figure is unreadable and slow to save)."""
    return [items[i:i + per_page] for i in range(0, len(items), per_page)]


def aggregate_figure(aggs: Aggregates, xlabel: str) -> plt.Figure:
    """rliable's interval-estimate panels: median, IQM, mean, optimality gap with 95% stratified bootstrap CIs."""
    algos = sorted(aggs.points)
    fig, _ = plot_utils.plot_interval_estimates(
        aggs.points, aggs.intervals, metric_names=list(aggs.names), algorithms=algos,
        colors=palette(algos), xlabel=xlabel, subfigure_width=3.6, row_height=0.5)
    return fig


def profile_figure(aggs: Aggregates, xlabel: str) -> plt.Figure:
    fig, ax = plt.subplots(figsize=(6, 4))
    plot_utils.plot_performance_profiles(
        aggs.profiles, aggs.taus, performance_profile_cis=aggs.profile_cis, ax=ax,
        colors=palette(sorted(aggs.profiles)), xlabel=xlabel + r" ($\tau$)", labelsize="medium", ticklabelsize="small")
    ax.legend(fontsize="small")
    return fig


def poi_figure(aggs: Aggregates) -> plt.Figure:
    """P(X > Y) with 95% CIs, one row per pair (0.5 = no difference)."""
    pairs = list(aggs.poi)
    fig, ax = plt.subplots(figsize=(6, 0.45 * len(pairs) + 1))
    for i, pair in enumerate(pairs):
        lo, hi = aggs.poi_cis[pair][:, 0]
        ax.barh(i, hi - lo, left=lo, height=0.6, color=sns.color_palette("colorblind")[i % 10], alpha=0.75)
        ax.vlines(aggs.poi[pair], i - 0.3, i + 0.3, color="k")
    ax.axvline(0.5, color="grey", ls="--", lw=1)
    ax.set_yticks(range(len(pairs)), [f"{x}  >  {y}" for x, y in pairs], fontsize="small")
    ax.set_xlabel("P(X > Y)")
    ax.set_xlim(0, 1)
    return fig


def sample_efficiency_figure(aggs: Aggregates, xlabel: str, ylabel: str) -> plt.Figure:
    fig, ax = plt.subplots(figsize=(6, 4))
    algos = sorted(aggs.curve_points)
    plot_utils.plot_sample_efficiency_curve(
        aggs.steps, aggs.curve_points, aggs.curve_cis, algorithms=algos, colors=palette(algos), ax=ax,
        xlabel=xlabel, ylabel=ylabel, labelsize="medium", ticklabelsize="small")
    ax.legend(fontsize="small")
    return fig


def ablation_figure(scores: pd.DataFrame, axis: str, ylabel: str,
                    bounds: tuple[float, float] | None = None) -> plt.Figure:
    """Final score (mean ± 95% CI over seeds, clipped to `bounds`) against a config axis (numeric axes on a
    numeric scale, others such as booleans as categories), one panel per task, one line per method."""
    df = scores.dropna(subset=[axis]).copy()
    numeric = pd.to_numeric(df[axis], errors="coerce") if df[axis].dtype != bool else df[axis].map(lambda _: None)
    is_num = numeric.notna().all() and not df[axis].map(lambda v: isinstance(v, bool)).any()
    cats = [] if is_num else sorted(df[axis].astype(str).unique())
    df["x"] = numeric if is_num else df[axis].astype(str).map({c: i for i, c in enumerate(cats)})
    band = mean_ci(df, ["task", "method", "x"], col="score")
    if bounds is not None:
        band[["lo", "hi"]] = band[["lo", "hi"]].clip(*bounds)
    tasks = sorted(df["task"].unique())
    methods = sorted(df["method"].unique())
    colors = palette(methods)
    fig, axes = _grid(len(tasks))
    for ax, task in zip(axes, tasks, strict=False):
        for m in methods:
            b = band[(band.task == task) & (band.method == m)]
            if b.empty:
                continue
            ax.errorbar(b["x"], b["mean"], yerr=[b["mean"] - b["lo"], b["hi"] - b["mean"]], color=colors[m],
                        marker="o", capsize=3, label=m)
        ax.set_title(task)
        if cats:
            ax.set_xticks(range(len(cats)), cats)
            ax.set_xlim(-0.5, len(cats) - 0.5)
        ax.set_xlabel(axis.removeprefix("config."))
        ax.set_ylabel(ylabel)
        ax.legend(fontsize="x-small")
    fig.tight_layout()
    return fig
