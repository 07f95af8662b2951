"""Batches that are a pure function of (seed, step): data order and masks are reproducible and resumable.

The batch sampler yields the indices of step s from a permutation seeded by (seed, epoch); the collate samples
that batch's masks from a generator seeded by (seed, step), inside the DataLoader workers. So a run resumed at
step s sees exactly the batches the uninterrupted run saw, whatever the number of workers.

Data-parallel runs (`world` > 1) shard each step's *global* batch: every rank computes the same index list and
keeps its contiguous slice [rank * b, (rank + 1) * b) with b = batch_size / world, and the collate draws the
masks of the whole global batch from the same (seed, step) generator and keeps the same rows. The ranks' slices
together are exactly the 1-process batch, so the mean of their losses is the 1-process loss.

A dataset may choose its epoch's permutation: `dataset.epoch_order(seed, epoch)` -> a permutation of
range(len(dataset)) replaces the uniform one (sharded stores keep a window of shards together so reads stay
local). It must be a pure function of (seed, epoch), so resume and data-parallel slicing are unchanged.
"""

from __future__ import annotations

import dataclasses
import functools
import multiprocessing
import os
import signal
import sys
from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from jepakit.engine.stops import signal_on_parent_death


def _mix(seed: int, salt: int, value: int) -> int:
    return (seed * 1_000_003 + salt * 7_919 + value) % (2**63 - 1)


class StepBatchSampler(Sampler[list[tuple[int, int]]]):
    """Yields, for each step in [start, total), the (step, index) pairs of that step's batch (drop-last epochs);
    with `world` > 1, this rank's contiguous slice of the global batch."""

    def __init__(
        self,
        n: int,
        batch_size: int,
        seed: int,
        start: int,
        total: int,
        rank: int = 0,
        world: int = 1,
        order: Callable[[int, int], torch.Tensor] | None = None,
    ) -> None:
        self.n, self.batch_size, self.seed, self.start, self.total = n, min(batch_size, n), seed, start, total
        self.order = order  # (seed, epoch) -> permutation [n]; None = uniform
        self.per_epoch = max(1, n // self.batch_size)
        self.rank, self.world = rank, world
        self.shard = self.batch_size // world  # samples per rank per step

    def __len__(self) -> int:
        return max(0, self.total - self.start)

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        perm, perm_epoch = torch.empty(0, dtype=torch.long), -1  # drawn at the first step: epoch >= 0
        for step in range(self.start, self.total):
            epoch, i = divmod(step, self.per_epoch)
            if epoch != perm_epoch:
                perm = (
                    self.order(self.seed, epoch)
                    if self.order is not None
                    else torch.randperm(self.n, generator=torch.Generator().manual_seed(_mix(self.seed, 1, epoch)))
                )
                perm_epoch = epoch
            chunk = perm[i * self.batch_size : (i + 1) * self.batch_size].tolist()  # the global batch
            if self.world > 1:
                chunk = chunk[self.rank * self.shard : (self.rank + 1) * self.shard]
            yield [(step, j) for j in chunk]


class _Indexed(Dataset):
    """Reads the sampler's (step, index) pairs. A dataset with `sample(index, key)` (seeded augmentation) gets
    a key that is a pure function of (seed, step, index), so augmented batches resume exactly like masks."""

    def __init__(self, dataset: Dataset, seed: int = 0) -> None:
        self.dataset, self.seed = dataset, seed
        self.sample = getattr(dataset, "sample", None)

    def __len__(self) -> int:
        return len(self.dataset)  # type: ignore[arg-type]  # torch's Dataset declares no __len__; map-style sets have one

    def __getitem__(self, key: tuple[int, int]) -> tuple[int, Any, Any]:
        step, i = key
        if self.sample is not None:
            x, y = self.sample(i, sample_key(self.seed, step, i))
        else:
            x, y = self.dataset[i]
        return step, x, y


def sample_key(seed: int, step: int, index: int) -> int:
    """The augmentation key of sample `index` in step `step`'s batch (distinct salt from order and masks)."""
    return _mix(_mix(seed, 3, step), 4, index)


def stack_inputs(xs: list[Any]) -> Any:
    """Samples' inputs as one batch: tensors stack to [B, ...]; a multimodal sample, a dict of tensors such as
    TI-JEPA's {"image": [C, H, W], "tokens": [L]}, stacks key by key. Parts that read such batches index them
    by key; core only stacks, moves and slices them."""
    if isinstance(xs[0], dict):
        return {k: torch.stack([torch.as_tensor(x[k]) for x in xs]) for k in xs[0]}
    return torch.stack([torch.as_tensor(x) for x in xs])


def input_rows(x: Any, lo: int, hi: int) -> Any:
    """Rows [lo, hi) of a batch of inputs (a tensor or a dict of tensors)."""
    return {k: v[lo:hi] for k, v in x.items()} if isinstance(x, dict) else x[lo:hi]


def input_pixels(x: Any) -> torch.Tensor:
    """The masked modality of a batch, for pictures: the tensor itself, or a multimodal batch's "image"."""
    return x["image"] if isinstance(x, dict) else x


def sample_masks(masker: Any, batch_size: int, generator: torch.Generator, *, step: int, total_steps: int) -> Any:
    """One batch's masks; a `step_aware` masker (a curriculum) also learns where in training the batch falls."""
    if getattr(masker, "step_aware", False):
        return masker(batch_size, generator, step=step, total_steps=total_steps)
    return masker(batch_size, generator)


def take_rows(obj: Any, lo: int, hi: int, batch: int) -> Any:
    """Rows [lo, hi) of every tensor in `obj` whose first dimension is the batch (a MaskSet, dict, tuple ...)."""
    if isinstance(obj, torch.Tensor):
        return obj[lo:hi] if obj.dim() and obj.shape[0] == batch else obj
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return dataclasses.replace(
            obj, **{f.name: take_rows(getattr(obj, f.name), lo, hi, batch) for f in dataclasses.fields(obj) if f.init}
        )
    if isinstance(obj, dict):
        return {k: take_rows(v, lo, hi, batch) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(take_rows(v, lo, hi, batch) for v in obj)
    return obj


class MaskCollator:
    """Stacks a batch and samples its masks (runs in the workers; picklable). No masker: `masks` is None.

    With `world` > 1 the items are this rank's slice; the masks are drawn for the global batch (world x the
    slice) and this rank's rows kept, so the union over ranks equals the 1-process batch's masks (a masker
    that truncates to the batch minimum truncates the same way)."""

    def __init__(self, masker: Any, seed: int, total_steps: int, rank: int = 0, world: int = 1) -> None:
        self.masker, self.seed, self.total_steps = masker, seed, total_steps
        self.rank, self.world = rank, world

    def __call__(self, items: list[tuple[int, Any, Any]]) -> dict[str, Any]:
        step = items[0][0]
        x = stack_inputs([it[1] for it in items])  # [B, ...], or a dict of such for multimodal samples
        y = torch.as_tensor([int(it[2]) for it in items])  # [B]
        masks = None
        if self.masker is not None:
            gen = torch.Generator().manual_seed(_mix(self.seed, 2, step))
            b = len(items)
            masks = sample_masks(self.masker, b * self.world, gen, step=step, total_steps=self.total_steps)
            if self.world > 1:
                masks = take_rows(masks, self.rank * b, (self.rank + 1) * b, b * self.world)
        return {"step": step, "x": x, "y": y, "masks": masks}


def make_loader(
    dataset: Dataset,
    masker: Any,
    *,
    batch_size: int,
    seed: int,
    start: int,
    total: int,
    workers: int,
    rank: int = 0,
    world: int = 1,
    stop_signals: tuple[int, ...] = (signal.SIGINT, signal.SIGTERM),
) -> DataLoader:
    """Batches of steps [start, total) as dicts {step, x [b, ...], y [b], masks}; b = batch_size / world.

    The workers ignore `stop_signals` (the trainer's to handle) and die with the process that made the loader
    (`worker_init`)."""
    sampler = StepBatchSampler(
        len(dataset),  # type: ignore[arg-type]  # as in _Indexed.__len__
        batch_size,
        seed,
        start,
        total,
        rank,
        world,
        order=getattr(dataset, "epoch_order", None),
    )
    return DataLoader(
        _Indexed(dataset, seed),
        batch_sampler=sampler,
        collate_fn=MaskCollator(masker, seed, total, rank, world),
        num_workers=workers,
        persistent_workers=False,
        prefetch_factor=4 if workers else None,
        worker_init_fn=worker_init(stop_signals) if workers else None,
    )


def worker_init(ignore: tuple[int, ...] = (signal.SIGINT, signal.SIGTERM)) -> Callable[[int], None]:
    """A DataLoader `worker_init_fn` (picklable) for a loader this process iterates: see `_init_worker`."""
    return functools.partial(_init_worker, trainer=os.getpid(), ignore=tuple(ignore))


def _init_worker(worker_id: int, *, trainer: int, ignore: tuple[int, ...]) -> None:
    """Workers only stack tensors and sample masks: one thread each leaves the cores to the training step.

    They never decide the fate of a run: a signal to the whole process group (Ctrl-C, SLURM, `timeout`, docker
    stop) is the trainer's to handle (it checkpoints first), so the workers ignore it. And they die with the
    trainer: a SIGKILLed trainer must not leave workers behind holding memory and its files.
    """
    torch.set_num_threads(1)
    for sig in ignore:
        signal.signal(sig, signal.SIG_IGN)
    _die_with(trainer)


def _die_with(trainer: int) -> None:
    """SIGKILL from the kernel when the trainer dies (`signal_on_parent_death`), on Linux when the trainer forked
    this worker. Elsewhere, or under a forkserver/spawn start, torch's own watchdog ends orphaned workers (at their
    next idle wait, within about 5 s)."""
    if not sys.platform.startswith("linux"):
        return
    if os.getppid() != trainer:
        if multiprocessing.get_start_method(allow_none=True) in (None, "fork"):
            os._exit(0)  # forked by the trainer, which is already gone: nothing left to work for
        return  # started by a forkserver: the kernel would signal its death, not the trainer's
    if not signal_on_parent_death(signal.SIGKILL, trainer) and os.getppid() != trainer:
        os._exit(0)  # the trainer died before the request took effect (without prctl, torch's watchdog remains)
