"""Energy terms. Each is an nn.Module: forward(pred, target, **aux) -> scalar; the variant weights and sums them.

pred and target are [B, M, Nt, D]; aux["context"] is the context encoder's output [B, Nc, D].
Terms compute in float32 even under bf16 autocast: a reduction over many tokens loses precision in bf16.
Terms made of batch statistics (VICReg, SIGReg) gather the pooled features of every data-parallel rank first
(`gather_batch`), so their value and gradient are those of the global batch, not of one rank's slice.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from jepakit.builtin.config import DistanceConfig, SIGRegConfig, SmoothL1Config, VICRegConfig
from jepakit.engine.distributed import gather_batch
from jepakit.library.losses import vicreg_var_cov


class SmoothL1(nn.Module):
    def __init__(self, cfg: SmoothL1Config) -> None:
        super().__init__()
        self.beta = cfg.beta

    def forward(self, pred: torch.Tensor, target: torch.Tensor, **aux: Any) -> torch.Tensor:
        return F.smooth_l1_loss(pred.float(), target.float(), beta=self.beta)


class L1(nn.Module):
    def __init__(self, cfg: DistanceConfig) -> None:
        super().__init__()

    def forward(self, pred: torch.Tensor, target: torch.Tensor, **aux: Any) -> torch.Tensor:
        return F.l1_loss(pred.float(), target.float())


class L2(nn.Module):
    """Mean squared error: the paper's written objective (average L2 distance)."""

    def __init__(self, cfg: DistanceConfig) -> None:
        super().__init__()

    def forward(self, pred: torch.Tensor, target: torch.Tensor, **aux: Any) -> torch.Tensor:
        return F.mse_loss(pred.float(), target.float())


class VICReg(nn.Module):
    """Variance + covariance regulariser on the mean-pooled context-encoder output (one vector per sample)."""

    def __init__(self, cfg: VICRegConfig) -> None:
        super().__init__()
        self.cfg = cfg

    def forward(self, pred: torch.Tensor, target: torch.Tensor, **aux: Any) -> torch.Tensor:
        z = gather_batch(aux["context"].mean(dim=1))  # [B, D], B the global batch
        var, cov = vicreg_var_cov(z, self.cfg.std_target, self.cfg.eps)
        return self.cfg.var_weight * var + self.cfg.cov_weight * cov


def epps_pulley(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """x [n, K] samples of K 1-D projections, t [T] knots -> Epps-Pulley statistic per projection [K]."""
    n = x.shape[0]
    tx = x[:, :, None] * t  # [n, K, T]
    re, im = tx.cos().mean(0), tx.sin().mean(0)  # [K, T] empirical characteristic function
    gauss = torch.exp(-0.5 * t**2)  # [T] N(0, 1)'s characteristic function, also the weight
    integrand = ((re - gauss) ** 2 + im**2) * gauss  # [K, T]
    return 2.0 * n * torch.trapezoid(integrand, t, dim=-1)  # even integrand: twice the half-line


class SIGReg(nn.Module):
    """SIGReg on the mean-pooled context-encoder output: pushes pooled embeddings towards N(0, I)."""

    knots: torch.Tensor  # [num_knots] buffer

    def __init__(self, cfg: SIGRegConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.register_buffer("knots", torch.linspace(0.0, cfg.t_max, cfg.num_knots), persistent=False)

    def forward(self, pred: torch.Tensor, target: torch.Tensor, **aux: Any) -> torch.Tensor:
        z = gather_batch(aux["context"].float().mean(dim=1))  # [B, D], B the global batch
        dirs = torch.randn(z.shape[1], self.cfg.num_directions, device=z.device)
        dirs = dirs / dirs.norm(dim=0, keepdim=True)  # [D, K] unit directions, fresh every step
        return epps_pulley(z @ dirs, self.knots).mean()
