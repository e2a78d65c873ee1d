"""bench.experts_report: the per-dataset table from the cards, and the `--actions` statistics of how the
demonstrator acts before and after an episode first succeeds."""

from __future__ import annotations

import numpy as np
import pytest

from bench.experts_report import action_stats, rows
from experts import dataset
from experts.demos import Episode


def _episode(actions: list[list[float]], success: list[float] | None) -> Episode:
    a = np.asarray(actions, dtype=np.float32)
    return Episode(obs=np.zeros((len(a) + 1, 3), np.float32), action=a, reward=np.zeros(len(a), np.float32),
                   success=None if success is None else np.asarray(success, np.float32))


def test_action_stats_split_at_the_first_success_by_hand():
    solved = _episode([[1, 1], [1, -1], [0, 0], [0, 0.5]], [0, 0, 1, 0])  # first success at step 2; later 0 is "after"
    unsolved = _episode([[0.5, 0.5]], [0])
    stats = action_stats([solved, unsolved])
    # before: 1, 1, 1, -1, 0.5, 0.5 -> mean square 4.5 / 6; after: 0, 0, 0, 0.5 -> 0.25 / 4; change after: (0, 0.5)
    assert stats["rms a before success"] == pytest.approx(np.sqrt(0.75))
    assert stats["rms a after success"] == pytest.approx(0.25)
    assert stats["rms Δa after success"] == pytest.approx(np.sqrt(0.125))


def test_action_stats_empty_phases_and_data_without_actions_or_success():
    from_start = action_stats([_episode([[0.2, 0.0], [0.2, 0.0]], [1, 1])])
    assert from_start["rms a before success"] is None
    assert from_start["rms a after success"] == pytest.approx(np.sqrt(0.02))
    assert from_start["rms Δa after success"] == pytest.approx(0.0)
    no_success = action_stats([_episode([[0.6, 0.8]], None)])  # suites without success: all steps count as before
    assert no_success["rms a before success"] == pytest.approx(np.sqrt(0.5))
    assert no_success["rms a after success"] is None
    obs_only = Episode(obs=np.zeros((3, 3), np.float32), action=None, reward=np.zeros(2, np.float32))
    assert action_stats([obs_only]) == {}


def test_rows_read_the_card_and_with_actions_the_dataset(tmp_path, monkeypatch):
    monkeypatch.setenv("WMIL_DATA", str(tmp_path))
    monkeypatch.setenv("WMIL_CHECKPOINTS", str(tmp_path / "none"))
    card = {"suite": "metaworld", "task": "reach-v3", "expert_kind": "scripted", "n_episodes": 1, "n_attempted": 2,
            "return_mean": 10.0, "return_std": 0.0, "success_mean": 1.0, "success_std": 0.0,
            "random_reference": {"return_mean": 1.0, "return_std": 0.5}, "step_units": {"agent_steps": 4},
            "collection_wall_s": 0.1}
    dataset.write(tmp_path / "metaworld" / "reach-v3" / "expert-scripted.hdf5",
                  [_episode([[1, 1], [1, -1], [0, 0], [0, 0.5]], [0, 0, 1, 0])], card)
    (row,) = rows()
    assert row["dataset"] == "expert-scripted" and row["attempts"] == 2 and "rms a after success" not in row
    (row,) = rows(actions=True)
    assert (row["rms a before success"], row["rms a after success"]) == ("1.000", "0.250")
    assert rows(suite="dmc") == []
