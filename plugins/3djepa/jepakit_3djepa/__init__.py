"""jepakit-3djepa: 3D-JEPA (arXiv 2409.15803) as a jepakit plugin: multi-block masks of spatially contiguous
patches (chosen by the proximity of their centres), a context-aware decoder that cross-attends to the context in
every layer, and a negative-cosine energy; the point tokenizer and data are Point-JEPA's, taken by registry name."""

__version__ = "0.1.0"
