"""`jepakit embed`: an encoder's features for a whole dataset, streamed batch by batch into a file.

The source is the run's own dataset (`run`), any registered dataset part (with `--set` settings), or a folder of
images (class sub-folders give labels; files are read batch by batch, unreadable ones skipped and listed). Each
batch's features are written as they are computed (a memory-mapped .npy, or row groups of a Parquet file), so the
features of a large folder never sit in memory at once. Beside a .npy, `<name>.meta.json` holds each row's id
(path or split/index), split, label and the class names; a Parquet file holds them as columns.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from jepakit.errors import JepakitError

SPLITS = ("all", "train", "test")
Batch = tuple[torch.Tensor, list[str], list[int] | None, list[str]]  # x [b, ...], ids, labels, splits


@dataclass
class Source:
    """Rows to embed: how many, their batches, and what labels mean."""

    name: str
    total: int
    batches: Callable[[int], Iterator[Batch]]
    class_names: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def _split_batches(named: list[tuple[str, Any]]) -> Callable[[int], Iterator[Batch]]:
    def gen(batch_size: int) -> Iterator[Batch]:
        for split, ds in named:
            x_all, y_all = getattr(ds, "x", None), getattr(ds, "y", None)
            for i in range(0, len(ds), batch_size):
                j = min(i + batch_size, len(ds))
                if isinstance(x_all, torch.Tensor) and isinstance(y_all, torch.Tensor) and len(x_all) == len(ds):
                    x, y = x_all[i:j], [int(v) for v in y_all[i:j]]
                else:
                    items = [ds[k] for k in range(i, j)]
                    if items and isinstance(items[0][0], dict):
                        raise JepakitError(
                            "this dataset's samples are multimodal (a dict per sample)",
                            "embed reads datasets of one input tensor per sample",
                        )
                    x, y = torch.stack([torch.as_tensor(it[0]) for it in items]), [int(it[1]) for it in items]
                yield x, [f"{split}/{k}" for k in range(i, j)], y, [split] * (j - i)

    return gen


def dataset_source(part: Any, seed: int, split: str, info: Any) -> Source:
    """A dataset part's splits (`split`: train, test or both), checked against the encoder's input shape."""
    from jepakit.framework.compose import build_part

    splits = build_part(part, seed=seed)
    shape = tuple(int(s) for s in splits.input_shape)
    if shape != tuple(info.input_shape):
        raise JepakitError(
            f"--data {part.spec.name} gives inputs of shape {list(shape)}, the encoder reads {list(info.input_shape)}",
            "set the dataset's size and channels to match, e.g. --set size=... --set channels=...",
        )
    named = [
        (s, getattr(splits, s)) for s in ("train", "test") if split in ("all", s) and getattr(splits, s) is not None
    ]
    if not named and splits.pretrain is not None and split in ("all", "train"):  # unlabelled data: what trains
        named = [("pretrain", splits.pretrain)]
    return Source(splits.name, sum(len(ds) for _, ds in named), _split_batches(named), list(splits.class_names or []))


def folder_source(root: Path, info: Any) -> Source:
    """Image files under `root` (or one file). Class sub-folders (every image one level down) give labels."""
    from jepakit.library.data import IMAGE_SUFFIXES, load_image

    if len(info.input_shape) != 3:
        raise JepakitError(
            f"a folder of images cannot feed this encoder (inputs {list(info.input_shape)})",
            "name a dataset part that reads your files, e.g. --data vjepa/video-folder --set path=...",
        )
    if root.is_file():
        files, base = [root], root.parent
    else:
        files, base = (
            sorted(
                p
                for p in root.rglob("*")
                if p.is_file()
                and p.suffix.lower() in IMAGE_SUFFIXES
                and not any(part.startswith(".") for part in p.relative_to(root).parts)
            ),
            root,
        )
    if not files:
        raise JepakitError(
            f"--data {root}: no image files ({', '.join(IMAGE_SUFFIXES)})",
            "point --data at a folder of images, or name a dataset part (`jepakit list datasets`)",
        )
    rel = [p.relative_to(base) for p in files]
    classes = sorted({r.parts[0] for r in rel}) if all(len(r.parts) == 2 for r in rel) else []
    chans, size = info.input_shape[0], info.input_shape[-1]
    skipped: list[str] = []

    def gen(batch_size: int) -> Iterator[Batch]:
        for i in range(0, len(files), batch_size):
            arrays, ids, labels = [], [], []
            for path, r in zip(files[i : i + batch_size], rel[i : i + batch_size], strict=True):
                try:
                    arrays.append(load_image(path, size, chans))  # [C, S, S] in [0, 1]
                except Exception:  # any decoder failure means "skip this file"
                    skipped.append(str(r))
                    continue
                ids.append(str(r))
                labels.append(classes.index(r.parts[0]) if classes else -1)
            if arrays:
                x = info.normalise(torch.from_numpy(np.stack(arrays)))  # [b, C, S, S]
                yield x, ids, labels if classes else None, ["all"] * len(ids)

    return Source(root.name or str(root), len(files), gen, classes, skipped)


class _Writer:
    """Features row block by row block into a temp file, renamed over `out` when complete."""

    def __init__(self, out: Path, total: int, about: dict[str, Any]) -> None:
        if out.suffix not in (".npy", ".parquet"):
            raise JepakitError(
                f"--out {out}: unknown format {out.suffix or '(no suffix)'}",
                "write features.npy (+ features.meta.json) or features.parquet",
            )
        self.out, self.total, self.rows, self.about = out, total, 0, about
        self.width: list[int] = []
        self.tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
        self.array: Any = None
        self.parquet: Any = None
        if out.suffix == ".parquet":
            try:
                import pyarrow  # noqa: F401 - only asks whether it is installed
            except ImportError:
                raise JepakitError(
                    "--out *.parquet needs the pyarrow package, which is not installed",
                    "pip install pyarrow, or write a .npy (its ids and labels go to .meta.json)",
                ) from None
        out.parent.mkdir(parents=True, exist_ok=True)

    def write(self, feats: np.ndarray, ids: list[str], labels: list[int] | None, splits: list[str]) -> None:
        if self.out.suffix == ".npy":
            if self.array is None:
                self.array = np.lib.format.open_memmap(
                    self.tmp, mode="w+", dtype=np.float32, shape=(self.total, *feats.shape[1:])
                )
            self.array[self.rows : self.rows + len(feats)] = feats
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            flat = pa.array(feats.reshape(-1).astype(np.float32, copy=False))
            cols = {
                "id": pa.array(ids),
                "split": pa.array(splits),
                "features": pa.FixedSizeListArray.from_arrays(flat, int(np.prod(feats.shape[1:]))),
            }
            if labels is not None:
                cols["label"] = pa.array(labels, type=pa.int64())
            table = pa.table(cols).replace_schema_metadata({"jepakit": json.dumps(self.about)})
            if self.parquet is None:
                self.parquet = pq.ParquetWriter(str(self.tmp), table.schema)
            self.parquet.write_table(table)
        self.rows += len(feats)
        self.width = [int(d) for d in feats.shape[1:]]

    def close(self) -> None:
        if self.array is not None:
            self.array.flush()
            done = np.array(self.array[: self.rows]) if self.rows < self.total else None
            self.array = None  # closes the memory map
            if done is not None:  # skipped files: keep only the rows written
                with open(self.tmp, "wb") as f:
                    np.save(f, done)
        if self.parquet is not None:
            self.parquet.close()
        if self.rows == 0:
            raise JepakitError("no rows were embedded", "check the data (every file was unreadable?)")
        os.replace(self.tmp, self.out)

    def abort(self) -> None:
        self.array = None
        if self.parquet is not None:
            self.parquet.close()
        self.tmp.unlink(missing_ok=True)


def meta_path(out: Path) -> Path:
    """feats.npy -> feats.meta.json"""
    return out.with_name(out.stem + ".meta.json")


def embed(
    path: str | Path,
    data: str,
    out: str | Path,
    *,
    overrides: list[str] | None = None,
    split: str = "all",
    readout: str | None = None,
    batch_size: int = 256,
    state: Any = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Embed `data` with the encoder of `path` (an export or run directory) into `out`; returns a summary."""
    from jepakit.engine.ckpt import atomic_write_text
    from jepakit.engine.evaluate import READOUTS
    from jepakit.engine.export import load_encoder, plugins_or_default

    if split not in SPLITS:
        raise JepakitError(f"--split: unknown split {split!r}", f"choose one of: {', '.join(SPLITS)}")
    if readout is not None and readout not in READOUTS:
        raise JepakitError(f"--readout: unknown readout {readout!r}", f"choose one of: {', '.join(READOUTS)}")
    if batch_size < 1:
        raise JepakitError(f"--batch-size must be at least 1, got {batch_size}", "e.g. --batch-size 256")
    out = Path(out)
    state = plugins_or_default(state)
    encoder, info = load_encoder(path, state=state)
    source = open_source(Path(path), data, list(overrides or []), info, state, split)
    readout = readout or info.readout
    about = {
        "readout": readout,
        "encoder": str(path),
        "variant": info.variant,
        "data": source.name,
        "split": split,
        "class_names": source.class_names,
    }
    writer = _Writer(out, source.total, about)
    ids: list[str] = []
    labels: list[int] = []
    splits: list[str] = []
    has_labels = True
    try:
        for x, b_ids, b_labels, b_splits in source.batches(batch_size):
            writer.write(info.features(encoder, x, readout=readout, batch_size=batch_size), b_ids, b_labels, b_splits)
            ids += b_ids
            splits += b_splits
            has_labels = has_labels and b_labels is not None
            labels += b_labels or []
            if progress is not None:
                progress(len(ids) + len(source.skipped), source.total)
        writer.close()
    except BaseException:
        writer.abort()
        raise
    if out.suffix == ".npy":
        meta = {
            "rows": len(ids),
            **about,
            "ids": ids,
            "splits": splits,
            "labels": labels if has_labels else None,
            "skipped": list(source.skipped),
        }
        atomic_write_text(meta_path(out), json.dumps(meta, indent=1) + "\n")
    return {
        "out": str(out),
        "meta": str(meta_path(out)) if out.suffix == ".npy" else None,
        "rows": len(ids),
        "shape": [len(ids), *writer.width],
        "readout": readout,
        "data": source.name,
        "labels": has_labels,
        "skipped": len(source.skipped),
    }


def open_source(path: Path, data: str, overrides: list[str], info: Any, state: Any, split: str) -> Source:
    """`--data`: `run` (the run's dataset), a folder or image file, or a registered dataset part name."""
    from jepakit.framework.compose import Part, resolve_run
    from jepakit.framework.config import apply_overrides, build_dataclass, load_toml

    if data == "run":
        if not (path / "config.toml").is_file():
            raise JepakitError(
                f"--data run needs a run directory; {path} is an export",
                "name a dataset part (--data core/digits) or a folder of images",
            )
        resolved = resolve_run(load_toml(path / "config.toml"), state, [f"data.{o}" for o in overrides])
        return dataset_source(resolved.parts["data"], resolved.run.seed, split, info)
    as_path = Path(data).expanduser()
    if as_path.exists():
        if overrides:
            raise JepakitError("--set applies to a dataset part, not to a folder", "drop --set")
        return folder_source(as_path, info)
    try:
        spec = state.registry.get("datasets", data, key="--data")
    except JepakitError as exc:
        close = exc.message.partition(".")[2].strip()  # the registry's "Did you mean ...?", if any
        raise JepakitError(
            f"--data {data!r} is no file or folder and no registered dataset. {close}".strip(),
            "pass `run`, a folder of images, or a dataset part (`jepakit list datasets`)",
        ) from None
    settings = apply_overrides({}, overrides)
    cfg = build_dataclass(spec.config, settings, "data") if spec.config else None
    return dataset_source(Part(spec, cfg, "data"), 0, split, info)
