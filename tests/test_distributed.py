"""Data-parallel training: 2 gloo CPU processes train what 1 process trains with the same global batch.

The 2-process loss equals the 1-process loss up to float reduction order (each rank takes a contiguous slice of
the same global batch and its masks; VICReg gathers the global batch), so the tolerance is tight (rtol 1e-5;
measured differences are ~1e-8). The ranks' parameters, EMA teacher included, must be bit-identical.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from helpers import TOY_MODEL
from safetensors.torch import load_file
from typer.testing import CliRunner

from jepakit.cli.app import app
from jepakit.engine.loader import MaskCollator, StepBatchSampler, take_rows
from jepakit.engine.runs import RunDir
from jepakit.interfaces import MaskSet

STEPS = 4
SETS = [
    "data.use=core/digits",
    *TOY_MODEL,
    "optim.batch_size=16",
    f"optim.steps={STEPS}",
    "run.ckpt_every=2",
    "run.keep_checkpoints=3",
    "run.log_every=1",
    "run.monitor_every=2",
    "run.workers=0",
    "run.threads=1",
    'eval.heads=["core/linear-probe"]',
]


def _env(tmp: Path, **extra: str) -> dict[str, str]:
    (tmp / "empty-plugins.toml").write_text("")
    env = {**os.environ, "JEPAKIT_PLUGINS_TOML": str(tmp / "empty-plugins.toml"), "OMP_NUM_THREADS": "1"}
    for key in (
        "JEPAKIT_FAULT",
        "JEPAKIT_FAULT_RANK",
        "RANK",
        "WORLD_SIZE",
        "LOCAL_RANK",
        "LOCAL_WORLD_SIZE",
        "MASTER_ADDR",
        "MASTER_PORT",
        "JEPAKIT_DIST_DIGEST_DIR",
    ):
        env.pop(key, None)
    env.update(extra)
    return env


def _train(tmp: Path, out: Path, *extra: str, **env: str) -> subprocess.CompletedProcess:
    args = [a for s in SETS for a in ("--set", s)]
    cmd = [sys.executable, "-m", "jepakit.cli", "train", "ijepa/ijepa-tiny", *args, "--out", str(out), *extra]
    return subprocess.run(cmd, env=_env(tmp, **env), capture_output=True, text=True, timeout=300)


def _losses(out: Path) -> list[tuple[int, float]]:
    return [(r["step"], r["loss"]) for r in RunDir(out).read_metrics()]


def _files(out: Path) -> set[str]:
    return {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def one_process(tmp_path_factory) -> Path:
    """The reference: one process, the same global batch of 16."""
    tmp = tmp_path_factory.mktemp("one")
    proc = _train(tmp, tmp / "run", "--no-eval")
    assert proc.returncode == 0, proc.stderr
    return tmp / "run"


@pytest.mark.slow
def test_two_processes_train_what_one_process_trains(one_process, tmp_path):
    out, digests = tmp_path / "run", tmp_path / "digests"
    proc = _train(tmp_path, out, "--nproc", "2", "--json", JEPAKIT_DIST_DIGEST_DIR=str(digests))
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr

    one, two = _losses(one_process), _losses(out)
    assert [s for s, _ in two] == list(range(1, STEPS + 1))  # each step logged once: rank 0 alone writes metrics
    for (_, a), (_, b) in zip(one, two, strict=True):
        assert b == pytest.approx(a, rel=1e-5, abs=1e-7)

    # EMA teacher and student identical on both ranks at every checkpoint (sha256 of all parameters)
    for step in (2, STEPS):
        ranks = [(digests / f"rank{r}-step{step}.txt").read_text() for r in (0, 1)]
        assert ranks[0] == ranks[1]
    # ... and rank 0's checkpoint matches the 1-process run's (same data, same masks, averaged gradients)
    ref = load_file(str(one_process / "checkpoints" / f"step-{STEPS:07d}.safetensors"))
    got = load_file(str(out / "checkpoints" / f"step-{STEPS:07d}.safetensors"))
    teacher = [k for k in ref if k.startswith("model/target.")]
    assert teacher and set(ref) == set(got)
    for key in teacher:
        torch.testing.assert_close(got[key], ref[key], rtol=1e-4, atol=1e-6)

    # only rank 0 wrote: the same files as the 1-process run, plus its evaluation; one summary on stdout
    extra = _files(out) - _files(one_process)
    assert extra == {"eval.json", "plots/embedding_pca.png"}, extra
    summary = json.loads(proc.stdout)
    assert summary["steps"] == STEPS and "eval" in summary and (out / "eval.json").is_file()


@pytest.mark.slow
def test_a_failing_rank_stops_the_others_and_resume_continues_exactly(one_process, tmp_path):
    out = tmp_path / "run"
    # rank 1 is SIGKILLed right after step 3's optimizer step; rank 0 must not wait for it forever
    killed = _train(tmp_path, out, "--nproc", "2", "--no-eval", JEPAKIT_FAULT="step@3", JEPAKIT_FAULT_RANK="1")
    assert killed.returncode == 1, killed.stderr
    assert "Error: rank 1 of 2 was killed by signal 9" in killed.stderr and "Hint:" in killed.stderr
    assert "Traceback" not in killed.stderr.split("--- rank 1")[0]
    assert sorted(p.name for p in (out / "checkpoints").glob("*.json")) == ["step-0000002.json"]

    resumed = _train(tmp_path, out, "--nproc", "2", "--no-eval", "--resume")
    assert resumed.returncode == 0, resumed.stderr
    one, two = _losses(one_process), _losses(out)
    assert [s for s, _ in two] == list(range(1, STEPS + 1))
    for (_, a), (_, b) in zip(one, two, strict=True):
        assert b == pytest.approx(a, rel=1e-5, abs=1e-7)


def test_batch_size_must_split_evenly_over_the_processes(tmp_path):
    env = _env(tmp_path)
    result = CliRunner().invoke(
        app,
        ["train", "ijepa/ijepa-tiny", "--nproc", "2", "--set", "optim.batch_size=15", "--out", str(tmp_path / "run")],
        env=env,
    )
    assert result.exit_code == 2, result.output
    text = result.output + (result.stderr if result.stderr_bytes is not None else "")
    assert "Error:" in text and "optim.batch_size" in text and "Hint:" in text and "Traceback" not in text
    assert not (tmp_path / "run").exists()


def test_nproc_under_a_distributed_launch_is_refused(tmp_path):
    env = {**_env(tmp_path), "WORLD_SIZE": "2", "RANK": "0"}
    result = CliRunner().invoke(
        app, ["train", "ijepa/ijepa-tiny", "--nproc", "2", "--out", str(tmp_path / "r")], env=env
    )
    assert result.exit_code == 2 and "torchrun" in result.output + (result.stderr or "")


def test_each_rank_gets_its_slice_of_the_global_batch_and_its_masks(plugin_state):
    """The shards of step s, indices and masks, are exactly the rows of the 1-process batch of step s."""
    from jepakit.framework.compose import build_part, resolve_run

    resolved = resolve_run({"variant": "ijepa/ijepa-tiny"}, plugin_state, [])
    masker = build_part(resolved.parts["masker"], grid=(8, 8), meta={})

    def items(sampler):
        return [[(s, i, 0) for s, i in batch] for batch in sampler]

    whole = items(StepBatchSampler(100, 16, seed=3, start=0, total=9))
    shards = [items(StepBatchSampler(100, 16, seed=3, start=0, total=9, rank=r, world=2)) for r in (0, 1)]
    for step in range(9):
        assert shards[0][step] + shards[1][step] == whole[step]
        full = MaskCollator(masker, 3, 9)([(s, torch.zeros(1, 16, 16), y) for s, _, y in whole[step]])["masks"]
        for r in (0, 1):
            part = MaskCollator(masker, 3, 9, r, 2)([(s, torch.zeros(1, 16, 16), y) for s, _, y in shards[r][step]])
            assert isinstance(part["masks"], MaskSet)
            assert torch.equal(part["masks"].context, full.context[r * 8 : (r + 1) * 8])
            assert torch.equal(part["masks"].targets, full.targets[r * 8 : (r + 1) * 8])


def test_take_rows_leaves_tensors_without_a_batch_dimension_alone():
    ms = MaskSet(context=torch.arange(12).view(4, 3), targets=torch.arange(24).view(4, 2, 3))
    part = take_rows({"m": ms, "k": torch.ones(2), "n": 5}, 2, 4, 4)
    assert part["m"].context.tolist() == [[6, 7, 8], [9, 10, 11]] and part["m"].targets.shape == (2, 2, 3)
    assert part["k"].shape == (2,) and part["n"] == 5


class _FakeProc:
    """A finished rank as `_wait` sees it: poll() and returncode."""

    def __init__(self, code: int) -> None:
        self.returncode = code

    def poll(self) -> int:
        return self.returncode


def test_the_launcher_blames_the_killed_rank_not_the_ones_that_lost_contact():
    from jepakit.engine.launch import _wait

    # found dead in the same poll: rank 0 exited 1 (lost contact), rank 1 was SIGKILLed (the cause)
    got = _wait([_FakeProc(1), _FakeProc(-9)], poll_s=0.0)
    assert (got.failed_rank, got.rank_code, got.code) == (1, -9, 1)
    got = _wait([_FakeProc(0), _FakeProc(2), _FakeProc(1)], poll_s=0.0)  # no signal: the lowest failing rank
    assert (got.failed_rank, got.code) == (1, 2)
    assert _wait([_FakeProc(0), _FakeProc(0)], poll_s=0.0).failed_rank is None
