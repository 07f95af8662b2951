"""jepakit-mcjepa: MC-JEPA (arXiv 2307.12698) as a jepakit plugin: a shared ConvNeXt pyramid trained on
self-supervised optical flow (PWC-style, coarse to fine) and VICReg content at once, on moving digits with exact
ground-truth flow."""

__version__ = "0.1.0"
