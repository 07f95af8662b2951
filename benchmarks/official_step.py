"""What `official_ijepa.py` and `official_vjepa.py` share: the official code's training step is driven the same
way for both papers (masks collated in one DataLoader worker, AdamW without decay on biases and norms, EMA 0.996,
median ms over the timed steps, data wait included as in jepakit's bench), and jepakit's side is `run_bench`.
Each script supplies only its models, its collator and its loss."""

from __future__ import annotations

import contextlib
import copy
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch

from jepakit.api import autocast


@contextlib.contextmanager
def official_source(src: Path) -> Iterator[None]:
    """The official clone importable for the block (its code is the package `src`), off `sys.path` again after,
    also when an import or the step fails."""
    sys.path.insert(0, str(src))
    try:
        yield
    finally:
        sys.path.remove(str(src))


def official_ms_per_step(
    encoder: torch.nn.Module,
    predictor: torch.nn.Module,
    dataset: torch.utils.data.Dataset,
    collator: Callable[[list[Any]], Any],
    loss_fn: Callable[[Any, torch.nn.Module], torch.Tensor],
    *,
    batch_size: int,
    precision: str,
    steps: int,
    warmup: int,
) -> float:
    """Median ms of `warmup + steps` official steps (the first `warmup` untimed). `loss_fn(batch, target)` is the
    paper's forward: target features without grad, context encoder, predictor, loss."""
    target = copy.deepcopy(encoder)
    for p in target.parameters():
        p.requires_grad = False
    params = list(encoder.parameters()) + list(predictor.parameters())
    opt = torch.optim.AdamW(
        [
            {"params": [p for p in params if p.ndim > 1]},
            {"params": [p for p in params if p.ndim <= 1], "weight_decay": 0.0},
        ],
        lr=1e-4,
    )
    loader = torch.utils.data.DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=True,
        drop_last=True,
        collate_fn=collator,
        num_workers=1,
        persistent_workers=True,
    )
    amp = autocast(precision, torch.device("cpu"))
    times: list[float] = []
    it = iter(loader)
    for i in range(warmup + steps):
        t0 = time.perf_counter()
        try:
            batch = next(it)
        except StopIteration:
            it = iter(loader)
            batch = next(it)
        with amp:
            loss = loss_fn(batch, target)
        loss.backward()
        opt.step()
        opt.zero_grad()
        with torch.no_grad():
            m = 0.996
            for q, k in zip(encoder.parameters(), target.parameters(), strict=True):
                k.mul_(m).add_((1.0 - m) * q.detach())
        if i >= warmup:
            times.append((time.perf_counter() - t0) * 1000.0)
    return statistics.median(times)


def jepakit_result(variant: str, sets: list[str], steps: int, warmup: int) -> dict:
    """`jepakit.experiments.bench.run_bench` on `variant` with `--set`s: the step `jepakit train` takes."""
    from jepakit.experiments.bench import run_bench
    from jepakit.framework.compose import resolve_run
    from jepakit.framework.plugins import load_plugins

    return run_bench(resolve_run({"variant": variant}, load_plugins(), sets), steps=steps, warmup=warmup)
