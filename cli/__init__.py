"""jepakit's command line (`jepakit.cli`): a thin Typer layer that parses, calls core, and renders with rich.

Nothing here imports torch at module level: `jepakit --help`, `list` and `plugins list` must stay fast, so the
training and evaluation modules of core are imported inside the command bodies that need them.
"""
