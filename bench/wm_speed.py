"""Speed of a world-model method (IQ-MPC by default, `--method cdred`): update steps/s and planning ms/action,
their FLOPs (matmul/conv FLOPs counted by torch's FlopCounterMode) and the fraction of this machine's measured
fp32 matmul rate at the same thread count.

    .venv/bin/python -m bench.wm_speed --sizes paper cpu --threads 1 [--compile] [--device cuda] [--method cdred]

`--compile` also checks that the compiled update and planner return values match eager ones.
"""

from __future__ import annotations

import argparse
import copy
import time

import numpy as np
import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import flop_registry

import methods
from envs.spec import EnvSpec
from experts.demos import Demos, Episode
from methods.base import Transition, resolve_device
from methods.common.agent import WorldModelAgent


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def matmul_rate(device: torch.device, n: int = 1024, reps: int = 10) -> float:
    """Measured fp32 FLOP/s of an n x n matmul (best of `reps`)."""
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    for _ in range(2):
        a @ b
    best = float("inf")
    for _ in range(reps):
        _sync(device)
        t = time.perf_counter()
        a @ b
        _sync(device)
        best = min(best, time.perf_counter() - t)
    return 2 * n**3 / best


def build(size: str, device: torch.device, suite: str, compile: bool, seed: int = 0,
          method: str = "iqmpc") -> WorldModelAgent:
    """`method` at `size` with state 91 / action 39 (IQ-MPC's printed model), buffers filled with random data."""
    spec = EnvSpec(suite, "speed", "state", (91,), 39, 100, 2, True)
    rng = np.random.default_rng(seed)

    def ep() -> Episode:
        return Episode(rng.normal(size=(101, 91)).astype(np.float32), rng.uniform(-1, 1, (100, 39)).astype(np.float32),
                       rng.normal(size=100).astype(np.float32))

    cls = methods.get(method)
    agent = cls(cls.Config(size=size, seed_steps=10**9, compile=compile), spec, Demos([ep() for _ in range(10)]),
                device, seed)
    for _ in range(5):
        e = ep()
        for t in range(100):
            agent.observe(Transition(e.obs[t], e.action[t], float(e.reward[t]), e.obs[t + 1], False, t == 99))
    return agent


def time_it(fn, device: torch.device, reps: int, warmup: int = 2) -> float:
    for _ in range(warmup):
        fn()
    _sync(device)
    t = time.perf_counter()
    for _ in range(reps):
        fn()
    _sync(device)
    return (time.perf_counter() - t) / reps


class _FlopCount(TorchDispatchMode):
    """Counts matmul / conv FLOPs with torch's flop registry (no module hooks, so autograd.grad works inside)."""

    def __init__(self) -> None:
        super().__init__()
        self.total = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        packet = func._overloadpacket
        if packet in flop_registry:
            self.total += int(flop_registry[packet](*args, **kwargs, out_val=out))
        return out


def count_flops(fn) -> int:
    with _FlopCount() as counter:
        fn()
    return counter.total


def check_compiled_matches_eager(size: str, device: torch.device, suite: str, method: str = "iqmpc") -> str:
    """One update and one planning value from identical states, eager vs torch.compile. Inductor's own RNG is
    switched to eager's (`fallback_random`) so that dropout and policy samples draw the same numbers."""
    import torch._inductor.config as inductor_config

    inductor_config.fallback_random = True
    torch._dynamo.reset()  # recompile under the new setting
    eager = build(size, device, suite, compile=False, method=method)
    comp = build(size, device, suite, compile=True, method=method)
    state = copy.deepcopy(eager.state_dict())
    comp.load_state_dict(copy.deepcopy(state))
    comp._update_once()  # compile first: tracing must not shift the RNG streams of the compared update
    comp.load_state_dict(copy.deepcopy(state))
    m_c = comp._update_once()
    eager.load_state_dict(copy.deepcopy(state))
    m_e = eager._update_once()
    rel = {k: abs(float(m_e[k]) - float(m_c[k])) / max(1.0, abs(float(m_e[k]))) for k in m_e}
    worst_key = max(rel, key=rel.get)
    worst = rel[worst_key]
    pe = dict(eager.model.named_parameters())
    pdiff = max(float((p - pe[n]).detach().abs().max()) for n, p in comp.model.named_parameters())
    z = eager.model.encode(torch.randn(1, 91, device=device))
    acts = torch.rand(eager.horizon, 64, 39, device=device) * 2 - 1
    comp.model.load_state_dict(eager.model.state_dict())
    with torch.no_grad():
        torch.manual_seed(1)
        ve = eager._plan_value(z, acts)
        torch.manual_seed(1)
        vc = comp._plan_value(z, acts)
    vdiff = float(((ve - vc).abs() / ve.abs().clamp_min(1.0)).max())  # values reach ~1e3 (β·log π of random actions)
    ok = worst < 1e-3 and pdiff < 1e-4 and vdiff < 1e-3
    return f"compiled vs eager: max rel metric diff {worst:.2e} ({worst_key}), max param diff {pdiff:.2e}, " \
           f"max rel plan-value diff {vdiff:.2e} -> {'MATCH' if ok else 'MISMATCH'}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--method", default="iqmpc", choices=["iqmpc", "cdred"])
    ap.add_argument("--sizes", nargs="+", default=["paper", "cpu"])
    ap.add_argument("--device", default="cpu", help="cpu | cuda | auto")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--suite", default="metaworld", help="metaworld: gradient penalty on; dmc: off")
    ap.add_argument("--compile", action="store_true")
    ap.add_argument("--updates", type=int, default=5)
    ap.add_argument("--plans", type=int, default=5)
    ap.add_argument("--reps", type=int, default=3,
                    help="timing rounds, each between two matmul-rate measurements (shared machines drift)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    print(f"device {device} threads {args.threads}: fp32 matmul rate measured before and after every timing round",
          flush=True)
    for size in args.sizes:
        agent = build(size, device, args.suite, args.compile, method=args.method)
        obs = np.zeros(91, np.float32)
        agent.seed_steps = 0
        # FLOPs of the eager update and plan, counted on an eager twin: the compiled agent runs only what is timed
        twin = build(size, device, args.suite, False, method=args.method) if args.compile else agent
        twin.seed_steps = 0
        up_flops = count_flops(twin._update_once)
        plan_flops = count_flops(lambda: twin.act(obs, eval=True))  # noqa: B023
        name = f"{args.method} {size}{' compiled' if args.compile else ''}"
        print(f"[{name}] params {agent.model.num_learnable():,} | update {up_flops / 1e9:.2f} GFLOP | plan "
              f"{plan_flops / 1e9:.2f} GFLOP | gp {'on' if getattr(agent, 'use_gp', False) else 'off'}", flush=True)
        fractions = []
        for rep in range(args.reps):
            before = matmul_rate(device)
            t_up = time_it(agent._update_once, device, args.updates)
            t_plan = time_it(lambda: agent.act(obs, eval=True), device, args.plans)  # noqa: B023
            rate = (before + matmul_rate(device)) / 2
            fractions.append((up_flops / t_up / rate, plan_flops / t_plan / rate))
            print(f"  round {rep}: matmul rate {rate / 1e9:.1f} GFLOP/s | update {1 / t_up:.2f} steps/s "
                  f"({t_up * 1e3:.0f} ms, {fractions[-1][0]:.0%} of matmul rate) | plan {t_plan * 1e3:.0f} ms/action "
                  f"({fractions[-1][1]:.0%})", flush=True)
        up, plan = zip(*fractions, strict=True)
        print(f"[{name}] fraction of matmul rate, median (best) over {args.reps} rounds: update "
              f"{float(np.median(up)):.0%} ({max(up):.0%}), plan {float(np.median(plan)):.0%} ({max(plan):.0%})",
              flush=True)
        if args.compile:
            print("  " + check_compiled_matches_eager(size, device, args.suite, args.method), flush=True)


if __name__ == "__main__":
    main()
