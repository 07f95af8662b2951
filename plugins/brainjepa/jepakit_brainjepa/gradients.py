"""Functional-connectivity gradients: the ROI coordinates Brain-JEPA's positions are made from.

The paper takes population gradients (BrainSpace, diffusion-map embedding of the group connectivity, 30
components) from UK Biobank. We compute them from the data's own group connectivity with the same recipe as
BrainSpace's defaults, in numpy: keep the strongest 10 % of each connectivity row (`sparsity` 0.9), affinity =
normalised angle between rows, diffusion map with alpha 0.5 and automatic diffusion time (eigenvalues scaled
lambda / (1 - lambda)). Eigenvector signs are fixed (largest-magnitude entry positive) so that the same data
always give the same coordinates.
"""

from __future__ import annotations

import numpy as np


def connectivity(series: np.ndarray) -> np.ndarray:
    """[R, T] ROI series -> [R, R] Pearson correlations (a constant ROI correlates 0 with everything)."""
    x = np.asarray(series, dtype=np.float64)
    x = x - x.mean(axis=1, keepdims=True)
    norm = np.linalg.norm(x, axis=1, keepdims=True)
    x = np.divide(x, norm, out=np.zeros_like(x), where=norm > 0)
    return np.clip(x @ x.T, -1.0, 1.0)


def group_connectivity(series: list[np.ndarray]) -> np.ndarray:
    """Mean connectivity over scans, averaged as Fisher z (arctanh) and mapped back: [R, R]."""
    z = np.mean([np.arctanh(np.clip(connectivity(s), -0.999999, 0.999999)) for s in series], axis=0)
    return np.tanh(z)


def diffusion_gradients(fc: np.ndarray, n: int, sparsity: float = 0.9, alpha: float = 0.5) -> np.ndarray:
    """[R, R] connectivity -> [R, n] gradient coordinates (first n non-trivial diffusion-map components)."""
    a = np.array(fc, dtype=np.float64)
    R = len(a)
    if n > R - 1:
        raise ValueError(f"{n} gradients need more than {n} ROIs, got {R}")
    if sparsity > 0:  # keep each row's strongest entries (BrainSpace's row-wise threshold)
        thr = np.percentile(a, 100.0 * sparsity, axis=1, keepdims=True)
        a[a < thr] = 0.0
    norm = np.linalg.norm(a, axis=1, keepdims=True)
    a = np.divide(a, norm, out=np.zeros_like(a), where=norm > 0)
    affinity = 1.0 - np.arccos(np.clip(a @ a.T, -1.0, 1.0)) / np.pi  # normalised angle, in [0, 1]
    d = affinity.sum(axis=1) ** -alpha  # alpha-normalisation (Coifman & Lafon)
    affinity = d[:, None] * affinity * d[None, :]
    deg = affinity.sum(axis=1)
    s = 1.0 / np.sqrt(deg)
    sym = s[:, None] * affinity * s[None, :]  # symmetric conjugate of the Markov matrix
    vals, vecs = np.linalg.eigh(sym)
    order = np.argsort(vals)[::-1]
    vals, vecs = vals[order], vecs[:, order] * s[:, None]  # right eigenvectors of the Markov matrix
    vecs = vecs / vecs[:, :1]  # the trivial first eigenvector becomes 1
    lam = vals[1 : n + 1]
    emb = vecs[:, 1 : n + 1] * (lam / (1.0 - np.minimum(lam, 1.0 - 1e-9)))  # automatic diffusion time
    flip = np.sign(emb[np.argmax(np.abs(emb), axis=0), np.arange(emb.shape[1])])
    return (emb * np.where(flip == 0, 1.0, flip)).astype(np.float32)
