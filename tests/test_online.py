"""The online probe: its rows at the right steps, the random-init figure once (and read back on resume), off at 0,
unchanged training numbers, TensorBoard scalars, the collapse signature's warning, the progress line and the plot."""

from __future__ import annotations

import json
import logging
import os
import signal
from types import SimpleNamespace

import pytest
import torch
from helpers import TOY_MODEL

from jepakit.engine import online as online_mod
from jepakit.engine.online import OnlineProbe, collapse_signature, random_init_of, signature_warnings
from jepakit.engine.results import write_eval
from jepakit.engine.runs import RunDir, collapse_warnings
from jepakit.engine.train import train
from jepakit.errors import Interrupted, JepakitError
from jepakit.framework.compose import resolve_run
from jepakit.interfaces import EvalResult, Scores

SMALL = [
    "data.use=core/digits",
    *TOY_MODEL,
    "optim.batch_size=32",
    "optim.steps=12",
    "run.ckpt_every=4",
    "run.log_every=1",
    "run.monitor_every=6",
    "run.workers=0",
    "eval.online_samples=64",
]


def _resolved(plugin_state, out, extra=()):
    overrides = [*SMALL, f"run.out={json.dumps(str(out))}", *extra]
    return resolve_run({"variant": "ijepa/ijepa-tiny"}, plugin_state, overrides)


def _online(rows):
    return [
        {k: v for k, v in r.items() if k.startswith("online_") and k != "online_s"} | {"step": r["step"]}
        for r in rows
        if any(k.startswith("online_") for k in r)
    ]


@pytest.mark.slow
def test_probe_rows_at_their_steps_random_init_once_tensorboard_and_unchanged_losses(plugin_state, tmp_path):
    on, off = tmp_path / "on", tmp_path / "off"
    train(_resolved(plugin_state, on, ["eval.online_every=4", 'run.loggers=["core/tensorboard"]']), do_eval=False)
    train(_resolved(plugin_state, off, ["eval.online_every=0"]), do_eval=False)
    rows, plain = RunDir(on).read_metrics(), RunDir(off).read_metrics()
    assert [r["step"] for r in rows if "online_knn" in r] == [4, 8, 12]
    assert [r["step"] for r in rows if "online_knn_random_init" in r] == [1]  # measured before step 1, logged once
    assert all(
        0 <= r["online_knn"] <= 100 and r["online_rankme"] >= 1 and r["online_s"] >= 0
        for r in rows
        if "online_knn" in r
    )
    assert rows[0]["online_samples"] == 64 and rows[0]["online_queries"] == 64
    assert not any(k.startswith("online_") for r in plain for k in r)  # off when 0
    # the probe only watches: the same losses, step by step, as a run without it
    assert [(r["step"], r["loss"]) for r in rows] == [(r["step"], r["loss"]) for r in plain]
    assert (on / "plots" / "online_probe.png").stat().st_size > 1000
    assert not (off / "plots" / "online_probe.png").exists()
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(on / "tensorboard"))
    events.Reload()
    tags = set(events.Tags()["scalars"])
    assert {"online_knn", "online_rankme", "online_knn_random_init", "loss"} <= tags
    assert [e.step for e in events.Scalars("online_knn")] == [4, 8, 12]


@pytest.mark.slow
def test_resume_reads_the_random_init_figure_back_and_keeps_the_cadence(plugin_state, tmp_path, monkeypatch):
    out = tmp_path / "cut"

    def interrupt_at_7(done, total, metrics):
        if done == 7:
            os.kill(os.getpid(), signal.SIGINT)

    extra = ["eval.online_every=4"]
    with pytest.raises(Interrupted):
        train(_resolved(plugin_state, out, extra), do_eval=False, progress=interrupt_at_7)
    before = random_init_of(RunDir(out).read_metrics())
    assert before["online_knn_random_init"] >= 0
    calls = []
    measure = OnlineProbe.measure
    monkeypatch.setattr(OnlineProbe, "measure", lambda self: calls.append(1) or measure(self))
    seen = []
    train(
        _resolved(plugin_state, out, extra),
        do_eval=False,
        resume=True,
        progress=lambda done, total, metrics: seen.append(metrics.get("online_knn_random_init")),
    )
    assert len(calls) == 2  # steps 8 and 12; the random-init figure is not measured on the trained weights
    rows = RunDir(out).read_metrics()
    assert [r["step"] for r in rows if "online_knn" in r] == [4, 8, 12]
    assert [r["step"] for r in rows if "online_knn_random_init" in r] == [1]
    assert random_init_of(rows) == before and set(seen) == {before["online_knn_random_init"]}


def test_probe_settings_are_validated_and_default_on(plugin_state, tmp_path):
    run = _resolved(plugin_state, tmp_path / "x")
    assert run.eval.online_every == 50 and run.eval.online_linear is False
    assert run.to_dict()["eval"]["online_every"] == 50
    with pytest.raises(JepakitError, match="online_every"):
        _resolved(plugin_state, tmp_path / "x", ["eval.online_every=-1"])
    with pytest.raises(JepakitError, match="online_samples"):
        _resolved(plugin_state, tmp_path / "x", ["eval.online_samples=1"])


def test_no_probe_without_a_probe_step_or_a_labelled_split(plugin_state, tmp_path, caplog):
    run = _resolved(plugin_state, tmp_path / "x", ["eval.online_every=4"])
    built = SimpleNamespace(splits=SimpleNamespace(train=None, test=None, name="photos"), model=None)
    with caplog.at_level(logging.INFO, logger="jepakit"):
        assert OnlineProbe.start(run, built, RunDir(tmp_path / "x"), 0) is None
    assert [r.getMessage() for r in caplog.records] == [
        "online probe off: photos has no labelled train/test split to probe"
    ]
    caplog.clear()
    for every, start in ((0, 0), (50, 0), (4, 12)):  # off; fewer steps than `every`; a finished run resumed
        run.eval.online_every = every
        assert OnlineProbe.start(run, built, RunDir(tmp_path / "x"), start) is None
    assert not caplog.records


def test_measuring_leaves_the_rng_and_the_encoder_mode_alone(plugin_state, tmp_path):
    from jepakit.engine.jepa import build

    run = _resolved(plugin_state, tmp_path / "x", ["eval.online_every=4", "eval.online_linear=true"])
    built = build(run)
    built.model.train()
    state = torch.random.get_rng_state()
    probe = OnlineProbe.start(run, built, RunDir(tmp_path / "x"), 0)
    assert probe is not None and set(probe.pending) >= {
        "online_knn_random_init",
        "online_linear_random_init",
        "online_rankme_random_init",
    }
    params = [p.detach().clone() for p in built.model.parameters()]
    figures = probe.measure()
    assert torch.equal(torch.random.get_rng_state(), state)
    assert built.model.teacher.training and built.model.encoder.training
    assert all(torch.equal(a, b) for a, b in zip(params, built.model.parameters(), strict=True))
    assert figures == probe.measure()  # a fixed subset: the same encoder scores the same
    assert probe.after_step(1, 1.0).keys() == {*probe.init, "online_s"}  # the first row: random-init figures only
    assert probe.after_step(2, 1.0) == {}


def _log(points, init=30.0, n=400):
    """A planted metrics log: (step, loss, k-NN or None) rows, the random-init figure on step 1."""
    rows = [{"step": 1, "loss": 1.0, "online_knn_random_init": init, "online_queries": n}]
    for step, loss, knn in points:
        rows.append({"step": step, "loss": loss, **({"online_knn": knn} if knn is not None else {})})
    return rows


def test_the_collapse_signature_fires_on_a_planted_log_and_reaches_eval_json(tmp_path):
    # the probe learns (30 -> 70), then falls back toward 30 while the loss keeps falling: collapse
    collapsing = _log([(10, 0.9, 50.0), (20, 0.7, 70.0), (30, 0.4, 60.0), (40, 0.2, 45.0), (50, 0.1, 35.0)])
    sig = collapse_signature(collapsing)
    assert sig is not None and (sig.step, sig.peak, sig.peak_step, sig.init) == (40, 70.0, 20, 30.0)
    assert "collapse signature" in sig.words() and "step 40" in sig.words()
    # not a signature: still learning; noise around a plateau; a fall while the loss rises; never learned
    assert collapse_signature(_log([(10, 0.9, 50.0), (20, 0.7, 70.0), (30, 0.4, 72.0)])) is None
    assert collapse_signature(_log([(10, 0.9, 70.0), (20, 0.7, 67.5), (30, 0.5, 71.0)])) is None
    assert collapse_signature(_log([(10, 0.5, 70.0), (20, 0.9, 45.0), (30, 1.2, 35.0)])) is None
    assert collapse_signature(_log([(10, 0.9, 31.0), (20, 0.5, 32.0), (30, 0.1, 29.0)])) is None
    assert collapse_signature(collapsing[1:]) is None  # no random-init figure logged: nothing to fall back to
    # eval.json carries it when the training loop flagged the row (once), through core's one writer
    assert signature_warnings(collapsing) == []
    collapsing[4][online_mod.WARNING_KEY] = 70.0
    assert collapse_warnings(collapsing) == [sig.words()]
    run_dir = RunDir(tmp_path / "run")
    run_dir.create()
    for row in collapsing:
        run_dir.log(row)
    result = EvalResult(
        variant="v", dataset="d", primary="knn", n_test=400, scores={"knn": Scores("accuracy", 35.0, 30.0, 40.0, True)}
    )
    written = write_eval(result, SimpleNamespace(variant="v", run=SimpleNamespace(collapse_std=1e-3)), run_dir)
    assert written.warnings == [sig.words()]


def test_the_progress_line_shows_the_probe_next_to_its_random_init():
    from jepakit.cli.progress import format_metrics

    assert format_metrics({"loss": 0.5, "a": 1.0, "b": 2.0, "c": 3.0}) == "loss=0.5 a=1 b=2"
    line = format_metrics({"loss": 0.5, "online_knn": 71.25, "online_knn_random_init": 42.0, "online_rankme": 9.0})
    assert line == "loss=0.5 knn=71.2% (init 42.0%)"
    assert format_metrics({"loss": 0.5, "online_knn_random_init": 42.0}) == "loss=0.5"


def test_the_plot_and_the_report_draw_the_curve_from_the_log(tmp_path):
    from jepakit.experiments.report import _online_png
    from jepakit.library.plots import plot_online_probe

    rows = _log([(10, 0.9, 50.0), (20, 0.7, 70.0)])
    for r in rows[1:]:
        r["online_rankme"] = 12.0
    assert plot_online_probe(rows, tmp_path / "p.png").stat().st_size > 1000
    assert plot_online_probe([], tmp_path / "empty.png").is_file()
    assert _online_png(tmp_path / "no-plots", rows)[:4] == b"\x89PNG"
    assert _online_png(tmp_path / "no-plots", rows[:1]) is None


def test_the_probe_reads_the_primary_evaluation_set(plugin_state, tmp_path):
    from jepakit.engine.jepa import build

    sets = [
        "eval.online_every=4",
        "eval.online_samples=512",
        "eval.sets.small.use=core/digits",
        "eval.sets.small.size=16",
        "eval.sets.small.max_samples=100",
    ]
    run = _resolved(plugin_state, tmp_path / "x", sets)
    probe = OnlineProbe.start(run, build(run), RunDir(tmp_path / "x"), 0)
    assert probe is not None and len(probe.bank) == 100 and len(probe.queries) == 100  # the set's capped splits
    assert probe.init["online_samples"] == 100


@pytest.mark.slow
def test_two_processes_probe_on_rank_0_and_train_what_one_process_trains(tmp_path):
    """Rank 0 probes while rank 1 waits in the next step's collective: the run ends cleanly, rows are written
    once, and the losses are those of one process without the probe (up to float reduction order)."""
    import subprocess
    import sys

    sets = [*SMALL, "optim.batch_size=16", "optim.steps=4", "run.threads=1", "eval.online_every=2"]
    (tmp_path / "empty.toml").write_text("")
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")
    }
    env.update(JEPAKIT_PLUGINS_TOML=str(tmp_path / "empty.toml"), OMP_NUM_THREADS="1")

    def launch(out, *extra, nproc=1):
        args = [a for s in [*sets, *extra] for a in ("--set", s)] + ["--nproc", str(nproc)] * (nproc > 1)
        cmd = [sys.executable, "-m", "jepakit.cli", "train", "ijepa/ijepa-tiny", *args, "--out", str(out), "--no-eval"]
        return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)

    two = launch(tmp_path / "two", nproc=2)
    assert two.returncode == 0, two.stderr
    one = launch(tmp_path / "one", "eval.online_every=0")
    assert one.returncode == 0, one.stderr
    rows = RunDir(tmp_path / "two").read_metrics()
    assert [r["step"] for r in rows] == [1, 2, 3, 4]  # rank 0 alone writes, each step once
    assert [r["step"] for r in rows if "online_knn" in r] == [2, 4] and "online_knn_random_init" in rows[0]
    plain = RunDir(tmp_path / "one").read_metrics()
    for a, b in zip(rows, plain, strict=True):
        assert a["loss"] == pytest.approx(b["loss"], rel=1e-5, abs=1e-7)
