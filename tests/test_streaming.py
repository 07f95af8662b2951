"""Streamed image folders: paths not pixels, unlabelled folders pretrain, seeded augmentation for training only."""

from __future__ import annotations

import json
import logging
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from jepakit.builtin.config import ImageFolderConfig
from jepakit.builtin.data import image_folder
from jepakit.engine.loader import make_loader, sample_key
from jepakit.errors import JepakitError
from jepakit.library.data import load_image
from jepakit.library.images import Augment, ImageFiles


def _pngs(folder: Path, n: int, side: int = 24, seed: int = 0, prefix: str = "") -> list[Path]:
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        path = folder / f"{prefix}{i:03d}.png"
        Image.fromarray(rng.integers(0, 255, size=(side, side + 6, 3), dtype=np.uint8)).save(path)
        out.append(path)
    return out


def _labelled(root: Path, per_class: int = 6) -> Path:
    for k, name in enumerate(("a", "b")):
        _pngs(root / name, per_class, seed=k)
    return root


def test_clean_samples_are_the_eager_loaders_pixels(tmp_path: Path) -> None:
    root = _labelled(tmp_path / "imgs")
    s = image_folder(ImageFolderConfig(path=str(root), size=8, channels=3, test_fraction=0.25))
    assert s.pretrain is None and s.pretrain_set is s.train  # no augmentation: training reads train, as before
    for split in (s.train, s.test):
        for i in range(len(split)):
            x, y = split[i]
            expected = torch.from_numpy(load_image(split.path(i), 8, 3)).mul_(2.0).sub_(1.0)
            assert torch.equal(x, expected) and y == int(split.labels[i]) and y in (0, 1)
    assert (
        sorted(split.path(i).parent.name for split in (s.train, s.test) for i in range(len(split)))
        == ["a"] * 6 + ["b"] * 6
    )


def test_dataset_holds_paths_not_pixels(tmp_path: Path) -> None:
    small = image_folder(ImageFolderConfig(path=str(_pngs(tmp_path / "s", 20, side=64)[0].parent), size=32))
    big = image_folder(ImageFolderConfig(path=str(_pngs(tmp_path / "b", 60, side=64)[0].parent), size=32))
    for data in (small.pretrain, big.pretrain):
        assert isinstance(data, ImageFiles)
        assert not any(isinstance(v, torch.Tensor) for v in vars(data).values())  # nothing decoded is held
        assert data.paths.dtype.kind == "S"  # one compact bytes array, no Python object per file
    per_file = (len(pickle.dumps(big.pretrain)) - len(pickle.dumps(small.pretrain))) / 40
    assert per_file < 64  # a 32x32 RGB float image would be 12 KB; a path and a label are a few bytes
    x, y = big.pretrain[59]
    assert x.shape == (3, 32, 32) and y == -1


def test_flat_folder_is_unlabelled_and_counts_bad_files(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    root = tmp_path / "flat"
    _pngs(root, 5)
    _pngs(root / "nested" / "deeper", 3, prefix="n")
    (root / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    (root / "notes.txt").write_text("not an image")
    (root / ".hidden").mkdir()
    _pngs(root / ".hidden", 2)
    with caplog.at_level(logging.WARNING, logger="jepakit"):
        s = image_folder(ImageFolderConfig(path=str(root), size=8))
    assert s.train is None and s.test is None and s.num_classes == 0
    assert len(s.pretrain) == 8 and s.pretrain_set is s.pretrain
    assert sorted(Path(p).name for p in s.pretrain.skipped) == ["broken.png", "notes.txt"]
    assert "skipped 2" in caplog.text and "broken.png" in caplog.text
    assert {s.pretrain[i][1] for i in range(8)} == {-1}
    nested = image_folder(ImageFolderConfig(path=str(_labelled(tmp_path / "dated")), size=8, labels="none"))
    assert nested.train is None and len(nested.pretrain) == 12  # class-like folders read as plain folders
    (tmp_path / "texts").mkdir()
    (tmp_path / "texts" / "a.txt").write_text("no image here")
    with pytest.raises(JepakitError, match="no readable image") as err:
        image_folder(ImageFolderConfig(path=str(tmp_path / "texts"), size=8, labels="none"))
    assert err.value.hint


def test_a_file_failing_at_decode_time_is_replaced_and_counted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root = tmp_path / "flat"
    files = _pngs(root, 4)
    files[1].write_bytes(files[1].read_bytes()[:60])  # the header survives, the pixels do not
    s = image_folder(ImageFolderConfig(path=str(root), size=8))
    assert len(s.pretrain) == 4 and not s.pretrain.skipped  # the header check lets it through
    with caplog.at_level(logging.WARNING, logger="jepakit"):
        x, _ = s.pretrain[1]
    assert torch.equal(x, s.pretrain[2][0])  # deterministic substitute: the next sample
    assert list(s.pretrain.failed) == [1] and "could not decode" in caplog.text and "001.png" in caplog.text


def test_augmentation_is_seeded_per_sample_and_training_only(tmp_path: Path) -> None:
    root = _labelled(tmp_path / "imgs", per_class=8)
    s = image_folder(ImageFolderConfig(path=str(root), size=16, augment="ijepa"))
    assert isinstance(s.pretrain, ImageFiles) and s.pretrain.augment is not None
    assert s.train.augment is None and s.test.augment is None  # the probes read clean images
    assert len(s.pretrain) == len(s.train)  # the training files, never the test files
    clean, _ = s.train[3]
    assert torch.equal(s.pretrain[3][0], clean)  # plain indexing stays clean (monitors, plots)
    a, b, c = s.pretrain.sample(3, 11)[0], s.pretrain.sample(3, 11)[0], s.pretrain.sample(3, 12)[0]
    assert torch.equal(a, b) and not torch.equal(a, c) and not torch.equal(a, clean)
    assert a.shape == (3, 16, 16) and a.min() >= -1.0 and a.max() <= 1.0
    state = torch.get_rng_state()
    s.pretrain.sample(0, 5)
    assert torch.equal(state, torch.get_rng_state())  # the caller's random stream is untouched


def test_augmented_batches_are_a_function_of_seed_and_step(tmp_path: Path) -> None:
    root = _labelled(tmp_path / "imgs", per_class=8)
    data = image_folder(ImageFolderConfig(path=str(root), size=8, augment="ijepa")).pretrain

    def batches(seed: int, start: int) -> list[torch.Tensor]:
        loader = make_loader(data, None, batch_size=4, seed=seed, start=start, total=5, workers=0)
        return [b["x"] for b in loader]

    full, resumed = batches(0, 0), batches(0, 3)
    assert all(torch.equal(x, y) for x, y in zip(full[3:], resumed, strict=True))
    assert not torch.equal(full[0], batches(1, 0)[0])
    assert sample_key(0, 3, 7) != sample_key(0, 7, 3) != sample_key(1, 3, 7)


def test_augment_settings_and_errors() -> None:
    from jepakit.builtin.config import IMAGE_SUFFIXES
    from jepakit.library.data import IMAGE_SUFFIXES as READ

    assert IMAGE_SUFFIXES == READ  # the torch-free copy the config's `labelled` check uses
    aug = Augment(8, (0.5, 1.0), flip=0.0)
    x = torch.linspace(0, 1, 3 * 12 * 12).reshape(3, 12, 12)
    assert aug(x, 1).shape == (3, 8, 8) and torch.equal(aug(x, 1), aug(x, 1))
    for bad in (
        {"augment": "simclr"},
        {"crop_scale": [0.0, 1.0]},
        {"crop_scale": [0.5, 1.2]},
        {"flip": 2.0},
        {"labels": "maybe"},
    ):
        with pytest.raises(ValueError):
            ImageFolderConfig(**bad)  # type: ignore[arg-type]  # wrong on purpose


def test_unlabelled_folder_trains_and_asks_for_labels_at_evaluation(plugin_state, tmp_path: Path) -> None:
    from jepakit.engine.train import train
    from jepakit.framework.compose import resolve_run

    root = tmp_path / "photos"
    _pngs(root, 12, side=16)
    out = tmp_path / "run"
    sets = [
        "encoder.embed_dim=32",
        "encoder.depth=1",
        "encoder.num_heads=2",
        "predictor.embed_dim=16",
        "predictor.depth=1",
        "predictor.num_heads=2",
        "optim.batch_size=8",
        "optim.steps=3",
        "run.workers=0",
        "run.ckpt_every=3",
        "run.monitor_every=3",
        f"run.out={json.dumps(str(out))}",
    ]
    run = {
        "variant": "ijepa/ijepa-tiny",
        "data": {"use": "core/image-folder", "path": str(root), "size": 16, "channels": 1, "augment": "ijepa"},
    }
    summary = train(resolve_run(run, plugin_state, sets), do_eval=False)
    assert summary["steps"] == 3 and (out / "checkpoints" / "step-0000003.json").is_file()
    from typer.testing import CliRunner

    from jepakit.cli.app import app

    embedded = CliRunner().invoke(app, ["embed", str(out), "--data", "run", "--out", str(tmp_path / "f.npy")])
    assert embedded.exit_code == 0, embedded.output
    assert np.load(tmp_path / "f.npy").shape[0] == 12  # unlabelled data embeds its pretraining images
    assert not ImageFolderConfig(path=str(root)).labelled  # known before training: evaluation needs labels
    with pytest.raises(JepakitError, match="no label") as err:
        train(resolve_run(run, plugin_state, [*sets[:-1], f"run.out={json.dumps(str(tmp_path / 'run2'))}"]))
    assert "--no-eval" in err.value.hint
