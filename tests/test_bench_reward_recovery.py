"""bench.reward_recovery rebuilds a finished cell from its manifest and checkpoint and summarises its reward."""

from __future__ import annotations

import numpy as np
import pytest

from bench.reward_recovery import load_cell, report, rollouts, summarise
from runner.config import compose_grid
from runner.grid import expand
from runner.loop import run_cell
from tests.toy_method import TOY_GRID


def test_reward_recovery_of_a_toy_cell(tmp_path):
    cell = expand(compose_grid([*TOY_GRID, "budget.metaworld.env_steps=200", "tensorboard=false"]))[0]
    assert run_cell(cell, tmp_path) == "done"
    method, manifest, step = load_cell(cell.run_dir(tmp_path))
    assert manifest["method"] == "toy" and step == 100
    episodes = rollouts(method, manifest, 2)
    assert [len(a) for _, a, _ in episodes] == [100, 100]
    stats = summarise(method, episodes)
    est = np.concatenate([-(a**2).sum(-1) for _, a, _ in episodes])  # the toy's learned reward
    true = np.concatenate([r for _, _, r in episodes])
    assert np.isclose(stats["step_corr"], np.corrcoef(est, true)[0, 1])
    assert sum(n for *_, n in stats["deciles"]) == 200
    first_tenth = np.concatenate([r[:10] for _, _, r in episodes]).mean()
    assert np.isclose(stats["tenths"][0][1], first_tenth)
    assert "per-step Pearson" in report(stats, "agent episodes")
    tweaked, _, _ = load_cell(cell.run_dir(tmp_path), method_overrides={"explore_std": 0.05})
    assert tweaked.cfg.explore_std == 0.05 and method.cfg.explore_std == 0.3


def test_a_folder_that_is_not_a_cell_is_refused_with_the_cells_below_it(tmp_path):
    cell = expand(compose_grid([*TOY_GRID, "budget.metaworld.env_steps=200", "tensorboard=false"]))[0]
    run_dir = cell.run_dir(tmp_path)
    run_dir.mkdir(parents=True)
    (run_dir / "manifest.json").write_text("{}")
    with pytest.raises(SystemExit, match="not a cell directory with a checkpoint; cells below it: .*" + cell.cell_id):
        load_cell(tmp_path)
