"""Deterministic fault points for the reliability tests (tests/reliability/), as SQLite and etcd do it.

`JEPAKIT_FAULT="NAME@K[:ACTION]"` makes the K-th arrival (K defaults to 1) of this process at `point(NAME)` fail:
ACTION `kill` (the default) sends SIGKILL to the process itself, `enospc` raises OSError(ENOSPC) as a full disk
would, `nan` asks the caller to poison a value (`point` returns True). Unset, a point costs one dict lookup.
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
    where, _, action = spec.partition(":")
    target, _, k = where.partition("@")
    if target != name:
        return False
    only = os.environ.get("JEPAKIT_FAULT_RANK", "")
    if only and only != os.environ.get("RANK", "0"):
        return False
    _seen[name] = _seen.get(name, 0) + 1
    if _seen[name] != int(k or 1):
        return False
    if action in ("", "kill"):
        os.kill(os.getpid(), signal.SIGKILL)
    if action == "enospc":
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    return action == "nan"
