"""`jepakit bench`: time a variant's training step and report ms/step, samples/s, FLOPs, MFU and data wait.

Torch-free at import, like every command module: torch and `jepakit.experiments.bench` load inside the command, so
`jepakit --help` stays fast. Bad input (an unknown variant, a bad --precision or --set key) is a JepakitError
raised before anything is built: exit 2 with `Error:` and `Hint:`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from jepakit.cli import output
from jepakit.cli.context import load_state
from jepakit.cli.parts_cmd import warn_broken
from jepakit.cli.run_cmd import JsonOpt, SetOpt, resolve_arg
from jepakit.errors import JepakitError

DEFAULT_VARIANT = "ijepa/bench"  # = jepakit.experiments.bench.DEFAULT_VARIANT (not imported: that module imports torch)
PRECISIONS = ("fp32", "bf16")

#: (label, key, format) of the human-readable table; --json prints every key.
ROWS = (
    ("ms / step (median)", "ms_per_step", ".1f"),
    ("samples / s", "samples_per_s", ".1f"),
    ("GFLOP / step", "gflops_per_step", ".2f"),
    ("achieved GFLOP/s", "achieved_gflops_per_s", ".1f"),
    ("matmul peak GFLOP/s", "peak_gflops_per_s", ".1f"),
    ("MFU", "mfu", ".1%"),
    ("data wait", "data_wait_fraction", ".1%"),
    ("peak RSS MB", "peak_rss_mb", ".0f"),
    ("CUDA max allocated MB", "cuda_max_allocated_mb", ".0f"),
    ("first compiled step s", "compile_s", ".1f"),
)


def bench_overrides(
    overrides: list[str], precision: str | None, workers: int | None, compile_: bool = False
) -> list[str]:
    """--set items, then --precision, --workers and --compile as the run settings they are (the options win)."""
    extra = list(overrides) + (["run.compile=true"] if compile_ else [])
    if precision is not None:
        if precision not in PRECISIONS:
            raise JepakitError(
                f"--precision: expected fp32 or bf16, got {precision!r}",
                "bf16 is torch.autocast on the run's device, as `jepakit train` uses it: --precision bf16",
            )
        extra.append(f"run.precision={precision}")
    if workers is not None:
        extra.append(f"run.workers={workers}")
    return extra


def print_result(result: dict[str, Any]) -> None:
    """Key numbers as a table on stdout; what was measured, and where, in its title."""
    title = (
        f"{result['variant']} {result['precision']}, batch {result['batch']}, {result['steps']} timed steps "
        f"on {result['device']}, {result['threads']} threads, torch {result['torch_version']}"
    )
    rows = [(label, output.fmt(result.get(key), spec)) for label, key, spec in ROWS if result.get(key) is not None]
    console = output.out()
    console.print(title, markup=False, highlight=False)  # one line: a table title would wrap to the table's width
    console.print(output.table(None, ["measure", "value"], rows))


def bench_cmd(
    ctx: typer.Context,
    variant: Annotated[
        Path, typer.Argument(metavar="RUN.toml|VARIANT", help="Run file or variant name to time.")
    ] = Path(DEFAULT_VARIANT),
    precision: Annotated[
        str | None, typer.Option("--precision", metavar="fp32|bf16", help="run.precision (default: the variant's).")
    ] = None,
    steps: Annotated[int, typer.Option("--steps", min=1, metavar="N", help="Timed steps.")] = 20,
    warmup: Annotated[int, typer.Option("--warmup", min=0, metavar="N", help="Untimed steps first.")] = 3,
    workers: Annotated[
        int | None,
        typer.Option("--workers", min=0, metavar="N", help="DataLoader workers (default: the variant's run.workers)."),
    ] = None,
    compile_: Annotated[
        bool,
        typer.Option(
            "--compile", help="run.compile: torch.compile the model first; the first compiled step's time is reported."
        ),
    ] = False,
    overrides: SetOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Time full training steps of a variant and report speed, FLOPs and MFU.

    Each step is what `jepakit train` runs: the loader's collate and mask sampling, context encoder, target
    encoder and predictor forward, loss, backward, AdamW with the run's schedule, EMA update. MFU is achieved
    FLOP/s over this machine's measured matmul peak in the same precision. Numbers vary between machines and
    runs; compare rows measured in one session.
    """
    state = load_state(ctx)
    warn_broken(state)
    resolved = resolve_arg(variant, state, bench_overrides(overrides or [], precision, workers, compile_))
    output.note(f"bench: {resolved.variant} {resolved.run.precision}, {warmup} warm-up + {steps} timed steps ...")
    from jepakit.experiments.bench import run_bench

    result = run_bench(resolved, steps=steps, warmup=warmup)
    if as_json:
        output.print_json(result)
    else:
        print_result(result)


def register(app: typer.Typer) -> None:
    app.command("bench")(bench_cmd)
