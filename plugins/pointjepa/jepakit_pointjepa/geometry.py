"""Point-cloud geometry in plain batched torch (no compiled point-cloud library): farthest point sampling, k-nearest-
neighbour grouping, the sequencer's iterative nearest-neighbour order, and normalisation to the unit sphere.

Every function is deterministic for a given input, so the student and the EMA teacher, which tokenize the same
cloud independently, see the same patches in the same order.
"""

from __future__ import annotations

import torch

#: the sequencer's orders: Point-JEPA's iterative nearest neighbour, and the ablation's pseudo-random order
ORDERS = ("nearest", "random")


def farthest_point_sample(points: torch.Tensor, n: int) -> torch.Tensor:
    """points [B, P, 3] -> indices [B, n] of n farthest-point-sampled centres, starting at point 0 (as the
    pointnet2 CUDA op Point-MAE and Point-JEPA call). n iterations of an O(P) update: ~cdist-cheap."""
    B, P, _ = points.shape
    idx = torch.zeros(B, n, dtype=torch.long, device=points.device)
    dist = torch.full((B, P), float("inf"), device=points.device, dtype=points.dtype)  # [B, P] to the chosen set
    last = torch.zeros(B, dtype=torch.long, device=points.device)
    rows = torch.arange(B, device=points.device)
    for i in range(n):
        idx[:, i] = last
        d = ((points - points[rows, last][:, None]) ** 2).sum(-1)  # [B, P]
        dist = torch.minimum(dist, d)
        last = dist.argmax(dim=1)
    return idx


def knn_groups(points: torch.Tensor, centres: torch.Tensor, k: int) -> torch.Tensor:
    """points [B, P, 3], centres [B, G, 3] -> neighbourhoods [B, G, k, 3] in coordinates relative to their
    centre (Point-MAE's grouping: the k nearest points by `cdist` + `topk`)."""
    d = torch.cdist(centres, points)  # [B, G, P]
    nn_idx = d.topk(k, dim=-1, largest=False).indices  # [B, G, k]
    B, G, _ = nn_idx.shape
    groups = torch.gather(points, 1, nn_idx.reshape(B, G * k, 1).expand(-1, -1, 3)).reshape(B, G, k, 3)
    return groups - centres[:, :, None]


def iterative_nearest_order(centres: torch.Tensor) -> torch.Tensor:
    """centres [B, G, 3] -> order [B, G]: Point-JEPA's sequencer (`iterative_nearest_min_start`). Start at the
    centre with the smallest coordinate sum, then repeatedly step to the nearest centre not yet visited, so
    neighbouring positions in the order are neighbouring patches in space."""
    B, G, _ = centres.shape
    d = torch.cdist(centres, centres)  # [B, G, G]
    rows = torch.arange(B, device=centres.device)
    order = torch.empty(B, G, dtype=torch.long, device=centres.device)
    visited = torch.zeros(B, G, dtype=torch.bool, device=centres.device)
    cur = centres.sum(-1).argmin(dim=1)  # [B]
    for i in range(G):
        order[:, i] = cur
        visited[rows, cur] = True
        if i + 1 < G:
            cur = d[rows, cur].masked_fill(visited, float("inf")).argmin(dim=1)
    return order


def pseudo_random_order(centres: torch.Tensor) -> torch.Tensor:
    """centres [B, G, 3] -> order [B, G]: the sequencer ablation. A shuffle that is a pure function of the cloud
    (a hash of each centre's coordinates), so student and teacher agree without sharing a random state, while
    neighbouring positions in the order are unrelated in space."""
    w = torch.tensor([12.9898, 78.233, 37.719], dtype=centres.dtype, device=centres.device)
    h = torch.frac(torch.sin(centres @ w * 17.0) * 43758.5453)  # [B, G] in (-1, 1), scrambled
    return h.argsort(dim=1)


def sequence(centres: torch.Tensor, order: str) -> torch.Tensor:
    """The patch order for `order` in ORDERS: [B, G] indices into the centres."""
    if order == "nearest":
        return iterative_nearest_order(centres)
    if order == "random":
        return pseudo_random_order(centres)
    raise ValueError(f"order must be one of {ORDERS}, got {order!r}")


def normalise(points: torch.Tensor) -> torch.Tensor:
    """[..., P, 3] -> centred on the mean and scaled into the unit sphere (largest norm 1)."""
    p = points - points.mean(dim=-2, keepdim=True)
    r = p.norm(dim=-1).amax(dim=-1, keepdim=True).clamp_min(1e-9)  # [..., 1]
    return p / r[..., None]
