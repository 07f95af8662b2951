"""Small generated stores for the sharded-data tests and benchmark: 16x16 PNGs (two classes: horizontal or
vertical stripes), written as WebDataset tar shards, Parquet files and an image folder."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np


def png_bytes(i: int, size: int = 16) -> bytes:
    """Sample i: class i % 2 (0 = horizontal stripes, 1 = vertical), a colour and phase from i."""
    from PIL import Image

    rng = np.random.default_rng(i)
    ramp = (np.sin(np.arange(size) * (0.8 + 0.1 * (i % 5)) + i) > 0).astype(np.float32)  # [S]
    pattern = np.tile(ramp[:, None], (1, size)) if i % 2 == 0 else np.tile(ramp[None, :], (size, 1))  # [S, S]
    colour = rng.uniform(0.3, 1.0, size=3)
    rgb = (pattern[:, :, None] * colour * 255).astype(np.uint8)  # [S, S, 3]
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="PNG")
    return buf.getvalue()


def write_shards(root: Path, shards: int = 3, per_shard: int = 12, *, labels: bool = True, size: int = 16) -> str:
    """`shards` tar shards of `per_shard` samples (key, .png, .cls); returns the brace pattern."""
    from webdataset import TarWriter

    root.mkdir(parents=True, exist_ok=True)
    for s in range(shards):
        with TarWriter(str(root / f"train-{s:06d}.tar")) as w:
            for j in range(per_shard):
                i = s * per_shard + j
                sample = {"__key__": f"sample{i:05d}", "png": png_bytes(i, size)}
                if labels:
                    sample["cls"] = str(i % 2).encode()
                w.write(sample)
    return str(root / f"train-{{000000..{shards - 1:06d}}}.tar")


def write_parquet(
    root: Path, n: int = 36, *, files: int = 2, row_group: int = 6, size: int = 16, bad_rows: tuple[int, ...] = ()
) -> Path:
    """`data/train-0000k-of-0000f.parquet` with an `image` struct column ({bytes, path}, as `datasets` writes
    it) and an int `label` column, in row groups of `row_group`; `bad_rows` hold bytes no decoder reads."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    (root / "data").mkdir(parents=True, exist_ok=True)
    rows = [
        {
            "image": {"bytes": b"not an image" if i in bad_rows else png_bytes(i, size), "path": f"{i}.png"},
            "label": i % 2,
        }
        for i in range(n)
    ]
    per = -(-n // files)
    for f in range(files):
        table = pa.Table.from_pylist(rows[f * per : (f + 1) * per])
        pq.write_table(table, root / "data" / f"train-{f:05d}-of-{files:05d}.parquet", row_group_size=row_group)
    return root


def write_image_folder(root: Path, n: int = 36, size: int = 16) -> Path:
    for i in range(n):
        folder = root / ("horizontal" if i % 2 == 0 else "vertical")
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{i:05d}.png").write_bytes(png_bytes(i, size))
    return root
