"""Deterministic fault points for the reliability tests (tests/reliability/), as SQLite and etcd do it.

`JEPAKIT_FAULT="NAME@K[:ACTION]"` makes the K-th arrival (K defaults to 1) of this process at `point(NAME)` fail:
ACTION `kill` (the default) sends SIGKILL to the process itself, `enospc` raises OSError(ENOSPC) as a full disk
would, `nan` asks the caller to poison a value (`point` returns True), `group-term` / `group-int` send SIGTERM /
SIGINT to the process's whole group, as a cluster, `timeout` or Ctrl-C does (start the process in its own
session). Several faults are separated by commas ("step@6:group-term,ckpt-tensors@2:group-term": a second signal
while the stop checkpoint is written). Unset, a point costs one dict lookup.
`JEPAKIT_FAULT_RANK=R` limits the fault to data-parallel rank R (the RANK variable), so one rank of a
distributed run can be made to fail while the others carry on.

Points: `atomic-write` (half of a file written), `ckpt-tensors` (tensor file in place, JSON not yet),
`ckpt-prune` (old checkpoints half deleted), `metrics-log` (half a line appended), `step` (after an optimizer
step), `eval` (features extracted, nothing written), `nan-loss` and `nan-grad` (poison the loss / a gradient).
"""

from __future__ import annotations

import errno
import os
import signal

_seen: dict[str, int] = {}


def point(name: str) -> bool:
    spec = os.environ.get("JEPAKIT_FAULT")
    if not spec:
        return False
    faults = [
        (where.partition("@")[2], action)
        for where, _, action in (f.partition(":") for f in spec.split(","))
        if where.partition("@")[0] == name
    ]
    if not faults:
        return False
    only = os.environ.get("JEPAKIT_FAULT_RANK", "")
    if only and only != os.environ.get("RANK", "0"):
        return False
    _seen[name] = _seen.get(name, 0) + 1
    fired = False
    for k, action in faults:
        if _seen[name] == int(k or 1):
            fired = _fire(action) or fired
    return fired


def _fire(action: str) -> bool:
    if action in ("", "kill"):
        os.kill(os.getpid(), signal.SIGKILL)
    if action == "enospc":
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    if action in ("group-term", "group-int"):
        os.killpg(os.getpgrp(), signal.SIGTERM if action == "group-term" else signal.SIGINT)
    return action == "nan"
