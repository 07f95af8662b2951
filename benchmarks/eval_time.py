"""What share of a tiny preset's full run its evaluation takes, stage by stage (never asserted in tests).

    python benchmarks/eval_time.py [--variant vjepa/vjepa-tiny ...] [--steps 10] [--threads 2]

For each variant, in one process on the same threads: `jepakit bench`'s timing of training steps gives the
preset's projected training time at its default `optim.steps`; then the evaluation the trainer runs after
training (`evaluate_sets`: every feature pass, every probe on trained / random init / raw input, the embedding
plot) is timed on the freshly built model (evaluation cost does not depend on the weights). Each stage's time
comes from the progress callback the CLI uses. Prints eval seconds, projected training seconds and the eval
share of the whole run (the issue's bar: at most a quarter), with CPU seconds beside wall seconds so a loaded
machine still gives a fair ratio.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from typing import Any

import torch

from jepakit.engine.eval_data import evaluation_progress
from jepakit.engine.jepa import build
from jepakit.engine.run_eval import evaluate_sets
from jepakit.engine.runs import RunDir
from jepakit.experiments.bench import run_bench
from jepakit.framework.compose import resolve_run
from jepakit.framework.plugins import load_plugins

DEFAULT = ["ijepa/ijepa-tiny", "vjepa/vjepa-tiny", "ajepa/ajepa-tiny", "sjepa/sjepa-tiny"]


def measure(variant: str, steps: int, threads: int) -> dict[str, Any]:
    """Projected training time at the preset's steps, and the evaluation's time per stage (wall and CPU)."""
    overrides = [f"run.threads={threads}", "run.workers=0"]
    state = load_plugins()
    resolved = resolve_run({"variant": variant}, state, overrides)
    bench = run_bench(resolved, steps=steps, warmup=2)
    train_s = resolved.optim.steps * bench["ms_per_step"] / 1000.0
    torch.manual_seed(resolved.run.seed)
    built = build(resolved)
    stages: dict[str, float] = {}
    started: dict[str, float] = {}

    def progress(label: str, done: int, total: int) -> None:
        now = time.perf_counter()
        t0 = started.setdefault(label, now)
        if done >= total:
            stages[label] = now - t0

    with tempfile.TemporaryDirectory() as tmp, evaluation_progress(progress):
        run_dir = RunDir(tmp)
        run_dir.plots.mkdir(parents=True, exist_ok=True)
        wall, cpu = time.perf_counter(), time.process_time()
        evaluate_sets(resolved, built, run_dir)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {
        "variant": variant,
        "steps": resolved.optim.steps,
        "ms_per_step": bench["ms_per_step"],
        "train_s": train_s,
        "eval_s": wall,
        "eval_cpu_s": cpu,
        "share": wall / (wall + train_s),
        "stages": dict(sorted(stages.items(), key=lambda kv: -kv[1])),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--variant", action="append", help="repeatable; default: " + ", ".join(DEFAULT))
    ap.add_argument("--steps", type=int, default=10, help="timed training steps for the projection")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    print("| variant | steps | ms/step | projected training s | evaluation s (CPU s) | eval share of the run |")
    print("|---|---|---|---|---|---|")
    details = []
    for variant in args.variant or DEFAULT:
        r = measure(variant, args.steps, args.threads)
        print(
            f"| {r['variant']} | {r['steps']} | {r['ms_per_step']:.0f} | {r['train_s']:.0f} | "
            f"{r['eval_s']:.0f} ({r['eval_cpu_s']:.0f}) | {100 * r['share']:.0f} % |"
        )
        details.append(r)
    for r in details:
        top = ", ".join(f"{k} {v:.1f} s" for k, v in list(r["stages"].items())[:6])
        print(f"\n{r['variant']}: slowest stages: {top}")


if __name__ == "__main__":
    main()
