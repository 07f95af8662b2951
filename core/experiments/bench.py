"""`jepakit bench`: how fast a variant trains here, and how close that is to what this machine could do.

A training run's `elapsed_s` mixes start-up, checkpoints and evaluation; this times the training step alone
(after warm-up) and relates it to two measurements of the same process, so a number means something on any
machine: the model's FLOPs per step (counted, not estimated) and the machine's matmul peak for the precision
(timed, not looked up). Their ratio is the MFU, model FLOPs utilisation: how much of the hardware the step
uses. The data-wait fraction says whether the loader (collate + mask sampling) keeps up with the model.

The step is the very function `jepakit.engine.train` runs (`jepakit.engine.steps.train_step`, with the same
optimizer and autocast) on batches from the same `make_loader`, so a speed-up measured here is one training
gets. Timings are for reading, never for asserting: tests check the schema and the arithmetic.
"""

from __future__ import annotations

import contextlib
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import torch
from torch.utils.flop_counter import FlopCounterMode, sdpa_backward_flop_count, sdpa_flop_count

from jepakit.engine.distributed import move_batch, pick_device
from jepakit.engine.jepa import build
from jepakit.engine.loader import make_loader
from jepakit.engine.steps import compile_model, make_optimizer, train_step
from jepakit.framework.compose import ResolvedRun
from jepakit.library.training import autocast

DEFAULT_VARIANT = "ijepa/bench"
PEAK_SIZE = 2048  # side of the square matmul timed for the peak: large enough to be compute-bound on CPU and GPU
PRECISIONS = ("fp32", "bf16")

#: Keys of `run_bench`'s result, in the order the table shows them (tests and `--json` users rely on them).
RESULT_KEYS = (
    "variant",
    "precision",
    "device",
    "threads",
    "torch_version",
    "batch",
    "steps",
    "warmup",
    "workers",
    "ms_per_step",
    "samples_per_s",
    "gflops_per_step",
    "achieved_gflops_per_s",
    "peak_gflops_per_s",
    "mfu",
    "data_wait_fraction",
    "peak_rss_mb",
    "cuda_max_allocated_mb",
    "compile",
    "compile_s",
)


def sync(device: torch.device) -> None:
    """Wait for queued GPU work, so that wall-clock time measures the work and not its launch (no-op on CPU)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _cpu_sdpa_flops(query: Any, key: Any, value: Any, *args: Any, **kwargs: Any) -> int:
    """Shapes [B, H, N, d]: torch's counter has formulas for the CUDA attention kernels only, not the CPU one."""
    return sdpa_flop_count(query, key, value)


def _cpu_sdpa_backward_flops(grad_out: Any, query: Any, key: Any, value: Any, *args: Any, **kwargs: Any) -> int:
    return sdpa_backward_flop_count(grad_out, query, key, value)


def _extra_formulas() -> dict[Any, Callable[..., int]]:
    """FLOP formulas for kernels FlopCounterMode misses; without them attention is silently counted as zero."""
    aten = torch.ops.aten
    extra: dict[Any, Callable[..., int]] = {}
    for name, formula in (
        ("_scaled_dot_product_flash_attention_for_cpu", _cpu_sdpa_flops),
        ("_scaled_dot_product_flash_attention_for_cpu_backward", _cpu_sdpa_backward_flops),
    ):
        if hasattr(aten, name):  # present in every torch that has FlopCounterMode, but never fail on it
            extra[getattr(aten, name)] = formula
    return extra


def flop_counter() -> FlopCounterMode:
    """A FlopCounterMode (matmuls, convolutions, attention) that also knows the CPU attention kernel."""
    return FlopCounterMode(display=False, custom_mapping=_extra_formulas())


def matmul_peak_gflops(
    precision: str, device: torch.device, *, size: int = PEAK_SIZE, reps: int = 5, warmup: int = 2
) -> float:
    """This machine's dense-matmul speed in the run's precision: the denominator of the MFU.

    A measured peak rather than a datasheet's: it is what this torch, these threads and this chip actually give
    a large matmul, so MFU compares the step with the best the same software does here. Best of `reps` timed
    runs after `warmup` untimed ones; nothing is cached, since threads, clocks and neighbours change.
    """
    dtype = torch.bfloat16 if precision == "bf16" else torch.float32
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(size, size, generator=gen).to(device=device, dtype=dtype)  # [S, S]
    b = torch.randn(size, size, generator=gen).to(device=device, dtype=dtype)  # [S, S]
    best = float("inf")
    for i in range(warmup + reps):
        sync(device)
        t = time.perf_counter()
        torch.mm(a, b)  # [S, S]
        sync(device)
        if i >= warmup:
            best = min(best, time.perf_counter() - t)
    return 2.0 * size**3 / best / 1e9


def peak_rss_mb() -> float:
    """Peak resident memory of this process (not the loader workers'), in MiB; NaN where Unix's getrusage is missing."""
    try:
        import resource
    except ImportError:  # Windows
        return float("nan")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 2**20 if sys.platform == "darwin" else rss / 2**10  # bytes on macOS, KiB on Linux


def device_label(device: torch.device) -> str:
    """`cpu`, or `cuda:0 (NVIDIA H100 80GB HBM3)`: the GPU's name belongs with its numbers."""
    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    return str(device)


def run_bench(resolved: ResolvedRun, *, steps: int = 20, warmup: int = 3) -> dict[str, Any]:
    """Time `steps` training steps of a resolved run after `warmup` untimed ones; see RESULT_KEYS.

    One more step comes first, under the FLOP counter (which slows it), so neither warm-up nor timing includes
    it. A step's time runs from asking the loader for its batch to the finished EMA update: data_wait_fraction
    is the share of that spent blocked in `next(loader)`, summed over the timed steps.
    """
    if steps < 1 or warmup < 0:
        raise ValueError(f"steps must be >= 1 and warmup >= 0, got {steps} and {warmup}")
    cfg, rc = resolved.optim, resolved.run
    if rc.threads:
        torch.set_num_threads(rc.threads)
    device = pick_device(rc.device)
    built = build(resolved)
    model = built.model.to(device)
    model.train()
    opt = make_optimizer(model, cfg)
    amp = autocast(rc.precision, device)
    compiled = bool(rc.compile)
    total = 1 + int(compiled) + warmup + steps
    loader = make_loader(
        built.splits.pretrain_set,
        built.masker,
        batch_size=cfg.batch_size,
        seed=rc.seed,
        start=0,
        total=total,
        workers=rc.workers,
    )
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    batches = iter(loader)
    flops, batch_size, times, waits, compile_s = 0, 0, [], [], None
    for i in range(total):
        t0 = time.perf_counter()
        batch = next(batches)  # {step, x [b, ...], y [b], masks}
        t1 = time.perf_counter()
        batch = move_batch(batch, device)
        if i == 0:
            counter = flop_counter()  # in fp32: model FLOPs belong to the model, not to the kernels a precision picks
            train_step(model, opt, cfg, batch, contextlib.nullcontext(), count=counter)
            flops, batch_size = int(counter.get_total_flops()), int(batch["y"].shape[0])
            if compiled:  # after counting: the counter sees eager ops, not compiled kernels
                compile_model(model)
        else:
            train_step(model, opt, cfg, batch, amp)
        sync(device)
        if compiled and i == 1:
            compile_s = time.perf_counter() - t0  # the first compiled step: tracing + code generation
        if i > warmup + int(compiled):
            times.append(time.perf_counter() - t0)
            waits.append(t1 - t0)
    del batches  # stops the loader's workers before the peak is timed on the same cores
    seconds = statistics.median(times)
    achieved = flops / seconds / 1e9
    peak = matmul_peak_gflops(rc.precision, device)
    return {
        "variant": resolved.variant,
        "precision": rc.precision,
        "device": device_label(device),
        "threads": torch.get_num_threads(),
        "torch_version": torch.__version__,
        "batch": batch_size,
        "steps": steps,
        "warmup": warmup,
        "workers": rc.workers,
        "ms_per_step": seconds * 1e3,
        "samples_per_s": batch_size / seconds,
        "gflops_per_step": flops / 1e9,
        "achieved_gflops_per_s": achieved,
        "peak_gflops_per_s": peak,
        "mfu": achieved / peak,
        "data_wait_fraction": sum(waits) / sum(times),
        "peak_rss_mb": peak_rss_mb(),
        "cuda_max_allocated_mb": torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None,
        "compile": compiled,
        "compile_s": compile_s,  # seconds of the first compiled step (None without run.compile)
    }
