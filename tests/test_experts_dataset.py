"""Dataset schema, loader and collection: alignment, obs-only, pre_action, round trip, hashes, provenance,
filter rule, subsampling, bad input. One small Meta-World reach-v3 expert dataset and DMC random data."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest

import envs
import experts
from envs.spec import EnvSpec
from experts import dataset
from experts.builder import build_task, make_card
from experts.collect import CollectionError, collect, passes, summarize
from experts.dataset import DatasetError
from experts.demos import Episode
from experts.loader import dataset_path, subsample
from experts.policies import MetaWorldScripted, RandomPolicy, make_expert, noisy_kind, parse_kind

N_EXPERT = 10


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("data")


@pytest.fixture(scope="module")
def reach(root) -> tuple[list[Episode], Path]:
    """10 scripted reach-v3 episodes (unfiltered), written as the expert dataset."""
    env = envs.make("metaworld", "reach-v3", seed=0)
    eps, attempts = collect(env, MetaWorldScripted("reach-v3"), N_EXPERT, seed=0, rule="keep_all")
    card = make_card(env.wmil_spec, "expert", make_expert("metaworld", "reach-v3", "scripted")[1], 0, eps, attempts,
                     "keep_all", summarize(eps[:2]), 0.0)
    path = dataset_path("metaworld", "reach-v3", "expert", "scripted", root)
    dataset.write(path, eps, card)
    return eps, path


@pytest.fixture(scope="module")
def cartpole(root) -> dict[str, Path]:
    """Random-policy cartpole-swingup data, written as both embodiment sources (random, replay)."""
    env = envs.make("dmc", "cartpole-swingup", seed=0)
    out = {}
    for source in ("random", "replay"):
        eps, att = collect(env, RandomPolicy(1), 3, seed=0, stream=source)
        path = dataset_path("dmc", "cartpole-swingup", source, "sac", root)
        card = make_card(env.wmil_spec, source, {"expert_kind": "random"}, 0, eps, att, "keep_all", {}, 0.0)
        dataset.write(path, eps, card)
        out[source] = path
    return out


def test_scripted_reach_success(reach):
    eps, _ = reach
    assert summarize(eps)["success_mean"] >= 0.9


@pytest.mark.parametrize("kind,most_cm", [("scripted", 4.8), ("scripted_tcp", 1.5), ("scripted_tcp_fast", 1.0),
                                          ("scripted_tcp_xlast", 1.5)])
def test_reach_experts_final_tool_centre_distance(kind, most_cm):
    """Meta-World's rule aims the hand body and ends ~4.5 cm from the goal on most episodes (here 1.4 / 4.6 / 4.6);
    `scripted_tcp` aims the tool centre point that success reads and ends within ~1 cm (0.35 cm mean measured)."""
    env = envs.make("metaworld", "reach-v3", seed=0)
    policy, provenance = make_expert("metaworld", "reach-v3", kind)
    assert provenance["expert_kind"] == kind
    distances = []
    for seed in range(3):
        obs, _ = env.reset(seed=seed)
        policy.reset(seed)
        for _ in range(100):
            obs, *_ = env.step(policy(obs))
        raw = env.unwrapped.raw
        distances.append(100 * np.linalg.norm(np.asarray(raw.tcp_center) - np.asarray(raw._target_pos)))
    assert max(distances) < most_cm
    assert kind != "scripted" or np.mean(distances) > 3.0  # the stock rule's offset is what scripted_tcp removes


def test_fast_reach_rule_closes_the_last_centimetres_without_creeping():
    """Gain 50 closes the remaining offset in about one agent step once within 2 cm; gain 5 closes 10 % per step."""
    env = envs.make("metaworld", "reach-v3", seed=0)
    steps_within_1cm = {}
    for kind in ("scripted_tcp", "scripted_tcp_fast"):
        policy, provenance = make_expert("metaworld", "reach-v3", kind)
        assert provenance["expert_kind"] == kind and provenance["expert_checkpoint"] is None
        obs, _ = env.reset(seed=1)
        for t in range(1, 101):
            obs, *_ = env.step(policy(obs))
            raw = env.unwrapped.raw
            if np.linalg.norm(np.asarray(raw.tcp_center) - np.asarray(raw._target_pos)) < 0.01:
                steps_within_1cm[kind] = t
                break
    env.close()
    assert steps_within_1cm["scripted_tcp_fast"] + 5 < steps_within_1cm["scripted_tcp"]


def test_xlast_reach_rule_comes_in_along_x():
    """The L-shaped rule's steps 2–10 cm from the goal lie off it in x; the straight rule's in y (the arm's travel)."""
    env = envs.make("metaworld", "reach-v3", seed=0)
    near = {}
    for kind in ("scripted_tcp", "scripted_tcp_xlast"):
        policy, _ = make_expert("metaworld", "reach-v3", kind)
        offsets = []
        for seed in range(2):
            obs, _ = env.reset(seed=seed)
            policy.reset(seed)
            for _ in range(100):
                obs, *_ = env.step(policy(obs))
                raw = env.unwrapped.raw
                offset = np.asarray(raw.tcp_center) - np.asarray(raw._target_pos)
                if 0.02 <= np.linalg.norm(offset) < 0.1:
                    offsets.append(np.abs(offset))
        near[kind] = np.mean(offsets, axis=0)
    env.close()
    assert near["scripted_tcp"][1] > 3 * near["scripted_tcp"][0]
    assert near["scripted_tcp_xlast"][0] > 3 * max(near["scripted_tcp_xlast"][1:])


@pytest.mark.parametrize("suite,task,source", [("metaworld", "reach-v3", "expert"),
                                               ("dmc", "cartpole-swingup", "random")])
def test_alignment_replays_from_stored_seed(reach, cartpole, root, suite, task, source):
    """Replaying the stored actions from reset(seed=stored seed) reproduces obs, next_obs and rewards."""
    demos = (experts.load(suite, task, "state-action", n=2, root=root, check_env=False) if source == "expert"
             else experts.load(suite, task, "embodiment", n=2, source="random", root=root, check_env=False))
    env = envs.make(suite, task, seed=123)  # a different construction seed: the reset seed alone must matter
    for ep in demos.episodes:
        obs, _ = env.reset(seed=ep.seed)
        np.testing.assert_array_equal(obs, ep.obs[0])
        for t in range(len(ep)):
            obs, reward, term, trunc, _ = env.step(ep.action[t])
            np.testing.assert_array_equal(obs, ep.obs[t + 1])
            assert reward == pytest.approx(float(ep.reward[t]), rel=1e-6)
        assert trunc and not term


def test_obs_only_drops_actions_and_nothing_else(reach, root):
    full = experts.load("metaworld", "reach", "state-action", n=4, root=root, check_env=False)
    obs_only = experts.load("metaworld", "reach", "obs-only", n=4, root=root, check_env=False)
    assert obs_only.kind == "obs-only" and not obs_only.has_actions and full.has_actions
    assert obs_only.card["content_sha256"] == full.card["content_sha256"]
    for a, b in zip(full.episodes, obs_only.episodes, strict=True):
        assert b.action is None
        np.testing.assert_array_equal(a.obs, b.obs)
        np.testing.assert_array_equal(a.reward, b.reward)
        np.testing.assert_array_equal(a.success, b.success)
        assert (a.seed, a.terminated) == (b.seed, b.terminated)
    assert "action" not in obs_only.slices(3) and set(full.slices(3)) == {"obs", "reward", "action"}


def test_pre_action_shift(reach):
    ep = reach[0][0]
    pre = ep.pre_action
    assert pre.shape == (len(ep) + 1, ep.action.shape[1])
    np.testing.assert_array_equal(pre[0], 0.0)
    np.testing.assert_array_equal(pre[1:], ep.action)


def test_round_trip(reach):
    eps, path = reach
    back, card = dataset.read(path)
    assert len(back) == len(eps)
    for a, b in zip(eps, back, strict=True):
        for name in ("obs", "action", "reward", "success"):
            np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
        assert (a.seed, a.terminated) == (b.seed, b.terminated)
    assert card["n_episodes"] == N_EXPERT
    assert json.loads(dataset.card_path(path).read_text()) == card


def test_provenance_fields(reach, root):
    card = experts.load("metaworld", "reach-v3", n=1, root=root, check_env=False).card
    for key in ("suite", "task", "env_spec", "expert_kind", "expert_checkpoint_sha256", "collection_seed",
                "n_episodes", "return_mean", "return_std", "success_mean", "success_std", "random_reference",
                "step_units", "package_versions", "created", "schema_version", "content_sha256", "dataset_id",
                "filter_rule"):
        assert key in card, key
    assert card["env_spec"]["versions"]["metaworld"] and card["package_versions"]["h5py"]
    assert card["step_units"]["env_steps"] == 2 * card["step_units"]["agent_steps"]


def _copy(path: Path, tmp_path: Path) -> Path:
    dst = tmp_path / path.name
    dst.write_bytes(path.read_bytes())
    return dst


def test_corruption_is_detected(reach, tmp_path):
    _, path = reach
    bad = _copy(path, tmp_path)
    with h5py.File(bad, "r") as f:
        offset = f["data/demo_3/obs/state"].id.get_offset()
    raw = bytearray(bad.read_bytes())
    raw[offset + 40] ^= 0xFF
    bad.write_bytes(bytes(raw))
    with pytest.raises(DatasetError, match="hash mismatch") as err:
        dataset.read(bad)
    assert str(bad) in str(err.value)


def test_truncation_is_detected(reach, tmp_path):
    bad = _copy(reach[1], tmp_path)
    bad.write_bytes(bad.read_bytes()[: bad.stat().st_size // 2])
    with pytest.raises(DatasetError) as err:
        dataset.read(bad)
    assert str(bad) in str(err.value)


def test_atomic_write_leaves_nothing_half_written(reach, tmp_path, monkeypatch):
    eps, path = reach
    target = _copy(path, tmp_path)
    before = target.read_bytes()
    calls = []

    def failing(self, *a, **k):
        calls.append(1)
        if len(calls) > 3:
            raise OSError("disk full")
        return original(self, *a, **k)

    original = h5py.Group.create_dataset
    monkeypatch.setattr(h5py.Group, "create_dataset", failing)
    with pytest.raises(OSError, match="disk full"):
        dataset.write(target, eps, {"suite": "x"})
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [target.name]


def test_filter_rule():
    def ep(success):
        return Episode(np.zeros((4, 2)), np.zeros((3, 1)), np.zeros(3), None if success is None else np.array(success))

    assert passes("success_any_step", ep([0.0, 1.0, 0.0]))
    assert not passes("success_any_step", ep([0.0, 0.0, 0.0]))
    assert not passes("success_any_step", ep(None))
    assert passes("keep_all", ep([0.0, 0.0, 0.0]))
    with pytest.raises(ValueError, match="unknown filter rule"):
        passes("best", ep(None))


def test_collection_filter_rejects(monkeypatch):
    env = envs.make("metaworld", "reach-v3", seed=0)
    with pytest.raises(CollectionError, match="passed filter 'success_any_step'"):
        collect(env, RandomPolicy(4), 1, seed=0, stream="random", rule="success_any_step", max_attempts=2)


def test_subsampling_is_deterministic_and_nested(reach, root):
    a = experts.load("metaworld", "reach-v3", n=4, root=root, check_env=False)
    b = experts.load("metaworld", "reach-v3", n=4, root=root, check_env=False)
    assert a.card["indices"] == b.card["indices"]
    assert [e.seed for e in a.episodes] == [e.seed for e in b.episodes]
    assert set(subsample(10, 3)) <= set(subsample(10, 6))
    assert subsample(10, 4, seed=1).tolist() != subsample(10, 4, seed=0).tolist()


def test_too_many_demos(reach, root):
    with pytest.raises(DatasetError, match=r"n=11 .* holds only 10"):
        experts.load("metaworld", "reach-v3", n=11, root=root, check_env=False)


def test_dims_mismatch(reach, root):
    spec = EnvSpec("metaworld", "reach-v3", "state", (40,), 4, 100, 2, True)
    with pytest.raises(DatasetError, match=r"obs_shape \(39,\).*obs_shape \(40,\)"):
        experts.load("metaworld", "reach-v3", n=1, root=root, spec=spec)


def test_embodiment_mix(cartpole, root):
    mix = experts.load("dmc", "cartpole-swingup", "embodiment", n=4, root=root, check_env=False)
    assert mix.kind == "embodiment" and len(mix) == 4 and mix.has_actions
    assert [p["source"] for p in mix.card["parts"]] == ["random", "replay"]
    assert [p["n_loaded"] for p in mix.card["parts"]] == [2, 2]


def test_build_task_is_idempotent(tmp_path):
    logs: list[str] = []
    kw = dict(n=2, n_reference=1, embodiment=False, root=tmp_path, log=logs.append)
    cards = build_task("metaworld", "reach", **kw)
    assert cards["expert"]["n_episodes"] == 2 and cards["expert"]["random_reference"]["n"] == 1
    assert build_task("metaworld", "reach-v3", **kw) == cards
    assert logs[-1].endswith("all datasets present")


def test_noisy_kind_names_parse_and_round_trip():
    assert parse_kind("scripted_tcp") == ("scripted_tcp", 0.0)
    assert parse_kind("scripted_tcp-noise0.3") == ("scripted_tcp", 0.3)
    assert noisy_kind("sac", 0.25) == "sac-noise0.25" and noisy_kind("sac", 0.0) == "sac"
    for bad, why in [("ppo-noise0.3", "unknown expert kind"), ("sac-noise0.30", "write sigma .* as 'sac-noise0.3'"),
                     ("sac-noise2", "write sigma"), ("sac-noise0", "write sigma"), ("sac-noiseX", "not a number")]:
        with pytest.raises(ValueError, match=why):
            parse_kind(bad)


def test_noisy_expert_adds_seeded_gaussian_noise_to_the_plain_experts_action(tmp_path):
    """`scripted_tcp-noise0.3` acts as `scripted_tcp` plus N(0, 0.3^2) per action dimension (clipped to [-1, 1]),
    reproducibly per episode seed; its provenance names the plain kind and sigma; its replay data are the plain
    kind's dataset."""
    env = envs.make("metaworld", "reach-v3", seed=0)
    plain, _ = make_expert("metaworld", "reach-v3", "scripted_tcp")
    noisy, provenance = make_expert("metaworld", "reach-v3", "scripted_tcp-noise0.3")
    assert provenance["expert_kind"] == "scripted_tcp-noise0.3" and provenance["expert_base_kind"] == "scripted_tcp"
    assert provenance["expert_action_noise"] == 0.3
    diffs, first = [], []
    for repeat in range(2):
        obs, _ = env.reset(seed=3)
        noisy.reset(3)
        for t in range(60):
            a_noisy, a_plain = noisy(obs), plain(obs)
            unclipped = (np.abs(a_plain) < 0.5) & (np.abs(a_noisy) < 1)  # where clipping cannot hide the noise
            diffs.extend((a_noisy - a_plain)[unclipped])
            if repeat == 0:
                first.append(a_noisy)
            else:  # the same episode seed gives the same noise
                np.testing.assert_array_equal(a_noisy, first[t])
            obs, *_ = env.step(a_noisy)
    assert abs(np.mean(diffs)) < 0.05 and 0.25 < np.std(diffs) < 0.35
    assert dataset_path("metaworld", "reach-v3", "replay", "scripted_tcp-noise0.3", tmp_path).name == \
        "replay-scripted_tcp.hdf5"
    assert dataset_path("metaworld", "reach-v3", "expert", "scripted_tcp-noise0.3", tmp_path).name == \
        "expert-scripted_tcp-noise0.3.hdf5"


def test_noisy_expert_dataset_builds_beside_the_plain_one(tmp_path):
    kw = dict(n=2, n_reference=1, embodiment=False, root=tmp_path, log=lambda _: None)
    card = build_task("metaworld", "reach", expert="scripted_tcp-noise0.3", **kw)["expert"]
    assert card["expert_kind"] == "scripted_tcp-noise0.3" and card["expert_action_noise"] == 0.3
    noisy = experts.load("metaworld", "reach-v3", n=2, expert="scripted_tcp-noise0.3", root=tmp_path)
    with pytest.raises(DatasetError, match="expert-scripted_tcp.hdf5"):
        experts.load("metaworld", "reach-v3", n=2, expert="scripted_tcp", root=tmp_path)
    assert noisy.card["content_sha256"] == card["content_sha256"]


def test_expert_kind_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no tdmpc2 expert checkpoint .* --expert tdmpc2"):
        make_expert("dmc", "cartpole-swingup", "tdmpc2", tmp_path)
    with pytest.raises(ValueError, match="unknown expert kind"):
        make_expert("dmc", "cartpole-swingup", "ppo", tmp_path)
    with pytest.raises(ValueError, match="metaworld only"):
        make_expert("dmc", "cartpole-swingup", "scripted", tmp_path)
    with pytest.raises(ValueError, match="reach-v3 only, not 'button-press-topdown-v3'"):
        make_expert("metaworld", "button-press-topdown-v3", "scripted_tcp", tmp_path)


def test_transitions_and_slices_layout():
    obs = np.arange(10, dtype=np.float32).reshape(5, 2)
    a = Episode(obs, np.arange(4, dtype=np.float32)[:, None], np.arange(4, dtype=np.float32), terminated=True)
    b = Episode(obs[:3] + 100, np.zeros((2, 1), np.float32), np.zeros(2, np.float32))
    demos = experts.Demos([a, b])
    tr = demos.transitions()
    np.testing.assert_array_equal(tr["terminated"], [False, False, False, True, False, False])
    np.testing.assert_array_equal(tr["next_obs"][:4], obs[1:])
    s = demos.slices(2)
    assert s["obs"].shape == (4, 3, 2) and s["action"].shape == (4, 2, 1)
    np.testing.assert_array_equal(s["obs"][1], obs[1:4])
    np.testing.assert_array_equal(s["obs"][3], obs[:3] + 100)


def test_missing_dataset_says_how_to_build(tmp_path):
    with pytest.raises(DatasetError, match="python -m experts metaworld reach-v3"):
        experts.load("metaworld", "reach", n=1, root=tmp_path, check_env=False)
