"""Training-step speed of a variant, measured as ratios within one run (never asserted in tests).

    python benchmarks/step_speed.py [--variant ijepa/ijepa-tiny] [--steps 20] [--warmup 3]

Prints ms per optimizer step and MFU for fp32 vs bf16 autocast, and for the predictor's "separate" (paper) vs
"joint" target attention, all in the same process on the same threads and batches; plus `jepakit --help`
start-up time. The timing itself is `jepakit.experiments.bench` (what `jepakit bench` runs), so the two never disagree.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

import torch

from jepakit.experiments.bench import run_bench
from jepakit.framework.compose import resolve_run
from jepakit.framework.plugins import load_plugins


def time_steps(variant: str, overrides: list[str], steps: int, warmup: int = 3) -> dict:
    """`jepakit bench`'s result for one variant and overrides; loader in the main process (no worker noise)."""
    run = resolve_run({"variant": variant}, load_plugins(), [*overrides, "run.workers=0"])
    return run_bench(run, steps=steps, warmup=warmup)


def startup_ms(repeats: int = 5) -> float:
    """Median wall time of `jepakit --help` in a fresh interpreter (it must not import torch)."""
    cmd = [sys.executable, "-m", "jepakit.cli", "--help"]
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=True)
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--variant", default="ijepa/ijepa-tiny")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    args = ap.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, variant {args.variant}")
    rows = {
        "fp32, predictor separate (paper)": ["run.precision=fp32", "predictor.target_attention=separate"],
        "bf16, predictor separate (paper)": ["run.precision=bf16", "predictor.target_attention=separate"],
        "fp32, predictor joint": ["run.precision=fp32", "predictor.target_attention=joint"],
        "bf16, predictor joint": ["run.precision=bf16", "predictor.target_attention=joint"],
    }
    base = None
    for name, overrides in rows.items():
        r = time_steps(args.variant, overrides, args.steps, args.warmup)
        ms = r["ms_per_step"]
        base = base or ms
        print(f"{name:36s} {ms:8.1f} ms/step   x{base / ms:4.2f} vs first row   MFU {r['mfu']:6.1%}")
    print(f"{'jepakit --help start-up':36s} {startup_ms():8.1f} ms")


if __name__ == "__main__":
    main()
