"""`tijepa/tijepa`: the method. Core's JEPA trains it; what TI-JEPA adds is the encoder it trains and its evaluation.

    ctx  = fusion(image tower(visible patches), text tower(caption))     [B, Nc, D]
    pred = predictor(ctx, context_idx, target_idx)                       [B, M, Nt, D]
    tgt  = EMA fusion(image tower(all patches), text tower(caption))     [B, M, Nt, D], layer-normed, no gradient
    energy = || pred - tgt ||^2 averaged over the target blocks          (core/l2: the paper's latent L2)

The masker (I-JEPA's multi-block, by registry name), predictor, target and loss are the run's ordinary parts,
so swapping any of them is one line of TOML. Only matched pairs are ever trained on: no negatives.
"""

from __future__ import annotations

from typing import Any

import torch

from jepakit import JepakitError
from jepakit.api import Built, ResolvedRun, assemble, build_encoder
from jepakit.interfaces import DataSplits, EvalResult
from jepakit_tijepa.config import TIJEPAConfig
from jepakit_tijepa.fusion import TextImageEncoder
from jepakit_tijepa.text import TextTower


class TIJEPAMethod:
    """Builds the text-image JEPA from a run's parts; evaluates retrieval by energy and probes on fused features."""

    def __init__(self, cfg: TIJEPAConfig | None = None) -> None:
        self.cfg = cfg or TIJEPAConfig()

    def build(self, resolved: ResolvedRun, splits: DataSplits) -> Built:
        if not hasattr(splits.train, "tokens"):
            raise JepakitError(
                f"data.use: {splits.name} has no captions (TI-JEPA trains on image-caption pairs)",
                'use data.use = "tijepa/captioned-shapes" or "tijepa/pair-file"',
            )
        if len(tuple(splits.input_shape)) != 3:
            raise JepakitError(
                f"data.use: {splits.name} gives inputs of shape {list(splits.input_shape)}, "
                "TI-JEPA needs images (C, H, W)",
                "use an image-caption dataset",
            )
        encoder = TextImageEncoder(
            build_encoder(resolved, splits), TextTower(self.cfg, splits.train.tokens.shape[1]), self.cfg
        )
        return assemble(resolved, splits, encoder, method="tijepa/tijepa")

    def evaluate(self, resolved: ResolvedRun, built: Built, run_dir: Any) -> EvalResult:
        from jepakit_tijepa.evaluation import evaluate_tijepa

        torch.manual_seed(resolved.run.seed)
        random_init = self.build(resolved, built.splits).model  # the same network, untrained, same seed
        return evaluate_tijepa(self.cfg, resolved, built, random_init, run_dir)
