"""jepakit-ijepa: I-JEPA (arXiv 2301.08243) as a jepakit plugin: the multi-block masker and the paper's variant."""

__version__ = "0.1.0"
