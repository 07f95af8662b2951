"""The reliability suite's figures: each test adds what it tried and how it ended; the totals print at the end
of the pytest run (and go to $JEPAKIT_RELIABILITY_REPORT as JSON when that is set)."""

from __future__ import annotations

import json
import os
from collections import defaultdict
from typing import Any

import pytest

FIGURES: dict[str, Any] = defaultdict(int)


@pytest.fixture
def figures() -> dict[str, Any]:
    return FIGURES


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not FIGURES:
        return
    terminalreporter.section("jepakit reliability figures")
    for key in sorted(FIGURES):
        terminalreporter.write_line(f"{key:<52} {FIGURES[key]}")
    path = os.environ.get("JEPAKIT_RELIABILITY_REPORT")
    if path:
        with open(path, "w", encoding="utf-8") as f:
            json.dump(dict(FIGURES), f, indent=1, sort_keys=True)
