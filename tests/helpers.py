"""Helpers shared by test modules (conftest.py holds fixtures only)."""

from __future__ import annotations

from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"


def write_plugins_toml(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "plugins.toml"
    path.write_text(body, encoding="utf-8")
    return path


def grid_only(cfg: object, *, grid: tuple[int, ...]) -> tuple[int, ...]:
    """A part constructor that names only `grid` (build_part must not offer it anything else)."""
    return grid
