"""Fashion-MNIST from Debian's `dataset-fashion-mnist` package: a real 70,000-image benchmark that works offline.

The four idx files are read with gzip + numpy into uint8 arrays (47 MB + 8 MB) once per process and shared by
every split; samples are converted to float per item (`UInt8Images`), never as one float tensor of everything.
The known bar: a linear probe on raw pixels scores about 84 % on the test set, so a learned encoder has to beat
that, not just random init.
"""

from __future__ import annotations

import functools
import gzip
from pathlib import Path

import numpy as np

from jepakit.builtin.config import FashionMNISTConfig
from jepakit.errors import JepakitError
from jepakit.interfaces import DataSplits
from jepakit.library.data import stratified_split
from jepakit.library.images import UInt8Images, make_augment

CLASS_NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
COUNTS = {"train": 60_000, "test": 10_000}
INSTALL_HINT = (
    "install it with `sudo apt-get install dataset-fashion-mnist` (Debian/Ubuntu; the files land in "
    "/usr/share/datasets/fashion-mnist), or set data.path to a folder holding the four idx .gz files"
)


def read_idx(path: Path) -> np.ndarray:
    """One gzip'd idx file: uint8 images [N, H, W] (magic 2051) or labels [N] (magic 2049)."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise ValueError("shorter than an idx header")
    magic = int.from_bytes(raw[0:4], "big")
    if magic not in (2049, 2051):
        raise ValueError(f"not an idx1/idx3 uint8 file (magic {magic})")
    dims = 1 if magic == 2049 else 3
    shape = tuple(int.from_bytes(raw[4 + 4 * k : 8 + 4 * k], "big") for k in range(dims))
    offset = 4 + 4 * dims
    data = np.frombuffer(raw, dtype=np.uint8, offset=offset)
    if data.size != int(np.prod(shape)):
        raise ValueError(f"holds {data.size} bytes of data, the header says {shape}")
    return data.reshape(shape)


@functools.lru_cache(maxsize=2)
def load_arrays(path: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """{"train": (images [60000, 28, 28] uint8, labels [60000]), "test": (... [10000, ...])}, read once."""
    root = Path(path).expanduser()
    missing = [name for pair in FILES.values() for name in pair if not (root / name).is_file()]
    if missing:
        raise JepakitError(
            f"core/fashion-mnist: {len(missing)} of its 4 files are missing from {root} (first: {missing[0]})",
            INSTALL_HINT,
        )
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for split, (images, labels) in FILES.items():
        try:
            x, y = read_idx(root / images), read_idx(root / labels)
        except (OSError, EOFError, ValueError) as exc:
            raise JepakitError(
                f"core/fashion-mnist: cannot read {root / images} or {root / labels}: {exc}",
                "reinstall the package: `sudo apt-get install --reinstall dataset-fashion-mnist`",
            ) from exc
        if x.ndim != 3 or len(x) != len(y) or int(y.max()) >= len(CLASS_NAMES):
            raise JepakitError(
                f"core/fashion-mnist: {root / images} holds {x.shape} images for {y.shape} labels",
                "reinstall the package: `sudo apt-get install --reinstall dataset-fashion-mnist`",
            )
        out[split] = (x, y.astype(np.int64))
    return out


def _subset(y: np.ndarray, k: int, seed: int) -> np.ndarray:
    """A fixed stratified subset of k indices (all of them when k is 0 or not smaller than len(y))."""
    if k <= 0 or k >= len(y):
        return np.arange(len(y))
    return stratified_split(y, int(k), seed)[1]


def fashion_mnist(cfg: FashionMNISTConfig, seed: int = 0) -> DataSplits:
    """Fashion-MNIST: `pretrain` = the (max_train) training images, augmented as configured; `train` = a fixed
    stratified `probe_train` subset of them, clean, for the probes; `test` = the (max_test) test images, clean.

    Subsets are drawn with cfg.split_seed; the run's `seed` is ignored, so every run is scored on one test set.
    Samples are float32 [1, size, size] in [-1, 1].
    """
    arrays = load_arrays(cfg.path)
    x_tr, y_tr = arrays["train"]
    x_te, y_te = arrays["test"]
    pool = _subset(y_tr, cfg.max_train, cfg.split_seed)  # the training images used at all
    probe = pool[_subset(y_tr[pool], cfg.probe_train, cfg.split_seed)]
    test = _subset(y_te, cfg.max_test, cfg.split_seed)
    augment = make_augment(cfg.augment, cfg.size, cfg.crop_scale, cfg.flip)
    size = int(cfg.size)
    return DataSplits(
        name=f"fashion-mnist{size}",
        input_shape=(1, size, size),
        num_classes=len(CLASS_NAMES),
        modality="image",
        class_names=list(CLASS_NAMES),
        pretrain=UInt8Images(x_tr, y_tr, pool, size=size, augment=augment),
        train=UInt8Images(x_tr, y_tr, probe, size=size),
        test=UInt8Images(x_te, y_te, test, size=size),
    )
