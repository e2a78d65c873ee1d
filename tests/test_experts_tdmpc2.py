"""TD-MPC2 expert kind: a smoke-size run writes a checkpoint that loads and acts, and a build uses it."""

from __future__ import annotations

import json

import numpy as np
import pytest

from experts.builder import build_task
from experts.policies import make_expert
from experts.tdmpc2 import TDMPC2TrainConfig, tdmpc2_dir


@pytest.mark.slow
def test_tdmpc2_expert_trains_loads_and_collects(tmp_path):
    cfg = TDMPC2TrainConfig(steps=210, size="smoke", device="cpu", eval_every=1000, eval_episodes=1,
                            agent={"seed_steps": 50})
    cards = build_task("metaworld", "reach-v3", expert="tdmpc2", n=1, n_random=1, n_reference=1, train_cfg=cfg,
                       filter_rule="keep_all", root=tmp_path / "data", ckpt_root=tmp_path / "ckpt",
                       log=lambda _: None)
    card = json.loads((tdmpc2_dir("metaworld", "reach-v3", tmp_path / "ckpt") / "card.json").read_text())
    assert card["agent_steps"] == 210 and card["updates"] == 210 and card["final"]["agent_step"] == 210
    policy, prov = make_expert("metaworld", "reach-v3", "tdmpc2", tmp_path / "ckpt")
    assert cards["expert"]["expert_checkpoint_sha256"] == prov["expert_checkpoint_sha256"] == card["checkpoint_sha256"]
    assert cards["expert"]["expert_kind"] == "tdmpc2" and cards["expert"]["filter_rule"] == "keep_all"
    assert cards["replay"]["n_episodes"] == 2 and cards["replay"]["step_units"]["agent_steps"] == 200
    policy.reset(0)
    a = policy(np.zeros(39, np.float32))
    assert a.shape == (4,) and np.all(np.abs(a) <= 1)
