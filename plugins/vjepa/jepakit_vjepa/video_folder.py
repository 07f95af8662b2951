"""The user's own videos: `path/<class>/<video file or folder of frames>`, cut into clips of N frames, streamed.

Video files are decoded with PyAV (FFmpeg bundled in its wheel: MP4, AVI, MOV, MKV, WebM); GIFs with Pillow;
a folder of images is one video, frames in file-name order. Each video yields `clips_per_video` clips of
`frames` frames taken every `stride` frames, evenly spaced over its length.

Listing reads metadata only (PyAV's stream frame count, or its packets counted without decoding; a GIF's
n_frames; a frame folder's file names and image headers), so memory does not grow with the videos: a split
holds (video, first frame) pairs, and a clip is decoded when the loader asks for it, in the DataLoader's
workers. A file that cannot be opened or is too short is skipped at listing time and counted (one warning names
the count and the first file); when a class has fewer than 2 usable videos the error names the folder. A clip
that fails to decode later is replaced by the next clip (deterministically) and counted in a warning, as core's
image folder does with a corrupt image.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from jepakit import JepakitError
from jepakit.api import IMAGE_SUFFIXES, DecodedSamples, class_folders, fit_image, stratified_split
from jepakit.interfaces import DataSplits
from jepakit_vjepa.config import VideoFolderConfig

log = logging.getLogger("jepakit")
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".gif")


def _av() -> Any:
    try:
        import av
    except ImportError as exc:
        raise JepakitError("data.path: video files need PyAV to decode", "pip install av") from exc
    return av


def _frame_files(path: Path) -> list[Path]:
    return sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def count_frames(path: Path) -> int:
    """Frames in a video file or frame folder from metadata only (no pixel is decoded); raises if unreadable."""
    from PIL import Image

    if path.is_dir():
        files = _frame_files(path)
        for file in files:  # headers only, as core's image folder checks them
            with Image.open(file) as im:
                im.size  # noqa: B018
        return len(files)
    if path.suffix.lower() == ".gif":
        with Image.open(path) as im:
            return int(getattr(im, "n_frames", 1))
    with _av().open(str(path)) as container:
        stream = container.streams.video[0]
        if stream.frames:
            return int(stream.frames)
        return sum(1 for packet in container.demux(stream) if packet.size)  # packets read, not decoded


def read_frames(path: Path, size: int, channels: int, stop: int | None = None) -> list[np.ndarray]:
    """The first `stop` frames (None: all) of a video file or frame folder, float32 [C, S, S] in [0, 1]."""
    from PIL import Image, ImageSequence

    if path.is_dir():
        frames = []
        for file in _frame_files(path)[:stop]:
            with Image.open(file) as im:
                frames.append(fit_image(im, size, channels))
        return frames
    if path.suffix.lower() == ".gif":
        with Image.open(path) as im:
            out = []
            for frame in ImageSequence.Iterator(im):
                if stop is not None and len(out) >= stop:
                    break
                out.append(fit_image(frame, size, channels))
            return out
    with _av().open(str(path)) as container:
        out = []
        for frame in container.decode(container.streams.video[0]):
            if stop is not None and len(out) >= stop:
                break
            out.append(fit_image(frame.to_image(), size, channels))
        return out


def clip_starts(n_frames: int, span: int, clips: int) -> list[int]:
    """Start frames of `clips` clips spanning `span` frames each, evenly spread over a video of n_frames."""
    if n_frames < span:
        return []
    last = n_frames - span
    return sorted({round(last * i / max(clips - 1, 1)) for i in range(clips)}) if clips > 1 else [last // 2]


class VideoClips(DecodedSamples):
    """Clips [C, T, S, S] in [-1, 1] decoded on demand; y the class of the video's folder.

    Holds only root-relative video paths (one numpy bytes array), (video, first frame) per clip and the labels,
    so a pickled split (what a DataLoader worker receives) does not grow with the pixels.
    """

    source = "vjepa/video-folder"
    unit = "clip"
    counted = "failed"
    hint = "check the videos (e.g. play them, or av.open(path) and decode)"

    def __init__(
        self,
        root: Path,
        videos: list[Path],
        index: np.ndarray,
        labels: np.ndarray,
        cfg: VideoFolderConfig,
        skipped: list[str],
    ) -> None:
        super().__init__(labels)
        self.root = str(root)
        self.videos = np.array([os.fsencode(os.path.relpath(v, root)) for v in videos], dtype=np.bytes_)  # [V]
        self.index = np.asarray(index, dtype=np.int64).reshape(-1, 2)  # [N, 2]: video, first frame
        self.size, self.channels, self.frames, self.stride = cfg.size, cfg.channels, cfg.frames, cfg.stride
        self.skipped: list[str] = list(skipped)  # left out at listing time

    def subset(self, keep: np.ndarray) -> VideoClips:
        out = VideoClips.__new__(VideoClips)
        out.__dict__.update(self.__dict__, index=self.index[keep], labels=self.labels[keep], failed={})
        return out

    def path(self, i: int) -> Path:
        return Path(self.root) / os.fsdecode(bytes(self.videos[self.index[i, 0]]))

    def clip(self, i: int) -> torch.Tensor:
        """Clip i as the eager loader stacked it: [C, T, S, S] in [-1, 1]."""
        start, span = int(self.index[i, 1]), (self.frames - 1) * self.stride + 1
        video = read_frames(self.path(i), self.size, self.channels, start + span)
        if len(video) < start + span:
            raise ValueError(f"decoded {len(video)} frames, the clip needs {start + span}")
        x = np.stack(video[start : start + span : self.stride], axis=1)  # [C, T, S, S] in [0, 1]
        return torch.from_numpy(x).mul_(2.0).sub_(1.0)

    def _name(self, i: int) -> str:
        return f"clip {i} of {self.path(i)}"

    def _decode(self, i: int, key: int | None) -> torch.Tensor:
        return self.clip(i)


def video_folder(cfg: VideoFolderConfig, seed: int = 0) -> DataSplits:
    """Clips [C, T, S, S] in [-1, 1] with the class of their folder; the split keeps a video's clips together."""
    root = Path(cfg.path).expanduser()
    folders = class_folders(root, cfg)
    span = (cfg.frames - 1) * cfg.stride + 1
    videos: list[Path] = []
    index: list[tuple[int, int]] = []
    labels: list[int] = []
    skipped: list[str] = []
    for label, folder in enumerate(folders):
        for entry in sorted(p for p in folder.iterdir() if not p.name.startswith(".")):
            if entry.is_file() and entry.suffix.lower() not in VIDEO_SUFFIXES:
                skipped.append(str(entry))
                continue
            try:
                starts = clip_starts(count_frames(entry), span, cfg.clips_per_video)
            except JepakitError:
                raise
            except Exception as exc:  # any reader failure means "skip this file"
                log.debug("skipping %s: %s", entry, exc)
                starts = []
            if not starts:
                skipped.append(str(entry))
                continue
            index += [(len(videos), s) for s in starts]
            labels += [label] * len(starts)
            videos.append(entry)
    if skipped:
        log.warning(
            "video-folder: skipped %d unreadable, non-video or too-short entr%s under %s; first: %s",
            len(skipped),
            "y" if len(skipped) == 1 else "ies",
            root,
            skipped[0],
        )
    return _split(root, folders, VideoClips(root, videos, np.asarray(index), np.asarray(labels), cfg, skipped), cfg)


def _split(root: Path, folders: list[Path], clips: VideoClips, cfg: VideoFolderConfig) -> DataSplits:
    names = [f.name for f in folders]
    groups, labels = clips.index[:, 0].tolist(), clips.labels.tolist()  # which video a clip came from
    per_class = [len({g for g, lab in zip(groups, labels, strict=True) if lab == k}) for k in range(len(names))]
    if min(per_class) < 2:
        worst = names[int(np.argmin(per_class))]
        raise JepakitError(
            f'data.path: class folder "{worst}" has {min(per_class)} usable video(s) under {root}',
            f"every class needs 2 videos of at least {(cfg.frames - 1) * cfg.stride + 1} frames "
            "(lower data.frames or data.stride for short videos)",
        )
    video_label = {g: lab for g, lab in zip(groups, labels, strict=True)}
    vids = np.asarray(sorted(video_label))
    n_test = max(int(np.ceil(cfg.test_fraction * len(vids))), len(names))
    train_v, test_v = stratified_split(np.asarray([video_label[g] for g in vids]), n_test, cfg.split_seed)
    is_test = np.isin(clips.index[:, 0], vids[test_v])
    return DataSplits(
        name=root.name or "videos",
        train=clips.subset(np.flatnonzero(~is_test)),
        test=clips.subset(np.flatnonzero(is_test)),
        input_shape=(cfg.channels, cfg.frames, cfg.size, cfg.size),
        num_classes=len(names),
        modality="video",
        class_names=names,
    )
