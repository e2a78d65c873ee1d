"""Name the configuration variants of a method (ablation arms) from the config keys that differ between its cells.

Hand-written: the rule ("keys that vary within a suite/task/method, seeds excluded") is this project's own.
"""

from __future__ import annotations

import pandas as pd

IGNORED_SUFFIXES = ("seed",)


def config_columns(cells: pd.DataFrame) -> list[str]:
    return [c for c in cells.columns if c.startswith("config.") and not c.endswith(IGNORED_SUFFIXES)]


def varying_axes(cells: pd.DataFrame) -> list[str]:
    """Config columns whose value differs between cells of the same suite/task/method (the grid's ablation axes)."""
    cols = config_columns(cells)
    if not cols or cells.empty:
        return []
    axes = set()
    for _, group in cells.groupby(["suite", "task", "method"], observed=True):
        for c in cols:
            if group[c].astype(str).nunique() > 1:
                axes.add(c)
    return sorted(axes)


def _label(method: str, row: pd.Series, axes: list[str]) -> str:
    parts = [f"{a.removeprefix('config.')}={row[a]}" for a in axes if pd.notna(row.get(a))]
    return f"{method}[{', '.join(parts)}]" if parts else method


def assign_variants(cells: pd.DataFrame) -> pd.DataFrame:
    """Add a `variant` column: the method name, plus `[axis=value, ...]` where the grid varies a config axis."""
    cells = cells.copy()
    if cells.empty:
        cells["variant"] = pd.Series(dtype=str)
        return cells
    axes = varying_axes(cells)
    labels = pd.Series(cells["method"].astype(str).to_numpy(), index=cells.index)
    for _, group in cells.groupby(["suite", "task", "method"], observed=True):
        own = [a for a in axes if group[a].astype(str).nunique() > 1]
        if own:
            for i, row in group.iterrows():
                labels[i] = _label(str(row["method"]), row, own)
    cells["variant"] = labels
    return cells
