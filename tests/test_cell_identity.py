"""Cell ids stay put across code changes that add config keys (`runner.identity`), and the ids of reference grids
are pinned so that an unregistered addition (or any other change to what names a cell) fails here."""

from __future__ import annotations

import pytest

from runner.cell import Cell
from runner.config import compose_grid
from runner.grid import expand
from runner.identity import ADDITIONS, Addition, identity_config

BASE = {"n_demos": 10, "method": {"lr": 3e-4, "planner": {"horizon": 3}}}


def cell(config: dict, method: str = "iqmpc") -> Cell:
    return Cell("dmc", "cartpole-swingup", method, 0, config)


def test_added_key_at_its_legacy_value_keeps_the_id(monkeypatch):
    new = {**BASE, "method": {**BASE["method"], "planner": {"horizon": 3, "new_switch": "old"}}}
    assert cell(new).cell_id != cell(BASE).cell_id  # unregistered: a new id (what the pinned ids below catch)
    monkeypatch.setattr("runner.identity.ADDITIONS", (Addition(("method", "planner", "new_switch"), "old"),))
    assert cell(new).cell_id == cell(BASE).cell_id
    other = {**BASE, "method": {**BASE["method"], "planner": {"horizon": 3, "new_switch": "new"}}}
    assert cell(other).cell_id != cell(BASE).cell_id  # a value that changes behaviour names a new cell


def test_identity_config_scope_and_no_mutation():
    config = {**BASE, "flag": False, "method": {"lr": 1.0, "flag": False}}
    adds = (Addition(("method", "flag"), False, methods=("cdred",)), Addition(("flag",), False),
            Addition(("missing", "deep"), 0))
    assert identity_config(config, "iqmpc", adds) == {**BASE, "method": {"lr": 1.0, "flag": False}}
    assert identity_config(config, "cdred", adds) == {**BASE, "method": {"lr": 1.0}}
    assert config["flag"] is False and config["method"]["flag"] is False  # the stored config is complete
    assert identity_config({"flag": None}, "x", adds) == {"flag": None}  # only the legacy value is dropped


def test_every_registered_addition_is_a_real_key():
    cells = expand(compose_grid(["suite=dmc", "tasks=[cartpole-swingup]", "methods=[iqmpc,cdred]", "seeds=[0]"]))
    for add in ADDITIONS:
        present = False
        for c in cells:
            node = c.config
            for key in add.path:
                node = node.get(key, KeyError) if isinstance(node, dict) else KeyError
            present |= node is not KeyError
        assert present, f"registered addition {add.path} is not a key of any cell config"


# Ids of cells that exist as results (the first two lines: the 2026-12-04 cartpole runs) and of the README's grid.
# If this fails after you added a config key: register it in runner/identity.py ADDITIONS with the value that
# reproduces the old behaviour, so existing results keep their ids. If you changed what a default computes, the
# new ids are right: update them here and say so in your note (existing results then belong to the old code).
PINNED = [
    (["suite=dmc", "tasks=[cartpole-swingup]", "methods=[cdred]", "seeds=[1,2]", "budget=cpu",
      "method.compile=true"], ["44d4f3d0f7cc", "804d74d46027"]),
    (["suite=dmc", "tasks=[cartpole-swingup]", "methods=[iqmpc]", "seeds=[1,2]", "budget=cpu",
      "method.compile=true", "method.grad_penalty=off"], ["19817abed4cd", "6990df658f09"]),
    (["suite=metaworld", "tasks=reach", "methods=iqmpc", "seeds=2", "n_demos=10", "budget=smoke"],
     ["f2c3b0172758", "1dfbdf5abfd9"]),
    (["suite=metaworld", "tasks=[reach]", "methods=[iqmpc,cdred]", "seeds=[0]", "budget=cpu"],
     ["ebb306bd1bac", "fdea5006f065"]),
    (["suite=dmc", "tasks=[cartpole-swingup]", "methods=[iqmpc,cdred]", "seeds=[0]", "budget=paper"],
     ["561f4faa5f5f", "289b9a1639b9"]),
]


@pytest.mark.parametrize("overrides,ids", PINNED)
def test_pinned_cell_ids(overrides, ids):
    got = [c.cell_id for c in expand(compose_grid([*overrides, "launcher=local"]))]
    assert got == ids, (
        f"cell ids of {overrides} changed {ids} -> {got}: existing results would no longer be found or resumed. "
        "A new config key: register it in runner/identity.py ADDITIONS at its legacy value. A deliberate change "
        "of what a default computes: update the ids in tests/test_cell_identity.py.")


def test_demos_expert_is_stored_but_names_the_cell_only_when_set():
    reach = ["suite=metaworld", "tasks=[reach]", "methods=[iqmpc]", "seeds=[0]", "budget=cpu", "launcher=local"]
    default = expand(compose_grid(reach))[0]
    tdmpc2 = expand(compose_grid([*reach, "demos_expert=tdmpc2"]))[0]
    assert default.config["demos_expert"] is None and default.cell_id == "ebb306bd1bac"
    assert tdmpc2.config["demos_expert"] == "tdmpc2" and tdmpc2.cell_id != default.cell_id
