"""Training helpers plugins share: precision, the cosine ramp, and the seeded minibatch loop heads train with."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from typing import Any

import torch


def cosine(start: float, end: float, t: float) -> float:
    """Cosine interpolation from start (t=0) to end (t=1); t is clamped to [0, 1]."""
    return end + (start - end) * 0.5 * (1.0 + math.cos(math.pi * min(max(t, 0.0), 1.0)))


def autocast(precision: str, device: torch.device) -> contextlib.AbstractContextManager[Any]:
    """`run.precision`: bf16 is torch.autocast on the run's device (CPU or CUDA); fp32 changes nothing."""
    if precision == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def fit_minibatches(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    num_samples: int,
    loss_of: Callable[[torch.Tensor], torch.Tensor],
    *,
    epochs: int,
    batch_size: int,
    seed: int,
    scheduler: Any = None,
    precision: str = "fp32",
    device: torch.device | None = None,
    reseed: bool = True,
) -> list[float]:
    """Train `model` for `epochs` passes over `num_samples` samples; returns each epoch's mean loss.

    `loss_of(idx [b])` computes the loss of the samples at those indices (under `precision`'s autocast); the
    scheduler, if any, steps once per batch. Every epoch draws a new order from a generator seeded with `seed`,
    and the global RNG (dropout) is re-seeded with `seed` inside a fork, so a head fitted twice on the same
    features gives the same numbers and leaves the caller's RNG untouched: the trained, random-init and raw rows
    of an evaluation are then compared under one protocol. `reseed=False` keeps the fork but lets dropout
    continue the caller's global stream, for a caller that seeds it itself before building its model.
    """
    gen = torch.Generator().manual_seed(seed)
    dev = device or torch.device("cpu")
    losses: list[float] = []
    model.train()
    with torch.enable_grad(), torch.random.fork_rng():
        if reseed:
            torch.manual_seed(seed)
        for _ in range(epochs):
            order = torch.randperm(num_samples, generator=gen)  # [N] this epoch's order
            total = 0.0
            for i in range(0, num_samples, batch_size):
                idx = order[i : i + batch_size]
                with autocast(precision, dev):
                    loss = loss_of(idx)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                if scheduler is not None:
                    scheduler.step()
                total += float(loss.detach()) * len(idx)
            losses.append(total / max(1, num_samples))
    model.eval()
    return losses
