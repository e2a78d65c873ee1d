"""SB3 SAC expert trainer: a few hundred steps write a loadable checkpoint, a card and an aligned replay."""

from __future__ import annotations

import json

import numpy as np

import envs
from experts.artifacts import load_episodes_npz, sha256_file
from experts.policies import make_expert
from experts.sac import SACConfig, sac_dir, train


def test_sac_trainer_writes_checkpoint_card_and_replay(tmp_path):
    cfg = SACConfig(steps=600, learning_starts=500, batch_size=32, net=(32, 32), eval_every=600, eval_episodes=1)
    card = train("dmc", "cartpole-swingup", cfg, root=tmp_path)
    out = sac_dir("dmc", "cartpole-swingup", tmp_path)
    assert card["agent_steps"] == 600 and card["env_steps"] == 1200 and card["stopped_by"] == "steps"
    assert card["checkpoint_sha256"] == sha256_file(out / "best.zip")
    assert json.loads((out / "card.json").read_text())["best"]["return_mean"] == card["best"]["return_mean"]
    replay = load_episodes_npz(out / "replay.npz")
    assert [len(e) for e in replay] == [500]  # the unfinished second episode is not kept
    ep = replay[0]
    env = envs.make("dmc", "cartpole-swingup", seed=cfg.seed)  # SB3 resets the training env with cfg.seed
    obs, _ = env.reset(seed=cfg.seed)
    np.testing.assert_array_equal(obs, ep.obs[0])
    for t in range(5):
        obs, *_ = env.step(ep.action[t])
        np.testing.assert_array_equal(obs, ep.obs[t + 1])
    policy, prov = make_expert("dmc", "cartpole-swingup", "sac", tmp_path)
    assert prov["expert_checkpoint_sha256"] == card["checkpoint_sha256"]
    action = policy(ep.obs[0])
    assert action.shape == (1,) and np.all(np.abs(action) <= 1)
