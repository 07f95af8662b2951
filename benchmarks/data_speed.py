"""Loader throughput of one set of images stored four ways: an image folder, WebDataset tar shards, Parquet read
by row group (streaming) and the same Parquet converted to Arrow by `datasets` (never asserted in tests).

    python benchmarks/data_speed.py [--images 2048] [--side 128] [--size 112] [--workers 2] [--repeats 2]

Every store holds the same JPEGs (smooth random textures, `--side` pixels square). Each row times core's real
training loader (`make_loader`: the step sampler, the dataset's `sample(index, key)` with I-JEPA's random
resized crop + flip to `--size`, stacking; no masker) over one epoch in batches of 64 with `--workers` workers,
after one untimed batch, best of `--repeats`. Also printed: building the dataset the first time (listing the
folder, scanning tar offsets, reading Parquet footers, or converting to Arrow) and again (cached), and the
store's own cost: stored samples read (not decoded) per second in the epoch's order, in one process. Numbers
are for the machine it runs on: compare rows within one run.
"""

from __future__ import annotations

import argparse
import io
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np


def texture(i: int, side: int) -> bytes:
    """A JPEG of smooth random colour blobs plus grain (compresses like a photo, unlike flat test patterns)."""
    from PIL import Image

    rng = np.random.default_rng(i)
    coarse = rng.uniform(0, 255, size=(8, 8, 3)).astype(np.uint8)
    im = Image.fromarray(coarse).resize((side, side), Image.BICUBIC)
    arr = np.asarray(im, dtype=np.float32) + rng.normal(0, 12, size=(side, side, 3))
    buf = io.BytesIO()
    Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8)).save(buf, format="JPEG", quality=90)
    return buf.getvalue()


def write_stores(root: Path, n: int, side: int) -> dict[str, Path]:
    import pyarrow as pa
    import pyarrow.parquet as pq
    from webdataset import TarWriter

    jpgs = [texture(i, side) for i in range(n)]
    folder, shards, parquet = root / "folder", root / "shards", root / "parquet" / "data"
    for p in (shards, parquet):
        p.mkdir(parents=True)
    for i, b in enumerate(jpgs):
        (folder / f"c{i % 2}").mkdir(parents=True, exist_ok=True)
        (folder / f"c{i % 2}" / f"{i:06d}.jpg").write_bytes(b)
    per = 256
    for s in range(-(-n // per)):
        with TarWriter(str(shards / f"train-{s:06d}.tar")) as w:
            for i in range(s * per, min(n, (s + 1) * per)):
                w.write({"__key__": f"{i:06d}", "jpg": jpgs[i], "cls": str(i % 2).encode()})
    table = pa.Table.from_pylist(
        [{"image": {"bytes": b, "path": f"{i}.jpg"}, "label": i % 2} for i, b in enumerate(jpgs)]
    )
    half = n // 2
    for f, part in enumerate((table.slice(0, half), table.slice(half))):
        pq.write_table(part, parquet / f"train-{f:05d}-of-00002.parquet", row_group_size=100)  # HF's image default
    mb = sum(len(b) for b in jpgs) / 2**20
    print(f"{n} JPEGs of {side}x{side}, {mb:.1f} MiB; shards of {per}; Parquet row groups of 100")
    return {"folder": folder, "shards": shards, "parquet": root / "parquet"}


def builders(stores: dict[str, Path], size: int, root: Path) -> dict[str, Callable[[], Any]]:
    from jepakit.builtin.config import ImageFolderConfig
    from jepakit.builtin.data import image_folder
    from jepakit.builtin.hf_data import hf_dataset
    from jepakit.builtin.shard_config import HFDatasetConfig, WebDatasetConfig
    from jepakit.builtin.wds_data import webdataset

    common = {"size": size, "augment": "ijepa"}
    n_shards = len(list(stores["shards"].glob("*.tar")))
    urls = str(stores["shards"] / f"train-{{000000..{n_shards - 1:06d}}}.tar")
    return {
        "image folder (core/image-folder)": lambda: image_folder(
            ImageFolderConfig(path=str(stores["folder"]), **common)
        ),
        "WebDataset shards (core/webdataset)": lambda: webdataset(
            WebDatasetConfig(urls=urls, label_key="cls", **common)
        ),
        "Parquet, streaming row groups (core/hf-dataset)": lambda: hf_dataset(
            HFDatasetConfig(path=str(stores["parquet"]), label_column="label", streaming=True, **common)
        ),
        "Parquet, streaming, uniform order (window 0)": lambda: hf_dataset(
            HFDatasetConfig(path=str(stores["parquet"]), label_column="label", streaming=True, window=0, **common)
        ),
        "Parquet -> Arrow cache (core/hf-dataset)": lambda: hf_dataset(
            HFDatasetConfig(
                path=str(stores["parquet"]), label_column="label", cache_dir=str(root / "hf-cache"), **common
            )
        ),
    }


def throughput(dataset: Any, workers: int, batch: int = 64) -> float:
    """Images per second through make_loader over one epoch, after one untimed batch."""
    from jepakit.engine.loader import make_loader

    steps = len(dataset) // batch
    loader = iter(make_loader(dataset, None, batch_size=batch, seed=0, start=0, total=steps, workers=workers))
    next(loader)
    t = time.perf_counter()
    seen = sum(int(b["x"].shape[0]) for b in loader)
    return seen / (time.perf_counter() - t)


def raw_reads(dataset: Any, seed: int = 0) -> float:
    """Stored samples per second read (not decoded) in the epoch's order, in this process: the store's own cost."""
    import torch

    order = dataset.epoch_order(seed, 0) if hasattr(dataset, "epoch_order") else torch.randperm(len(dataset))
    if hasattr(dataset, "reader"):

        def read(i: int) -> bytes:
            return dataset.reader.read(int(dataset.rows[i]))
    else:

        def read(i: int) -> bytes:
            return dataset.path(i).read_bytes()

    t = time.perf_counter()
    for i in order.tolist():
        read(i)
    return len(order) / (time.perf_counter() - t)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--images", type=int, default=2048)
    ap.add_argument("--side", type=int, default=128)
    ap.add_argument("--size", type=int, default=112)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    # imported up front so that no row's build time includes a library import (hence unused here: F401)
    import datasets
    import pyarrow.parquet  # noqa: F401
    import sklearn.model_selection  # noqa: F401
    import torchvision.transforms.v2  # noqa: F401
    import webdataset  # noqa: F401

    datasets.disable_progress_bars()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        os.environ["JEPAKIT_CACHE"] = str(root / "cache")
        stores = write_stores(root, args.images, args.side)
        print(f"loader: batch 64, {args.workers} workers, I-JEPA crop + flip to {args.size}; best of {args.repeats}")
        print("| store | first build s | cached build s | raw reads/s | images/s |\n|---|---|---|---|---|")
        for name, build in builders(stores, args.size, root).items():
            t = time.perf_counter()
            build()
            first = time.perf_counter() - t
            t = time.perf_counter()
            splits = build()
            again = time.perf_counter() - t
            data = splits.pretrain_set
            rate = max(throughput(data, args.workers) for _ in range(args.repeats))
            reads = max(raw_reads(data) for _ in range(args.repeats))
            print(f"| {name} | {first:.2f} | {again:.2f} | {reads:.0f} | {rate:.0f} |", flush=True)


if __name__ == "__main__":
    main()
