"""Training helpers plugins share: precision, the cosine ramp, the EMA teacher's momentum ramp and update, and the
seeded minibatch loop heads train with."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from typing import Any

import torch


def cosine(start: float, end: float, t: float) -> float:
    """Cosine interpolation from start (t=0) to end (t=1); t is clamped to [0, 1]."""
    return end + (start - end) * 0.5 * (1.0 + math.cos(math.pi * min(max(t, 0.0), 1.0)))


def ema_momentum(momentum: tuple[float, float], step: int, total_steps: int) -> float:
    """The EMA teacher's momentum at `step`: I-JEPA's linear ramp from momentum[0] to momentum[1] over
    `total_steps`, held at momentum[1] after. One definition, so every teacher (core's `core/ema`, a plugin's own
    method) ramps the same way and a preset's `[0.996, 1.0]` means the same thing everywhere."""
    m0, m1 = momentum
    return m0 + (m1 - m0) * min(step / max(1, total_steps), 1.0)


@torch.no_grad()
def ema_update_(teacher: torch.nn.Module, student: torch.nn.Module, momentum: float) -> None:
    """teacher <- m * teacher + (1 - m) * student over the parameters (buffers are left alone), in place, as two
    fused foreach ops. The two modules must have the same parameters in the same order (the teacher is a copy)."""
    t: list[torch.Tensor] = list(teacher.parameters())
    s = [p.detach() for p in student.parameters()]
    if len(t) != len(s):
        raise ValueError(f"ema_update_: the teacher has {len(t)} parameters, the student {len(s)}")
    torch._foreach_mul_(t, momentum)
    torch._foreach_add_(t, s, alpha=1.0 - momentum)


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
