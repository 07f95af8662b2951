"""Parametric shapes as triangle meshes: the generated data set that needs no package (tests, the tiny demo's
fallback). Every shape is a profile revolved about the y axis: with many segments a sphere, cylinder, cone,
capsule or torus; with 4 segments a box or a pyramid; with 3 a triangular prism. Each cloud gets its own
anisotropic scale, rotation and noise, then the same area-weighted sampling as real meshes.
"""

from __future__ import annotations

import numpy as np

from jepakit_pointjepa.meshes import normalise, sample_surface


def _arc(a0: float, a1: float, n: int, cx: float = 0.0, cy: float = 0.0, r: float = 1.0) -> list[tuple[float, float]]:
    t = np.linspace(a0, a1, n)
    return [(cx + r * np.cos(a), cy + r * np.sin(a)) for a in t]


#: name -> (profile [(radius, y), ...] from bottom to top, angular segments)
PROFILES: dict[str, tuple[list[tuple[float, float]], int]] = {
    "sphere": (_arc(-np.pi / 2, np.pi / 2, 17), 32),
    "cylinder": ([(0.0, -1.0), (1.0, -1.0), (1.0, 1.0), (0.0, 1.0)], 32),
    "cone": ([(0.0, -1.0), (1.0, -1.0), (0.0, 1.0)], 32),
    "capsule": (_arc(-np.pi / 2, 0, 9, cy=-0.6, r=0.6) + _arc(0, np.pi / 2, 9, cy=0.6, r=0.6), 32),
    "torus": (_arc(-np.pi, np.pi, 25, cx=0.7, r=0.3), 32),
    "box": ([(0.0, -1.0), (1.0, -1.0), (1.0, 1.0), (0.0, 1.0)], 4),
    "pyramid": ([(0.0, -1.0), (1.0, -1.0), (0.0, 1.0)], 4),
    "prism": ([(0.0, -1.0), (1.0, -1.0), (1.0, 1.0), (0.0, 1.0)], 3),
}
SHAPES = tuple(PROFILES)


def revolve(profile: list[tuple[float, float]], segments: int) -> tuple[np.ndarray, np.ndarray]:
    """A profile revolved about y -> (vertices [R * S, 3], triangles [F, 3])."""
    phi = np.linspace(0, 2 * np.pi, segments, endpoint=False)
    r = np.asarray([p[0] for p in profile])[:, None]
    y = np.asarray([p[1] for p in profile])[:, None]
    verts = np.stack([r * np.cos(phi), np.broadcast_to(y, (len(profile), segments)), r * np.sin(phi)], -1)
    tris = []
    for i in range(len(profile) - 1):
        for j in range(segments):
            a, b = i * segments + j, i * segments + (j + 1) % segments
            c, d = a + segments, b + segments
            tris += [(a, b, d), (a, d, c)]
    return verts.reshape(-1, 3), np.asarray(tris, dtype=np.int64)


def random_rotation(rng: np.random.Generator) -> np.ndarray:
    """A uniformly random rotation [3, 3] (QR of a Gaussian matrix, sign-fixed)."""
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    q = q * np.sign(np.diag(r))
    return q if np.linalg.det(q) > 0 else -q


def shape_cloud(kind: int, points: int, rng: np.random.Generator, noise: float = 0.01) -> np.ndarray:
    """One cloud [points, 3] of shape SHAPES[kind]: scale U(0.6, 1.4) per axis, random rotation, Gaussian noise."""
    verts, tris = revolve(*PROFILES[SHAPES[kind]])
    verts = verts * rng.uniform(0.6, 1.4, size=3) @ random_rotation(rng).T
    cloud = sample_surface(verts, tris, points, rng) + rng.normal(scale=noise, size=(points, 3))
    return normalise(cloud).astype(np.float32)


def shape_set(per_class: int, points: int, seed: int, classes: int = len(SHAPES)) -> tuple[np.ndarray, np.ndarray]:
    """(clouds [classes * per_class, points, 3], labels): a pure function of (per_class, points, seed)."""
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(classes), per_class)
    return np.stack([shape_cloud(int(k), points, rng) for k in y]), y.astype(np.int64)
