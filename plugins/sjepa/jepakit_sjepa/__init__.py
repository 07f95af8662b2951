"""S-JEPA (Signal-JEPA, arXiv 2403.11772) for jepakit: EEG tokens per channel and second, spatial block masks."""

__version__ = "0.1.0"
