"""Grid coverage: cells per status, seeds per cell group, and what is missing, so nothing is silently dropped.

Hand-written: "expected" is inferred from the tree itself (the seeds and methods seen in each suite).
"""

from __future__ import annotations

import pandas as pd

from analysis.results import STATUSES


def coverage(cells: pd.DataFrame) -> pd.DataFrame:
    """Per (source, suite, task, variant): counts by status, done seeds and seeds missing vs the suite's seed set."""
    if cells.empty:
        return pd.DataFrame(columns=["source", "suite", "task", "variant", *STATUSES, "seeds_done", "missing_seeds"])
    known = cells[cells["seed"] >= 0]
    rows = []
    for (source, suite, task, variant), g in cells.groupby(["source", "suite", "task", "variant"], sort=True):
        suite_seeds = set(known[(known.source == source) & (known.suite == suite)]["seed"])
        present = set(g["seed"])
        row = {"source": source, "suite": suite, "task": task, "variant": variant}
        row.update({s: int((g["status"] == s).sum()) for s in STATUSES})
        row["seeds_done"] = ",".join(map(str, sorted(g.loc[g.status == "done", "seed"])))
        row["missing_seeds"] = ",".join(map(str, sorted(suite_seeds - present)))
        rows.append(row)
    return pd.DataFrame(rows)


def missing_pairs(cells: pd.DataFrame) -> pd.DataFrame:
    """(suite, task, method) combinations with no cell at all although the suite has both the task and method."""
    rows = []
    for (source, suite), g in cells.groupby(["source", "suite"], sort=True):
        have = set(zip(g["task"], g["method"], strict=True))
        for t in sorted(set(g["task"])):
            for m in sorted(set(g["method"])):
                if (t, m) not in have:
                    rows.append({"source": source, "suite": suite, "task": t, "method": m})
    return pd.DataFrame(rows, columns=["source", "suite", "task", "method"])


def coverage_markdown(cov: pd.DataFrame, missing: pd.DataFrame, failed: pd.DataFrame) -> str:
    """The coverage section: status counts per group (N done shown), missing combinations, failed cells."""
    lines = ["| source | suite | task | variant | " + " | ".join(STATUSES) + " | seeds done | missing seeds |",
             "|---" * (6 + len(STATUSES)) + "|"]
    for _, r in cov.iterrows():
        counts = " | ".join(str(r[s]) for s in STATUSES)
        lines.append(f"| {r.source} | {r.suite} | {r.task} | {r.variant} | {counts} | {r.seeds_done or '–'} | "
                     f"{r.missing_seeds or '–'} |")
    out = "\n".join(lines) + "\n"
    if len(missing):
        out += "\n**No cell at all for:** " + "; ".join(f"{r.suite}/{r.task}/{r.method}" for _, r in missing.iterrows())
        out += "\n"
    if len(failed):
        out += "\n**Failed or unreadable cells:**\n\n"
        for _, r in failed.iterrows():
            err = str(r.get("error") or "").strip().splitlines()
            out += f"- `{r.path}` ({r.status}): {err[-1] if err else 'no error recorded'}\n"
    return out
