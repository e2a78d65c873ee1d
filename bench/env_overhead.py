"""Wrapper overhead of `envs.make` over each suite's raw simulator, measured side by side in one run.

    python bench/env_overhead.py [--seconds 2] [--rounds 5]

For each suite the raw native env and the wrapped env take the same random actions; blocks alternate
(raw, wrapped, raw, ...) so drift on a shared machine hits both. Rates are simulator (env) steps per second:
one wrapped agent step = `action_repeat` raw steps. Resets happen at the same env-step counts in both.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("MUJOCO_GL", "egl")

import numpy as np

import envs

CASES = {
    "dmc": "cheetah-run",
    "metaworld": "reach-v3",
    "myosuite": "myoHandKeyTurnFixed-v0",
    "maniskill2": "LiftCube-v0",
}


def _raw_env(suite: str, task: str):
    """(reset_fn, step_fn) of the suite's native API, constructed as the wrapper constructs it."""
    wrapped = envs.make(suite, task, seed=0)
    raw = wrapped._env  # the native simulator object the suite module wraps
    if suite == "dmc":
        return raw.reset, raw.step
    if suite == "maniskill2":
        return (lambda: raw.reset(seed=0)), raw.step
    return raw.reset, raw.step


def _time_raw(reset, step, actions: np.ndarray, horizon: int) -> float:
    reset()
    t0 = time.perf_counter()
    for i, a in enumerate(actions):
        if i and i % horizon == 0:
            reset()
        step(a)
    return len(actions) / (time.perf_counter() - t0)


def _time_wrapped(env, actions: np.ndarray, repeat: int) -> float:
    env.reset()
    t0 = time.perf_counter()
    for a in actions[::repeat]:
        _, _, term, trunc, _ = env.step(a)
        if term or trunc:
            env.reset()
    return len(actions[::repeat]) * repeat / (time.perf_counter() - t0)


def measure(suite: str, task: str, seconds: float, rounds: int) -> tuple[float, float]:
    env = envs.make(suite, task, seed=0)
    spec = env.wmil_spec
    reset, step = _raw_env(suite, task)
    rng = np.random.default_rng(0)
    probe = _time_raw(reset, step, rng.uniform(-1, 1, (200, spec.action_dim)), 10**9)
    n = max(spec.action_repeat * 50, int(probe * seconds) // spec.action_repeat * spec.action_repeat)
    actions = rng.uniform(-1, 1, (n, spec.action_dim))
    horizon = spec.env_steps_per_episode
    raw_rates, wrap_rates = [], []
    for _ in range(rounds):
        raw_rates.append(_time_raw(reset, step, actions, horizon))
        wrap_rates.append(_time_wrapped(env, actions, spec.action_repeat))
    return statistics.median(raw_rates), statistics.median(wrap_rates)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=2.0, help="length of one timed block")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--suites", default=",".join(CASES))
    args = ap.parse_args()
    print(f"{'suite':<11} {'task':<24} {'raw env-steps/s':>16} {'wrapped env-steps/s':>20} {'overhead':>9}")
    for suite in args.suites.split(","):
        try:
            raw, wrapped = measure(suite, CASES[suite], args.seconds, args.rounds)
        except Exception as err:  # one unavailable suite must not hide the others' figures
            print(f"{suite:<11} {CASES[suite]:<24} unavailable: {type(err).__name__}: {err}")
            continue
        print(f"{suite:<11} {CASES[suite]:<24} {raw:16.0f} {wrapped:20.0f} {raw / wrapped - 1:9.1%}")


if __name__ == "__main__":
    main()
