"""Fusion shapes, the caption reaching the patches through cross-attention, padding, frozen towers."""

from __future__ import annotations

import torch
from jepakit_tijepa.config import TIJEPAConfig
from jepakit_tijepa.fusion import TextImageEncoder
from jepakit_tijepa.text import TextTower, tokenize

from jepakit.builtin.config import ViTConfig
from jepakit.builtin.models import VisionTransformer

CFG = dict(text_width=32, text_layers=1, text_heads=2, fusion_width=48, fusion_depth=2, fusion_heads=4)


def _encoder(**kw) -> TextImageEncoder:
    torch.manual_seed(0)
    cfg = TIJEPAConfig(**{**CFG, **kw})
    image = VisionTransformer(ViTConfig(patch_size=4, embed_dim=40, depth=1, num_heads=2), (3, 16, 16))
    return TextImageEncoder(image, TextTower(cfg, 12), cfg)


def _batch(texts: list[str]) -> dict[str, torch.Tensor]:
    return {
        "image": torch.randn(len(texts), 3, 16, 16, generator=torch.Generator().manual_seed(1)),
        "tokens": tokenize(texts, 12),
    }


def test_shapes_full_and_context_paths():
    enc = _encoder()
    x = _batch(["a red circle", "a blue 7 above a cross"])
    assert enc.grid == (4, 4) and enc.embed_dim == 48 and enc.layout == "grid2d"
    assert enc(x).shape == (2, 16, 48)
    keep = torch.tensor([[0, 1, 5, 9], [2, 3, 4, 15]])
    ctx = enc(x, keep=keep)  # [B, Nc, D]
    assert ctx.shape == (2, 4, 48)
    assert enc.forward_layers(x, 4)[0].shape == (2, 16, 48)


def test_the_caption_changes_the_fused_patches_and_padding_does_not():
    enc = _encoder().eval()
    x = _batch(["a red circle", "a red circle"])
    other = dict(x, tokens=tokenize(["a green cross", "a red circle"], 12))
    with torch.no_grad():
        a, b = enc(x), enc(other)
    assert not torch.allclose(a[0], b[0], atol=1e-5)  # caption 0 differs -> patches of image 0 differ
    assert torch.allclose(a[1], b[1], atol=1e-6)  # caption 1 is the same -> so are its patches
    longer = dict(x, tokens=torch.cat([x["tokens"], torch.zeros(2, 4, dtype=torch.long)], 1)[:, :12])
    with torch.no_grad():
        assert torch.allclose(enc(longer), a, atol=1e-6)  # zero padding is masked out of the cross-attention


def test_frozen_towers_get_no_gradient_and_the_fusion_does():
    enc = _encoder(freeze_image=True, freeze_text=True)
    enc(_batch(["a red circle", "a blue 7"])).pow(2).mean().backward()
    assert all(p.grad is None for p in enc.image.parameters())
    assert all(p.grad is None for p in enc.text.parameters())
    assert all(p.grad is not None for p in enc.blocks.parameters())
    trainable = _encoder()
    trainable(_batch(["a red circle", "a blue 7"])).pow(2).mean().backward()
    assert (
        trainable.image.patch_embed.weight.grad is not None
        and trainable.text.net.token_embedding.weight.grad is not None
    )
