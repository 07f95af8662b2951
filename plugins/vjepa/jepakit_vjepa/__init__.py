"""jepakit-vjepa: V-JEPA (arXiv 2404.08471) as a jepakit plugin: tube masker, tubelet video ViT, moving digits."""

__version__ = "0.1.0"
