"""The data side of evaluation: batches of (x, y) with progress, and the `max_samples` cap of an evaluation set.

Features are extracted batch by batch, so no split's inputs are ever gathered at once: an in-memory split
(`.x`/`.y` tensors, or a list) is sliced; any other dataset (image files read on demand, shards) goes through a
DataLoader with the run's workers. Each batch reports `(label, done, total)` to the callback installed with
`evaluation_progress` (the CLI's bar on a terminal, plain lines elsewhere); without one, each finished pass is
one INFO line on the "jepakit" logger. `eval_stage` prefixes the labels (the set's name), so a report reads
"set digits: trained, train split".
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from jepakit.engine.loader import worker_init  # workers ignore stop signals, die with this process
from jepakit.interfaces import DataSplits

log = logging.getLogger("jepakit")

#: `(label, done, total)` after every batch; `done == total` ends a pass
ProgressFn = Callable[[str, int, int], None]
_PROGRESS: ContextVar[ProgressFn | None] = ContextVar("jepakit_eval_progress", default=None)
_STAGE: ContextVar[str] = ContextVar("jepakit_eval_stage", default="")
#: the cap's subset is drawn with this seed, whatever the run's: every run and seed is scored on the same samples
CAP_SEED = 0


@contextlib.contextmanager
def evaluation_progress(callback: ProgressFn | None) -> Iterator[None]:
    """Report every feature pass of the evaluations run inside the block to `callback`."""
    token = _PROGRESS.set(callback)
    try:
        yield
    finally:
        _PROGRESS.reset(token)


@contextlib.contextmanager
def eval_stage(label: str) -> Iterator[None]:
    """Prefix the progress labels reported inside the block (nested stages join with ': ')."""
    outer = _STAGE.get()
    token = _STAGE.set(f"{outer}: {label}" if outer and label else outer or label)
    try:
        yield
    finally:
        _STAGE.reset(token)


def report_progress(label: str, done: int, total: int, t0: float) -> None:
    """Report `done` of `total` units of an evaluation stage that is not a feature pass (a probe fitted per
    row): the same callback and stage prefix as the feature passes, `t0` the stage's perf_counter start."""
    _report(label, done, total, t0)


def _report(label: str, done: int, total: int, t0: float) -> None:
    stage = _STAGE.get()
    full = f"{stage}: {label}" if stage and label else stage or label or "features"
    callback = _PROGRESS.get()
    if callback is not None:
        callback(full, done, total)
    elif done >= total:
        log.info("%s: %d samples (%.1f s)", full, total, time.perf_counter() - t0)


def in_memory(dataset: Any) -> bool:
    """True for a list or a split holding `.x`/`.y` tensors: sliced directly, no DataLoader needed."""
    if isinstance(dataset, (list, tuple)):
        return True
    x, y = getattr(dataset, "x", None), getattr(dataset, "y", None)
    return isinstance(x, torch.Tensor) and isinstance(y, torch.Tensor) and len(x) == len(dataset)


def collate_xy(items: list[Any]) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack samples' x [b, ...] and their integer labels [b] (a module-level function: workers pickle it)."""
    return torch.stack([torch.as_tensor(it[0]) for it in items]), torch.as_tensor([int(it[1]) for it in items])


def batches(
    dataset: Any, batch_size: int, *, workers: int = 0, label: str = ""
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """(x [b, ...], y [b]) batches in order, reporting progress after each; `workers` DataLoader processes read a
    dataset that is not in memory (0 = in this process)."""
    total, done, t0 = len(dataset), 0, time.perf_counter()
    if in_memory(dataset) and not isinstance(dataset, (list, tuple)):
        x_all, y_all = dataset.x, dataset.y
        source: Any = ((x_all[i : i + batch_size], y_all[i : i + batch_size]) for i in range(0, total, batch_size))
    elif in_memory(dataset):
        source = (collate_xy(dataset[i : i + batch_size]) for i in range(0, total, batch_size))
    else:
        source = DataLoader(
            dataset,
            batch_size=batch_size,
            shuffle=False,
            num_workers=max(0, int(workers)),
            collate_fn=collate_xy,
            worker_init_fn=worker_init() if workers else None,
        )
    for x, y in source:
        done += len(y)
        yield x, y
        _report(label, done, total, t0)
    if total == 0:
        _report(label, 0, 0, t0)


# --- max_samples ---------------------------------------------------------------------------------------------------


class CappedSplit(Dataset):
    """A fixed subset of a split (`base[indices[i]]`); keeps `.x`/`.y` views when the base holds them in memory."""

    def __init__(self, base: Any, indices: np.ndarray) -> None:
        self.base, self.indices = base, np.asarray(indices, dtype=np.int64)
        if in_memory(base) and not isinstance(base, (list, tuple)):
            idx = torch.as_tensor(self.indices)
            self.x, self.y = base.x[idx], base.y[idx]  # [n, ...], [n]

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int) -> Any:
        return self.base[int(self.indices[i])]


def labels_of(dataset: Any, workers: int = 0) -> np.ndarray:
    """Every label of a split [N]: its `.y`, `targets` or `labels` when it has them, else read sample by sample."""
    for attr in ("y", "targets", "labels"):
        value = getattr(dataset, attr, None)
        if value is not None and not callable(value) and len(value) == len(dataset):
            return np.asarray(value.cpu() if isinstance(value, torch.Tensor) else value).reshape(-1)
    return torch.cat([y for _, y in batches(dataset, 256, workers=workers, label="labels")]).numpy()


def stratified_subset(labels: np.ndarray, n: int, seed: int = CAP_SEED) -> np.ndarray:
    """Sorted indices of n samples whose class proportions follow `labels` (each class within one sample)."""
    y = np.asarray(labels)
    if n >= len(y):
        return np.arange(len(y))
    rng = np.random.default_rng(seed)
    keys = np.empty(len(y))
    for c in np.unique(y):  # each class's samples spread evenly over [0, 1) in a seeded order
        idx = np.flatnonzero(y == c)
        keys[idx[rng.permutation(len(idx))]] = (np.arange(len(idx)) + rng.random(len(idx))) / len(idx)
    return np.sort(np.argsort(keys, kind="stable")[:n])


def cap_splits(splits: DataSplits, max_samples: int, workers: int = 0) -> DataSplits:
    """At most `max_samples` train and `max_samples` test samples: a fixed stratified subset of each split (the
    same for every run), with the extra labels cut to match. 0 = everything."""
    if max_samples <= 0:
        return splits
    cut: dict[str, np.ndarray | None] = {}
    parts: dict[str, Any] = {}
    for name in ("train", "test"):
        data = getattr(splits, name)
        if data is None or len(data) <= max_samples:
            cut[name], parts[name] = None, data
            continue
        idx = stratified_subset(labels_of(data, workers), max_samples)
        subset = getattr(data, "subset", None)  # a split that knows how to cut itself keeps its own type
        cut[name], parts[name] = idx, subset(idx) if callable(subset) else CappedSplit(data, idx)

    def take(values: Any, idx: np.ndarray | None) -> Any:
        return values if idx is None else np.asarray(values)[idx]

    extra = {k: (take(tr, cut["train"]), take(te, cut["test"])) for k, (tr, te) in splits.extra_labels.items()}
    return dataclasses.replace(splits, train=parts["train"], test=parts["test"], extra_labels=extra)
