"""Large data read by index: the machinery core/webdataset and core/hf-dataset share.

Design: a sharded dataset here is map-style. Each reader (tar shards, Parquet row groups, Arrow tables) exposes
an *index*, one row per sample with the shard it lives in, and reads any row directly (a positioned read in a
tar file, a row of a cached row group, a memory-mapped Arrow row). Core's loader then does what it does for
every dataset: the batch of step s is a function of (seed, s), data-parallel ranks slice the same global batch,
and a resumed run reads exactly the batches the uninterrupted run would have read. So the DDP + resume contract
holds with no iterator state in checkpoints and no engine change beyond one optional hook:

- order: `ShardSamples.epoch_order(seed, epoch)` is the loader's permutation for that epoch (instead of a
  uniform one): the shards are permuted by (seed, epoch), and the samples of each window of `window`
  consecutive shards are shuffled together. Reads stay within a few shards at a time (one row group decoded
  serves many samples; a tar file is read in one region), and the order is still a pure function of
  (seed, epoch): a test can recompute it.
- ranks and workers: every rank computes the same permutation and keeps its slice of each global batch;
  DataLoader workers fetch whole batches. So within an epoch every sample is read exactly once, by exactly one
  rank and one worker, for any world size and any number of workers. (A stream reader needs each reader on
  its own shards because a stream cannot skip; an indexed reader reads exactly its own samples.)
- resume: the step alone locates the epoch and the position in it; a killed run resumes like an in-memory one.

Bad data: a sample that fails to decode is replaced by the next sample of the view (deterministic, so a batch
stays a function of its key) and counted in a warning; the readers skip what their index scan finds broken
(a truncated tar tail, a sample without the image member) with one warning each.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np
import torch

from jepakit.errors import JepakitError
from jepakit.interfaces import DataSplits
from jepakit.library.data import fit_image, stratified_split
from jepakit.library.images import Augment, DecodedSamples, make_augment

log = logging.getLogger("jepakit")


class RowReader(Protocol):
    """Reads one sample's stored value (bytes, or a `{"bytes", "path"}` dict as Hugging Face stores media)."""

    def read(self, row: int) -> Any: ...

    def name(self, row: int) -> str: ...


def require(module: str, part: str) -> None:
    """A clear error when an optional package of jepakit's `data` extra is missing."""
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise JepakitError(
            f"{part} needs the {module!r} package, which is not installed",
            "install jepakit's data extra: pip install 'jepakit[data]' (make install does)",
        )


def _mix(seed: int, salt: int, value: int) -> int:
    return (seed * 1_000_003 + salt * 7_919 + value) % (2**63 - 1)


def shard_major_order(shard: np.ndarray, seed: int, epoch: int, window: int) -> torch.Tensor:
    """A permutation of range(len(shard)), a pure function of (shard ids, seed, epoch, window).

    The distinct shards are permuted; the samples of each run of `window` consecutive shards of that
    permutation are shuffled together and the runs concatenated. window <= 0, or at least the number of
    shards: one uniform permutation of every sample.
    """
    n = len(shard)
    g = torch.Generator().manual_seed(_mix(seed, 5, epoch))
    ids, counts = np.unique(shard, return_counts=True)
    if window <= 0 or len(ids) <= window:
        return torch.randperm(n, generator=g)
    grouped = torch.from_numpy(np.argsort(shard, kind="stable"))  # [N] positions, shard by shard
    starts = np.concatenate([[0], np.cumsum(counts)])
    shard_perm = torch.randperm(len(ids), generator=g).tolist()
    parts = []
    for w in range(0, len(ids), window):
        members = torch.cat([grouped[starts[s] : starts[s + 1]] for s in shard_perm[w : w + window]])
        parts.append(members[torch.randperm(len(members), generator=g)])
    return torch.cat(parts)


def as_bytes(value: Any) -> bytes:
    """A stored media value as bytes: raw bytes, or Hugging Face's {"bytes": ..., "path": ...} struct."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, dict):
        if value.get("bytes"):
            return bytes(value["bytes"])
        if value.get("path"):
            with open(value["path"], "rb") as f:
                return f.read()
    raise ValueError(f"no media bytes in a {type(value).__name__} value")


class ImageDecoder:
    """Stored image bytes -> float32 [C, S, S] in [-1, 1]: centre crop + resize (the image folder's pixels), or,
    given a key and an augmentation, I-JEPA's random resized crop + flip drawn from the key."""

    def __init__(self, size: int, channels: int, augment: Augment | None = None) -> None:
        self.size, self.channels, self.augment = int(size), int(channels), augment

    def __call__(self, value: Any, key: int | None) -> torch.Tensor:
        from PIL import Image

        with Image.open(io.BytesIO(as_bytes(value))) as im:
            im.seek(0)  # first frame of an animated gif/webp
            if key is None or self.augment is None:
                arr = fit_image(im, self.size, self.channels)  # [C, S, S] in [0, 1]
            else:
                im = self.augment(im.convert("L" if self.channels == 1 else "RGB"), key)  # S x S PIL image
                arr = np.asarray(im, dtype=np.float32).reshape(self.size, self.size, self.channels)
                arr = arr.transpose(2, 0, 1) / 255.0  # [C, S, S]
        return torch.from_numpy(np.ascontiguousarray(arr)).mul_(2.0).sub_(1.0)


class AudioDecoder:
    """Stored audio bytes (wav, flac, ogg: whatever soundfile reads) -> mono float32 [1, clip_samples] at
    `sample_rate` (linear resampling), cut or zero-padded. A-JEPA's front end turns such clips into log-mel."""

    def __init__(self, sample_rate: int, clip_samples: int) -> None:
        self.sample_rate, self.clip_samples = int(sample_rate), int(clip_samples)

    def __call__(self, value: Any, key: int | None) -> torch.Tensor:
        import soundfile as sf

        data, rate = sf.read(io.BytesIO(as_bytes(value)), dtype="float32", always_2d=True)  # [T, channels]
        if data.size == 0:
            raise ValueError("no audio samples")
        wave = data.mean(axis=1)  # [T] mono
        if int(rate) != self.sample_rate:
            n = max(1, round(len(wave) * self.sample_rate / int(rate)))
            wave = np.interp(np.arange(n) * (int(rate) / self.sample_rate), np.arange(len(wave)), wave)
        wave = np.asarray(wave[: self.clip_samples], dtype=np.float32)
        if not np.isfinite(wave).all():
            raise ValueError("non-finite samples")
        wave = np.pad(wave, (0, self.clip_samples - len(wave)))
        return torch.from_numpy(wave)[None]  # [1, S]


class ShardSamples(DecodedSamples):
    """Rows of a sharded store decoded on demand: x from `decoder`, y the label (-1 when unlabelled).

    `rows` are the reader's row ids of this view, `shard` the shard each lives in (the unit `epoch_order` keeps
    together). `dataset[i]` is the clean sample; the loader's `sample(i, key)` is the augmented one.
    """

    def __init__(
        self,
        reader: RowReader,
        rows: np.ndarray,
        shard: np.ndarray,
        labels: np.ndarray,
        decoder: Callable[[Any, int | None], torch.Tensor],
        *,
        window: int,
        source: str,
        skipped: list[str] | None = None,
    ) -> None:
        super().__init__(labels)
        self.reader, self.decoder, self.window, self.source = reader, decoder, int(window), source
        self.rows = np.asarray(rows, dtype=np.int64)  # [N]
        self.shard = np.asarray(shard, dtype=np.int64)  # [N]
        self.skipped: list[str] = list(skipped or [])

    def view(self, index: np.ndarray) -> ShardSamples:
        """The samples at positions `index` of this view (a split), sharing reader and decoder."""
        index = np.asarray(index, dtype=np.int64)
        return ShardSamples(
            self.reader,
            self.rows[index],
            self.shard[index],
            self.labels[index],
            self.decoder,
            window=self.window,
            source=self.source,
            skipped=self.skipped,
        )

    def epoch_order(self, seed: int, epoch: int) -> torch.Tensor:
        """The loader's permutation of this view for `epoch`: shard-major (see the module docstring)."""
        return shard_major_order(self.shard, seed, epoch, self.window)

    def _decode(self, i: int, key: int | None) -> torch.Tensor:
        return self.decoder(self.reader.read(int(self.rows[i])), key)

    def _name(self, i: int) -> str:
        return self.reader.name(int(self.rows[i]))


def make_decoder(kind: str, cfg: Any) -> Callable[[Any, int | None], torch.Tensor]:
    """The decoder a config asks for: images (with its training augmentation) or audio waveforms."""
    if kind == "audio":
        return AudioDecoder(cfg.sample_rate, cfg.clip_samples)
    return ImageDecoder(cfg.size, cfg.channels, make_augment(cfg.augment, cfg.size, cfg.crop_scale, cfg.flip))


def sample_shape(kind: str, cfg: Any) -> tuple[int, ...]:
    return (1, int(cfg.clip_samples)) if kind == "audio" else (int(cfg.channels), int(cfg.size), int(cfg.size))


def class_labels(values: list[Any], names: list[str] | None = None) -> tuple[np.ndarray, list[str]]:
    """Stored labels -> (int labels [N], class names); None, "" or a negative int is unlabelled (-1).

    Integers (or integer text such as WebDataset's `.cls`) are their own class index (names "0".."K-1", or
    `names` when the store declares them); other text is a class name, indexed in sorted order.
    """
    texts = [v.decode("utf-8", "replace").strip() if isinstance(v, (bytes, bytearray)) else v for v in values]
    present = [v for v in texts if v is not None and v != ""]
    if all(isinstance(v, (int, np.integer)) or (isinstance(v, str) and v.lstrip("-").isdigit()) for v in present):
        y = np.array([-1 if v is None or v == "" else max(-1, int(v)) for v in texts], dtype=np.int64)
        k = int(y.max()) + 1 if len(y) else 0
        return y, list(names) if names and len(names) >= k else [str(i) for i in range(k)]
    classes = sorted({str(v) for v in present})
    lookup = {c: i for i, c in enumerate(classes)}
    return np.array([lookup.get(str(v), -1) if v is not None else -1 for v in texts], dtype=np.int64), classes


def shard_splits(
    name: str, data: ShardSamples, *, kind: str, cfg: Any, class_names: list[str], meta: dict[str, Any] | None = None
) -> DataSplits:
    """DataSplits of a sharded store: probes on a fixed stratified split of the labelled samples (or of
    `probe_samples` of them), training on every sample outside the probes' test split.

    Unlabelled (no labelled sample): everything is `pretrain` and train/test are None, as for an unlabelled image
    folder. The split ignores the run's seed, so every run of a store is scored on one test set.
    """
    meta = {"skipped": data.skipped, **(meta or {})}
    shape, modality = sample_shape(kind, cfg), kind
    labelled = np.flatnonzero(data.labels >= 0)
    if len(labelled) == 0:
        return DataSplits(
            name=name,
            train=None,
            test=None,
            pretrain=data,
            input_shape=shape,
            num_classes=0,
            modality=modality,
            meta=meta,
        )
    y = data.labels[labelled]
    counts = np.bincount(y, minlength=len(class_names))
    present = np.flatnonzero(counts)
    if counts[present].min() < 2 or len(present) < 2:
        worst = class_names[int(present[counts[present].argmin()])] if len(present) else "?"
        raise JepakitError(
            f"data: {name} has {len(present)} labelled class(es); class {worst!r} has "
            f"{int(counts[present].min())} sample(s)",
            "probes need at least 2 classes with 2 labelled samples each; fix the labels, or leave "
            "the label key/column unset to pretrain without labels",
        )
    probes = max(int(cfg.probe_samples), 2 * len(present))  # at least one train and one test sample per class
    if cfg.probe_samples and probes <= len(labelled) - len(present):
        _, keep = stratified_split(y, probes, int(cfg.split_seed))  # a fixed stratified subset of `probes`
        labelled, y = labelled[keep], y[keep]
    n_test = min(max(int(np.ceil(cfg.test_fraction * len(y))), len(present)), len(y) - len(present))
    train, test = stratified_split(y, n_test, int(cfg.split_seed))
    test_pos = labelled[test]
    rest = np.setdiff1d(np.arange(len(data)), test_pos)  # training reads every sample the probes do not test on
    probe_train = data.view(labelled[train])
    pretrain = None if np.array_equal(rest, labelled[train]) else data.view(rest)
    return DataSplits(
        name=name,
        train=probe_train,
        test=data.view(test_pos),
        pretrain=pretrain,
        input_shape=shape,
        num_classes=len(class_names),
        modality=modality,
        class_names=list(class_names),
        meta=meta,
    )
