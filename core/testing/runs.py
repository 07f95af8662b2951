"""A tiny end-to-end run for plugin tests: train a variant a few steps into `out` and return the summary.

Every bundled plugin's `test_train.py` does the same set-up (isolated plugins, single-threaded, frequent
checkpoints and monitors, no DataLoader workers); this keeps it in one place.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

#: Run settings that make a few steps exercise checkpoints, monitors and logs without workers or extra threads.
QUICK = ["run.workers=0", "run.threads=1", "run.ckpt_every=2", "run.monitor_every=2", "run.log_every=1"]


def train_tiny(variant: str, overrides: list[str], out: Path) -> dict[str, Any]:
    """Train `variant` with `overrides` (plus QUICK) into `out` from the installed plugins, then evaluate."""
    import torch

    from jepakit.framework.compose import resolve_run
    from jepakit.testing.contracts import isolated_state
    from jepakit.engine.train import train

    run = resolve_run({"variant": variant}, isolated_state(), [*overrides, f'run.out="{out}"', *QUICK])
    threads = torch.get_num_threads()
    try:
        return train(run)
    finally:
        torch.set_num_threads(threads)  # run.threads=1 must not slow the rest of the session
