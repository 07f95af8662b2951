"""Shared fixtures: a toy ROI grid with gradient coordinates."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="session")
def meta12() -> dict:
    """12 ROIs with 5 gradient coordinates each (any finite numbers serve the position code)."""
    return {"gradients": np.random.default_rng(0).standard_normal((12, 5)).tolist()}
