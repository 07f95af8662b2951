"""Loss pieces plugins share: VICReg's variance and covariance terms (core's `core/vicreg`, MC-JEPA's motion and
content regularisers)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def vicreg_var_cov(z: torch.Tensor, std_target: float = 1.0, eps: float = 1e-4) -> tuple[torch.Tensor, torch.Tensor]:
    """z [N, D] -> (variance hinge, covariance penalty) of VICReg (Bardes et al. 2022).

    variance: mean over dims of relu(std_target - sqrt(var + eps)), which keeps every dim from collapsing to a
    constant; covariance: sum of squared off-diagonal covariances / D, which keeps dims from copying each other.
    Computed in float32 (under bf16 autocast too): a reduction over many samples loses precision in bf16.
    """
    z = z.float()
    z = z - z.mean(dim=0)
    std = torch.sqrt(z.var(dim=0) + eps)  # [D]
    var = F.relu(std_target - std).mean()
    cov = (z.T @ z) / max(z.shape[0] - 1, 1)  # [D, D]
    off = cov - torch.diag(torch.diag(cov))
    return var, off.pow(2).sum() / z.shape[1]
