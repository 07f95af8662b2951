"""T-JEPA (arXiv 2410.05016) for jepakit: tabular rows as one token per column plus [REG] tokens."""

__version__ = "0.1.0"
