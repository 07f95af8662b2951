"""3D-JEPA's energy: negative cosine similarity between predicted and teacher target-block features."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from jepakit_3djepa.config import NegCosineConfig


class NegCosine(nn.Module):
    """forward(pred [B, M, Nt, D], target [B, M, Nt, D]) -> -mean cos(pred, target), in float32."""

    def __init__(self, cfg: NegCosineConfig | None = None) -> None:
        super().__init__()
        self.eps = (cfg or NegCosineConfig()).eps

    def forward(self, pred: torch.Tensor, target: torch.Tensor, **aux: Any) -> torch.Tensor:
        return -F.cosine_similarity(pred.float(), target.float(), dim=-1, eps=self.eps).mean()
