"""Small readers for meshes and point files, and area-weighted surface sampling (numpy, no mesh library).

- OBJ: `v` and `f` lines (polygons fan-triangulated, `v/vt/vn` and negative indices understood); materials,
  textures and groups are ignored: only the surface matters for sampling.
- PLY: ascii and binary (little/big endian) vertex x, y, z, and faces when present.
- .xyz / .txt: one point per line (the first three numbers); .npy: an array [N, >=3].

A mesh is sampled area-weighted (a triangle is drawn with probability proportional to its area, then a uniform
point inside it), so a cloud's density follows the surface, not the mesh's tessellation.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

#: the files the point-folder dataset reads
POINT_SUFFIXES = (".obj", ".ply", ".npy", ".xyz", ".txt")


class MeshError(ValueError):
    """A file that holds no usable surface or points (empty, NaN coordinates, unreadable)."""


def parse_obj(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    """OBJ text -> (vertices [V, 3] float64, triangles [F, 3] int64)."""
    verts: list[list[float]] = []
    tris: list[tuple[int, int, int]] = []
    for raw in data.splitlines():
        line = raw.strip()
        if line.startswith(b"v "):
            verts.append([float(t) for t in line.split()[1:4]])
        elif line.startswith(b"f "):
            ids = []
            for tok in line.split()[1:]:
                i = int(tok.split(b"/", 1)[0])
                ids.append(i - 1 if i > 0 else len(verts) + i)
            tris.extend((ids[0], ids[j], ids[j + 1]) for j in range(1, len(ids) - 1))
    v = np.asarray(verts, dtype=np.float64).reshape(-1, 3)
    f = np.asarray(tris, dtype=np.int64).reshape(-1, 3)
    return v, f


_PLY_TYPES = {
    "char": "i1", "uchar": "u1", "int8": "i1", "uint8": "u1", "short": "i2", "ushort": "u2", "int16": "i2",
    "uint16": "u2", "int": "i4", "uint": "u4", "int32": "i4", "uint32": "u4", "float": "f4", "float32": "f4",
    "double": "f8", "float64": "f8",
}  # fmt: skip


def parse_ply(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    """PLY (ascii or binary) -> (vertices [V, 3], triangles [F, 3]; F = 0 for a point cloud)."""
    end = data.find(b"end_header")
    if not data.startswith(b"ply") or end < 0:
        raise MeshError("not a PLY file (no 'ply' magic or no end_header)")
    header = data[:end].decode("ascii", "replace").splitlines()
    body = data[data.index(b"\n", end) + 1 :]
    fmt, elements = "ascii", []  # elements: [name, count, [(prop name, type, list count type | None)]]
    for line in header:
        tok = line.split()
        if not tok:
            continue
        if tok[0] == "format":
            fmt = tok[1]
        elif tok[0] == "element":
            elements.append([tok[1], int(tok[2]), []])
        elif tok[0] == "property" and elements:
            if tok[1] == "list":
                elements[-1][2].append((tok[4], tok[3], tok[2]))
            else:
                elements[-1][2].append((tok[2], tok[1], None))
    verts, faces = np.zeros((0, 3)), np.zeros((0, 3), dtype=np.int64)
    if fmt == "ascii":
        rows = iter(body.decode("ascii", "replace").splitlines())
        for name, count, props in elements:
            if name == "vertex":
                names = [p[0] for p in props]
                xyz = [names.index(a) for a in "xyz"]
                verts = np.asarray([[float(t) for t in next(rows).split()] for _ in range(count)]).reshape(
                    -1, len(props)
                )
                verts = verts[:, xyz]
            elif name == "face":
                tri = []
                for _ in range(count):
                    ids = [int(t) for t in next(rows).split()]
                    tri.extend((ids[1], ids[j], ids[j + 1]) for j in range(2, ids[0]))
                faces = np.asarray(tri, dtype=np.int64).reshape(-1, 3)
            else:
                for _ in range(count):
                    next(rows)
        return verts, faces
    order = "<" if fmt == "binary_little_endian" else ">"
    pos = 0
    for name, count, props in elements:
        if any(p[2] is not None for p in props):  # a list property (faces): read row by row
            tri = []
            for _ in range(count):
                for _, ptype, ctype in props:
                    if ctype is None:
                        pos += np.dtype(_PLY_TYPES[ptype]).itemsize
                        continue
                    n = int(np.frombuffer(body, order + _PLY_TYPES[ctype], 1, pos)[0])
                    pos += np.dtype(_PLY_TYPES[ctype]).itemsize
                    ids = np.frombuffer(body, order + _PLY_TYPES[ptype], n, pos).astype(np.int64)
                    pos += n * np.dtype(_PLY_TYPES[ptype]).itemsize
                    if name == "face":
                        tri.extend((ids[0], ids[j], ids[j + 1]) for j in range(1, n - 1))
            if name == "face":
                faces = np.asarray(tri, dtype=np.int64).reshape(-1, 3)
            continue
        dt = np.dtype([(p[0], order + _PLY_TYPES[p[1]]) for p in props])
        arr = np.frombuffer(body, dt, count, pos)
        pos += count * dt.itemsize
        if name == "vertex":
            verts = np.stack([arr[a].astype(np.float64) for a in "xyz"], axis=1)
    return verts, faces


def sample_surface(verts: np.ndarray, tris: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """n points [n, 3] drawn area-weighted from the triangles; vertices themselves when there are none."""
    if len(verts) == 0:
        raise MeshError("the mesh has no vertices (empty file?)")
    if not np.isfinite(verts).all():
        raise MeshError("the mesh has NaN or infinite coordinates")
    if len(tris) == 0:  # a point cloud (or a mesh without faces): resample its points
        return verts[rng.integers(0, len(verts), n)] if len(verts) < n else verts[rng.permutation(len(verts))[:n]]
    if tris.min() < 0 or tris.max() >= len(verts):
        raise MeshError("a face refers to a vertex that does not exist")
    a, b, c = verts[tris[:, 0]], verts[tris[:, 1]], verts[tris[:, 2]]  # [F, 3] each
    area = 0.5 * np.linalg.norm(np.cross(b - a, c - a), axis=1)
    total = area.sum()
    if not total > 0:
        raise MeshError("the mesh has zero surface area")
    pick = rng.choice(len(tris), size=n, p=area / total)
    u, v = rng.random((2, n, 1))
    flip = (u + v) > 1
    u, v = np.where(flip, 1 - u, u), np.where(flip, 1 - v, v)
    return a[pick] + u * (b[pick] - a[pick]) + v * (c[pick] - a[pick])


def normalise(points: np.ndarray) -> np.ndarray:
    """[P, 3] -> centred on the mean, largest norm 1 (the unit sphere)."""
    p = points - points.mean(axis=0, keepdims=True)
    r = float(np.linalg.norm(p, axis=1).max())
    if not np.isfinite(r) or r <= 0:
        raise MeshError("all points coincide (or NaN coordinates): nothing to normalise")
    return p / r


def read_cloud(path: Path, n: int, rng: np.random.Generator) -> np.ndarray:
    """A user's file -> n points [n, 3] float32 on the unit sphere; MeshError (or OSError) says why not."""
    suffix = path.suffix.lower()
    if suffix == ".npy":
        arr = np.load(path, allow_pickle=False)
        if arr.ndim != 2 or arr.shape[1] < 3:
            raise MeshError(f"expected an array [N, 3] (or more columns), got shape {list(arr.shape)}")
        verts, tris = arr[:, :3].astype(np.float64), np.zeros((0, 3), dtype=np.int64)
    elif suffix in (".xyz", ".txt"):
        rows = [ln.split()[:3] for ln in path.read_text(errors="replace").splitlines() if ln.strip()]
        rows = [r for r in rows if not r[0].startswith("#")]
        try:
            verts = np.asarray(rows, dtype=np.float64).reshape(-1, 3)
        except ValueError as exc:
            raise MeshError(f"not 'x y z' lines: {exc}") from exc
        tris = np.zeros((0, 3), dtype=np.int64)
    elif suffix == ".ply":
        verts, tris = parse_ply(path.read_bytes())
    elif suffix == ".obj":
        verts, tris = parse_obj(path.read_bytes())
    else:
        raise MeshError(f"unknown suffix {suffix} (readable: {', '.join(POINT_SUFFIXES)})")
    return normalise(sample_surface(verts, tris, n, rng)).astype(np.float32)


def rotation_from_text(text: str) -> np.ndarray:
    """Sweet Home 3D's `modelRotation` (9 numbers, row-major) -> [3, 3]."""
    nums = [float(t) for t in re.split(r"[\s,]+", text.strip()) if t]
    if len(nums) != 9:
        raise MeshError(f"modelRotation needs 9 numbers, got {len(nums)}")
    return np.asarray(nums).reshape(3, 3)
