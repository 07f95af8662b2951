"""End to end: a few steps of actjepa/actjepa-tiny on one task at toy size, then evaluation by acting; and the
command line's answers to bad input (exit 2, Error: + Hint:, no traceback)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from jepakit.cli.app import app
from jepakit.testing.runs import train_tiny

TOY = [
    "encoder.embed_dim=16",
    "encoder.depth=1",
    "encoder.num_heads=2",
    "method.decoder_dim=16",
    "method.decoder_depth=1",
    "method.predictor_dim=16",
    "method.predictor_depth=1",
    "method.num_heads=2",
    "method.rollouts_per_task=2",
    "method.random_init_rollouts=1",
    "method.eval_max_steps=60",
    "method.strip_frames=0",
    'data.tasks=["reach-v3"]',
    "data.demos_per_task=2",
    "data.test_per_task=1",
    "data.nonexpert_per_task=1",
    "data.chunk=4",
]


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("JEPAKIT_CACHE", str(tmp_path / "cache"))


@pytest.mark.slow
def test_tiny_train_acts_and_probes(tmp_path):
    pytest.importorskip("metaworld", reason="Meta-World is not installed")
    out = tmp_path / "run"
    result = train_tiny("actjepa/actjepa-tiny", [*TOY, "optim.steps=3", "optim.batch_size=16"], out)
    ev = json.loads((out / "eval.json").read_text())
    assert ev == json.loads(json.dumps(result["eval"]))
    assert ev["primary"] == "success" and ev["baseline_label"] == "BC only (ACT)"
    assert {"success", "reach-v3 success", "hand k10 r2", "object k10 r2"} == set(ev["metrics"])
    row = ev["success"]["reach-v3"]
    assert row["rollouts"] == 2 and row["random_init_rollouts"] == 1 and row["expert"] == 100.0
    assert all(0.0 <= row[k] <= 100.0 for k in ("act_jepa", "bc", "random_init"))
    probe = ev["world_model_probe"]
    assert set(probe) == {"hand", "object"} and set(probe["hand"]) == {"k1", "k5", "k10"}
    assert set(probe["hand"]["k5"]) == {"trained", "random_init", "bc", "raw_state"}
    assert ev["episodes"] == {"train_expert": 2, "train_nonexpert": 1, "test": 1}
    assert (out / "plots" / "loss.png").is_file() and any((out / "checkpoints").iterdir())


def _run(args: list[str]):
    return CliRunner().invoke(app, args)


def test_unknown_task_is_a_config_error_with_did_you_mean(tmp_path):
    pytest.importorskip("metaworld", reason="Meta-World is not installed")
    res = _run(["train", "actjepa/actjepa-tiny", "--set", 'data.tasks=["drawer-opn-v3"]', "--out", str(tmp_path / "r")])
    assert res.exit_code == 2 and "Error:" in res.output and "Hint:" in res.output
    assert "did you mean 'drawer-open-v3'" in res.output and "Traceback" not in res.output


def test_episodes_with_mismatched_lengths_are_skipped_then_refused(tmp_path):
    data = tmp_path / "episodes"
    data.mkdir()
    np.savez(data / "bad.npz", observations=np.zeros((10, 6)), actions=np.zeros((4, 2)))
    args = ["train", "actjepa/actjepa-tiny", "--set", "data.use=actjepa/trajectories", "--set", f'data.path="{data}"']
    res = _run([*args, "--out", str(tmp_path / "r")])
    assert res.exit_code == 2 and "Error:" in res.output and "Hint:" in res.output, res.output
    assert "0 usable expert episode(s) (1 skipped)" in res.output and "Traceback" not in res.output


def test_user_trajectories_train_and_probe_without_a_simulator(tmp_path):
    rng = np.random.default_rng(0)
    data = tmp_path / "episodes"
    data.mkdir()
    for i in range(4):
        steps = np.cumsum(rng.normal(size=(15, 3)), axis=0)
        np.savez(data / f"ep{i}.npz", observations=steps, actions=np.diff(steps, axis=0))
    np.savez(data / "mismatch.npz", observations=np.zeros((10, 3)), actions=np.zeros((3, 3)))
    overrides = [t for t in TOY if not t.startswith("data.")]
    sets = [
        *overrides,
        "data.use=actjepa/trajectories",
        f'data.path="{data}"',
        "data.chunk=3",
        "optim.steps=2",
        "optim.batch_size=8",
        "method.probe_k=[1, 2]",
    ]
    result = train_tiny("actjepa/actjepa-tiny", sets, tmp_path / "run")
    ev = result["eval"]
    assert ev["primary"] == "observation k2 r2" and ev["success"] == {}
