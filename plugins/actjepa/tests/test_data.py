"""Windows of episodes, the user's episode files (bad ones skipped and counted), and Meta-World demonstrations
(seeded resets, unknown task names) at toy size."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from jepakit_actjepa.config import MetaWorldDemosConfig, TrajectoriesConfig
from jepakit_actjepa.data import Episode, WindowSplit
from jepakit_actjepa.episodes import read_episodes, trajectories

from jepakit import JepakitError


def _episode(n: int, expert: bool = True, task: int = 0, od: int = 3, ad: int = 2) -> Episode:
    obs = np.arange(n * od, dtype=np.float32).reshape(n, od)
    act = 100 + np.arange(n * ad, dtype=np.float32).reshape(n, ad)
    ok = np.full(n, expert)
    ok[-1] = False
    return Episode(obs, act, ok, task)


def test_windows_pad_past_the_end_and_mask_nonexpert_actions():
    split = WindowSplit([_episode(4), _episode(3, expert=False, task=1)], chunk=2)
    assert len(split) == 3 + 2 and split.x.shape == (5, 3, 3 + 2 + 2)
    x = split.x[2]  # episode 0, t = 2: rows t=2, t=3, then past the end
    assert torch.equal(x[:, :3], torch.tensor([[6.0, 7, 8], [9, 10, 11], [9, 10, 11]]))
    assert x[:, 5].tolist() == [1.0, 1.0, 0.0], "obs_valid"
    assert x[:, 6].tolist() == [1.0, 0.0, 0.0], "act_valid: the last observation has no action"
    assert float(x[1, 3:5].abs().sum()) == 0.0, "masked actions are zeroed"
    assert float(split.x[3:, :, 6].sum()) == 0.0, "a non-expert episode feeds no action loss"
    assert split.y.tolist() == [0, 0, 0, 1, 1]
    fut, inside = split.future(2, (0,))
    assert inside.tolist() == [True, True, False, True, False] and fut[:, 0].tolist()[:2] == [6.0, 9.0]


def test_user_episodes_npz_skip_bad_ones_and_count_them(tmp_path):
    rng = np.random.default_rng(0)
    for i in range(3):
        np.savez(tmp_path / f"ep{i}.npz", observations=rng.normal(size=(12, 5)), actions=rng.normal(size=(11, 2)))
    np.savez(tmp_path / "mismatch.npz", observations=rng.normal(size=(12, 5)), actions=rng.normal(size=(7, 2)))
    np.savez(tmp_path / "nonexpert.npz", observations=rng.normal(size=(10, 5)))
    np.savez(tmp_path / "nan.npz", observations=np.full((6, 5), np.nan), actions=np.zeros((6, 2)))
    (tmp_path / "broken.npz").write_bytes(b"not a zip")
    episodes, skipped = read_episodes(tmp_path)
    assert len(episodes) == 4 and sum(e.expert for e in episodes) == 3
    assert len(skipped) == 3 and any("mismatched lengths" in s for s in skipped)
    splits = trajectories(TrajectoriesConfig(path=str(tmp_path), chunk=3, test_fraction=0.34))
    assert splits.input_shape == (4, 5 + 2 + 2) and splits.meta["obs_dim"] == 5 and len(splits.meta["skipped"]) == 3
    assert splits.meta["episodes"] == {"train_expert": 2, "train_nonexpert": 1, "test": 1}


def test_a_folder_of_bad_episodes_is_an_error_with_a_hint(tmp_path):
    np.savez(tmp_path / "a.npz", observations=np.zeros((12, 5)), actions=np.zeros((3, 2)))
    with pytest.raises(JepakitError, match="0 usable expert episode") as info:
        trajectories(TrajectoriesConfig(path=str(tmp_path)))
    assert "observations" in info.value.hint
    with pytest.raises(JepakitError, match="does not exist"):
        trajectories(TrajectoriesConfig(path=str(tmp_path / "missing")))


def test_hdf5_episodes(tmp_path):
    h5py = pytest.importorskip("h5py", reason="h5py (the optional [hdf5] extra) is not installed")
    with h5py.File(tmp_path / "demos.h5", "w") as f:
        for i in range(3):
            g = f.create_group(f"demo_{i}")
            g["observations"], g["actions"] = np.zeros((8, 4)), np.zeros((8, 2))
        f.create_group("bad")["observations"] = np.zeros((8, 4, 2))
    episodes, skipped = read_episodes(tmp_path)
    assert len(episodes) == 3 and len(skipped) == 1


@pytest.mark.parametrize("kw", [dict(tasks=()), dict(chunk=0), dict(nonexpert="bad"), dict(noise_std=-1.0)])
def test_bad_demo_configs(kw):
    with pytest.raises(ValueError):
        MetaWorldDemosConfig(**kw)


def test_unknown_task_names_the_closest():
    pytest.importorskip("metaworld", reason="Meta-World is not installed")
    with pytest.raises(JepakitError, match="did you mean 'push-v3'"):
        MetaWorldDemosConfig(tasks=("reach-v3", "pussh-v3")).check()


def test_seeded_resets_change_positions_and_repeat(tmp_path, monkeypatch):
    pytest.importorskip("metaworld", reason="Meta-World is not installed")
    from jepakit_actjepa import sim
    from jepakit_actjepa.data import metaworld_demos

    env = sim.make_env("reach-v3")
    a, b, a2 = sim.reset(env, 1), sim.reset(env, 2), sim.reset(env, 1)
    assert np.array_equal(a, a2) and not np.array_equal(a[-3:], b[-3:]), "the goal moves between resets"
    monkeypatch.setenv("JEPAKIT_CACHE", str(tmp_path))
    cfg = MetaWorldDemosConfig(tasks=("reach-v3",), demos_per_task=2, test_per_task=1, nonexpert_per_task=1, chunk=4)
    splits = metaworld_demos(cfg)
    assert splits.meta["episodes"] == {"train_expert": 2, "train_nonexpert": 1, "test": 1}
    assert splits.input_shape == (5, 39 + 4 + 2) and list(tmp_path.rglob("*.npz"))
    again = metaworld_demos(cfg)  # from the cache
    assert torch.equal(again.train.x, splits.train.x) and torch.equal(again.test.x, splits.test.x)


def test_labelled_share_fixes_the_expert_share_of_drawn_windows():
    from jepakit_actjepa.data import LabelledShare

    split = WindowSplit([_episode(4), _episode(30, expert=False, task=1)], chunk=2)  # 3 expert, 29 non-expert
    mixed = LabelledShare(split, 0.5)
    drawn = [mixed.sample(i, key) for i, key in enumerate(range(400))]
    share = sum(y == 0 for _, y in drawn) / len(drawn)
    assert 0.4 < share < 0.6, share
    assert torch.equal(mixed.sample(3, 7)[0], mixed.sample(3, 7)[0]), "a key always draws the same window"
    assert torch.equal(mixed[5][0], split[5][0]), "indexing stays the clean window"
