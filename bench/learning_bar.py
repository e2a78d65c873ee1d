"""Check an issue's learning bar against a results tree: does the mean over seeds of one evaluation metric reach
the bar within a budget of agent steps, first where, and how often?

    .venv/bin/python -m bench.learning_bar results --task reach-v3 --bar 0.8 --within 30000 [--curves]
    .venv/bin/python -m bench.learning_bar results --task cartpole-swingup --metric eval/return --of-expert \\
        --bar 0.8 --within 50000

Cells are grouped into configuration variants as the report groups them (`analysis.variants`: the config keys that
differ between cells of a suite/task/method, seeds excluded). Per variant, only the evaluations that every one of
its seeds has reached count (a lagging or stopped seed truncates the curve, never thins the mean), and the seed
mean at each is compared with the bar. Printed per variant: seeds, evaluations within the budget, the first agent
step whose seed mean reaches the bar, how many evaluations do, the mean over the evaluations after step 0, the best
and the last. `--of-expert` divides each cell's values by its dataset's expert return (the "0.8 × expert return"
bars); `--curves` adds each variant's per-evaluation table (per-seed values and their mean); `--variant TEXT ...`
keeps the variants whose label contains every TEXT; `--seeds N ...` keeps those seeds (e.g. a replication's new seeds).

Hand-written: the bar rule is the issues' own; reading the tree and naming variants is `analysis`'s.
"""

from __future__ import annotations

import argparse
import sys

import pandas as pd

from analysis.loader import load_results
from analysis.results import Results
from analysis.scores import curves

VARIANT_KEYS = ["suite", "task", "method", "variant"]
TOLERANCE = 1e-9  # a mean of 10-episode success rates such as (1 + 0.8 + 0.6) / 3 is 0.7999999999999999
WITH_DATA = ("done", "running", "preempted", "pending", "failed")  # every cell whose metrics could be read


def seed_curves(results: Results, metric: str, of_expert: bool = False) -> pd.DataFrame:
    """One row per (variant, seed, agent_step): `value` of `metric`, divided by the cell's expert return if asked."""
    c = curves(results, metric, statuses=WITH_DATA)
    if of_expert and len(c):
        ref = results.cells.set_index("cell_id")["expert_return"].astype(float)
        expert = c["cell_id"].map(ref)
        if expert.isna().any() or (expert == 0).any():
            missing = sorted(c.loc[expert.isna() | (expert == 0), "cell_id"].unique())
            raise ValueError(f"--of-expert: no expert return in the manifest of cells {', '.join(missing)}")
        c = c.assign(value=c["value"] / expert)
    return c[VARIANT_KEYS + ["seed", "agent_step", "value"]]


def per_evaluation(group: pd.DataFrame, within: int | None = None) -> pd.DataFrame:
    """Seeds as columns, agent steps as rows, only steps every seed reached (and ≤ `within`); plus `mean`."""
    wide = group.pivot_table(index="agent_step", columns="seed", values="value", aggfunc="mean").dropna()
    if within is not None:
        wide = wide[wide.index <= within]
    wide.columns = [f"seed {s}" for s in wide.columns]
    return wide.assign(mean=wide.mean(axis=1))


def bar_summary(sc: pd.DataFrame, bar: float, within: int | None = None) -> pd.DataFrame:
    """One row per variant: seeds, evaluations, first step at the bar, evaluations at the bar, mean/best/last."""
    rows = []
    for key, group in sc.groupby(VARIANT_KEYS, sort=True, observed=True):
        ev = per_evaluation(group, within)
        m = ev["mean"]
        after0 = m[m.index > 0]
        reached = m[m >= bar - TOLERANCE]
        rows.append(dict(zip(VARIANT_KEYS, key, strict=True)) | {
            "seeds": group["seed"].nunique(),
            "evaluations": len(m),
            "last_step": int(m.index.max()) if len(m) else None,
            "first_at_bar": int(reached.index.min()) if len(reached) else None,
            "n_at_bar": len(reached),
            "mean": float(after0.mean()) if len(after0) else float("nan"),
            "best": float(m.max()) if len(m) else float("nan"),
            "last": float(m.iloc[-1]) if len(m) else float("nan"),
        })
    return pd.DataFrame(rows).astype({"last_step": "Int64", "first_at_bar": "Int64"})


def _markdown(df: pd.DataFrame, index: bool = False) -> str:
    """A compact markdown table as bench/results/README.md writes them (two decimals, `–` where missing); pandas'
    `to_markdown` pads every column to its widest cell."""
    if index:
        df = df.reset_index()
    cells = [[("–" if pd.isna(v) else f"{v:.2f}" if isinstance(v, float) else str(v)) for v in row]
             for row in df.itertuples(index=False)]
    head = "| " + " | ".join(map(str, df.columns)) + " |"
    rule = "| " + " | ".join("---" for _ in df.columns) + " |"
    return "\n".join([head, rule] + ["| " + " | ".join(r) + " |" for r in cells])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("root", help="results tree (results/<suite>/<task>/<method>/<cell_id>/)")
    for key in ("suite", "task", "method"):
        p.add_argument(f"--{key}", action="append", help="keep only this one (repeatable)")
    p.add_argument("--metric", default="eval/success", help="eval/success (last step), eval/success_any, eval/return")
    p.add_argument("--bar", type=float, default=0.8)
    p.add_argument("--of-expert", action="store_true", help="divide values by the dataset's expert return")
    p.add_argument("--within", type=int, default=None, help="agent-step budget (default: every evaluation)")
    p.add_argument("--curves", action="store_true", help="print each variant's per-evaluation table")
    p.add_argument("--variant", nargs="+", default=[], metavar="TEXT",
                   help="keep the variants whose label contains every TEXT (e.g. method.mpc=False)")
    p.add_argument("--seeds", nargs="+", type=int, default=None, metavar="N", help="keep only these seeds")
    a = p.parse_args(argv)
    everything = load_results(a.root)
    results = everything.filter(suites=a.suite, tasks=a.task, methods=a.method)
    for key, chosen in (("suite", a.suite), ("task", a.task), ("method", a.method)):
        present = sorted(everything.cells[key].astype(str).unique())
        if chosen and not set(chosen) & set(present):
            print(f"no cells with {key} {', '.join(chosen)} under {a.root}; present: {', '.join(present)}",
                  file=sys.stderr)
            return 2
    for problem in results.problems:
        print(f"skipped: {problem}", file=sys.stderr)
    sc = seed_curves(results, a.metric, a.of_expert)
    sc = sc[sc["variant"].map(lambda label: all(t in label for t in a.variant))]
    if a.seeds is not None:
        present = sorted(sc["seed"].astype(int).unique())
        sc = sc[sc["seed"].astype(int).isin(a.seeds)]
        if sc.empty:
            print(f"no seeds {', '.join(map(str, a.seeds))} in that selection; present: {', '.join(map(str, present))}",
                  file=sys.stderr)
            return 2
    if sc.empty:
        known = sorted(everything.frame["metric"].astype(str).unique())
        print(f"no {a.metric} values under {a.root} for that selection; metrics present: {', '.join(known)}",
              file=sys.stderr)
        return 2
    summary = bar_summary(sc, a.bar, a.within)
    scale = " × expert return" if a.of_expert else ""
    budget = f" within {a.within} agent steps" if a.within is not None else ""
    print(f"{a.metric}{scale}: bar {a.bar}{budget}; seed mean per evaluation (mean: over evaluations after step 0)\n")
    print(_markdown(summary))
    if a.curves:
        for key, group in sc.groupby(VARIANT_KEYS, sort=True, observed=True):
            print(f"\n{' / '.join(map(str, key))}\n")
            print(_markdown(per_evaluation(group, a.within), index=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
