"""Grid expansion, cell ids and bad-override errors."""

from __future__ import annotations

import hashlib
import json

import pytest

import envs
from experts.policies import EXPERT_KINDS
from runner.config import OverrideError, compose_grid
from runner.grid import expand
from tests.toy_method import TOY_GRID

run_grid = pytest.importorskip("run_grid")


def cells(*extra: str):
    return expand(compose_grid([*TOY_GRID, *extra]))


def test_axes_multiply_and_seed_forms():
    got = cells("seeds=2", "n_demos=[5,10]", "p_tremble=[0,0.02]")
    assert len(got) == 8
    assert sorted({(c.config["n_demos"], c.config["p_tremble"], c.seed) for c in got}) == sorted(
        (n, p, s) for n in (5, 10) for p in (0.0, 0.02) for s in (0, 1))
    assert [c.seed for c in cells("seeds=[3,7]")] == [3, 7]
    assert len({c.cell_id for c in got}) == 8


def test_default_tasks_budget_and_demo_counts():
    got = cells("tasks=null")
    assert [c.task for c in got] == list(envs.tasks("metaworld"))
    c = got[0]
    assert c.config["n_demos"] == 100 and c.config["budget"]["name"] == "smoke"
    assert c.config["budget"]["env_steps"] == 400
    dmc = expand(compose_grid([*TOY_GRID[1:], "suite=dmc", "tasks=[humanoid-walk,dog-run,hopper-hop]",
                               "budget=paper"]))
    assert [d.config["n_demos"] for d in dmc if d.seed == 0] == [500, 1000, 100]  # IQ-MPC §5.1
    assert {d.seed for d in dmc} == {0, 1, 2}  # paper budget: 3 seeds


def test_cell_id_is_sha256_of_canonical_identity():
    c = cells()[0]
    config = {k: v for k, v in c.config.items() if k != "demos_expert"}  # unset: left out (runner.identity)
    ident = {"suite": c.suite, "task": c.task, "method": c.method, "seed": c.seed, "config": config}
    blob = json.dumps(ident, sort_keys=True, separators=(",", ":")).encode()
    assert c.cell_id == hashlib.sha256(blob).hexdigest()[:12]
    assert c.cell_id == cells()[0].cell_id  # deterministic across expansions


def test_changed_config_is_new_cell_but_run_context_is_not():
    base = cells()[0]
    assert cells("method.lr=0.01")[0].cell_id != base.cell_id
    assert cells("budget.metaworld.env_steps=600")[0].cell_id != base.cell_id
    assert cells("method.toy.hidden=8")[0].cell_id != base.cell_id
    same = cells("device=cpu", "torch_threads=2", "tensorboard=false")[0]
    assert same.cell_id == base.cell_id and same.context["torch_threads"] == 2
    assert base.run_dir("results").as_posix() == f"results/metaworld/reach-v3/toy/{base.cell_id}"


def test_demos_expert_joins_the_cell_id_only_when_set():
    base = cells()[0]
    assert base.config["demos_expert"] is None  # stored, but grids without it keep their cell ids
    tdmpc2 = cells("demos_expert=tdmpc2")[0]
    assert tdmpc2.config["demos_expert"] == "tdmpc2" and tdmpc2.cell_id != base.cell_id


def test_unknown_demos_expert_lists_the_kinds():
    valid = "scripted, scripted_tcp, scripted_tcp_fast, scripted_tcp_xlast, sac, tdmpc2"
    assert valid == ", ".join(EXPERT_KINDS)
    with pytest.raises(OverrideError, match=f"With demos_source=experts:load: unknown expert kind 'tdmpc3'; "
                                            f"valid: {valid}, or one of them with '-noise<sigma>'"):
        cells("demos_source=experts:load", "demos_expert=tdmpc3")
    cells("demos_expert=anything")  # a custom demo source names its own experts


def test_noisy_demos_expert_is_a_cell_of_its_own_and_its_sigma_is_checked():
    plain, noisy = cells("demos_expert=scripted_tcp")[0], cells("demos_expert=scripted_tcp-noise0.3")[0]
    assert noisy.config["demos_expert"] == "scripted_tcp-noise0.3" and noisy.cell_id != plain.cell_id
    for bad in ("scripted_tcp-noise0.30", "scripted_tcp-noise1.5", "scripted_tcp-noiseX", "scripted_tcp-noise0"):
        with pytest.raises(OverrideError, match="scripted_tcp-noise0.3\\)"):
            cells("demos_source=experts:load", f"demos_expert={bad}")


def test_demos_expert_is_passed_to_sources_that_take_it():
    from runner.demos import load

    seen = {}

    def with_expert(suite, task, kind, n, expert=None):
        seen["expert"] = expert
        return "demos"

    assert load(with_expert, "metaworld", "reach-v3", "state-action", 3, None, expert="tdmpc2") == "demos"
    assert seen["expert"] == "tdmpc2"
    load(with_expert, "metaworld", "reach-v3", "state-action", 3, None)
    assert seen["expert"] is None
    with pytest.raises(ValueError, match="takes no `expert` argument"):
        load(lambda suite, task, kind, n: None, "metaworld", "reach-v3", "state-action", 3, None, expert="sac")


@pytest.mark.parametrize(("override", "expect"), [
    ("sute=dmc", "Did you mean 'suite'?"),
    ("suite=dmcc", "Valid suites: dmc, maniskill2, metaworld, myosuite"),
    ("budget=huge", "Valid budgets: cpu, paper, smoke"),
    ("launcher=pbs", "Valid launchers: auto, local, slurm"),
    ("methods=[toy,nope]", "Valid methods:"),
    ("tasks=[reachh]", "Did you mean 'reach-v3'?"),
    ("p_tremble=[0,2]", "must be a probability"),
    ("n_demos=0", "positive integer"),
    ("seeds=0", "count >= 1"),
    ("stage=eval", "Valid stages: train, experts"),
    ("obs=rgb", "DMControl only"),
    ("method.lrr=1", "Valid keys: hidden, lr"),
    ("launcher.workerz=2", "Valid keys: name, start_method, workers"),
    ("budget.metaworld.steps=5", "Valid keys: checkpoint_every_env_steps"),
    ("env_options.partial_obs=true", "Valid: (none)"),
    ("device=gpu0", "Valid: auto, cpu, cuda"),
    ("launcher.workers=0", "positive integer"),
])
def test_bad_overrides_name_the_valid_ones(override, expect):
    with pytest.raises(OverrideError) as err:
        cells(override)
    assert expect in str(err.value)


def test_cli_reports_bad_override_with_exit_code_2(capsys):
    assert run_grid.main([*TOY_GRID, "nonsense=1"]) == 2
    err = capsys.readouterr().err
    assert "Unknown override 'nonsense'" in err and "methods" in err and "seeds" in err


def test_dry_run_prints_cells_and_runs_nothing(tmp_path, capsys):
    assert run_grid.main([*TOY_GRID, "seeds=2", "--dry-run", "n_demos=[5,7]", f"results={tmp_path}"]) == 0
    out = capsys.readouterr().out
    assert "4 to run" in out and out.count(str(tmp_path)) == 4
    assert "metaworld/reach-v3/toy seed=1 n_demos=7 p_tremble=0.0 eval_p_tremble=None obs=state" in out
    assert not any(tmp_path.iterdir())


def test_stage_experts_calls_experts_build_per_task(monkeypatch, capsys):
    import experts

    calls = []
    monkeypatch.setattr(experts, "build", lambda suite, tasks, **kw: calls.append((suite, tasks, kw)) or {})
    assert run_grid.main(["stage=experts", "suite=metaworld", "tasks=[reach,soccer]", "experts.n=3",
                          "launcher=local"]) == 0
    assert calls == [("metaworld", ["reach-v3"], {"n": 3, "embodiment": True}),
                     ("metaworld", ["soccer-v3"], {"n": 3, "embodiment": True})]
    monkeypatch.delattr(experts, "build")
    with pytest.raises(RuntimeError, match=r"needs experts.build\(suite, tasks\)"):
        run_grid.main(["stage=experts", "suite=metaworld", "tasks=[reach]", "launcher=local"])
