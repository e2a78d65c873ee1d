"""bench.encoder_inputs: per-column first-layer weight norms, input sd and their product."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bench.encoder_inputs import KEY_COLUMNS, METAWORLD_OBS, column_figures, column_names, rows
from envs.spec import EnvSpec
from experts.demos import Demos, Episode
from methods.cdred import CDRED, cdred_preset

SPEC = EnvSpec("metaworld", "reach-v3", "state", (39,), 4, 100, 2, True)


def _agent(obs: np.ndarray, **kw) -> CDRED:
    torch.set_num_threads(1)
    demos = Demos([Episode(obs, np.zeros((len(obs) - 1, 4), np.float32), np.zeros(len(obs) - 1, np.float32))])
    return CDRED(cdred_preset("smoke", **kw), SPEC, demos, torch.device("cpu"), 0)


def test_metaworld_names_follow_the_observation_layout():
    names = column_names("metaworld", 39)
    assert names[:3] == ["hand x", "hand y", "hand z"] and names[36:] == ["goal x", "goal y", "goal z"]
    assert names[18] == "prev hand x" and len(set(METAWORLD_OBS)) == 39
    assert column_names("dmc", 5) == [f"s[{j}]" for j in range(5)]


@pytest.mark.parametrize("obs_norm", ["none", "demos"])
def test_column_figures_are_weight_norm_times_the_encoders_input_sd(obs_norm: str):
    rng = np.random.default_rng(0)
    obs = (rng.normal(size=(50, 39)) * np.linspace(0.02, 2.0, 39)).astype(np.float32)
    obs[:, 5] = 0.7  # a constant input: sd 0, response 0
    agent = _agent(obs, obs_norm=obs_norm)
    fig = column_figures(agent, obs)
    w = agent.model.encoder[0].weight.detach().numpy()
    np.testing.assert_allclose(fig["norm"], np.linalg.norm(w, axis=0), rtol=1e-5)
    np.testing.assert_allclose(fig["response"], fig["norm"] * fig["sd"])
    assert fig["sd"][5] == 0.0
    if obs_norm == "none":
        np.testing.assert_allclose(fig["sd"], obs.astype(np.float64).std(0), rtol=1e-6)
    else:  # standardised by the same demos: unit sd wherever the sd is above the 0.01 floor
        np.testing.assert_allclose(np.delete(fig["sd"], 5), 1.0, rtol=1e-3)
    table = rows(fig, column_names("metaworld", 39), KEY_COLUMNS)
    assert len(table) == 2 + 6 and table[-1].startswith("| goal z |")
    assert len(rows(fig, column_names("metaworld", 39), None)) == 2 + 39
