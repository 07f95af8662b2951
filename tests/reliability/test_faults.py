"""Faults other than kills: corrupt checkpoints, a busy run directory, a full disk, an unwritable directory,
NaN/Inf in the loss or the gradients, representation collapse, and determinism. Each reports its figures."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import toyrun

from jepakit.engine.ckpt import list_checkpoints, read_checkpoint
from jepakit.engine.runs import RunDir

pytestmark = pytest.mark.slow


def _damage(path: Path, how: str) -> None:
    data = path.read_bytes()
    if how == "truncate":
        path.write_bytes(data[: len(data) // 3])
    elif how == "flip":
        path.write_bytes(data[:100] + bytes([data[100] ^ 0xFF]) + data[101:])
    elif how == "empty":
        path.write_bytes(b"")
    elif how == "delete":
        path.unlink()
    elif how == "garbage-json":
        path.write_text("{not json")


@pytest.mark.parametrize(
    "target,how",
    [
        ("safetensors", "truncate"),
        ("safetensors", "flip"),
        ("safetensors", "delete"),
        ("json", "garbage-json"),
        ("json", "empty"),
    ],
)
def test_a_damaged_newest_checkpoint_is_detected_and_resume_falls_back(tmp_path, figures, target, how):
    out = tmp_path / "run"
    first = toyrun.run(tmp_path, out, "--no-eval", fault="step@10")  # killed after step 10: ckpts 4 and 8
    assert first.returncode < 0
    assert list_checkpoints(out / "checkpoints") == [4, 8]
    _damage(out / "checkpoints" / f"step-0000008.{target}", how)
    resumed = toyrun.run(tmp_path, out, "--no-eval", resume=True)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "step-0000008" in resumed.stderr and "falling back" in resumed.stderr
    assert "resuming" in resumed.stderr and "from step 4" in resumed.stderr
    rows = [r for r in RunDir(out).read_metrics() if "loss" in r]
    assert [r["step"] for r in rows] == list(range(1, toyrun.STEPS + 1))  # no step missing or doubled
    figures["corrupt checkpoints detected (resume fell back)"] += 1


def test_a_busy_run_directory_is_refused_and_a_dead_holder_leaves_no_lock(tmp_path, figures):
    out = tmp_path / "run"
    holder = subprocess.Popen(
        toyrun.command(out, "--no-eval", sets=[*toyrun.SETS, "optim.steps=100000"]),
        env=toyrun.env(tmp_path),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while not (out / "checkpoints" / "step-0000004.json").exists():
            assert holder.poll() is None, "the holder died"
        second = toyrun.run(tmp_path, out, "--no-eval", resume=True)
        assert second.returncode == 2 and "in use by another jepakit process" in second.stderr
        assert "Traceback" not in second.stderr
    finally:
        holder.kill()
        holder.wait()
    after = toyrun.run(
        tmp_path, out, "--no-eval", resume=True, sets=[*toyrun.SETS, "optim.steps=100000"], fault="step@1"
    )  # the lock died with the holder
    assert after.returncode < 0 and "in use" not in after.stderr
    figures["busy run directory refused (exit 2)"] += 1


def test_a_full_disk_stops_with_a_clear_error_and_keeps_the_last_checkpoint(tmp_path, figures):
    out = tmp_path / "run"
    # a fresh run's atomic writes: run.json (1), config.toml (2), metrics.jsonl (3), checkpoint 4's tensors (4)
    # and JSON (5), checkpoint 8's tensors (6): the disk fills while checkpoint 8 is written
    full = toyrun.run(tmp_path, out, "--no-eval", fault="atomic-write@6:enospc")
    assert full.returncode == 1, full.stderr[-2000:]
    assert "Error: cannot write" in full.stderr and "No space left on device" in full.stderr
    assert "Traceback" not in full.stderr and "previous checkpoint is intact" in full.stderr
    assert list_checkpoints(out / "checkpoints") == [4]
    read_checkpoint(out / "checkpoints", 4)
    assert not [p for p in (out / "checkpoints").iterdir() if p.name.endswith(".tmp")]
    resumed = toyrun.run(tmp_path, out, "--no-eval", resume=True)
    assert resumed.returncode == 0
    figures["disk-full writes reported, last checkpoint intact"] += 1


def test_an_unwritable_output_directory_is_a_clear_error(tmp_path, figures):
    if os.geteuid() == 0:  # root ignores permissions: a file where the directory should be fails for everyone
        (tmp_path / "taken").write_text("a file")
        out = tmp_path / "taken" / "run"
    else:
        (tmp_path / "ro").mkdir(mode=0o500)
        out = tmp_path / "ro" / "run"
    result = toyrun.run(tmp_path, out, "--no-eval")
    assert result.returncode == 2 and "Error: cannot write to run directory" in result.stderr
    assert "Hint:" in result.stderr and "Traceback" not in result.stderr
    figures["unwritable output directory reported (exit 2)"] += 1


@pytest.mark.parametrize("fault", ["nan-loss@6:nan", "nan-grad@6:nan"])
def test_non_finite_loss_or_gradient_stops_naming_the_step_and_checkpoint(tmp_path, figures, fault):
    out = tmp_path / "run"
    result = toyrun.run(tmp_path, out, "--no-eval", fault=fault)
    what = "loss" if "loss" in fault else "gradient norm"
    assert result.returncode == 1, result.stderr[-2000:]
    assert f"Error: {what} is" in result.stderr and "at step 6; last good checkpoint: step 4" in result.stderr
    figures["NaN/Inf detected and stopped (exit 1)"] += 1


@pytest.mark.parametrize("fault", ["nan-loss@6:nan", "nan-grad@6:nan"])
def test_non_finite_steps_can_be_skipped_and_counted(tmp_path, figures, fault):
    out = tmp_path / "run"
    result = toyrun.run(tmp_path, out, "--no-eval", fault=fault, sets=[*toyrun.SETS, 'run.on_nan="skip"'])
    assert result.returncode == 0, result.stderr[-2000:]
    rows = [r for r in RunDir(out).read_metrics() if "loss" in r]
    steps = [r["step"] for r in rows]
    assert 6 not in steps and len(steps) == toyrun.STEPS - 1  # the poisoned step taught nothing, the rest ran
    assert rows[-1]["step"] == toyrun.STEPS and rows[-1]["skipped"] == 1
    figures["NaN/Inf steps skipped and counted"] += 1


def test_collapse_is_reported_in_the_log_and_eval_json_and_can_stop_the_run(tmp_path, figures):
    # a threshold no real encoder meets turns the monitor on deterministically
    sets = [*toyrun.SETS, "run.monitor_every=2", "run.collapse_std=100.0", "run.collapse_patience=2"]
    warned = toyrun.run(tmp_path, tmp_path / "warn", "--json", sets=sets)
    assert warned.returncode == 0 and "representation collapse at step 4" in warned.stderr
    ev = json.loads((tmp_path / "warn" / "eval.json").read_text())
    assert any("collapse" in w for w in ev["warnings"])
    stopped = toyrun.run(tmp_path, tmp_path / "stop", sets=[*sets, 'run.on_collapse="stop"'])
    assert stopped.returncode == 1 and "representation collapsed at step 4" in stopped.stderr
    assert list_checkpoints(tmp_path / "stop" / "checkpoints")[-1] == 4
    figures["collapse warnings raised (log + eval.json)"] += 1
    figures["collapse stops (exit 1, checkpoint kept)"] += 1


def test_same_seed_same_losses(tmp_path, figures):
    a, b = (toyrun.run(tmp_path, tmp_path / n, "--no-eval") for n in ("a", "b"))
    assert a.returncode == b.returncode == 0
    la, lb = ([(r["step"], r["loss"]) for r in RunDir(tmp_path / n).read_metrics() if "loss" in r] for n in "ab")
    assert la == lb and len(la) == toyrun.STEPS
    figures["deterministic reruns (identical loss sequences)"] += 1
