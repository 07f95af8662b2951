"""Shared fixtures: isolated plugin states built from fixture plugins, never from the user's plugins.toml."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from helpers import write_plugins_toml

os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture
def plugin_state(tmp_path: Path):
    """The installed plugins (core + bundled), with an empty plugins.toml so the repo's own cannot leak in."""
    from jepakit.framework.plugins import load_plugins

    return load_plugins(write_plugins_toml(tmp_path, ""))


@pytest.fixture(autouse=True)
def _isolated_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Tests run in a temp dir: ./plugins.toml and runs/ of the checkout never affect them."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("JEPAKIT_PLUGINS_TOML", raising=False)
