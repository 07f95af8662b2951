"""ACT-JEPA's masks: no masked tokens, but every window has rows that must not count.

A sample is a window of `chunk + 1` rows, row r = step t + r of one episode, laid out as
`[observation (obs_dim), action (act_dim), obs_valid, act_valid]` (see `jepakit_actjepa.data`):
- `obs_valid` is 0 on rows past the episode's end (padded with the last observation): those future latents
  are left out of the JEPA term, as ACT leaves padded actions out of its L1;
- `act_valid` is 0 past the end and on every row of a non-expert episode: its observations feed only the
  JEPA term, never the action loss.
"""

from __future__ import annotations

import torch


def split_rows(rows: torch.Tensor, obs_dim: int, act_dim: int) -> tuple[torch.Tensor, ...]:
    """rows [B, T, F] -> (obs [B, T, obs_dim], actions [B, T, act_dim], obs_valid [B, T], act_valid [B, T])."""
    obs = rows[..., :obs_dim]
    act = rows[..., obs_dim : obs_dim + act_dim]
    return obs, act, rows[..., obs_dim + act_dim], rows[..., obs_dim + act_dim + 1]


def masked_mean(err: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """Mean of err [B, H, C] over the rows where valid [B, H] is 1 (0 when none is): padded rows never count."""
    w = valid.to(err.dtype)[..., None]  # [B, H, 1]
    return (err * w).sum() / (w.sum() * err.shape[-1]).clamp_min(1.0)


def chunk_loss(pred: torch.Tensor, target: torch.Tensor, valid: torch.Tensor, kind: str = "l1") -> torch.Tensor:
    """L1 (ACT's action loss; ACT-JEPA's latent energy option) or L2 between pred and target [B, H, C] on valid
    rows [B, H]."""
    diff = pred - target
    return masked_mean(diff.abs() if kind == "l1" else diff.square(), valid)


def ensemble_weights(n: int, m: float) -> torch.Tensor:
    """ACT's temporal ensembling: the n predictions made for one time step, oldest first, weigh exp(-m * i),
    normalised (m = 0.01: nearly uniform, slightly favouring older predictions, as in ACT)."""
    w = torch.exp(-m * torch.arange(n, dtype=torch.float32))
    return w / w.sum()
