"""TI-JEPA for jepakit: a text tower (open_clip) and an image ViT fused by cross-attention, trained by predicting
the EMA fusion's features of hidden image blocks from the visible ones and the caption (latent L2 energy)."""

__version__ = "0.1.0"
