"""The text side, from open_clip_torch: its bundled BPE tokenizer and its `TextTransformer`, built from a config.

Both are open_clip's own code, so a text tower trained here loads into open_clip (and back) by state dict.
Nothing is downloaded: the BPE merges ship inside the open_clip wheel and the tower starts from random weights.
`open_clip` is imported lazily (it pulls in timm and torchvision, seconds of start-up): listing plugins never
imports it, building a TI-JEPA run or its data does.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import torch
from torch import nn

from jepakit_tijepa.config import TIJEPAConfig

#: open_clip's vocabulary (49,152 BPE merges + 256 bytes + start/end) and its special ids
VOCAB_SIZE = 49408
PAD_ID = 0


@lru_cache(maxsize=4)
def _tokenizer(context_length: int) -> Any:
    from open_clip.tokenizer import SimpleTokenizer

    return SimpleTokenizer(context_length=context_length)


def tokenize(texts: list[str], context_length: int) -> torch.Tensor:
    """Captions -> open_clip BPE ids [N, context_length]: start token, words, end token, zero padding (long
    captions are cut and keep their end token, as open_clip does)."""
    return _tokenizer(context_length)(list(texts), context_length=context_length)


def word_count(ids: torch.Tensor) -> torch.Tensor:
    """Tokens between start and end of each row [N] (0: the caption tokenized to nothing)."""
    return (ids != PAD_ID).sum(dim=1) - 2


class TextTower(nn.Module):
    """open_clip's TextTransformer returning every token's features [B, L, W] and the padding mask [B, L]."""

    def __init__(self, cfg: TIJEPAConfig, context_length: int) -> None:
        super().__init__()
        from open_clip.transformer import TextTransformer

        self.net = TextTransformer(
            context_length=context_length,
            vocab_size=VOCAB_SIZE,
            width=cfg.text_width,
            heads=cfg.text_heads,
            layers=cfg.text_layers,
            output_dim=None,
            no_causal_mask=not cfg.text_causal,
            use_pad_mask=not cfg.text_causal,
            pad_id=PAD_ID,
            output_tokens=True,
        )
        self.width = cfg.text_width

    def forward(self, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        _, tokens = self.net(ids)  # pooled [B, W] (unused), tokens [B, L, W] after the final LayerNorm
        return tokens, ids != PAD_ID  # [B, L, W], [B, L] True = a real token
