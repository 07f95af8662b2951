"""A-JEPA's encoder: the log-mel front end, then a ViT on 16x16 time-frequency patches with 2-D sin-cos positions.

Blocks, the gather-before-blocks context path, init and readouts are core's `TokenEncoder`; this class only turns
waveforms into spectrogram patches. The predictor is core's narrow `TransformerPredictor` on the same grid.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from jepakit import JepakitError
from jepakit.api import TokenEncoder, ViTConfig
from jepakit_ajepa.audio import frontend_from_meta
from jepakit_ajepa.config import LogMelFields


class SpectrogramViT(TokenEncoder):
    """forward(x [B, 1, S] waveforms, keep [B, Nc] | None) -> [B, Nc or N, D].

    The grid is (frames / p, n_mels / p), time-major: token (t, f) has flat index t * (n_mels / p) + f, the
    index space of the `tf2d` maskers. Spectrograms [B, 1, frames, n_mels] are accepted too (they skip the
    front end), which is how masks are drawn and how precomputed features can be fed.
    The front end comes from the dataset (`meta`), so it always matches the raw log-mel baseline.
    """

    layout = "tf2d"

    def __init__(self, cfg: ViTConfig, input_shape: tuple[int, ...], meta: Mapping[str, Any] | None = None) -> None:
        super().__init__()
        shape = tuple(int(s) for s in input_shape)
        if len(shape) != 2 or shape[0] != 1:
            raise JepakitError(
                f"encoder: a spectrogram ViT needs mono waveforms (1, samples), the dataset gives {shape}",
                "pick an audio dataset such as ajepa/spoken-digits or ajepa/audio-folder",
            )
        frontend = frontend_from_meta(meta, LogMelFields().frontend())
        p, frames, mels = cfg.patch_size, frontend.frames, frontend.n_mels
        if frames % p or mels % p:
            raise JepakitError(
                f"encoder.patch_size: {p} does not divide the {frames} x {mels} (frames x mel bins) spectrogram",
                "choose a patch size that divides data.frames and data.n_mels",
            )
        self._build(cfg, nn.Conv2d(1, cfg.embed_dim, kernel_size=p, stride=p), (frames // p, mels // p))
        self.frontend = frontend  # after _build: the front end holds no parameters and consumes no RNG

    def spectrogram(self, x: torch.Tensor) -> torch.Tensor:
        """[B, 1, S] waveforms (or [B, 1, T, F] spectrograms, passed through) -> [B, 1, frames, n_mels]."""
        return x if x.dim() == 4 else self.frontend(x)

    def tokens(self, x: torch.Tensor) -> torch.Tensor:
        """Patch tokens with positions [B, N, D], N = frames/p * n_mels/p, time-major."""
        return super().tokens(self.spectrogram(x))
