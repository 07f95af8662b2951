"""Templates for `jepakit new plugin` (rendered by `jepakit.cli.new_plugin`)."""
