"""Core's own parts (ViT encoder, predictor, EMA target, losses, datasets, probes), registered through the same
hooks as any plugin, so `jepakit list` shows them and compositions name them like any other part."""
