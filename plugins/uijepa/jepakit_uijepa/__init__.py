"""jepakit-uijepa: UI-JEPA (arXiv 2409.04081) as a jepakit plugin: a V-JEPA encoder over UI screen recordings
(parts taken from the vjepa plugin by name) and a small causal language model that writes the user's intent."""

__version__ = "0.1.0"
