"""Stopping a run on a signal, the way terminals, clusters and service managers stop jobs.

Ctrl-C, `timeout`, `docker stop`, systemd and SLURM's preemption or time limit signal the whole process group,
not just the trainer: its DataLoader workers receive the same SIGINT/SIGTERM. Only the trainer decides what a
signal means. While the loop runs, `StopFlag` turns SIGINT, SIGTERM and `run.stop_signal` into a flag that the
loop reads at the next step boundary (checkpoint, then exit 130, or 75 for a `run.stop_signal` other than
SIGINT/SIGTERM: the scheduler's "requeue me" warning). A second signal only sets the flag again, so a checkpoint
being written completes and the previous one stays intact either way (writes are atomic).

Workers ignore these signals (`jepakit.engine.loader.worker_init`); they also inherit the flag's handler from
the fork, so a signal landing before that runs only sets a flag in the worker's own memory. Should a worker die
of the stop signal anyway, `worker_died_of_stop` recognises torch's error as that stop rather than a crash.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Iterator
from typing import Any

from jepakit.errors import Interrupted, JepakitError, Preempted

#: SIGINT and SIGTERM always stop a run (a user's Ctrl-C, a service manager, a scheduler's final notice).
ALWAYS = ("SIGINT", "SIGTERM")


def signal_number(name: str) -> int:
    """`run.stop_signal`'s name -> its number here; a name this platform lacks (SIGUSR1 on Windows) is an error."""
    number = getattr(signal, name, None)
    if not isinstance(number, int):
        raise JepakitError(
            f'run.stop_signal: "{name}" does not exist on this platform',
            'use run.stop_signal = "SIGTERM" (the default) or "SIGINT"',
        )
    return int(number)


def stop_signals(stop_signal: str = "SIGTERM") -> tuple[int, ...]:
    """The signals that stop a run with `run.stop_signal = stop_signal`: SIGINT, SIGTERM and that one."""
    return tuple(dict.fromkeys(signal_number(n) for n in (*ALWAYS, stop_signal)))


class StopFlag:
    """SIGINT, SIGTERM and `run.stop_signal` set a flag; the loop checkpoints at the next step boundary and exits.

    `signal` is the first stop signal received (None: none yet); `seen` every one received. `requeue`: one of
    them was `run.stop_signal` other than SIGINT/SIGTERM, so the run exits 75 (requeue) rather than 130.
    """

    def __init__(self, stop_signal: str = "SIGTERM") -> None:
        self.signal: int | None = None
        self.seen: set[int] = set()
        self._signals = stop_signals(stop_signal)
        self._requeue = {s for s in self._signals if s not in stop_signals("SIGTERM")}
        self._old: dict[int, Any] = {}
        self._raise: tuple[str, str] | None = None

    @contextlib.contextmanager
    def raising(self, message: str, hint: str) -> Iterator[None]:
        """Past the loop (plots, evaluation) there is no step boundary to wait for: a stop signal, or one that
        came after the last step's check, ends the phase at once with `stop_error(message, hint)`. The handler
        raises KeyboardInterrupt, as Python's own SIGINT handler does, because no `except Exception` of a decoder
        or a plugin may swallow it; it becomes the stop's error here."""
        if self.signal is not None:
            raise stop_error(self.requeue, message, hint)
        self._raise = (message, hint)
        try:
            yield
        except KeyboardInterrupt:
            raise stop_error(self.requeue, message, hint) from None
        finally:
            self._raise = None

    @property
    def requeue(self) -> bool:
        return bool(self.seen & self._requeue)

    def __enter__(self) -> StopFlag:
        for sig in self._signals:
            with contextlib.suppress(ValueError):  # not the main thread: leave handlers alone
                self._old[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        # only a flag: no I/O, no logging (the main thread may be inside either when the signal lands)
        self.seen.add(signum)
        if self.signal is None:
            self.signal = signum
        if self._raise is not None:
            raise KeyboardInterrupt

    def __exit__(self, *exc: Any) -> None:
        for sig, handler in self._old.items():
            signal.signal(sig, handler)


def stop_error(requeue: bool, message: str, hint: str) -> Interrupted:
    """The error that ends a stopped run: `Preempted` (exit 75) on the scheduler's warning, else `Interrupted` (130)."""
    return (Preempted if requeue else Interrupted)(message, hint)


def worker_died_of_stop(exc: BaseException, stop: StopFlag) -> bool:
    """True when `exc` is torch's "DataLoader worker ... killed by signal" (or "exited unexpectedly") error and
    this process was itself asked to stop: a signal to the whole process group reached a worker too. The run
    stops as asked instead of failing as an internal error."""
    if stop.signal is None or not isinstance(exc, RuntimeError):
        return False
    text = str(exc)
    if "DataLoader worker" not in text:
        return False
    names = [signal.strsignal(s) or "" for s in stop.seen]
    return "exited unexpectedly" in text or any(n and f"killed by signal: {n}" in text for n in names)


#: prctl(2) option: the signal the kernel sends this process when its parent dies (Linux).
_PR_SET_PDEATHSIG = 1


def signal_on_parent_death(sig: int, parent: int) -> bool:
    """Ask the kernel to send `sig` to this process when its parent dies (Linux prctl PR_SET_PDEATHSIG): DataLoader
    workers (SIGKILL) and `--nproc` ranks (SIGTERM) must not outlive a killed trainer or launcher. False where
    it cannot be asked (no prctl, not Linux), or when `parent` is already gone: the caller decides what then."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, sig, 0, 0, 0)
    except (OSError, AttributeError):
        return False
    return os.getppid() == parent  # the parent may have died before the request took effect
