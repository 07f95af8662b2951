"""Speed of mask sampling and of the data generators the tests used to time (never asserted in tests).

    python benchmarks/masker_speed.py [--repeats 5]

The unit tests bound the maskers' work by counting random draws (`jepakit.testing.draws`); this script measures
the seconds. Per row it prints the median over `--repeats` of one call: a batch of masks at the paper's grids and
at the cramped grids the termination tests use (the worst of them), the build-time check of a grid that cannot
work, and one moving-digits data set. Numbers are for the machine it runs on: compare rows within one run.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import torch
from jepakit_ajepa.config import CurriculumConfig
from jepakit_ajepa.masks import CurriculumMasker
from jepakit_ijepa.config import MultiBlockConfig
from jepakit_ijepa.masks import MultiBlockMasker
from jepakit_vjepa.config import MovingDigitsConfig, TubeConfig
from jepakit_vjepa.data import moving_digits
from jepakit_vjepa.masks import TubeMasker

from jepakit.errors import JepakitError

SMALL_2D = [(1, 8), (8, 1), (2, 2), (2, 3), (3, 3), (4, 2)]
SMALL_3D = [(1, 2, 2), (1, 3, 3), (2, 2, 3), (3, 5, 2), (1, 1, 4), (8, 2, 2)]


def median_ms(fn: Callable[[], Any], repeats: int) -> float:
    """Median wall time of `fn()` in ms, after one untimed call."""
    fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def batch_ms(masker: Any, batch: int, repeats: int, **kw: int) -> float:
    gen = torch.Generator().manual_seed(0)
    return median_ms(lambda: masker(batch, gen, **kw), repeats)


def worst_small_grid_ms(
    build: Callable[[tuple[int, ...], int], Any], grids: list[tuple[int, ...]], repeats: int, **kw: int
) -> tuple[float, str]:
    """Slowest batch of 16 over the grids and min_keep 1-3 that build (the termination tests' settings)."""
    worst, where = 0.0, ""
    for grid in grids:
        for min_keep in (1, 2, 3):
            try:
                m = build(grid, min_keep)
            except JepakitError:
                continue
            ms = batch_ms(m, 16, repeats, **kw)
            if ms > worst:
                worst, where = ms, f"grid {grid}, min_keep {min_keep}"
    return worst, where


def build_fail_ms(grid: tuple[int, ...], repeats: int, **kw: Any) -> float:
    """Time to reject an impossible tube-masker grid at build (a fixed grid search, not a sampling loop)."""

    def attempt() -> None:
        try:
            TubeMasker(TubeConfig(**kw), grid)
        except JepakitError:
            return
        raise AssertionError(f"{grid} {kw} unexpectedly builds")

    return median_ms(attempt, repeats)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=5)
    r = ap.parse_args().repeats
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, median of {r}")
    rows: list[tuple[str, float, str]] = [
        (
            "ijepa/multiblock, 14x14 grid, batch 128",
            batch_ms(MultiBlockMasker(MultiBlockConfig(), (14, 14)), 128, r),
            "",
        ),
        ("vjepa/tube, 8x14x14 grid, batch 128", batch_ms(TubeMasker(TubeConfig(), (8, 14, 14)), 128, r), ""),
        (
            "ajepa/curriculum, 64x8 grid, batch 128 (strips)",
            batch_ms(CurriculumMasker(CurriculumConfig(), (64, 8)), 128, r, step=99, total_steps=100),
            "",
        ),
        (
            "ajepa/curriculum, 64x8 grid, batch 128 (blocks)",
            batch_ms(CurriculumMasker(CurriculumConfig(), (64, 8)), 128, r, step=0, total_steps=100),
            "",
        ),
    ]
    worst, where = worst_small_grid_ms(lambda g, k: MultiBlockMasker(MultiBlockConfig(min_keep=k), g), SMALL_2D, r)
    rows.append(("ijepa/multiblock, worst small grid, batch 16", worst, where))
    worst, where = worst_small_grid_ms(lambda g, k: TubeMasker(TubeConfig(min_keep=k), g), SMALL_3D, r)
    rows.append(("vjepa/tube, worst small grid, batch 16", worst, where))
    worst, where = worst_small_grid_ms(
        lambda g, k: CurriculumMasker(CurriculumConfig(min_keep=k), g), SMALL_2D, r, step=3, total_steps=6
    )
    rows.append(("ajepa/curriculum, worst small grid, batch 16", worst, where))
    rows.append(
        (
            "vjepa/tube, reject 8x14x14 with long_scale 1.0 at build",
            build_fail_ms((8, 14, 14), r, long_scale=(1.0, 1.0)),
            "",
        )
    )
    rows.append(
        (
            "vjepa moving digits (1,797 clips)",
            median_ms(lambda: moving_digits(MovingDigitsConfig()), max(1, r // 2)),
            "",
        )
    )
    for name, ms, note in rows:
        print(f"{name:58s} {ms:9.2f} ms  {note}")


if __name__ == "__main__":
    main()
