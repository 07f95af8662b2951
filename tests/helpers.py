"""Helpers shared by test modules (conftest.py holds fixtures only)."""

from __future__ import annotations

from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"
#: `--set` lines that shrink ijepa/ijepa-tiny to seconds a run: 16 px digits, one block 32 wide (predictor 16);
#: each test adds its data, steps and run settings
TOY_MODEL = [
    "data.size=16",
    "data.digit_size=0",
    "encoder.patch_size=2",
    "encoder.embed_dim=32",
    "encoder.depth=1",
    "encoder.num_heads=2",
    "predictor.embed_dim=16",
    "predictor.depth=1",
    "predictor.num_heads=2",
]


def write_plugins_toml(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "plugins.toml"
    path.write_text(body, encoding="utf-8")
    return path


def grid_only(cfg: object, *, grid: tuple[int, ...]) -> tuple[int, ...]:
    """A part constructor that names only `grid` (build_part must not offer it anything else)."""
    return grid
