"""Metric loggers beyond metrics.jsonl (which is always written). A logger is built as
`Logger(cfg, run_dir=Path)` and gets every logged row through `log(row)`; `close()` ends the run."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from jepakit.builtin.config import TensorBoardConfig
from jepakit.errors import JepakitError


class TensorBoardLogger:
    """Scalars to RUN_DIR/<subdir> (view with `tensorboard --logdir RUN_DIR`)."""

    def __init__(self, cfg: TensorBoardConfig, *, run_dir: Path) -> None:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError as exc:
            raise JepakitError(
                'run.loggers: "core/tensorboard" needs the tensorboard package, which is not installed',
                "pip install tensorboard, or remove it from run.loggers",
            ) from exc
        self.writer = SummaryWriter(log_dir=str(Path(run_dir) / cfg.subdir), flush_secs=cfg.flush_secs)

    def log(self, row: dict[str, Any]) -> None:
        step = int(row.get("step", 0))
        for key, value in row.items():
            if (
                key != "step"
                and isinstance(value, (int, float))
                and not isinstance(value, bool)
                and math.isfinite(value)
            ):
                self.writer.add_scalar(key, value, step)

    def close(self) -> None:
        self.writer.close()
