"""Stops the way clusters, terminals and service managers send them: a signal to the trainer's whole process
group (its DataLoader workers included) at random moments and while the stop checkpoint is being written, the
scheduler's warning signal (`run.stop_signal`), SIGKILL and a restart right after it, orphaned workers, and a
group SIGTERM and a SIGKILLed rank under `--nproc 2`. Each reports its figures."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import toyrun

from jepakit.engine.ckpt import list_checkpoints, read_checkpoint
from jepakit.engine.runs import RunDir
from jepakit.errors import JepakitError

STEPS = 40
SETS = [*toyrun.SETS, f"optim.steps={STEPS}", "run.workers=2"]  # later --set wins: 40 steps, 2 workers
LINUX = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def _start(
    tmp: Path, out: Path, *extra: str, resume: bool = False, sets: list[str] | None = None, **env: str
) -> subprocess.Popen:
    """`jepakit train` in a session of its own, so a group signal reaches it and its workers, not pytest."""
    return subprocess.Popen(
        toyrun.command(out, "--no-eval", *extra, resume=resume, sets=sets or SETS),
        env={**toyrun.env(tmp), **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def _reached(out: Path) -> int:
    return max((r["step"] for r in RunDir(out).read_metrics() if "loss" in r), default=0)


def _wait_past(out: Path, step: int, proc: subprocess.Popen, timeout: float = 300) -> None:
    """Until this process has logged a step after `step` (its loop, signal handlers and workers are up)."""
    deadline = time.monotonic() + timeout
    while _reached(out) <= step and proc.poll() is None:
        assert time.monotonic() < deadline, "no training step logged"
        time.sleep(0.02)


def _checkpoints(out: Path) -> list[int]:
    steps = list_checkpoints(out / "checkpoints")
    for step in steps:
        read_checkpoint(out / "checkpoints", step)  # raises on a half-written or corrupt checkpoint
    return steps


def _losses(out: Path) -> list[tuple[int, float]]:
    return [(r["step"], r["loss"]) for r in RunDir(out).read_metrics() if "loss" in r]


def _alive(pid: int) -> bool:
    """Running (an exited process lingers as a zombie until someone reaps it: that counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def _children(pid: int) -> list[int]:
    kids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                kids.append(int(entry.name))
    return kids


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    """The uninterrupted run."""
    tmp = tmp_path_factory.mktemp("clean")
    done = subprocess.run(
        toyrun.command(tmp / "run", "--no-eval", sets=SETS),
        env=toyrun.env(tmp),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return tmp / "run"


# --- signals to the whole process group -------------------------------------------------------------------------

#: (how, signal(s), run.stop_signal, expected exit): "random" signals the group at a random moment of training;
#: "in-ckpt" sends SIGTERM to the group after the process's first step, then SIGINT (a Ctrl-C) while that
#: step's checkpoint is being written.
PLAN = [
    ("random", "SIGTERM", "SIGTERM", 130),
    ("random", "SIGINT", "SIGTERM", 130),
    ("in-ckpt", "step@1:group-term,ckpt-tensors@1:group-int", "SIGTERM", 130),
    ("random", "SIGUSR1", "SIGUSR1", 75),
]


@pytest.mark.slow
def test_group_signals_checkpoint_at_the_step_reached_and_resume_exactly(tmp_path, figures, reference):
    rng, out, fresh = random.Random(1), tmp_path / "run", True
    tried = stopped = second = finished_first = lost_max = 0
    for how, sig, stop_signal, code in PLAN:
        before, ckpts_before = _reached(out), (_checkpoints(out) if not fresh else [])
        sets = [*SETS, f"run.stop_signal={stop_signal}"]  # free to change on resume
        if how == "random":
            proc = _start(tmp_path, out, resume=not fresh, sets=sets)
            # a random step a few past where this process starts (the run takes 40 steps in about a second, so a
            # delay in seconds would mostly land after the end), then a random moment within that step
            _wait_past(out, before + rng.randint(0, 6), proc)
            time.sleep(rng.uniform(0.0, 0.03))
            os.killpg(proc.pid, getattr(signal, sig))
        else:
            proc = _start(tmp_path, out, resume=not fresh, sets=sets, JEPAKIT_FAULT=sig)
        _, err = proc.communicate(timeout=600)
        fresh, tried = False, tried + 1
        reached, ckpts = _reached(out), _checkpoints(out)
        assert "Traceback" not in err and "internal error" not in err, err[-2000:]
        if reached == STEPS and ("after training ended" in err or proc.returncode != code):
            # the signal came after the last step (or not before the run ended): nothing is left to resume
            assert proc.returncode in (0, code), f"{how} {sig}: exit {proc.returncode}\n{err[-2000:]}"
            assert proc.returncode == 0 or "nothing needs resuming" in err, err[-2000:]
            assert ckpts[-1] == STEPS
            finished_first += 1
            break
        assert proc.returncode == code, f"{how} {sig}: exit {proc.returncode}\n{err[-2000:]}"
        assert "interrupted at step" in err and "--resume" in err
        assert ckpts[-1] == reached, f"{how} {sig}: reached step {reached}, newest checkpoint {ckpts[-1]}"
        if how == "in-ckpt":  # one checkpoint written, twice signalled: it and the one before are intact
            assert reached == before + 1 and set(ckpts_before[-1:]) <= set(ckpts)
            second += 1
        stopped += 1
        lost_max = max(lost_max, reached - ckpts[-1])
    final = subprocess.run(
        toyrun.command(out, "--no-eval", resume=True, sets=SETS),
        env=toyrun.env(tmp_path),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert final.returncode == 0, final.stderr[-2000:]
    assert _losses(out) == _losses(reference)  # stopped 4 times, the uninterrupted run's exact losses
    figures["group signals tried (SIGTERM, SIGINT, SIGUSR1)"] += tried
    figures["group signals that checkpointed and exited 130/75"] += stopped
    figures["second signals during the stop checkpoint survived"] += second
    figures["group signals that came after the run ended"] += finished_first
    figures["most steps lost to a group signal"] = max(figures["most steps lost to a group signal"], lost_max)
    figures["group-stopped runs finished identical to a clean run"] += 1


@pytest.mark.slow
def test_a_worker_killed_by_the_stop_signal_is_that_stop_not_a_crash(plugin_state, tmp_path, monkeypatch, figures):
    """Workers that did not ignore the signal (it came before they could): torch's "DataLoader worker (pid N)
    is killed by signal: Terminated" is read as the stop the trainer received, which checkpoints and exits 130."""
    import multiprocessing

    from jepakit.engine import loader
    from jepakit.engine.train import train
    from jepakit.errors import Interrupted
    from jepakit.framework.compose import resolve_run

    def init_that_keeps_the_default(worker_id: int, *, trainer: int, ignore: tuple[int, ...]) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)

    monkeypatch.setattr(loader, "_init_worker", init_that_keeps_the_default)

    def group_sigterm_at_3(done: int, total: int, metrics: dict) -> None:
        if done == 3:
            os.kill(os.getpid(), signal.SIGTERM)  # the trainer's share of a group signal ...
            for child in multiprocessing.active_children():
                os.kill(child.pid, signal.SIGTERM)  # ... and the workers' share, which kills them
            time.sleep(2.0)  # torch's SIGCHLD handler raises its RuntimeError here, mid-step

    sets = [*toyrun.SETS, "optim.steps=12", "run.workers=1", f"run.out={json.dumps(str(tmp_path / 'r'))}"]
    resolved = resolve_run({"variant": "ijepa/ijepa-tiny"}, plugin_state, sets)
    with pytest.raises(Interrupted) as info:
        train(resolved, do_eval=False, progress=group_sigterm_at_3)
    assert info.value.exit_code == 130 and "last checkpoint: step 3" in str(info.value), info.value
    assert list_checkpoints(tmp_path / "r" / "checkpoints")[-1] == 3
    read_checkpoint(tmp_path / "r" / "checkpoints", 3)
    figures["workers killed by the stop signal read as the stop (exit 130)"] += 1


@pytest.mark.parametrize("sig,do_eval", [(signal.SIGTERM, False), (signal.SIGINT, True)])
def test_a_stop_after_the_last_step_says_training_is_complete(plugin_state, tmp_path, monkeypatch, sig, do_eval):
    """A signal while the plots or the evaluation are made (no step boundary left to wait for) ends the run at
    once with exit 130, saying that the training is complete and, when an evaluation was asked, how to run it."""
    from jepakit.engine import train as train_module
    from jepakit.errors import Interrupted
    from jepakit.framework.compose import resolve_run

    def plots_then_a_signal(*args: object) -> None:
        os.kill(os.getpid(), sig)
        time.sleep(2.0)  # the handler raises here
        raise AssertionError("the stop signal did not end the phase")

    monkeypatch.setattr(train_module, "draw_run_plots", plots_then_a_signal)
    sets = [*toyrun.SETS, "optim.steps=4", f"run.out={json.dumps(str(tmp_path / 'r'))}"]
    resolved = resolve_run({"variant": "ijepa/ijepa-tiny"}, plugin_state, sets)
    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}  # SIG_IGN under nohup or `&`
    with pytest.raises(Interrupted) as info:
        train_module.train(resolved, do_eval=do_eval)
    text = f"{info.value.message} {info.value.hint}"
    assert info.value.exit_code == 130 and "step 4, after training ended" in text, text
    assert ("jepakit eval" in text) == do_eval and ("nothing needs resuming" in text) != do_eval, text
    assert list_checkpoints(tmp_path / "r" / "checkpoints")[-1] == 4
    assert {s: signal.getsignal(s) for s in handlers} == handlers  # the handlers are the caller's again


# --- SIGKILL: the lock and the workers --------------------------------------------------------------------------


@LINUX
def test_the_run_lock_is_not_inherited_by_forked_children_and_names_its_holder(tmp_path, figures):
    """The trainer's lock dies with the trainer even while a child it forked (a DataLoader worker) lives on."""
    script = textwrap.dedent(f"""
        import os, sys, time
        from pathlib import Path
        from jepakit.engine.runs import RunDir
        run = RunDir(Path({str(tmp_path)!r}))
        run.lock()
        if os.fork() == 0:
            time.sleep(60)  # an orphan-to-be that keeps every inherited descriptor
            os._exit(0)
        print("locked", flush=True)
        time.sleep(60)
    """)
    holder, child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True), None
    try:
        assert holder.stdout.readline().strip() == "locked"
        (child,) = _children(holder.pid)
        run = RunDir(tmp_path)
        assert run.holder() == holder.pid
        with pytest.raises(JepakitError, match=rf"in use by another jepakit process \(pid {holder.pid}\)"):
            run.lock()
        t0 = time.monotonic()
        holder.kill()
        holder.wait()
        run.lock()  # the forked child is alive and holds the descriptor: the lock is free all the same
        free_ms = (time.monotonic() - t0) * 1000
        assert _alive(child)
        assert run.holder() == os.getpid()
        run.unlock()
        assert run.holder() is None
    finally:
        holder.kill()
        holder.wait()
        if child is not None and _alive(child):
            os.kill(child, signal.SIGKILL)
    figures["lock free after its holder's SIGKILL, a forked child alive (ms)"] = round(free_ms, 1)


@LINUX
@pytest.mark.slow
def test_sigkill_leaves_the_directory_free_at_once_and_no_worker_behind(tmp_path, figures):
    out, sets = tmp_path / "run", [*SETS, "optim.steps=100000"]
    proc = _start(tmp_path, out, sets=sets)
    while not (out / "checkpoints" / "step-0000004.json").exists():
        assert proc.poll() is None, proc.communicate()[1][-2000:]
        time.sleep(0.02)
    workers = _children(proc.pid)
    assert len(workers) == 2, workers
    t0 = time.monotonic()
    proc.kill()
    proc.wait()
    run = RunDir(out)
    run.lock()  # what a restart does first, the moment the trainer is gone (its workers may still be alive)
    free_ms = (time.monotonic() - t0) * 1000
    run.unlock()
    restart = subprocess.Popen(
        toyrun.command(out, "--no-eval", resume=True, sets=sets),  # and a real restart
        env=toyrun.env(tmp_path, "step@1"),
        stderr=subprocess.PIPE,
        text=True,
    )
    while any(_alive(w) for w in workers) and time.monotonic() - t0 < 10:
        time.sleep(0.005)
    gone_s = time.monotonic() - t0
    _, err = restart.communicate(timeout=600)
    assert not any(_alive(w) for w in workers), f"workers {workers} outlived the trainer by {gone_s:.1f} s"
    assert restart.returncode < 0 and "in use" not in err  # it locked the directory and trained a step
    figures["restarts right after SIGKILL that found the directory free"] += 2
    figures["directory free after the trainer's SIGKILL (ms)"] = round(free_ms, 1)
    figures["orphaned workers gone after the trainer's SIGKILL (s)"] = round(gone_s, 3)


# --- the settings and the launcher ------------------------------------------------------------------------------


def test_stop_signal_is_validated_naming_the_key_and_forwarded_by_the_launcher(plugin_state):
    import typing

    from jepakit.engine.launch import FORWARDED
    from jepakit.engine.stops import StopFlag, worker_died_of_stop
    from jepakit.framework.compose import RunConfig, resolve_run

    with pytest.raises(JepakitError, match=r'run\.stop_signal: .*got .USR1.*Did you mean "SIGUSR1"'):
        resolve_run({"variant": "ijepa/ijepa-tiny"}, plugin_state, ["run.stop_signal=USR1"])
    assert resolve_run({"variant": "ijepa/ijepa-tiny"}, plugin_state, []).run.stop_signal == "SIGTERM"
    names = typing.get_args(typing.get_type_hints(RunConfig)["stop_signal"])
    assert set(names) == set(FORWARDED)  # the launcher passes on every signal a run may stop on

    flag = StopFlag("SIGUSR1")
    flag._handle(signal.SIGTERM, None)
    assert flag.signal == signal.SIGTERM and not flag.requeue
    flag._handle(signal.SIGUSR1, None)
    assert flag.requeue and flag.signal == signal.SIGTERM
    died = RuntimeError("DataLoader worker (pid 12) is killed by signal: Terminated. ")
    assert worker_died_of_stop(died, flag)
    assert not worker_died_of_stop(died, StopFlag())  # no stop asked: a worker's death is a crash
    assert not worker_died_of_stop(RuntimeError("shape mismatch"), flag)


class _Exited:
    def __init__(self, code: int) -> None:
        self.returncode = code

    def poll(self) -> int:
        return self.returncode


def test_the_launcher_reports_a_stop_every_rank_took_part_in_as_rank_0s():
    from jepakit.engine.launch import _wait

    for codes, want in (([130, 130], (0, 130)), ([0, 75], (1, 75)), ([75, 75], (0, 75)), ([130, -9], (1, 1))):
        got = _wait([_Exited(c) for c in codes], poll_s=0.0)
        assert (got.failed_rank, got.code) == want, codes


# --- data-parallel ---------------------------------------------------------------------------------------------


@LINUX
@pytest.mark.slow
def test_ddp_group_sigterm_stops_every_rank_at_one_step_and_a_killed_rank_ends_the_others(tmp_path, figures, reference):
    out, digests = tmp_path / "run", tmp_path / "digests"
    sets = [*SETS, "run.workers=1"]
    env = {"JEPAKIT_DIST_DIGEST_DIR": str(digests)}
    proc = _start(tmp_path, out, "--nproc", "2", sets=sets, **env)
    _wait_past(out, 0, proc)
    time.sleep(random.Random(2).uniform(0.0, 1.0))
    os.killpg(proc.pid, signal.SIGTERM)  # the launcher, both ranks and their workers
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 130, err[-3000:]
    assert "Traceback" not in err and "rank 1 of 2" not in err
    reached, ckpts = _reached(out), _checkpoints(out)
    assert ckpts[-1] == reached
    for rank in (0, 1):  # both ranks checked in at the stop step, with the same parameters, and went no further
        assert max(int(p.stem.split("step")[1]) for p in digests.glob(f"rank{rank}-*.txt")) == reached
    assert (digests / f"rank0-step{reached}.txt").read_text() == (digests / f"rank1-step{reached}.txt").read_text()

    proc = _start(tmp_path, out, "--nproc", "2", resume=True, sets=sets)
    _wait_past(out, reached, proc)
    (rank1,) = [p for p in _children(proc.pid) if b"RANK=1" in Path(f"/proc/{p}/environ").read_bytes().split(b"\0")]
    t0 = time.monotonic()
    os.kill(rank1, signal.SIGKILL)
    _, err = proc.communicate(timeout=600)
    ended_s = time.monotonic() - t0
    assert proc.returncode == 1 and "rank 1 of 2 was killed by signal 9" in err, err[-3000:]

    # the launcher alone SIGKILLed (kill -9, the OOM killer): its ranks get SIGTERM from the kernel and stop as
    # on any SIGTERM, at one step, with its checkpoint, instead of training on unseen and holding the directory
    before = _reached(out)
    proc = _start(tmp_path, out, "--nproc", "2", resume=True, sets=sets)
    _wait_past(out, before, proc)
    ranks = _children(proc.pid)
    assert len(ranks) == 2, ranks
    os.kill(proc.pid, signal.SIGKILL)
    _, err = proc.communicate(timeout=600)  # returns when rank 0, which shares the launcher's stderr, has exited
    deadline = time.monotonic() + 120
    while any(_alive(r) for r in ranks):
        assert time.monotonic() < deadline, "ranks still running after their launcher was killed"
        time.sleep(0.05)
    assert "interrupted at step" in err and "Traceback" not in err, err[-3000:]
    reached = _reached(out)
    assert _checkpoints(out)[-1] == reached and RunDir(out).holder() is None

    final = subprocess.run(
        toyrun.command(out, "--no-eval", "--nproc", "2", resume=True, sets=sets),
        env=toyrun.env(tmp_path),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert final.returncode == 0, final.stderr[-3000:]
    got, want = _losses(out), _losses(reference)
    assert [s for s, _ in got] == [s for s, _ in want]
    for (_, a), (_, b) in zip(want, got, strict=True):
        assert b == pytest.approx(a, rel=1e-5, abs=1e-7)  # 2 processes: equal up to float reduction order
    figures["DDP group SIGTERM: ranks stopped at one step, one checkpoint"] += 1
    figures["DDP rank SIGKILLed: the launch ended after (s)"] = round(ended_s, 1)
    figures["DDP launcher SIGKILLed: ranks stopped with a checkpoint"] += 1
    figures["DDP stopped + killed runs finished like a clean run"] += 1
