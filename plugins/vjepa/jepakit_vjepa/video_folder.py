"""The user's own videos: `path/<class>/<video file or folder of frames>`, cut into clips of N frames.

Video files are decoded with PyAV (FFmpeg bundled in its wheel: MP4, AVI, MOV, MKV, WebM); GIFs with Pillow;
a folder of images is one video, frames in file-name order. Each video yields `clips_per_video` clips of
`frames` frames taken every `stride` frames, evenly spaced over its length. A file that cannot be decoded or is
too short is skipped and counted (one warning names the count and the first file); when nothing usable is
left the error names the folder.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch

from jepakit import JepakitError
from jepakit.api import IMAGE_SUFFIXES, ImageSplit, class_folders, fit_image, stratified_split
from jepakit.interfaces import DataSplits
from jepakit_vjepa.config import VideoFolderConfig

log = logging.getLogger("jepakit")
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".gif")


def _decode_file(path: Path, size: int, channels: int) -> list[np.ndarray]:
    """Every frame of a video file as float32 [C, S, S] in [0, 1]; raises on anything undecodable."""
    if path.suffix.lower() == ".gif":
        from PIL import Image, ImageSequence

        with Image.open(path) as im:
            return [fit_image(frame, size, channels) for frame in ImageSequence.Iterator(im)]
    try:
        import av
    except ImportError as exc:
        raise JepakitError(f"data.path: {path.name} needs PyAV to decode", "pip install av") from exc
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return [fit_image(frame.to_image(), size, channels) for frame in container.decode(stream)]


def _decode_folder(path: Path, size: int, channels: int) -> list[np.ndarray]:
    from PIL import Image

    frames = []
    for file in sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES):
        with Image.open(file) as im:
            frames.append(fit_image(im, size, channels))
    return frames


def clip_starts(n_frames: int, span: int, clips: int) -> list[int]:
    """Start frames of `clips` clips spanning `span` frames each, evenly spread over a video of n_frames."""
    if n_frames < span:
        return []
    last = n_frames - span
    return sorted({round(last * i / max(clips - 1, 1)) for i in range(clips)}) if clips > 1 else [last // 2]


def _clips(video: list[np.ndarray], cfg: VideoFolderConfig) -> list[np.ndarray]:
    span = (cfg.frames - 1) * cfg.stride + 1
    out = []
    for start in clip_starts(len(video), span, cfg.clips_per_video):
        out.append(np.stack(video[start : start + span : cfg.stride], axis=1))  # [C, T, S, S]
    return out


def video_folder(cfg: VideoFolderConfig, seed: int = 0) -> DataSplits:
    """Clips [C, T, S, S] in [-1, 1] with the class of their folder; the split keeps a video's clips together."""
    root = Path(cfg.path).expanduser()
    folders = class_folders(root, cfg)
    clips: list[np.ndarray] = []
    labels: list[int] = []
    groups: list[int] = []  # which video a clip came from
    skipped: list[str] = []
    for label, folder in enumerate(folders):
        for entry in sorted(p for p in folder.iterdir() if not p.name.startswith(".")):
            if entry.is_file() and entry.suffix.lower() not in VIDEO_SUFFIXES:
                skipped.append(str(entry))
                continue
            try:
                decode = _decode_folder if entry.is_dir() else _decode_file
                got = _clips(decode(entry, cfg.size, cfg.channels), cfg)
            except JepakitError:
                raise
            except Exception as exc:  # any decoder failure means "skip this file"
                log.debug("skipping %s: %s", entry, exc)
                got = []
            if not got:
                skipped.append(str(entry))
                continue
            clips += got
            labels += [label] * len(got)
            groups += [len(set(groups))] * len(got)
    if skipped:
        log.warning(
            "video-folder: skipped %d unreadable, non-video or too-short entr%s under %s; first: %s",
            len(skipped),
            "y" if len(skipped) == 1 else "ies",
            root,
            skipped[0],
        )
    return _split(root, folders, clips, labels, groups, skipped, cfg)


def _split(
    root: Path,
    folders: list[Path],
    clips: list[np.ndarray],
    labels: list[int],
    groups: list[int],
    skipped: list[str],
    cfg: VideoFolderConfig,
) -> DataSplits:
    names = [f.name for f in folders]
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
    test_set = set(vids[test_v].tolist())
    x = torch.from_numpy(np.stack(clips)).mul_(2.0).sub_(1.0)  # [N, C, T, S, S]
    y = torch.as_tensor(labels, dtype=torch.long)
    is_test = torch.as_tensor([g in test_set for g in groups])
    train, test = ImageSplit(x[~is_test], y[~is_test], skipped), ImageSplit(x[is_test], y[is_test], skipped)
    return DataSplits(
        name=root.name or "videos",
        train=train,
        test=test,
        input_shape=tuple(x.shape[1:]),
        num_classes=len(names),
        modality="video",
        class_names=names,
    )
