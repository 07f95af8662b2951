"""Target strategies: how the features a JEPA predicts are made."""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

from jepakit.builtin.config import EMAConfig, StopGradConfig
from jepakit.library.layers import gather_tokens
from jepakit.library.training import ema_momentum, ema_update_


class EMATarget(nn.Module):
    """EMA teacher (I-JEPA, V-JEPA, A-JEPA): a no-grad copy of the context encoder, updated after every step by
    theta_bar <- m * theta_bar + (1 - m) * theta, with m ramping linearly from momentum[0] to momentum[1].

    Targets are the teacher's outputs on the *full* input, layer-normed over features without affine parameters,
    then gathered at the target indices.
    """

    def __init__(self, cfg: EMAConfig, encoder: nn.Module, total_steps: int) -> None:
        super().__init__()
        self.cfg = cfg
        self.encoder = copy.deepcopy(encoder)
        self.encoder.requires_grad_(False)
        self.total = max(1, int(round(total_steps * cfg.ipe_scale)))

    @property
    def teacher(self) -> nn.Module:
        return self.encoder

    def momentum(self, step: int) -> float:
        return ema_momentum(self.cfg.momentum, step, self.total)

    @torch.no_grad()
    def targets(self, x: torch.Tensor, tgt_idx: torch.Tensor) -> torch.Tensor:
        h = self.encoder(x)  # [B, N, D]
        h = F.layer_norm(h, h.shape[-1:])
        B, M, Nt = tgt_idx.shape
        return gather_tokens(h, tgt_idx.reshape(B, M * Nt)).reshape(B, M, Nt, -1)  # [B, M, Nt, D]

    @torch.no_grad()
    def update(self, encoder: nn.Module, step: int) -> None:
        ema_update_(self.encoder, encoder, self.momentum(step))


class StopGradTarget(nn.Module):
    """Targets from the context encoder itself on the full input, without gradient (no EMA teacher).

    The encoder is held outside the module tree, so its weights are not stored twice in checkpoints.
    """

    def __init__(self, cfg: StopGradConfig, encoder: nn.Module, total_steps: int) -> None:
        super().__init__()
        self.cfg = cfg
        self._encoder = [encoder]

    @property
    def teacher(self) -> nn.Module:
        return self._encoder[0]

    @torch.no_grad()
    def targets(self, x: torch.Tensor, tgt_idx: torch.Tensor) -> torch.Tensor:
        h = self.teacher(x)  # [B, N, D]
        if self.cfg.layer_norm:
            h = F.layer_norm(h, h.shape[-1:])
        B, M, Nt = tgt_idx.shape
        return gather_tokens(h, tgt_idx.reshape(B, M * Nt)).reshape(B, M, Nt, -1)  # [B, M, Nt, D]

    def update(self, encoder: nn.Module, step: int) -> None:
        """Nothing to update: the target is the encoder."""
