"""End to end: train writes the run directory, eval reports trained vs random vs raw, resume is exact."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from helpers import TOY_MODEL

from jepakit.engine.runs import RunDir
from jepakit.engine.train import train
from jepakit.errors import Interrupted, JepakitError
from jepakit.framework.compose import resolve_run

SMALL = [
    "data.use=core/digits",
    *TOY_MODEL,
    "optim.batch_size=32",
    "optim.steps=12",
    "run.ckpt_every=4",
    "run.log_every=1",
    "run.monitor_every=6",
    "run.workers=0",
]


def _resolved(plugin_state, out, extra=()):
    return resolve_run(
        {"variant": "ijepa/ijepa-tiny"}, plugin_state, [*SMALL, f"run.out={json.dumps(str(out))}", *extra]
    )


def _losses(out):
    return [(r["step"], r["loss"]) for r in RunDir(out).read_metrics()]


@pytest.mark.slow
def test_train_writes_the_run_directory_contract(plugin_state, tmp_path):
    out = tmp_path / "run"
    summary = train(_resolved(plugin_state, out))
    assert (out / "config.toml").is_file() and (out / "metrics.jsonl").is_file()
    assert sorted(p.name for p in (out / "checkpoints").glob("*.json")) == ["step-0000008.json", "step-0000012.json"]
    ev = json.loads((out / "eval.json").read_text())
    for key in (
        "variant",
        "dataset",
        "metric",
        "higher_is_better",
        "trained",
        "random_init",
        "baseline_raw",
        "metrics",
    ):
        assert key in ev, key
    assert ev["variant"] == "ijepa/ijepa-tiny" and ev["metric"] == "accuracy" and ev["higher_is_better"] is True
    assert 0 <= ev["trained"] <= 100 and 0 <= ev["random_init"] <= 100 and ev["baseline_raw"] > 80
    assert ev["collapse"]["feature_std"] > 0 and ev["collapse"]["effective_rank"] >= 1
    assert summary["eval"] == ev
    rows = RunDir(out).read_metrics()
    assert [r["step"] for r in rows] == list(range(1, 13))
    assert "effective_rank" in rows[5] and "loss/vicreg" in rows[0]
    for name in ("loss.png", "masks.png", "embedding_pca.png"):
        assert (out / "plots" / name).stat().st_size > 1000


@pytest.mark.slow
def test_interrupt_then_resume_reproduces_the_uninterrupted_losses(plugin_state, tmp_path):
    full = tmp_path / "full"
    train(_resolved(plugin_state, full), do_eval=False)

    cut = tmp_path / "cut"

    def interrupt_at_7(done, total, metrics):
        if done == 7:
            os.kill(os.getpid(), signal.SIGINT)  # what Ctrl-C or a cluster's SIGTERM does

    with pytest.raises(Interrupted) as info:
        train(_resolved(plugin_state, cut), do_eval=False, progress=interrupt_at_7)
    assert info.value.exit_code == 130
    assert (cut / "checkpoints" / "step-0000007.json").is_file()
    with pytest.raises(JepakitError, match="already holds a run"):
        train(_resolved(plugin_state, cut), do_eval=False)
    train(_resolved(plugin_state, cut), do_eval=False, resume=True)
    assert _losses(cut) == _losses(full)


@pytest.mark.slow
def test_resume_refuses_a_changed_config(plugin_state, tmp_path):
    out = tmp_path / "run"
    train(_resolved(plugin_state, out), do_eval=False)
    with pytest.raises(JepakitError, match="config differs"):
        train(_resolved(plugin_state, out, ["optim.lr=0.5"]), do_eval=False, resume=True)


def test_a_run_directory_in_use_is_refused(plugin_state, tmp_path):
    out = tmp_path / "busy"
    holder = RunDir(out)
    holder.create()
    holder.lock()
    try:
        with pytest.raises(JepakitError, match="in use by another jepakit process"):
            train(_resolved(plugin_state, out), do_eval=False)
    finally:
        holder.unlock()


@pytest.mark.slow
def test_sigkill_then_resume_completes_with_the_same_losses(tmp_path):
    """A real process killed with SIGKILL mid-run resumes from its last checkpoint and matches a clean run."""
    run_file = tmp_path / "run.toml"
    run_file.write_text('variant = "ijepa/ijepa-tiny"\n', encoding="utf-8")
    sets = [a for s in SMALL for a in ("--set", s)] + ["--set", "optim.steps=24", "--no-eval"]
    cmd = [sys.executable, "-m", "jepakit.cli", "train", str(run_file), *sets]
    env = {**os.environ, "JEPAKIT_PLUGINS_TOML": str(tmp_path / "empty.toml")}
    (tmp_path / "empty.toml").write_text("")
    clean = tmp_path / "clean"
    subprocess.run([*cmd, "--out", str(clean)], check=True, env=env, capture_output=True, timeout=300)
    killed = tmp_path / "killed"
    proc = subprocess.Popen([*cmd, "--out", str(killed)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while not (killed / "checkpoints" / "step-0000008.json").exists() and time.time() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    resumed = subprocess.run(
        [*cmd, "--out", str(killed), "--resume"], env=env, capture_output=True, text=True, timeout=300
    )
    assert resumed.returncode == 0, resumed.stderr
    assert _losses(killed) == _losses(clean)


@pytest.mark.slow
def test_tensorboard_logger_writes_events_and_its_absence_is_a_clear_error(plugin_state, tmp_path, monkeypatch):
    out = tmp_path / "tb"
    train(_resolved(plugin_state, out, ['run.loggers=["core/tensorboard"]', "optim.steps=4"]), do_eval=False)
    assert list((out / "tensorboard").glob("events.out.tfevents.*"))
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # as if the package were not installed
    with pytest.raises(JepakitError, match=r"run.loggers.*tensorboard package"):
        train(_resolved(plugin_state, tmp_path / "tb2", ['run.loggers=["core/tensorboard"]']), do_eval=False)


def test_unknown_logger_names_the_key(plugin_state, tmp_path):
    with pytest.raises(JepakitError, match=r"run.loggers\[0\]"):
        _resolved(plugin_state, tmp_path / "x", ['run.loggers=["core/wandb"]'])
