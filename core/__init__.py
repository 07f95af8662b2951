"""jepakit: a plugin-based platform for JEPAs (Joint-Embedding Predictive Architectures).

Importing `jepakit` is cheap and torch-free: plugins import `hookimpl` from here at CLI start-up.
"""

from __future__ import annotations

import pluggy

from jepakit.errors import JepakitError

__version__ = "0.1.0"

#: Major version of the plugin API (core/hookspecs.py). Plugins built for another major are reported broken.
JEPAKIT_PLUGIN_API = "1"

hookimpl = pluggy.HookimplMarker("jepakit")

__all__ = ["JEPAKIT_PLUGIN_API", "JepakitError", "__version__", "hookimpl"]
