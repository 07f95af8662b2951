"""core/fashion-mnist reads Debian's dataset-fashion-mnist files; ijepa/ijepa-fmnist trains and probes on them."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from jepakit.builtin.config import FashionMNISTConfig
from jepakit.builtin.fashion_mnist import CLASS_NAMES, FILES, fashion_mnist, load_arrays, read_idx
from jepakit.errors import JepakitError

ROOT = Path(FashionMNISTConfig().path)
HAVE_FILES = all((ROOT / name).is_file() for pair in FILES.values() for name in pair)
needs_files = pytest.mark.skipif(
    not HAVE_FILES,
    reason=f"Fashion-MNIST is not installed ({ROOT} is missing): "
    "apt-get install dataset-fashion-mnist (make test does it as root)",
)


@needs_files
def test_reads_the_real_files() -> None:
    s = fashion_mnist(FashionMNISTConfig())
    assert (len(s.pretrain), len(s.train), len(s.test)) == (60_000, 10_000, 10_000)
    assert s.num_classes == 10 and s.class_names == CLASS_NAMES and s.input_shape == (1, 28, 28)
    assert np.bincount(s.train.labels).tolist() == [1000] * 10  # the probes' fixed stratified subset
    assert np.bincount(s.test.labels).tolist() == [1000] * 10
    x, y = s.test[0]
    assert x.shape == (1, 28, 28) and x.dtype == torch.float32 and y == 9  # the first test image: ankle boot
    assert x.min() == -1.0 and x.max() <= 1.0
    images, _ = load_arrays(str(ROOT))["train"]
    assert images.dtype == np.uint8 and images.shape == (60_000, 28, 28)  # kept as uint8, converted per item
    assert s.pretrain.images is images and s.train.images is images  # one array shared by the splits


@needs_files
def test_small_subsets_resize_and_augmentation() -> None:
    cfg = FashionMNISTConfig(size=32, max_train=200, probe_train=100, max_test=50, augment="ijepa")
    s = fashion_mnist(cfg)
    assert (len(s.pretrain), len(s.train), len(s.test)) == (200, 100, 50)
    assert set(s.train.index) <= set(s.pretrain.index)  # the probes' images are among the training images
    assert np.bincount(s.test.labels).tolist() == [5] * 10
    clean, _ = s.train[0]
    assert clean.shape == (1, 32, 32) and s.train.augment is None and s.test.augment is None
    a, b = s.pretrain.sample(7, 3)[0], s.pretrain.sample(7, 3)[0]
    assert torch.equal(a, b) and not torch.equal(a, s.pretrain.sample(7, 4)[0]) and a.shape == (1, 32, 32)
    assert not torch.equal(s.pretrain[7][0], a)  # plain indexing is the clean sample
    assert torch.equal(fashion_mnist(cfg).test[3][0], s.test[3][0])  # fixed subsets, whatever the run


def test_missing_package_names_the_apt_package(tmp_path: Path) -> None:
    with pytest.raises(JepakitError, match="4 of its 4 files are missing") as err:
        fashion_mnist(FashionMNISTConfig(path=str(tmp_path)))
    assert "apt-get install dataset-fashion-mnist" in err.value.hint


def test_idx_reader_and_bad_files(tmp_path: Path) -> None:
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    with gzip.open(tmp_path / "x.gz", "wb") as f:
        f.write((2051).to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in images.shape) + images.tobytes())
    assert np.array_equal(read_idx(tmp_path / "x.gz"), images)
    with gzip.open(tmp_path / "bad.gz", "wb") as f:
        f.write((2051).to_bytes(4, "big") + (9).to_bytes(4, "big") * 3 + b"short")
    with pytest.raises(ValueError, match="the header says"):
        read_idx(tmp_path / "bad.gz")
    for name in [n for pair in FILES.values() for n in pair]:
        (tmp_path / name).write_bytes(b"not gzip")
    with pytest.raises(JepakitError, match="cannot read") as err:
        load_arrays(str(tmp_path))
    assert "--reinstall dataset-fashion-mnist" in err.value.hint
    for bad in ({"size": 2}, {"max_train": 5}, {"probe_train": -1}, {"augment": "heavy"}):
        with pytest.raises(ValueError):
            FashionMNISTConfig(**bad)  # type: ignore[arg-type]  # wrong on purpose


@needs_files
def test_ijepa_fmnist_trains_a_few_steps_and_probes(plugin_state, tmp_path: Path) -> None:
    from jepakit.engine.train import train
    from jepakit.framework.compose import resolve_run

    out = tmp_path / "run"
    sets = [
        "data.max_train=64",
        "data.probe_train=40",
        "data.max_test=40",
        "encoder.embed_dim=32",
        "encoder.depth=1",
        "encoder.num_heads=2",
        "predictor.embed_dim=16",
        "predictor.depth=1",
        "predictor.num_heads=2",
        "optim.batch_size=16",
        "optim.steps=3",
        "run.workers=0",
        "run.ckpt_every=3",
        "run.monitor_every=3",
        f"run.out={json.dumps(str(out))}",
    ]
    summary = train(resolve_run({"variant": "ijepa/ijepa-fmnist"}, plugin_state, sets))
    ev = summary["eval"]
    assert summary["steps"] == 3 and ev["dataset"] == "fashion-mnist28"
    assert 0 <= ev["trained"] <= 100 and 0 <= ev["baseline_raw"] <= 100
