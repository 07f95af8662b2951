"""Per-invocation state shared by every command: the plugins.toml path and the lazily loaded plugins.

Plugins load on first use, not in the root callback, so `jepakit plugins install` still works when a
broken plugins.toml would make loading fail, and `--version` never loads anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from jepakit.framework.plugins import PluginState


@dataclass
class CliContext:
    plugins_toml: Path | None = None
    _state: PluginState | None = field(default=None, repr=False)

    def state(self) -> PluginState:
        """Load every plugin once per invocation (core reads $JEPAKIT_PLUGINS_TOML / ./plugins.toml if unset)."""
        if self._state is None:
            from jepakit.framework.plugins import load_plugins

            self._state = load_plugins(self.plugins_toml)
        return self._state


def cli_context(ctx: typer.Context) -> CliContext:
    """The CliContext stored by the root callback (a default one when a command is invoked on its own)."""
    root = ctx.find_root()
    if not isinstance(root.obj, CliContext):
        root.obj = CliContext()
    return root.obj


def load_state(ctx: typer.Context) -> PluginState:
    return cli_context(ctx).state()
