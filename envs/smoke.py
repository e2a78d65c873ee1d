"""Smoke run: build every registered task of every suite, step it, and print a table.

    python -m envs.smoke [--steps 20] [--suites dmc,metaworld]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import envs


def smoke(suites: list[str], steps: int) -> list[dict]:
    rows = []
    for suite in suites:
        for task in envs.tasks(suite):
            row = {"suite": suite, "task": task}
            try:
                t0 = time.perf_counter()
                env = envs.make(suite, task, seed=0)
                obs, _ = env.reset()
                ret = 0.0
                for _ in range(steps):
                    obs, r, term, trunc, info = env.step(env.action_space.sample())
                    ret += r
                    if term or trunc:
                        break
                sp = env.wmil_spec
                row.update(
                    obs=str(sp.obs_shape), act=sp.action_dim, L=sp.episode_length, repeat=sp.action_repeat,
                    ret=f"{ret:.2f}", finite=bool(np.isfinite(obs).all()), s=f"{time.perf_counter() - t0:.2f}",
                    status="ok",
                )
                env.close()
            except Exception as err:  # report and go on: the table shows what does not work and why
                row["status"] = f"FAILED: {type(err).__name__}: {str(err).splitlines()[0][:120]}"
            rows.append(row)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--suites", default=",".join(envs.SUITES))
    args = ap.parse_args()
    rows = smoke(args.suites.split(","), args.steps)
    cols = ["suite", "task", "obs", "act", "L", "repeat", "ret", "finite", "s", "status"]
    widths = {c: max(len(c), *(len(str(r.get(c, ""))) for r in rows)) for c in cols}
    print("  ".join(c.ljust(widths[c]) for c in cols))
    for r in rows:
        print("  ".join(str(r.get(c, "")).ljust(widths[c]) for c in cols))
    n_ok = sum(r["status"] == "ok" for r in rows)
    print(f"{n_ok}/{len(rows)} tasks ok")


if __name__ == "__main__":
    main()
