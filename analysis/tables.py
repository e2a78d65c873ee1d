"""Paper-style tables (task x method, mean ± std [95% CI] (n)) rendered as markdown and LaTeX, best per row bold.

Hand-written rendering: pandas' to_markdown needs `tabulate` and to_latex cannot bold a per-row maximum.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass
class Table:
    """A rendered-ready table: `cells[row][col]` strings, `best[row]` = columns to bold, plus title and notes."""

    title: str
    row_label: str
    rows: list[str]
    cols: list[str]
    cells: dict[str, dict[str, str]]
    best: dict[str, set[str]]
    notes: list[str]

    def markdown(self) -> str:
        head = f"| {self.row_label} | " + " | ".join(self.cols) + " |"
        sep = "|---|" + "---|" * len(self.cols)
        lines = [f"### {self.title}", "", head, sep]
        for r in self.rows:
            vals = [self._fmt(r, c, "**{}**") for c in self.cols]
            lines.append(f"| {r} | " + " | ".join(vals) + " |")
        lines += [""] + [f"_{n}_  " for n in self.notes]
        return "\n".join(lines) + "\n"

    def latex(self) -> str:
        esc = latex_escape
        lines = [
            "\\begin{table}[t]", "\\centering", f"\\caption{{{esc(self.title)}}}",
            "\\begin{tabular}{l" + "c" * len(self.cols) + "}", "\\toprule",
            esc(self.row_label) + " & " + " & ".join(esc(c) for c in self.cols) + " \\\\", "\\midrule",
        ]
        for r in self.rows:
            vals = [self._fmt(r, c, "\\textbf{{{}}}", escape=True) for c in self.cols]
            lines.append(esc(r) + " & " + " & ".join(vals) + " \\\\")
        lines += ["\\bottomrule", "\\end{tabular}"]
        lines += [f"\\par\\smallskip{{\\footnotesize {esc(n)}}}" for n in self.notes]
        lines.append("\\end{table}")
        return "\n".join(lines) + "\n"

    def _fmt(self, r: str, c: str, bold: str, escape: bool = False) -> str:
        v = self.cells.get(r, {}).get(c, "–")
        if escape:
            v = latex_escape(v).replace("±", "$\\pm$")
        return bold.format(v) if c in self.best.get(r, set()) else v


LATEX_REPLACEMENTS = (
    ("\\", "\\textbackslash{}"), ("_", "\\_"), ("%", "\\%"), ("&", "\\&"), ("#", "\\#"), ("$", "\\$"),
    ("−", "-"), ("–", "--"), ("×", "$\\times$"),  # characters pdflatex does not map by default
)


def latex_escape(s: str) -> str:
    for a, b in LATEX_REPLACEMENTS:
        s = s.replace(a, b)
    return s


def fmt_cell(mean: float, std: float, lo: float, hi: float, n: int, digits: int) -> str:
    if not np.isfinite(mean):
        return f"– (n={n})"
    s = f"{mean:.{digits}f}"
    s += f" ± {std:.{digits}f}" if np.isfinite(std) else " ± –"
    if np.isfinite(lo) and np.isfinite(hi):
        s += f" [{lo:.{digits}f}, {hi:.{digits}f}]"
    return s + f" (n={n})"


def score_table(summary: pd.DataFrame, title: str, notes: list[str], digits: int = 2,
                higher_is_better: bool = True, col: str = "variant") -> Table:
    """Build a task x `col` table from `scores.summarise` output; the best mean per row is bolded (ties too)."""
    rows = list(dict.fromkeys(summary["task"]))
    cols = sorted(dict.fromkeys(summary[col]))
    cells: dict[str, dict[str, str]] = {r: {} for r in rows}
    best: dict[str, set[str]] = {}
    for r in rows:
        sub = summary[summary["task"] == r]
        for _, s in sub.iterrows():
            cells[r][s[col]] = fmt_cell(s["mean"], s["std"], s["ci_low"], s["ci_high"], int(s["n"]), digits)
        means = sub.set_index(col)["mean"].round(digits).dropna()
        if len(means) > 1:
            top = means.max() if higher_is_better else means.min()
            best[r] = set(means[means == top].index)
    return Table(title, "task", rows, cols, cells, best, notes)
