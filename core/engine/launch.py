"""Starting N local training processes for `jepakit train --nproc N`, and reading a launcher's rank variables.

Torch-free on purpose: the CLI imports this before it knows whether this process trains at all.

Each process is `python -m jepakit.cli train ...` with the variables torchrun sets (RANK, LOCAL_RANK, WORLD_SIZE,
LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT), so a process started here and one started by `torchrun` take the
same path through `jepakit.engine.distributed`. Rank 0 keeps this terminal (progress bar, `--json` summary, its own
errors); the others' stderr goes to a temporary file that is shown only if that rank fails. One failing rank
must not leave the others waiting in a collective: the launcher stops them (SIGTERM, then SIGKILL).
"""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import IO, Any, NoReturn

from jepakit.engine.stops import signal_on_parent_death
from jepakit.errors import EXIT_BAD_INPUT, EXIT_INTERRUPTED, EXIT_REQUEUE, EXIT_RUNTIME, JepakitError

#: Seconds a rank may take to exit after SIGTERM before it is killed.
GRACE_S = 10.0
#: Seconds the other ranks get once one has stopped on a signal (exit 130 or 75): rank 0 may still be writing
#: the stop checkpoint, which takes longer than a failure's last words.
STOP_GRACE_S = 300.0
#: Exit codes of a rank that stopped as asked, after the checkpoint.
STOPPED = (EXIT_INTERRUPTED, EXIT_REQUEUE)
LINUX = sys.platform.startswith("linux")
#: Signals passed on to every rank: those `run.stop_signal` may name (core/framework/compose.py RunConfig), so
#: a scheduler's warning to the launcher alone (SLURM `--signal=B:USR1@120` + a trap) reaches the trainers.
FORWARDED = ("SIGINT", "SIGTERM", "SIGUSR1", "SIGUSR2", "SIGHUP")


@dataclass(frozen=True)
class RankEnv:
    """Where this process sits in a distributed launch (rank 0 of 1 when not launched as one)."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0
    local_world: int = 1


def rank_env(environ: dict[str, str] | None = None) -> RankEnv:
    """The RANK / WORLD_SIZE / LOCAL_RANK / LOCAL_WORLD_SIZE that torchrun (or `--nproc`) set, validated."""
    env = os.environ if environ is None else environ
    values = {}
    for key, default in (("RANK", 0), ("WORLD_SIZE", 1), ("LOCAL_RANK", 0), ("LOCAL_WORLD_SIZE", 0)):
        raw = env.get(key, "").strip()
        try:
            values[key] = int(raw) if raw else default
        except ValueError:
            raise JepakitError(
                f"environment variable {key}={raw!r} is not an integer",
                "unset it, or launch with torchrun / `jepakit train --nproc N`",
            ) from None
    world, rank = values["WORLD_SIZE"], values["RANK"]
    if world < 1 or not 0 <= rank < world:
        raise JepakitError(
            f"RANK={rank} does not fit WORLD_SIZE={world}",
            "launch with torchrun / `jepakit train --nproc N`, which set both",
        )
    local_world = values["LOCAL_WORLD_SIZE"] or world
    return RankEnv(rank, world, values["LOCAL_RANK"], local_world)


def check_shardable(batch_size: int, world: int) -> None:
    """Every process takes batch_size / world samples of each global batch, so the split must be exact."""
    if world > 1 and batch_size % world:
        raise JepakitError(
            f"optim.batch_size: {batch_size} does not split evenly over {world} processes",
            f"set optim.batch_size to a multiple of {world} (e.g. --set optim.batch_size="
            f"{max(world, batch_size // world * world)}): it is the global batch, each process "
            f"takes batch_size / {world}",
        )


def exit_now(code: int = 0) -> NoReturn:
    """End this rank's process without the interpreter's teardown, once its logs and streams are flushed.

    Torch's gloo threads can abort a process at teardown ("terminate called without an active exception",
    SIGABRT) when a peer is already gone: in about 1 of 20 runs that turned a clean exit 0, or a clear exit 1
    naming the failed rank, into a crash the launcher blamed on this rank. Callers use it only once everything
    worth keeping is written (checkpoints, eval.json, their own error message).
    """
    import logging

    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed or broken pipe: nothing left to save
            pass
    os._exit(code)


def free_port() -> int:
    """A TCP port free on localhost right now, for rank 0's rendezvous store."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LaunchResult:
    """How the launch ended: exit code to use, the rank that failed first (None if all succeeded), its stderr."""

    code: int
    failed_rank: int | None = None
    rank_code: int = 0
    stderr_tail: str = ""


def launch(
    cli_args: list[str], nproc: int, *, environ: dict[str, str] | None = None, poll_s: float = 0.2
) -> LaunchResult:
    """Run `python -m jepakit.cli *cli_args` as ranks 0..nproc-1 on this machine and wait for all of them."""
    port = free_port()
    base = dict(os.environ if environ is None else environ)
    procs: list[subprocess.Popen] = []
    logs: list[IO[bytes] | None] = []
    with contextlib.ExitStack() as stack:
        for rank in range(nproc):
            env = {
                **base,
                "RANK": str(rank),
                "LOCAL_RANK": str(rank),
                "WORLD_SIZE": str(nproc),
                "LOCAL_WORLD_SIZE": str(nproc),
                "MASTER_ADDR": "127.0.0.1",
                "MASTER_PORT": str(port),
                "GROUP_RANK": "0",
                "ROLE_RANK": str(rank),
            }
            log = None if rank == 0 else stack.enter_context(tempfile.TemporaryFile())
            logs.append(log)
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "jepakit.cli", *cli_args],
                    env=env,
                    stdout=None if rank == 0 else subprocess.DEVNULL,
                    stderr=log,
                    preexec_fn=functools.partial(_stop_with_launcher, os.getpid()) if LINUX else None,
                )
            )
        with _forward_signals(procs):
            result = _wait(procs, poll_s)
        if result.failed_rank is not None:
            failed_log = logs[result.failed_rank]
            if failed_log is not None:
                failed_log.seek(0)
                result.stderr_tail = failed_log.read()[-4000:].decode("utf-8", "replace")
    return result


def _stop_with_launcher(launcher: int) -> None:
    """In each rank, between fork and exec: SIGTERM from the kernel when the launcher dies. A launcher killed
    outright (SIGKILL, the OOM killer) cannot pass a signal on, and its ranks would train on unseen, holding
    the run directory; this way they stop as on any SIGTERM: checkpoint at the step reached, exit. (Without
    prctl the ranks outlive a killed launcher.)"""
    if not signal_on_parent_death(signal.SIGTERM, launcher) and os.getppid() != launcher:
        os._exit(EXIT_INTERRUPTED)  # the launcher died before the request took effect: nothing trained yet


def _wait(procs: list[subprocess.Popen], poll_s: float) -> LaunchResult:
    """Poll until all ranks exit. After the first failure the others get GRACE_S to finish on their own (rank 0
    may be writing failure.json; a peer's death usually ends their collectives at once), then SIGTERM, then
    SIGKILL. The rank reported is the first to fail (of those failing in the same poll, the lowest killed by a
    signal, else the lowest): later failures are mostly the others noticing that it is gone.

    A rank that stopped on a signal (exit 130 or 75) is no failure: the others stopped at the same step and get
    STOP_GRACE_S, and when every rank stopped so (or finished), rank 0's code and its own message stand."""
    first: int | None = None
    deadline = float("inf")
    while True:
        codes = [p.poll() for p in procs]
        if first is None:
            failed = {r: c for r, c in enumerate(codes) if c is not None and c != 0}  # rank -> exit code
            if failed:
                # Several ranks found dead in one poll: one killed by a signal (OOM killer, SIGKILL) is the
                # cause; the others most likely exited 1 because they lost contact with it.
                killed = [r for r, c in failed.items() if c < 0]
                first = (killed or list(failed))[0]
                deadline = time.monotonic() + (STOP_GRACE_S if codes[first] in STOPPED else GRACE_S)
        if all(c is not None for c in codes):
            break
        if time.monotonic() > deadline:
            for p in procs:
                if p.poll() is None:
                    p.terminate()
            for p in procs:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    p.wait(timeout=GRACE_S)
                if p.poll() is None:
                    p.kill()
                    p.wait()
            break
        time.sleep(poll_s)
    if first is None:
        return LaunchResult(0)
    codes = [p.returncode for p in procs]
    if codes[0] in STOPPED and all(c in (0, *STOPPED) for c in codes):  # a stop every rank took part in
        return LaunchResult(int(codes[0]), 0, int(codes[0]))
    code = int(procs[first].returncode)
    return LaunchResult(code if code in (EXIT_BAD_INPUT, *STOPPED) else EXIT_RUNTIME, first, code)


@contextlib.contextmanager
def _forward_signals(procs: list[subprocess.Popen]) -> Any:
    """Ctrl-C / SIGTERM (and the other FORWARDED signals) to the launcher reach every rank, which checkpoint
    (rank 0) and exit 130 (75 for `run.stop_signal`) together."""

    def forward(signum: int, frame: Any) -> None:
        for p in procs:
            if p.poll() is None:
                with contextlib.suppress(OSError):
                    p.send_signal(signum)

    old = {}
    for sig in (getattr(signal, name) for name in FORWARDED if hasattr(signal, name)):
        with contextlib.suppress(ValueError):  # not the main thread: leave handlers alone
            old[sig] = signal.signal(sig, forward)
    try:
        yield
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)
