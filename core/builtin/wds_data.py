"""core/webdataset: WebDataset tar shards read by index (the design is in jepakit.builtin.shards).

`urls` is expanded as the `webdataset` package expands it (brace patterns, "::" joins, $WDS_ variables) and
members are grouped into samples by its key rule (`base_plus_ext`: "dir/0001.seg.png" -> key "dir/0001",
extension "seg.png"), so a shard written by webdataset's TarWriter reads the same here. Instead of streaming
the tar, each shard's member offsets are scanned once with `tarfile` (headers only; the data is skipped) and
cached under the jepakit cache folder, keyed by the shard's path, size and modification time. A sample is then
one positioned read (`os.pread`), so any sample can be read in any order by any worker.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tarfile
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from jepakit.builtin.shard_config import WebDatasetConfig
from jepakit.builtin.shards import ShardSamples, class_labels, make_decoder, require, shard_splits
from jepakit.errors import JepakitError
from jepakit.interfaces import DataSplits
from jepakit.library.data import cache_dir

log = logging.getLogger("jepakit")

INDEX_VERSION = 1  # bump when the cached index layout changes
SMALL = 64  # members up to this many bytes (labels, short text) are kept in the index itself
COMPRESSED = {"gzip": b"\x1f\x8b", "bzip2": b"BZh", "xz": b"\xfd7zXZ\x00", "zstd": b"\x28\xb5\x2f\xfd"}


def shard_paths(urls: str | list[str]) -> list[Path]:
    """The shard files `urls` names, in order; JepakitError for an empty pattern or a missing file."""
    from webdataset.shardlists import expand_urls

    if isinstance(urls, str):
        paths = expand_urls(urls) if urls.strip() else []
    else:
        paths = [p for u in urls for p in (expand_urls(u) if "{" in u or "::" in u else [u])]
    if not paths:
        raise JepakitError(
            "data.urls is empty: core/webdataset reads tar shards",
            'set data.urls = "/data/shards/train-{000000..000099}.tar" (a brace pattern) or a list',
        )
    out = []
    for p in paths:
        if "://" in p or p.startswith("pipe:"):
            raise JepakitError(
                f"data.urls: {p} is not a local path",
                "copy the shards to local disk first; core/webdataset reads local files by offset",
            )
        path = Path(p).expanduser()
        if not path.is_file():
            more = f" ({len(paths)} shard(s) in the pattern)" if len(paths) > 1 else ""
            raise JepakitError(
                f"data.urls: shard not found: {path}{more}",
                "check the path and the brace range, e.g. train-{000000..000009}.tar for 10 shards",
            )
        out.append(path)
    return out


def scan_tar(path: Path) -> tuple[dict[str, np.ndarray], str]:
    """Every regular member of one tar: name, data offset, size, and the bytes of small members; plus why the
    scan stopped early ("" when the whole file was read). Headers only: member data is skipped, not read."""
    with open(path, "rb") as f:
        magic = f.read(6)
    packed = next((kind for kind, head in COMPRESSED.items() if magic.startswith(head)), None)
    if packed:
        raise JepakitError(
            f"data.urls: {path} is a {packed}-compressed tar: its samples cannot be read by offset",
            f"decompress the shards (e.g. `{packed} -d`) and point data.urls at the .tar files",
        )
    names, offsets, sizes, small = [], [], [], []
    why = ""
    file_size = path.stat().st_size
    try:
        with tarfile.open(path, "r:") as tf, open(path, "rb") as raw:
            for m in tf:
                if not m.isreg():
                    continue
                if m.offset_data + m.size > file_size:
                    why = f"member {m.name} ends past the end of the file"
                    break
                names.append(m.name)
                offsets.append(m.offset_data)
                sizes.append(m.size)
                small.append(os.pread(raw.fileno(), m.size, m.offset_data) if m.size <= SMALL else b"")
    except (tarfile.TarError, OSError, EOFError) as exc:
        why = f"{type(exc).__name__}: {exc}"
    index = {
        "names": np.array(names, dtype=np.str_),
        "offsets": np.array(offsets, dtype=np.int64),
        "sizes": np.array(sizes, dtype=np.int64),
        "small": np.array(small, dtype=f"S{SMALL}"),
    }
    return index, why


def _cached_scan(path: Path) -> tuple[dict[str, np.ndarray], str]:
    """`scan_tar` through the cache folder (JEPAKIT_CACHE): an unchanged shard is scanned once."""
    root = cache_dir()
    st = path.stat()
    key = hashlib.sha1(f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}|{INDEX_VERSION}".encode()).hexdigest()[:20]
    file = root / "shard-index" / f"{path.stem}-{key}.npz" if root is not None else None
    if file is not None and file.is_file():
        try:
            with np.load(file) as z:
                return {k: z[k] for k in ("names", "offsets", "sizes", "small")}, str(z["why"])
        except (OSError, ValueError, KeyError) as exc:
            log.debug("ignoring unreadable shard index %s: %s", file, exc)
    index, why = scan_tar(path)
    if file is not None:
        try:  # atomic: a temp file renamed over the target; failing only costs the cache
            file.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=file.parent, prefix=f".{file.name}.", suffix=".tmp")
            try:
                with os.fdopen(fd, "wb") as f:
                    np.savez(
                        f,
                        why=np.array(why),
                        names=index["names"],
                        offsets=index["offsets"],
                        sizes=index["sizes"],
                        small=index["small"],
                    )
                os.replace(tmp, file)
            finally:
                Path(tmp).unlink(missing_ok=True)
        except OSError as exc:
            log.debug("could not write shard index %s: %s", file, exc)
    return index, why


class TarReader:
    """Reads a sample's member by offset. File descriptors are opened lazily per process (never pickled), and
    `os.pread` does not move a shared file position, so forked workers can share nothing by accident."""

    def __init__(
        self, paths: list[Path], shard: np.ndarray, offsets: np.ndarray, sizes: np.ndarray, keys: np.ndarray
    ) -> None:
        self.paths = [str(p) for p in paths]
        self.shard, self.offsets, self.sizes, self.keys = shard, offsets, sizes, keys  # [R] each
        self._fds: dict[int, int] = {}
        self._pid = os.getpid()

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_fds": {}, "_pid": None}

    def __del__(self) -> None:
        if getattr(self, "_pid", None) == os.getpid():
            for fd in self._fds.values():
                os.close(fd)

    def read(self, row: int) -> bytes:
        if self._pid != os.getpid():  # a forked or unpickled copy: the parent's descriptors are not ours
            self._fds, self._pid = {}, os.getpid()
        s = int(self.shard[row])
        fd = self._fds.get(s)
        if fd is None:
            if len(self._fds) >= 64:  # bound the open files; shard-major order rarely comes back soon
                os.close(self._fds.pop(next(iter(self._fds))))
            fd = self._fds[s] = os.open(self.paths[s], os.O_RDONLY)
        data = os.pread(fd, int(self.sizes[row]), int(self.offsets[row]))
        if len(data) != int(self.sizes[row]):
            raise ValueError(f"short read ({len(data)} of {int(self.sizes[row])} bytes): the shard changed")
        return data

    def name(self, row: int) -> str:
        return f"{self.paths[int(self.shard[row])]}:{bytes(self.keys[row]).decode(errors='replace')}"


def _samples(
    index: dict[str, np.ndarray], exts: list[str], label_key: str
) -> tuple[list[tuple[str, int, int, Any]], int]:
    """Members grouped by key as webdataset groups them (consecutive members with one key): (key, offset, size,
    stored label) of each sample that has one of `exts`, and how many samples had none."""
    from webdataset.tariterators import base_plus_ext

    out: list[tuple[str, int, int, Any]] = []
    missing = 0
    current: str | None = None
    members: dict[str, int] = {}

    def flush() -> None:
        nonlocal missing
        if current is None:
            return
        hit = next((e for e in exts if e in members), None)
        if hit is None:
            missing += 1
            return
        j = members[hit]
        label = index["small"][members[label_key]] if label_key and label_key in members else None
        out.append((current, int(index["offsets"][j]), int(index["sizes"][j]), label))

    for j, fname in enumerate(index["names"].tolist()):
        if "/" not in fname and fname.startswith("__") and fname.endswith("__"):
            continue  # webdataset's metadata members
        key, ext = base_plus_ext(fname)
        if key is None:
            continue
        if key != current:
            flush()
            current, members = key, {}
        members[ext.lower()] = j
    flush()
    return out, missing


def webdataset(cfg: WebDatasetConfig, seed: int = 0) -> DataSplits:
    """WebDataset shards as a map-style dataset: samples in shard order, labels from `label_key` (optional).

    A truncated or unreadable shard keeps the samples before the damage; samples without the image (audio)
    member are skipped; both are counted in one warning each. The split ignores the run's `seed`.
    """
    require("webdataset", "core/webdataset")
    paths = shard_paths(cfg.urls)
    kind, exts = cfg.sample_keys()
    label_key = cfg.label_key.strip().lower().lstrip(".")
    shard: list[int] = []
    offsets: list[int] = []
    sizes: list[int] = []
    keys: list[str] = []
    stored: list[Any] = []
    damaged: list[str] = []
    missing = 0
    for s, path in enumerate(paths):
        index, why = _cached_scan(path)
        if why:
            damaged.append(f"{path} ({why})")
        found, lost = _samples(index, exts, label_key)
        missing += lost
        shard += [s] * len(found)
        keys += [f[0] for f in found]
        offsets += [f[1] for f in found]
        sizes += [f[2] for f in found]
        stored += [f[3] for f in found]
        if cfg.max_samples and len(shard) >= cfg.max_samples:
            break
    if damaged:
        log.warning("webdataset: %d damaged shard(s), their readable samples kept; first: %s", len(damaged), damaged[0])
    if missing:
        log.warning("webdataset: skipped %d sample(s) without a %s member", missing, "/".join(exts))
    n = min(len(shard), cfg.max_samples or len(shard))
    if n == 0:
        raise JepakitError(
            f"data.urls: no sample with a {'/'.join(exts)} member in {len(paths)} shard(s), first {paths[0]}",
            f'set data.{kind}_key to the extension your samples use, e.g. "jpg"',
        )
    y, names = class_labels(stored[:n])
    reader = TarReader(
        paths,
        np.array(shard[:n], dtype=np.int32),
        np.array(offsets[:n], dtype=np.int64),
        np.array(sizes[:n], dtype=np.int64),
        np.array([k.encode() for k in keys[:n]], dtype=np.bytes_),
    )
    skipped = damaged + ([f"{missing} sample(s) without a {'/'.join(exts)} member"] if missing else [])
    data = ShardSamples(
        reader,
        np.arange(n),
        reader.shard,
        y,
        make_decoder(kind, cfg),
        window=cfg.window,
        source="webdataset",
        skipped=skipped,
    )
    stem = paths[0].stem.rstrip("0123456789-_.")
    name = "-".join(p for p in (paths[0].parent.name, stem) if p) or "shards"
    return shard_splits(
        name,
        data,
        kind=kind,
        cfg=cfg,
        class_names=names,
        meta={"shards": len(paths), "sample_rate": cfg.sample_rate} if kind == "audio" else {"shards": len(paths)},
    )
