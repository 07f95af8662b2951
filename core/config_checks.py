"""Torch-free checks for config dataclasses' `__post_init__`, re-exported by `jepakit.interfaces` (import them
from there): each raises a ValueError that composition turns into an error naming the key.
"""

from __future__ import annotations

from typing import Any

#: scikit-learn's handwritten digits: how many scans every digits-based dataset draws from
DIGITS = 1797


def range_pair(name: str, value: Any, lo: float, hi: float, *, open_low: bool = False) -> tuple[float, float]:
    """Validate a config's `[low, high]` setting: lo <= low <= high <= hi (lo < low with `open_low`).

    For config dataclasses' `__post_init__` (torch-free); the ValueError becomes an error naming the key.
    """
    try:
        v = tuple(float(x) for x in value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a [low, high] pair of numbers, got {value!r}") from None
    low_ok = (lo < v[0]) if len(v) == 2 and open_low else (len(v) == 2 and lo <= v[0])
    if len(v) != 2 or not (low_ok and v[0] <= v[1] <= hi):
        bound = f"{lo} {'<' if open_low else '<='} low"
        raise ValueError(f"{name} must be a [low, high] pair with {bound} <= high <= {hi}, got {list(v)}")
    return v[0], v[1]


def digits_split(limit: int, test_size: int) -> int:
    """Validate a digits-based dataset's `limit` (scans used, 0 = all) and `test_size` (so that both splits
    keep every class); returns the number of scans used."""
    total = limit or DIGITS
    if not 0 <= limit <= DIGITS:
        raise ValueError(f"limit must lie in [0, {DIGITS}] (0 = all digits), got {limit}")
    if not 10 <= test_size <= total - 10:
        raise ValueError(f"test_size must lie in [10, {total - 10}] so both splits hold every class, got {test_size}")
    return total
