"""Analysis speed: full report on a synthetic grid (8 methods x 15 tasks x 10 seeds x 100 evaluations) at
rliable's recommended bootstrap reps (50,000; probability of improvement and performance profiles 2,000).
Goal: <= 60 s on the 2-core machine.

Also times the probability of improvement (rliable's README: 2,000 reps): ours (vectorised) over all 28 method
pairs, and rliable's
own implementation on the same data and seed (measured on a subset of pairs and reps, extrapolated linearly,
because its full run takes hours), plus ours on that same subset for a like-for-like figure.

    .venv/bin/python bench/analysis_speed.py [--reps 50000] [--rliable-reps 500] [--keep DIR]
"""

from __future__ import annotations

import argparse
import itertools
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from analysis import aggregates as agg  # noqa: E402
from analysis import bootstrap as bs  # noqa: E402
from analysis import scores  # noqa: E402
from analysis.loader import load_results  # noqa: E402
from analysis.report import ReportOptions, build_report  # noqa: E402
from analysis.synthetic import write_grid  # noqa: E402

METHODS = [f"method{i}" for i in range(8)]
TASKS = [f"task{i:02d}-v3" for i in range(15)]


def clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def since(t: tuple[float, float]) -> str:
    wall, cpu = time.perf_counter() - t[0], time.process_time() - t[1]
    return f"{wall:7.1f} s wall ({cpu:.1f} s CPU)"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--reps", type=int, default=agg.REPS)
    p.add_argument("--profile-reps", type=int, default=agg.PROFILE_REPS)
    p.add_argument("--poi-reps", type=int, default=agg.POI_REPS)
    p.add_argument("--rliable-reps", type=int, default=500, help="reps for timing rliable's PoI (extrapolated)")
    p.add_argument("--rliable-pairs", type=int, default=1)
    p.add_argument("--keep", type=Path, help="write the tree and report here instead of a temp dir")
    a = p.parse_args()
    work = a.keep or Path(tempfile.mkdtemp(prefix="analysis_speed_"))
    results, out = work / "results", work / "reports"
    try:
        t = clock()
        write_grid(results, METHODS, TASKS, seeds=10, n_points=100, seed=0)
        print(f"synthetic tree (8 x 15 x 10 cells, 100 evals, 4 metrics): {since(t)}  [not part of the report]")

        t = clock()
        opts = ReportOptions(reps=a.reps, profile_reps=a.profile_reps, poi_reps=a.poi_reps, progress=True)
        build_report([results], out, opts)
        print(f"full report, reps {a.reps} (profiles {a.profile_reps}, PoI {a.poi_reps}): {since(t)}   goal <= 60 s")

        res = load_results(results)
        m = agg.score_matrices(scores.run_scores(res, "eval/success", "final")).matrices
        pairs = {(x, y): (m[x], m[y]) for x, y in itertools.combinations(sorted(m), 2)}
        t = clock()
        bs.probability_of_improvement(pairs, a.poi_reps, np.random.RandomState(0))
        print(f"PoI ours, all {len(pairs)} pairs x {a.poi_reps} reps: {since(t)}")

        from rliable import library as rly
        from rliable import metrics

        sub = dict(list(pairs.items())[: a.rliable_pairs])
        np.random.seed(0)
        t0 = time.perf_counter()
        theirs, _ = rly.get_interval_estimates({k: list(v) for k, v in sub.items()},
                                               metrics.probability_of_improvement, reps=a.rliable_reps)
        t_theirs = time.perf_counter() - t0
        t0 = time.perf_counter()
        ours, _ = bs.probability_of_improvement(sub, a.rliable_reps, np.random.RandomState(0))
        t_ours = time.perf_counter() - t0
        scale = (len(pairs) * a.poi_reps) / (len(sub) * a.rliable_reps)
        same = all(abs(ours[k] - theirs[k]) < 1e-12 for k in sub)
        print(f"PoI on {len(sub)} pair(s) x {a.rliable_reps} reps: rliable {t_theirs:.2f} s, ours {t_ours:.3f} s "
              f"(values equal: {same})")
        print(f"PoI rliable extrapolated to {len(pairs)} pairs x {a.poi_reps} reps: {t_theirs * scale:.0f} s "
              f"(x{scale:.0f} of the measured subset)")
    finally:
        if a.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
