"""Batches that are a pure function of (seed, step): data order and masks are reproducible and resumable.

The batch sampler yields the indices of step s from a permutation seeded by (seed, epoch); the collate samples
that batch's masks from a generator seeded by (seed, step), inside the DataLoader workers. So a run resumed at
step s sees exactly the batches the uninterrupted run saw, whatever the number of workers.
"""

from __future__ import annotations

from typing import Any, Iterator

import torch
from torch.utils.data import DataLoader, Dataset, Sampler


def _mix(seed: int, salt: int, value: int) -> int:
    return (seed * 1_000_003 + salt * 7_919 + value) % (2**63 - 1)


class StepBatchSampler(Sampler[list[tuple[int, int]]]):
    """Yields, for each step in [start, total), the (step, index) pairs of that step's batch (drop-last epochs)."""

    def __init__(self, n: int, batch_size: int, seed: int, start: int, total: int) -> None:
        self.n, self.batch_size, self.seed, self.start, self.total = n, min(batch_size, n), seed, start, total
        self.per_epoch = max(1, n // self.batch_size)

    def __len__(self) -> int:
        return max(0, self.total - self.start)

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        perm, perm_epoch = None, -1
        for step in range(self.start, self.total):
            epoch, i = divmod(step, self.per_epoch)
            if epoch != perm_epoch:
                perm = torch.randperm(self.n, generator=torch.Generator().manual_seed(_mix(self.seed, 1, epoch)))
                perm_epoch = epoch
            chunk = perm[i * self.batch_size:(i + 1) * self.batch_size].tolist()
            yield [(step, j) for j in chunk]


class _Indexed(Dataset):
    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)  # type: ignore[arg-type]

    def __getitem__(self, key: tuple[int, int]) -> tuple[int, Any, Any]:
        step, i = key
        x, y = self.dataset[i]
        return step, x, y


def sample_masks(masker: Any, batch_size: int, generator: torch.Generator, *, step: int, total_steps: int) -> Any:
    """One batch's masks; a `step_aware` masker (a curriculum) also learns where in training the batch falls."""
    if getattr(masker, "step_aware", False):
        return masker(batch_size, generator, step=step, total_steps=total_steps)
    return masker(batch_size, generator)


class MaskCollator:
    """Stacks a batch and samples its masks (runs in the workers; picklable). No masker: `masks` is None."""

    def __init__(self, masker: Any, seed: int, total_steps: int) -> None:
        self.masker, self.seed, self.total_steps = masker, seed, total_steps

    def __call__(self, items: list[tuple[int, Any, Any]]) -> dict[str, Any]:
        step = items[0][0]
        x = torch.stack([torch.as_tensor(it[1]) for it in items])  # [B, ...]
        y = torch.as_tensor([int(it[2]) for it in items])  # [B]
        masks = None
        if self.masker is not None:
            gen = torch.Generator().manual_seed(_mix(self.seed, 2, step))
            masks = sample_masks(self.masker, x.shape[0], gen, step=step, total_steps=self.total_steps)
        return {"step": step, "x": x, "y": y, "masks": masks}


def make_loader(dataset: Dataset, masker: Any, *, batch_size: int, seed: int, start: int, total: int,
                workers: int) -> DataLoader:
    sampler = StepBatchSampler(len(dataset), batch_size, seed, start, total)  # type: ignore[arg-type]
    return DataLoader(_Indexed(dataset), batch_sampler=sampler, collate_fn=MaskCollator(masker, seed, total),
                      num_workers=workers, persistent_workers=False, prefetch_factor=4 if workers else None,
                      worker_init_fn=_one_thread if workers else None)


def _one_thread(worker_id: int) -> None:
    """Workers only stack tensors and sample masks: one thread each leaves the cores to the training step."""
    torch.set_num_threads(1)
