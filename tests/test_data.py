"""Built-in datasets: digits follows the fixed protocol, glyphs is deterministic, image folders fail politely."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
import torch

from jepakit.builtin.config import DigitsConfig, GlyphsConfig, ImageFolderConfig
from jepakit.builtin.data import digits, glyphs, image_folder
from jepakit.errors import JepakitError


@pytest.fixture(autouse=True)
def _no_disk_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("JEPAKIT_CACHE", str(tmp_path / "cache"))


def test_digits_protocol() -> None:
    s = digits(DigitsConfig())
    assert (len(s.train), len(s.test)) == (1400, 397)
    assert s.input_shape == (1, 16, 16) and s.num_classes == 10
    x, y = s.train[0]
    assert x.shape == (1, 16, 16) and x.dtype == torch.float32 and isinstance(y, int)
    assert s.train.x.min() >= -1.0 and s.train.x.max() <= 1.0
    assert s.train.x.min() == -1.0 and s.train.x.max() > 0.9  # background is -1, ink reaches near +1
    train_counts = np.bincount(s.train.y.numpy(), minlength=10)
    test_counts = np.bincount(s.test.y.numpy(), minlength=10)
    assert train_counts.min() >= 135 and test_counts.min() >= 35  # stratified: ~10% per class on both sides
    assert np.abs(test_counts / 397 - train_counts / 1400).max() < 0.01


def test_digits_split_is_sklearn_protocol_and_fixed() -> None:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    _, te = train_test_split(np.arange(1797), test_size=397, stratify=d.target, random_state=0)
    s = digits(DigitsConfig(size=8))
    assert sorted(s.test.y.tolist()) == sorted(d.target[te].tolist())
    expected = torch.as_tensor(d.images[np.sort(te)], dtype=torch.float32)[:, None] / 8.0 - 1.0
    assert torch.allclose(s.test.x, expected)
    assert torch.equal(digits(DigitsConfig(), seed=5).test.x, digits(DigitsConfig(), seed=0).test.x)


def test_glyphs_deterministic_balanced_and_shaped() -> None:
    cfg = GlyphsConfig(size=24, per_class=12, classes=5, seed=3)
    a, b = glyphs(cfg), glyphs(GlyphsConfig(size=24, per_class=12, classes=5, seed=3))
    assert torch.equal(a.train.x, b.train.x) and torch.equal(a.test.y, b.test.y)
    assert a.input_shape == (1, 24, 24) and a.num_classes == 5 and a.class_names == list("ABCDE")
    assert len(a.train) + len(a.test) == 60 and len(a.test) == 15
    assert np.bincount(a.train.y.numpy()).tolist() == [9] * 5
    assert np.bincount(a.test.y.numpy()).tolist() == [3] * 5
    assert a.train.x.min() >= -1.0 and a.train.x.max() <= 1.0 and a.train.x.std() > 0.1
    other = glyphs(GlyphsConfig(size=24, per_class=12, classes=5, seed=4))
    assert not torch.equal(a.train.x, other.train.x)


def test_glyphs_disk_cache_matches_fresh_render(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from jepakit.builtin import data

    cfg = GlyphsConfig(size=16, per_class=4, classes=3, seed=7)
    fresh = glyphs(cfg)
    assert list((tmp_path / "cache").glob("glyphs-*.npz"))
    data._glyph_arrays.cache_clear()  # force the disk path
    cached = glyphs(cfg)
    assert torch.equal(fresh.train.x, cached.train.x)


def test_glyphs_without_jitter_or_clutter_are_cleaner() -> None:
    plain = glyphs(GlyphsConfig(size=24, per_class=6, classes=3, jitter=False, clutter=False))
    x = plain.train.x
    assert x.shape[1:] == (1, 24, 24)
    assert float((x[:, :, 0, :] > -0.99).float().mean()) == 0.0  # no ink on the top row: centred, no clutter


def _write_folder(root: Path) -> None:
    from PIL import Image

    rng = np.random.default_rng(0)
    for name, n in (("cats", 5), ("dogs", 5)):
        (root / name).mkdir(parents=True)
        for i in range(n):
            arr = rng.integers(0, 255, size=(20, 30, 3), dtype=np.uint8)
            Image.fromarray(arr).save(root / name / f"{i}.png" if i % 2 else root / name / f"{i}.jpg")
    (root / "cats" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    (root / "dogs" / "notes.txt").write_text("not an image")


def test_image_folder_loads_and_skips_bad_files(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    root = tmp_path / "imgs"
    _write_folder(root)
    with caplog.at_level(logging.WARNING, logger="jepakit"):
        s = image_folder(ImageFolderConfig(path=str(root), size=8, channels=3, test_fraction=0.2))
    assert s.class_names == ["cats", "dogs"] and s.num_classes == 2 and s.input_shape == (3, 8, 8)
    assert len(s.train) + len(s.test) == 10 and len(s.test) == 2
    assert sorted(Path(p).name for p in s.train.skipped) == ["broken.png", "notes.txt"]
    assert "skipped 2" in caplog.text and "broken.png" in caplog.text
    x = torch.stack([s.train[i][0] for i in range(len(s.train))])  # streamed: decoded per item
    assert x.min() >= -1.0 and x.max() <= 1.0
    gray = image_folder(ImageFolderConfig(path=str(root), size=8, channels=1))
    assert gray.input_shape == (1, 8, 8)


@pytest.mark.parametrize("layout", ["missing", "empty", "no_classes", "one_class", "empty_path"])
def test_image_folder_bad_layouts_raise_with_hint(tmp_path: Path, layout: str) -> None:
    from PIL import Image

    root = tmp_path / "data"
    if layout != "missing":
        root.mkdir()
    if layout == "no_classes":
        Image.new("RGB", (4, 4)).save(root / "a.png")
    if layout == "one_class":
        (root / "only").mkdir()
        for i in range(3):
            Image.new("RGB", (4, 4)).save(root / "only" / f"{i}.png")
    path = "" if layout == "empty_path" else str(root)
    with pytest.raises(JepakitError) as err:  # loose images are unlabelled unless class folders are required
        image_folder(ImageFolderConfig(path=path, labels="folders" if layout == "no_classes" else "auto"))
    assert err.value.hint


def test_image_folder_class_without_readable_images(tmp_path: Path) -> None:
    from PIL import Image

    root = tmp_path / "data"
    for name in ("a", "b"):
        (root / name).mkdir(parents=True)
    for i in range(3):
        Image.new("L", (4, 4), color=i * 40).save(root / "a" / f"{i}.png")
    (root / "b" / "x.png").write_bytes(b"garbage")
    with pytest.raises(JepakitError, match='"b"') as err:
        image_folder(ImageFolderConfig(path=str(root), channels=1))
    assert "at least 2" in err.value.hint


def test_configs_reject_bad_values() -> None:
    with pytest.raises(ValueError):
        ImageFolderConfig(channels=2)
    with pytest.raises(ValueError):
        GlyphsConfig(classes=27)
    with pytest.raises(ValueError):
        DigitsConfig(test_size=0)


def test_read_class_folders_with_any_loader(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from jepakit.api import read_class_folders

    root = tmp_path / "notes"
    for name in ("a", "b"):
        for i in range(3):
            (root / name / "deep").mkdir(parents=True, exist_ok=True)
            (root / name / ("deep" if i else "") / f"{i}.txt").write_text(f"{name}{i}")
    (root / "b" / "bad.txt").write_text("")
    (root / "a" / "skip.csv").write_text("x")
    (root / "a" / ".hidden.txt").write_text("a9")

    def load(path: Path) -> str:
        text = path.read_text()
        if not text:
            raise ValueError("empty")
        return text

    cfg = ImageFolderConfig(path=str(root), test_fraction=0.34, split_seed=0)
    with caplog.at_level(logging.WARNING, logger="jepakit"):
        data = read_class_folders(cfg, (".txt",), load, source="notes", noun="note")
    assert data.names == ["a", "b"] and sorted(data.items) == ["a0", "a1", "a2", "b0", "b1", "b2"]
    assert [data.items[i][0] for i in range(6)] == [data.names[k] for k in data.labels]
    assert sorted(Path(p).name for p in data.skipped) == ["bad.txt", "skip.csv"]
    assert "notes: skipped 2 unreadable file(s)" in caplog.text
    assert len(data.test) == 3 and sorted([*data.train, *data.test]) == list(range(6))
    (root / "b" / "0.txt").write_text("")
    (root / "b" / "deep" / "1.txt").write_text("")
    with pytest.raises(JepakitError, match='"b" has 1 readable note') as err:
        read_class_folders(cfg, (".txt",), load, source="notes", noun="note")
    assert "unreadable:" in err.value.message and "at least 2 readable notes" in err.value.hint
