"""core/hf-dataset: Hugging Face `datasets` data on local disk, read by index (design: jepakit.builtin.shards).

- Arrow (`save_to_disk` folders, `.arrow` files): `datasets` memory-maps them; rows are read in place.
- Parquet, `streaming = false`: `datasets.load_dataset("parquet", ...)` converts the files into its Arrow cache
  once, then as above. `streaming = true`: nothing is copied; the row groups (from the files' footers) are the
  shards, a worker decodes a row group once and serves its samples from a small cache, and the shard-major
  epoch order keeps each window's row groups together so that cache hits.
- imagefolder: `load_dataset("imagefolder", data_dir=...)` (class sub-folders become a "label" ClassLabel).

Split files follow the `datasets` naming rules (`data/train-00000-of-00004.parquet`, a `test/` folder ...),
resolved by the library's own pattern matcher. Nothing downloads: a path that does not exist is an error, and
one that looks like a hub name says how to make a local copy.
"""

from __future__ import annotations

import bisect
import logging
import os
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np

from jepakit.builtin.shard_config import HFDatasetConfig
from jepakit.builtin.shards import ShardSamples, class_labels, make_decoder, require, shard_splits
from jepakit.errors import JepakitError
from jepakit.interfaces import DataSplits
from jepakit.library.data import IMAGE_SUFFIXES

log = logging.getLogger("jepakit")


def _detect(root: Path, fmt: str) -> str:
    if fmt != "auto":
        return fmt
    if root.is_file():
        if root.suffix in (".parquet", ".arrow"):
            return root.suffix[1:]
        raise JepakitError(
            f"data.path: {root} is neither a .parquet nor an .arrow file",
            "point data.path at a Parquet/Arrow file or a dataset folder, or set data.format",
        )
    if (root / "dataset_dict.json").is_file() or (root / "state.json").is_file():
        return "arrow"
    for kind, pattern in (("parquet", "*.parquet"), ("arrow", "*.arrow")):
        if next(root.rglob(pattern), None) is not None:
            return kind
    if any(p.suffix.lower() in IMAGE_SUFFIXES for p in root.rglob("*")):
        return "imagefolder"
    raise JepakitError(
        f"data.path: no Parquet, Arrow or image file under {root}",
        "point data.path at a dataset folder (save_to_disk output, Parquet files, or images)",
    )


def _split_files(root: Path, split: str, suffix: str) -> list[str]:
    """The files of `split` under `root`, by the `datasets` library's split naming rules."""
    if root.is_file():
        return [str(root)]
    from datasets.data_files import DataFilesDict, EmptyDatasetError, get_data_patterns

    try:
        found = DataFilesDict.from_patterns(get_data_patterns(str(root)), base_path=str(root))
    except EmptyDatasetError:
        found = {}
    files = {k: [f for f in v if f.endswith(suffix)] for k, v in found.items()}
    if not files.get(split):
        have = ", ".join(f"{k} ({len(v)} file(s))" for k, v in files.items() if v) or "none"
        raise JepakitError(
            f"data.split: no {suffix} file of split {split!r} under {root}; splits found: {have}",
            "set data.split to one of them (file names like train-00000-of-00002.parquet or "
            "folders named after the split)",
        )
    return sorted(files[split])


def _load_arrow(root: Path, cfg: HFDatasetConfig) -> Any:
    import datasets

    if root.is_file() or not ((root / "dataset_dict.json").is_file() or (root / "state.json").is_file()):
        files = _split_files(root, cfg.split, ".arrow")
        return datasets.concatenate_datasets([datasets.Dataset.from_file(f) for f in files])
    loaded = datasets.load_from_disk(str(root))
    if isinstance(loaded, datasets.DatasetDict):
        if cfg.split not in loaded:
            raise JepakitError(
                f"data.split: {root} has no split {cfg.split!r}", f"set data.split to one of: {', '.join(loaded)}"
            )
        loaded = loaded[cfg.split]
    return loaded


def _load(root: Path, kind: str, cfg: HFDatasetConfig) -> Any:
    """A `datasets.Dataset` (memory-mapped Arrow) of the configured split."""
    import datasets

    cache = cfg.cache_dir or None
    if kind == "arrow":
        return _load_arrow(root, cfg)
    if kind == "parquet":
        return datasets.load_dataset(
            "parquet", data_files=_split_files(root, cfg.split, ".parquet"), split="train", cache_dir=cache
        )
    try:
        return datasets.load_dataset("imagefolder", data_dir=str(root), split=cfg.split, cache_dir=cache)
    except ValueError as exc:  # unknown split
        raise JepakitError(f"data.split: {exc}", "set data.split to a split of the image folder") from None


def _check_column(columns: list[str], column: str, what: str, root: Path) -> None:
    if column not in columns:
        raise JepakitError(
            f"data.{what}: no column {column!r} in {root}; columns: {', '.join(columns)}",
            f"set data.{what} to one of the columns",
        )


class ArrowReader:
    """Rows of a memory-mapped `datasets.Dataset`; media columns are read undecoded ({"bytes", "path"})."""

    def __init__(self, ds: Any, column: str, label: str) -> None:
        import datasets

        feature = ds.features[column]
        if isinstance(feature, (datasets.Image, datasets.Audio)):
            ds = ds.cast_column(column, type(feature)(decode=False))
        self.ds, self.column, self.label = ds.select_columns([column]), column, label

    def read(self, row: int) -> Any:
        return self.ds[int(row)][self.column]

    def name(self, row: int) -> str:
        return f"row {row} of {self.label}"


class ParquetReader:
    """Rows of Parquet files, a row group at a time: each process opens the files lazily and keeps the last
    `cache` decoded row groups (as Python lists of the one column it reads)."""

    def __init__(
        self, files: list[str], column: str, groups: list[tuple[int, int]], starts: list[int], cache: int
    ) -> None:
        self.files, self.column, self.groups, self.starts = files, column, groups, starts  # starts [G] rows
        self.cache = max(2, int(cache))
        self._open: dict[int, Any] = {}
        self._rows: OrderedDict[int, list[Any]] = OrderedDict()
        self._pid = os.getpid()

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_open": {}, "_rows": OrderedDict(), "_pid": None}

    def group_of(self, row: int) -> int:
        return bisect.bisect_right(self.starts, row) - 1

    def read(self, row: int) -> Any:
        if self._pid != os.getpid():  # a forked or unpickled copy opens its own files
            self._open, self._rows, self._pid = {}, OrderedDict(), os.getpid()
        g = self.group_of(row)
        values = self._rows.get(g)
        if values is None:
            import pyarrow.parquet as pq

            f, i = self.groups[g]
            if f not in self._open:
                self._open[f] = pq.ParquetFile(self.files[f])
            values = self._open[f].read_row_group(i, columns=[self.column]).column(0).to_pylist()
            self._rows[g] = values
            if len(self._rows) > self.cache:
                self._rows.popitem(last=False)
        else:
            self._rows.move_to_end(g)
        return values[row - self.starts[g]]

    def name(self, row: int) -> str:
        f, i = self.groups[self.group_of(row)]
        return f"row {row - self.starts[self.group_of(row)]} of row group {i} of {self.files[f]}"


def _parquet_streaming(
    files: list[str], column: str, label: str, cfg: HFDatasetConfig
) -> tuple[ParquetReader, np.ndarray, list[Any], list[str] | None]:
    """The row-group index of `files` (footers only), the row group of each row, and the stored labels."""
    import pyarrow.parquet as pq
    from datasets import ClassLabel, Features

    groups, starts, shard, stored = [], [], [], []
    names: list[str] | None = None
    total = 0
    for f, file in enumerate(files):
        pf = pq.ParquetFile(file)
        columns = pf.schema_arrow.names
        _check_column(
            columns, column, "image_column" if cfg.sample_column()[0] == "image" else "audio_column", Path(file)
        )
        if label:
            _check_column(columns, label, "label_column", Path(file))
            stored += pf.read(columns=[label]).column(0).to_pylist()
            feature = Features.from_arrow_schema(pf.schema_arrow).get(label)
            names = list(feature.names) if isinstance(feature, ClassLabel) else names
        for i in range(pf.metadata.num_row_groups):
            n = pf.metadata.row_group(i).num_rows
            groups.append((f, i))
            starts.append(total)
            shard.append(np.full(n, len(groups) - 1, dtype=np.int64))
            total += n
    reader = ParquetReader(files, column, groups, starts, cache=cfg.window + 2)
    return reader, np.concatenate(shard) if shard else np.zeros(0, np.int64), stored, names


def hf_dataset(cfg: HFDatasetConfig, seed: int = 0) -> DataSplits:
    """A local Hugging Face dataset split as a map-style dataset; labels from `label_column` (optional).

    Undecodable rows are replaced by the next row and counted in a warning (see jepakit.builtin.shards). The
    probe split ignores the run's `seed`.
    """
    require("datasets", "core/hf-dataset")
    root = cfg.local_root()
    kind, column = cfg.sample_column()
    fmt = _detect(root, cfg.format)
    label = cfg.label_column.strip()
    names: list[str] | None = None
    reader: ParquetReader | ArrowReader
    if cfg.streaming and fmt == "parquet":
        files = _split_files(root, cfg.split, ".parquet")
        reader, shard, stored, names = _parquet_streaming(files, column, label, cfg)
    else:
        if cfg.streaming and fmt == "imagefolder":
            raise JepakitError(
                "data.streaming: an imagefolder is not Parquet; streaming applies to Parquet files",
                "use core/image-folder (it reads image files lazily) or set data.streaming = false",
            )
        ds = _load(root, fmt, cfg)
        what = "image_column" if kind == "image" else "audio_column"
        _check_column(list(ds.column_names), column, what, root)
        if label:
            _check_column(list(ds.column_names), label, "label_column", root)
            stored = ds.data.column(label).to_pylist()
            feature = ds.features[label]
            names = list(feature.names) if hasattr(feature, "names") else None
        else:
            stored = []
        reader = ArrowReader(ds, column, str(root))
        shard = np.zeros(len(ds), dtype=np.int64)  # memory-mapped rows: no locality to keep, a uniform order
    n = min(len(shard), cfg.max_samples or len(shard))
    if n == 0:
        raise JepakitError(f"data.path: split {cfg.split!r} of {root} has no rows", "check data.path and data.split")
    y, classes = class_labels(stored[:n], names) if label else (np.full(n, -1, dtype=np.int64), [])
    data = ShardSamples(
        reader, np.arange(n), shard[:n], y, make_decoder(kind, cfg), window=cfg.window, source="hf-dataset"
    )
    meta: dict[str, Any] = {"format": fmt, "split": cfg.split, "streaming": bool(cfg.streaming and fmt == "parquet")}
    if kind == "audio":
        meta["sample_rate"] = cfg.sample_rate
    name = f"{root.stem or 'hf-dataset'}-{cfg.split}"
    return shard_splits(name, data, kind=kind, cfg=cfg, class_names=classes, meta=meta)
