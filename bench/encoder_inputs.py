"""How strongly a trained cell's state encoder reads each observation dimension.

For column j of the encoder's first linear layer it prints the trained weight norm ‖W[:, j]‖ (at TD-MPC2's init,
trunc-normal std 0.02, about 0.02·√width), the input's sd over the cell's expert demos as the encoder sees it (after
`obs_norm` when the cell has it), and their product: the size of the first layer's response to a one-sd change of
that input. A column whose norm stays at its init value has barely been trained. Meta-World's 39 dimensions are named
(hand, goal, ...); `--all` prints every column, otherwise the hand and goal ones.

    .venv/bin/python -m bench.encoder_inputs results/metaworld/reach-v3/cdred/<cell_id> [...] [--all]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from torch import nn

import methods
from bench.reward_recovery import load_cell
from methods.common.agent import WorldModelAgent
from runner.demos import load as load_demos
from runner.demos import resolve as resolve_demo_source

_FRAME = (["hand x", "hand y", "hand z", "gripper"] + [f"obj1 {c}" for c in ("x", "y", "z", "qw", "qx", "qy", "qz")]
          + [f"obj2 {c}" for c in ("x", "y", "z", "qw", "qx", "qy", "qz")])
METAWORLD_OBS = _FRAME + [f"prev {n}" for n in _FRAME] + ["goal x", "goal y", "goal z"]
KEY_COLUMNS = ("hand x", "hand y", "hand z", "goal x", "goal y", "goal z")


def column_names(suite: str, dim: int) -> list[str]:
    """Names of the state dimensions (Meta-World's 39), or s[j]."""
    return METAWORLD_OBS if suite == "metaworld" and dim == len(METAWORLD_OBS) else [f"s[{j}]" for j in range(dim)]


def column_figures(agent: WorldModelAgent, demo_obs: np.ndarray) -> dict[str, np.ndarray]:
    """Per input column: `norm` ‖W[:, j]‖, `sd` of the encoder's input over `demo_obs` (N, D), `response` their
    product."""
    first = agent.model.encoder[0]
    if not isinstance(first, nn.Linear):
        raise ValueError("encoder_inputs reads state (vector) encoders only")
    x = torch.as_tensor(demo_obs, dtype=torch.float32, device=first.weight.device)
    with torch.no_grad():
        if agent.model.obs_norm is not None:
            x = agent.model.obs_norm(x)
        norm = first.weight.norm(dim=0).cpu().numpy()
    sd = x.double().std(0, correction=0).cpu().numpy()
    return {"norm": norm, "sd": sd, "response": norm * sd}


def rows(figures: dict[str, np.ndarray], names: list[str], keep: tuple[str, ...] | None) -> list[str]:
    out = ["| input | ‖W[:, j]‖ | input sd | response |", "| --- | ---: | ---: | ---: |"]
    for j, name in enumerate(names):
        if keep is None or name in keep:
            out.append(f"| {name} | {figures['norm'][j]:.3f} | {figures['sd'][j]:.4f} | {figures['response'][j]:.4f} |")
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("cells", nargs="+", type=Path, help="cell directories (with a checkpoint)")
    ap.add_argument("--all", action="store_true", help="every column, not only the hand and goal ones")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    for cell in args.cells:
        agent, manifest, step = load_cell(cell)
        if not isinstance(agent, WorldModelAgent):
            raise SystemExit(f"{cell}: {manifest['method']} is not a world-model agent")
        cfg, cls = manifest["config"], methods.get(manifest["method"])
        demos = load_demos(resolve_demo_source(cfg["demos_source"]), manifest["suite"], manifest["task"],
                           cls.demo_kind, cfg["n_demos"], agent.spec, expert=cfg.get("demos_expert"))
        demo_obs = np.concatenate([ep.obs for ep in demos.episodes])
        names = column_names(manifest["suite"], demo_obs.shape[1])
        print(f"\n{cell} (agent step {step}, obs_norm={getattr(agent.cfg, 'obs_norm', 'none')})")
        print("\n".join(rows(column_figures(agent, demo_obs), names, None if args.all else KEY_COLUMNS)))


if __name__ == "__main__":
    main()
