"""Checkpoints: safetensors + JSON with a content hash; corrupt ones are skipped; pickle files are never read."""

from __future__ import annotations

import json

import pytest
import torch

from jepakit.engine.ckpt import latest_checkpoint, list_checkpoints, pack_state, save_checkpoint, unpack_state


def _model_and_opt():
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 3)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    model(torch.randn(2, 4)).sum().backward()
    opt.step()
    return model, opt


def test_round_trip_restores_model_optimizer_and_rng(tmp_path):
    model, opt = _model_and_opt()
    tensors, meta = pack_state(model, opt)
    save_checkpoint(tmp_path, 5, tensors, meta)
    expected_draw = torch.rand(3)
    fresh, fresh_opt = torch.nn.Linear(4, 3), None
    fresh_opt = torch.optim.AdamW(fresh.parameters(), lr=1e-3)
    loaded_tensors, loaded_meta = latest_checkpoint(tmp_path)
    assert loaded_meta["step"] == 5
    unpack_state(fresh, fresh_opt, loaded_tensors, loaded_meta)
    assert torch.equal(fresh.weight, model.weight)
    assert torch.equal(fresh_opt.state_dict()["state"][0]["exp_avg"], opt.state_dict()["state"][0]["exp_avg"])
    assert torch.equal(torch.rand(3), expected_draw)  # the RNG continues where the checkpoint left it


def test_only_the_newest_checkpoints_are_kept(tmp_path):
    model, opt = _model_and_opt()
    for step in (1, 2, 3, 4):
        save_checkpoint(tmp_path, step, *pack_state(model, opt), keep=2)
    assert list_checkpoints(tmp_path) == [3, 4]
    assert not (tmp_path / "step-0000001.safetensors").exists()


@pytest.mark.parametrize("damage", ["truncate", "flip", "json"])
def test_a_damaged_checkpoint_is_skipped_for_the_previous_good_one(tmp_path, damage, caplog):
    model, opt = _model_and_opt()
    save_checkpoint(tmp_path, 1, *pack_state(model, opt))
    save_checkpoint(tmp_path, 2, *pack_state(model, opt))
    blob = tmp_path / "step-0000002.safetensors"
    if damage == "truncate":
        blob.write_bytes(blob.read_bytes()[:50])
    elif damage == "flip":
        data = bytearray(blob.read_bytes())
        data[-3] ^= 0xFF
        blob.write_bytes(bytes(data))
    else:
        (tmp_path / "step-0000002.json").write_text("{not json")
    _, meta = latest_checkpoint(tmp_path)
    assert meta["step"] == 1
    assert "step-0000002" in caplog.text


def test_checkpoint_metadata_is_plain_json_with_a_hash(tmp_path):
    model, opt = _model_and_opt()
    save_checkpoint(tmp_path, 7, *pack_state(model, opt))
    meta = json.loads((tmp_path / "step-0000007.json").read_text())
    assert len(meta["sha256"]) == 64 and meta["format"] == "jepakit-ckpt-1"


@pytest.mark.parametrize("name", ["weights.pt", "model.ckpt", "x.pth", "y.pkl", "step-0000009.pt"])
def test_pickle_files_are_never_read_as_checkpoints(tmp_path, name):
    model, opt = _model_and_opt()
    save_checkpoint(tmp_path, 3, *pack_state(model, opt))
    (tmp_path / name).write_bytes(b"\x80\x04 not even read")
    assert list_checkpoints(tmp_path) == [3]
    _, meta = latest_checkpoint(tmp_path)
    assert meta["step"] == 3
