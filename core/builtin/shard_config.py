"""Config dataclasses of core's sharded datasets (core/webdataset, core/hf-dataset). Torch-free: the TOML schema.

Both read large data by index (docs/data.md says why): the settings below choose what a sample is (an image or
a waveform), how the probes' labelled subset is split, and how many shards' samples are shuffled together.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from jepakit.errors import JepakitError
from jepakit.interfaces import range_pair


@dataclass
class ShardSampleFields:
    """What one sample becomes, how the probes split the labelled samples, and the shuffle window."""

    size: int = 32  # images: side of the square after centre crop + resize
    channels: int = 3  # images: 1 = grayscale, 3 = RGB
    # training augmentation: "none", or "ijepa" = RandomResizedCrop(size, crop_scale) + horizontal flip
    augment: Literal["none", "ijepa"] = "none"
    crop_scale: tuple[float, float] = (0.3, 1.0)  # area fraction range of the random crop (I-JEPA: 0.3-1.0)
    flip: float = 0.5  # probability of a horizontal flip
    sample_rate: int = 16_000  # audio: waveforms are resampled to this rate (Hz), mixed down to mono
    clip_samples: int = 16_000  # audio: samples per clip, cut or zero-padded
    max_samples: int = 0  # read only the first N samples in shard order; 0 = all
    # labelled samples the probes use (a fixed stratified subset); 0 = all. Training reads every sample that
    # is not in the probes' test split.
    probe_samples: int = 0
    test_fraction: float = 0.2  # fraction of the probes' samples held out for testing, stratified by class
    split_seed: int = 0  # random_state of the probe subset and split (fixed, independent of the run's seed)
    # shards (tar files, Parquet row groups) whose samples are shuffled together: each epoch permutes the
    # shards by (seed, epoch), then shuffles samples within consecutive windows of this many shards, so reads
    # stay local. 0 = one uniform permutation of every sample.
    window: int = 8

    def __post_init__(self) -> None:
        if self.size < 1:
            raise ValueError(f"size must be at least 1, got {self.size}")
        if self.channels not in (1, 3):
            raise ValueError(f"channels must be 1 (grayscale) or 3 (RGB), got {self.channels}")
        if self.augment not in ("none", "ijepa"):
            raise ValueError(f'augment must be "none" or "ijepa", got {self.augment!r}')
        self.crop_scale = range_pair("crop_scale", self.crop_scale, 0.0, 1.0, open_low=True)
        if not 0.0 <= self.flip <= 1.0:
            raise ValueError(f"flip is a probability in [0, 1], got {self.flip}")
        if self.sample_rate < 1 or self.clip_samples < 1:
            raise ValueError("sample_rate and clip_samples must be positive")
        if min(self.max_samples, self.probe_samples, self.window) < 0:
            raise ValueError("max_samples, probe_samples and window must be >= 0 (0 = all / no window)")
        if not 0.0 < self.test_fraction < 1.0:
            raise ValueError(f"test_fraction must lie in (0, 1), got {self.test_fraction}")


def _keys(value: str) -> list[str]:
    return [k.strip().lower().lstrip(".") for k in value.split(";") if k.strip()]


@dataclass
class WebDatasetConfig(ShardSampleFields):
    """WebDataset tar shards (local files): each sample is the tar members sharing a key (`0001.png`,
    `0001.cls`). Read by index: member offsets are scanned once per shard and cached, so any sample is one
    positioned read. Uncompressed tars only (a .tar.gz has no offsets to seek to)."""

    urls: str | list[str] = ""  # a brace pattern ("shards/train-{000000..000099}.tar") or a list of paths
    image_key: str = ""  # the image member's extension, alternatives split by ";"; "" = "png;jpg;jpeg;webp"
    audio_key: str = ""  # e.g. "flac;wav": samples are waveforms [1, clip_samples] instead of images
    label_key: str = ""  # e.g. "cls": an integer or class-name text member; "" = unlabelled (label -1)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.image_key.strip() and self.audio_key.strip():
            raise ValueError("set image_key or audio_key, not both: a sample is one image or one waveform")
        if not isinstance(self.urls, str) and not all(isinstance(u, str) for u in self.urls):
            raise ValueError("urls must be a string (brace pattern) or a list of paths")

    @property
    def labelled(self) -> bool:
        """False without a label_key: read before training, so an unlabelled run must name its [eval.sets]."""
        return bool(self.label_key.strip())

    def check(self, key: str = "data") -> None:
        """Without opening a shard (`jepakit.framework.checks`): some shard is named."""
        if not (self.urls.strip() if isinstance(self.urls, str) else self.urls):
            raise JepakitError(
                f"{key}.urls is empty: core/webdataset reads tar shards",
                f'set {key}.urls = "/data/shards/train-{{000000..000099}}.tar" (a brace pattern) or a list',
            )

    def sample_keys(self) -> tuple[str, list[str]]:
        """("image" | "audio", the member extensions to try in order)."""
        if self.audio_key.strip():
            return "audio", _keys(self.audio_key)
        return "image", _keys(self.image_key) or ["png", "jpg", "jpeg", "webp"]


@dataclass
class HFDatasetConfig(ShardSampleFields):
    """Hugging Face `datasets` data on local disk: Parquet files, Arrow (`save_to_disk` folders, `.arrow`
    files) or an imagefolder. Never downloads: a hub name instead of a path is an error that says how to get a
    local copy."""

    path: str = ""  # a local file or folder
    format: Literal["auto", "parquet", "arrow", "imagefolder"] = "auto"  # auto: from the files found
    split: str = "train"  # the split to read (file names like train-00000-of-00004.parquet, or a DatasetDict key)
    image_column: str = ""  # "" = "image" unless audio_column is set
    audio_column: str = ""  # a waveform column (HF Audio or raw bytes): samples are [1, clip_samples]
    label_column: str = ""  # an int, ClassLabel or string column; "" = unlabelled (label -1)
    # Parquet only: read row groups straight from the files (no copy into the datasets cache); Arrow is
    # memory-mapped either way. false: load_dataset converts the files into cache_dir once.
    streaming: bool = False
    cache_dir: str = ""  # where load_dataset writes its Arrow copy; "" = the datasets library's default

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.image_column.strip() and self.audio_column.strip():
            raise ValueError("set image_column or audio_column, not both: a sample is one image or one waveform")
        if self.format not in ("auto", "parquet", "arrow", "imagefolder"):
            raise ValueError(f'format must be "auto", "parquet", "arrow" or "imagefolder", got {self.format!r}')

    @property
    def labelled(self) -> bool:
        """False without a label_column: read before training, so an unlabelled run must name its [eval.sets]."""
        return bool(self.label_column.strip())

    def local_root(self, key: str = "data") -> Path:
        """The local file or folder `path` names; empty, absent or a hub name is a JepakitError naming the key."""
        if not self.path.strip():
            raise JepakitError(
                f"{key}.path is empty: core/hf-dataset reads local Parquet, Arrow or imagefolder data",
                f'set {key}.path = "/data/my-dataset" (a folder or a .parquet/.arrow file)',
            )
        root = Path(self.path).expanduser()
        if root.exists():
            return root
        if "/" in self.path.strip("/") and not self.path.startswith((".", "/", "~")):
            raise JepakitError(
                f"{key}.path: {self.path} is not a local file or folder (a hub name?); core/hf-dataset "
                "reads local data only and never downloads",
                f"make a local copy where there is network, e.g. `huggingface-cli download {self.path} "
                f"--repo-type dataset --local-dir /data/{self.path.split('/')[-1]}`, then set {key}.path "
                "to that folder",
            )
        raise JepakitError(f"{key}.path: not found: {root}", "check the path; it must be a local file or folder")

    def check(self, key: str = "data") -> None:
        """Without reading data (`jepakit.framework.checks`): the path names local data."""
        self.local_root(key)

    def sample_column(self) -> tuple[str, str]:
        """("image" | "audio", the column a sample is decoded from)."""
        if self.audio_column.strip():
            return "audio", self.audio_column.strip()
        return "image", self.image_column.strip() or "image"
