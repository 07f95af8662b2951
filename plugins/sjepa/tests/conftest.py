"""Shared tiny fixtures: electrode positions of small caps, so tests build parts without simulating data."""

from __future__ import annotations

import pytest
from jepakit_sjepa.montage import channel_set


@pytest.fixture(scope="session")
def meta19() -> dict:
    names, pos = channel_set("1020-19")
    return {"ch_names": list(names), "ch_pos": pos.tolist(), "sfreq": 64.0}


@pytest.fixture(scope="session")
def meta20() -> dict:
    names, pos = channel_set("1010-20")
    return {"ch_names": list(names), "ch_pos": pos.tolist(), "sfreq": 64.0}
