"""A-JEPA (arXiv 2311.15830) for jepakit: audio spectrograms with curriculum masking."""

__version__ = "0.1.0"
