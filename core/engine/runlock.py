"""The run directory's lock (RUN_DIR/.lock): one live trainer per run directory. Torch-free (`jepakit runs`).

A POSIX record lock (`lockf`) rather than an flock, because it belongs to the process that took it alone:
forked children (DataLoader workers) do not inherit it, and the kernel drops it the moment that process dies,
even by SIGKILL, so a restart right after a kill finds the directory free. An flock is shared with every forked
child, so orphaned workers kept a killed trainer's directory "in use". The holder writes its pid into the file
for the error message.

Record locks have one trap: closing *any* descriptor of the file in the holding process drops the lock, and a
second lock in the same process succeeds silently. So this process never opens a lock file it holds: `_HELD`
answers for those, and `holder` is the way to ask whether a directory is in use.
"""

from __future__ import annotations

import errno
import fcntl
import os
import time
from pathlib import Path

from jepakit.errors import JepakitError

#: The lock files this process holds, by (device, inode) -> the descriptor holding the lock.
_HELD: dict[tuple[int, int], int] = {}
_BUSY = (errno.EACCES, errno.EAGAIN)


def acquire(run_dir: Path) -> int:
    """Lock `run_dir` for this process; returns the descriptor to `release`. Raises JepakitError naming the
    holder's pid when a live process (this one included) holds it."""
    path = run_dir / ".lock"
    if _key(path) in _HELD:
        raise _busy(run_dir, os.getpid())
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o644)
    for attempt in range(5):  # a `holder` probe holds a shared lock for microseconds: try again
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except OSError as exc:
            if exc.errno in _BUSY and attempt < 4:
                time.sleep(0.02)
                continue
            pid = _read_pid(fd)
            os.close(fd)
            if exc.errno not in _BUSY:
                raise JepakitError(
                    f"cannot lock run directory {run_dir}: {exc.strerror or exc}",
                    "train into a directory on a file system with POSIX locks",
                ) from exc
            raise _busy(run_dir, pid) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, str(os.getpid()).encode(), 0)
    key = _key(path)
    if key is not None:
        _HELD[key] = fd
    return fd


def release(fd: int) -> None:
    """Drop the lock `acquire` returned (closing its descriptor)."""
    for key, held in list(_HELD.items()):
        if held == fd:
            del _HELD[key]
    os.close(fd)


def holder(run_dir: Path) -> int | None:
    """The pid of the live process holding `run_dir`'s lock (this process's pid if it does), else None; 0 when
    a holder exists but its pid is unreadable. A killed holder holds nothing."""
    path = run_dir / ".lock"
    key = _key(path)
    if key is None:
        return None
    if key in _HELD:
        return os.getpid()
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.lockf(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        fcntl.lockf(fd, fcntl.LOCK_UN)
        return None
    except OSError as exc:
        return (_read_pid(fd) or 0) if exc.errno in _BUSY else None
    finally:
        os.close(fd)


def refuse_if_busy(run_dir: Path) -> None:
    """Raise the "in use" error when another live process holds the directory's lock (checked before anything
    else about a second command, so a busy directory is what it is told first)."""
    pid = holder(run_dir) if run_dir.is_dir() else None
    if pid is not None and pid != os.getpid():
        raise _busy(run_dir, pid)


def _busy(run_dir: Path, pid: int | None) -> JepakitError:
    who = f" (pid {pid})" if pid else ""
    return JepakitError(
        f"run directory {run_dir} is in use by another jepakit process{who}",
        "wait for it to finish, or train into another --out",
    )


def _key(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _read_pid(fd: int) -> int | None:
    """The pid the holder wrote into the lock file (None if unreadable, or not written yet)."""
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None
