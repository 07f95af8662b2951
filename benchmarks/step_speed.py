"""Training-step speed of a variant, measured as ratios within one run (never asserted in tests).

    python benchmarks/step_speed.py [--variant ijepa/ijepa-tiny] [--steps 20]

Prints ms per optimizer step for fp32 vs bf16 autocast, and for the predictor's "separate" (paper) vs
"joint" target attention, all on the same process, threads and batches; plus `jepakit --help` start-up time.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

import torch

from jepakit.compose import resolve_run
from jepakit.jepa import build
from jepakit.loader import make_loader
from jepakit.plugins import load_plugins
from jepakit.train import param_groups


def time_steps(variant: str, overrides: list[str], steps: int, warmup: int = 3) -> float:
    """Median ms per full training step (forward, backward, AdamW, EMA) over `steps` steps."""
    state = load_plugins()
    run = resolve_run({"variant": variant}, state, [*overrides, "run.workers=0"])
    built = build(run)
    model = built.model
    opt = torch.optim.AdamW(param_groups(model), lr=1e-4)
    loader = make_loader(built.splits.train, built.masker, batch_size=run.optim.batch_size, seed=0, start=0,
                         total=warmup + steps, workers=0)
    amp = torch.autocast("cpu", dtype=torch.bfloat16) if run.run.precision == "bf16" else torch.autocast("cpu", enabled=False)
    times = []
    for i, batch in enumerate(loader):
        t = time.perf_counter()
        with amp:
            out = model.step(batch)
        opt.zero_grad(set_to_none=True)
        out.loss.backward()
        opt.step()
        model.after_step(i + 1)
        if i >= warmup:
            times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def startup_ms(repeats: int = 5) -> float:
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
    args = ap.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, variant {args.variant}")
    rows = {
        "fp32, predictor separate (paper)": ["run.precision=fp32"],
        "bf16, predictor separate (paper)": ["run.precision=bf16"],
        "fp32, predictor joint": ["run.precision=fp32", "predictor.target_attention=joint"],
        "bf16, predictor joint": ["run.precision=bf16", "predictor.target_attention=joint"],
    }
    base = None
    for name, overrides in rows.items():
        ms = time_steps(args.variant, overrides, args.steps)
        base = base or ms
        print(f"{name:36s} {ms:8.1f} ms/step   x{base / ms:4.2f} vs first row")
    print(f"{'jepakit --help start-up':36s} {startup_ms():8.1f} ms")


if __name__ == "__main__":
    main()
