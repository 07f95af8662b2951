"""The user's own videos: MP4 (PyAV), GIF and frame folders load as clips; broken files are skipped and counted."""

from __future__ import annotations

import logging
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from jepakit_vjepa.config import VideoFolderConfig
from jepakit_vjepa.video_folder import clip_starts, read_frames, video_folder
from PIL import Image

from jepakit.errors import JepakitError
from jepakit.testing.contracts import worker_copy


def _frames(n: int, shade: int, size: int = 24) -> list[np.ndarray]:
    """A bright square moving right over n frames: uint8 RGB [S, S, 3] each."""
    out = []
    for t in range(n):
        f = np.full((size, size, 3), shade, dtype=np.uint8)
        f[8:14, t : t + 6] = 255
        out.append(f)
    return out


def _mp4(path: Path, frames: list[np.ndarray]) -> None:
    import av

    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = frames[0].shape[1], frames[0].shape[0], "yuv420p"
        for f in frames:
            out.mux(stream.encode(av.VideoFrame.from_ndarray(f, format="rgb24")))
        out.mux(stream.encode())


def _gif(path: Path, frames: list[np.ndarray]) -> None:
    ims = [Image.fromarray(f) for f in frames]
    ims[0].save(path, save_all=True, append_images=ims[1:], duration=100, loop=0)


def _folder(path: Path, frames: list[np.ndarray]) -> None:
    path.mkdir()
    for i, f in enumerate(frames):
        Image.fromarray(f).save(path / f"{i:04d}.png")


@pytest.fixture
def videos(tmp_path: Path) -> Path:
    root = tmp_path / "videos"
    for k, cls in enumerate(("dark", "light")):
        (root / cls).mkdir(parents=True)
        shade = 20 + 160 * k
        _mp4(root / cls / "a.mp4", _frames(12, shade))
        _gif(root / cls / "b.gif", _frames(12, shade))
        _folder(root / cls / "c_frames", _frames(12, shade))
    return root


def test_mp4_gif_and_frame_folders_become_clips(videos):
    cfg = VideoFolderConfig(path=str(videos), frames=4, stride=2, clips_per_video=2, size=16, test_fraction=0.34)
    splits = video_folder(cfg)
    assert splits.input_shape == (3, 4, 16, 16) and splits.modality == "video"
    assert splits.class_names == ["dark", "light"]
    assert len(splits.train) + len(splits.test) == 12  # 6 videos x 2 clips
    x, y = splits.train[0]
    assert x.min() >= -1 and x.max() <= 1
    # the folder streams (no .x/.y tensors since clips are decoded per item): read them one by one
    xs = torch.stack([splits.train[i][0] for i in range(len(splits.train))])
    ys = torch.as_tensor([splits.train[i][1] for i in range(len(splits.train))])
    dark, light = xs[ys == 0].mean(), xs[ys == 1].mean()
    assert light > dark  # labels follow the class folders
    moving = xs[0, 0]  # [T, S, S]: the square moves, so frames differ
    assert not np.allclose(moving[0].numpy(), moving[-1].numpy())


def test_splits_pickle_small_and_clips_equal_the_eager_decode(videos, caplog):
    """A worker receives paths and frame numbers, not pixels; a clip read on demand equals what the eager loader
    stacked (every frame decoded, then every stride-th frame of the span); a video that breaks after listing is
    replaced by the next clip and counted."""
    cfg = VideoFolderConfig(path=str(videos), frames=4, stride=2, clips_per_video=3, size=16, test_fraction=0.34)
    splits = video_folder(cfg)
    for split in (splits.train, splits.test):
        blob = pickle.dumps(split)
        assert len(blob) < 4_000, len(blob)  # a clip alone is 3 * 4 * 16 * 16 float32 = 12 kB
        worker = worker_copy(split)  # what a worker holds, rebuilt in memory (no bytes unpickled)
        for i in range(len(worker)):
            x, y = worker[i]
            video, start = worker.path(i), int(worker.index[i, 1])
            frames = read_frames(video, 16, 3)  # the whole video, as the eager loader decoded it
            assert start in clip_starts(len(frames), 7, 3)
            eager = torch.from_numpy(np.stack(frames[start : start + 7 : 2], axis=1)) * 2 - 1
            assert x.shape == (3, 4, 16, 16) and torch.equal(x, eager)
            assert splits.class_names[y] == video.parent.name
    worker = worker_copy(splits.train)
    broken = next(i for i in range(len(worker) - 1) if worker.path(i) != worker.path(i + 1))
    path = worker.path(broken)
    if path.is_dir():
        for f in path.iterdir():
            f.write_bytes(b"broken")
    else:
        path.write_bytes(b"broken")
    with caplog.at_level(logging.WARNING, logger="jepakit"):
        assert torch.equal(worker[broken][0], worker[broken + 1][0])
    assert "using the next clip instead (1 failed" in caplog.text


def test_broken_and_short_videos_are_skipped_and_counted(videos, caplog):
    (videos / "dark" / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 4)
    (videos / "light" / "notes.txt").write_text("not a video")
    _gif(videos / "light" / "short.gif", _frames(2, 200))
    with caplog.at_level(logging.WARNING, logger="jepakit"):
        splits = video_folder(VideoFolderConfig(path=str(videos), frames=4, stride=2, size=16, test_fraction=0.34))
    assert len(splits.train.skipped) == 3
    assert any("skipped 3" in r.message for r in caplog.records)


def test_nothing_usable_is_a_clear_error_naming_the_folder(tmp_path):
    root = tmp_path / "bad"
    for cls in ("a", "b"):
        (root / cls).mkdir(parents=True)
        (root / cls / "x.mp4").write_bytes(b"garbage")
    with pytest.raises(JepakitError, match=r'class folder "a" has 0 usable video'):
        video_folder(VideoFolderConfig(path=str(root), frames=4, size=16))


def test_clip_starts_are_evenly_spread_and_never_overrun():
    assert clip_starts(10, 7, 1) == [1]
    assert clip_starts(10, 7, 3) == [0, 2, 3]
    assert clip_starts(5, 7, 2) == []
    for n, span, k in ((100, 31, 4), (31, 31, 3)):
        assert all(0 <= s <= n - span for s in clip_starts(n, span, k))
