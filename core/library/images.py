"""Images streamed from disk or from a uint8 array, decoded per item, with seeded training augmentation.

Why streaming: an image folder decoded into one tensor costs memory proportional to the number of files, and
decodes everything in the main process before the first step. Here a dataset holds file paths (one compact
bytes array) and decodes in `__getitem__`, i.e. in the DataLoader workers; memory does not grow with the
pictures, only with their names.

Why seeded augmentation: core's loader makes every batch a function of (seed, step). It calls a dataset's
`sample(index, key)` with `key` derived from (seed, step, index) (see core/engine/loader.py), and `Augment`
draws its crop and flip from a generator seeded with that key, so a resumed or data-parallel run sees the same
augmented pixels. `dataset[index]` is always the clean sample (what the probes and the monitors read).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from jepakit.errors import JepakitError
from jepakit.library.data import IMAGE_SUFFIXES, fit_image, load_or_skip

log = logging.getLogger("jepakit")

AUGMENTS = ("none", "ijepa")
MAX_SUBSTITUTES = 16  # other samples tried when a file fails to decode, before the error


class Augment:
    """I-JEPA's augmentation through torchvision.transforms.v2: RandomResizedCrop(size, scale) + horizontal flip
    with probability `flip` (the paper uses no colour jitter). Works on PIL images and on [C, H, W] tensors.

    Call it as `augment(image, key)`: the transforms draw from torch's global CPU generator, so the call forks
    it, seeds it with `key` and restores it, which makes the output a function of (image, key) and leaves the
    caller's random stream (dropout, masks in the main process) untouched.
    """

    def __init__(
        self,
        size: int,
        crop_scale: tuple[float, float] = (0.3, 1.0),
        flip: float = 0.5,
        crop_ratio: tuple[float, float] = (3 / 4, 4 / 3),
    ) -> None:
        from torchvision.transforms import v2

        self.size, self.crop_scale, self.flip = int(size), tuple(crop_scale), float(flip)
        self.transform = v2.Compose(
            [
                v2.RandomResizedCrop(self.size, scale=self.crop_scale, ratio=tuple(crop_ratio), antialias=True),
                v2.RandomHorizontalFlip(self.flip),
            ]
        )

    def __call__(self, image: Any, key: int) -> Any:
        with torch.random.fork_rng(devices=[]):
            torch.default_generator.manual_seed(int(key) % (2**63 - 1))  # CPU only: torch.manual_seed also
            return self.transform(image)  # queues a seed per accelerator type, a stack trace each (~2 ms)

    def __repr__(self) -> str:
        return f"Augment(size={self.size}, crop_scale={self.crop_scale}, flip={self.flip})"


def make_augment(kind: str, size: int, crop_scale: Sequence[float] = (0.3, 1.0), flip: float = 0.5) -> Augment | None:
    """The training augmentation a dataset config names: None for "none", I-JEPA's crop + flip for "ijepa"."""
    if kind == "none":
        return None
    if kind == "ijepa":
        return Augment(size, (float(crop_scale[0]), float(crop_scale[1])), flip)
    raise JepakitError(f"data.augment: unknown augmentation {kind!r}", f"choose one of: {', '.join(AUGMENTS)}")


def check_image(path: Path) -> Path:
    """The listing-time check: PIL reads the header (format, size) without decoding pixels; raises if unreadable.

    Cheap enough for 50,000 files. A file whose header is fine but whose pixels are not fails later, at decode
    time, and is replaced by `ImageFiles` (counted in a warning)."""
    from PIL import Image

    with Image.open(path) as im:
        width, height = im.size
    if width < 1 or height < 1:
        raise ValueError(f"empty image {width}x{height}")
    return path


def list_images(root: Path, suffixes: tuple[str, ...] = IMAGE_SUFFIXES) -> tuple[list[Path], list[str]]:
    """Every readable image under `root`, recursively and sorted (hidden files and folders ignored), and the
    files left out (other suffixes, or a header PIL cannot read)."""
    files: list[Path] = []
    skipped: list[str] = []
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))  # walk order = sorted order
        for name in sorted(names):
            if name.startswith("."):
                continue
            ok, path = load_or_skip(Path(folder) / name, suffixes, check_image, skipped)
            if ok:
                files.append(path)
    return files, skipped


class DecodedSamples(Dataset):
    """A dataset decoded per item, where a sample that raises is replaced by the next index that decodes.

    Subclasses hold what locates each sample (paths, offsets, windows) and `labels`, and implement
    `_decode(i, key) -> x` (`key` is None for the clean sample, else the training key for seeded augmentation)
    and, for messages, `_name(i)`. The substitute is deterministic ((i + 1) % n, (i + 2) % n, ...), so a batch
    stays a function of its key; failures are counted per process (each DataLoader worker counts its own) and
    each logged once; after `max_substitutes` failures in a row, a `JepakitError` with `hint`. A `JepakitError`
    from `_decode` (a missing library, a bad setting) is the user's to see and is never substituted. The class
    attributes name things in the data's own words (`unit`: "clip", "window"; `counted`: how the per-process
    failure count reads).
    """

    source = "dataset"
    unit = "sample"
    counted = "file(s) failed to decode"
    hint = "check the files (e.g. open them with an image viewer)"
    max_substitutes = MAX_SUBSTITUTES

    def __init__(self, labels: np.ndarray) -> None:
        self.labels = np.asarray(labels, dtype=np.int64)  # [N]
        self.failed: dict[int, str] = {}  # index -> why, in this process

    def __len__(self) -> int:
        return int(len(self.labels))

    def _decode(self, i: int, key: int | None) -> torch.Tensor:
        raise NotImplementedError

    def _name(self, i: int) -> str:
        return f"item {i}"

    def _get(self, i: int, key: int | None) -> tuple[torch.Tensor, int]:
        n = len(self)
        if not -n <= i < n:
            raise IndexError(f"index {i} out of range for {n} {self.unit}s")
        i %= n
        tries = min(n, self.max_substitutes)
        for attempt in range(tries):
            j = (i + attempt) % n
            if j in self.failed:
                continue
            try:
                return self._decode(j, key), int(self.labels[j])
            except JepakitError:
                raise
            except Exception as exc:  # a bad file must not stop a long run
                self.failed[j] = f"{type(exc).__name__}: {exc}"
                log.warning(
                    "%s: could not decode %s (%s); using the next %s instead (%d %s in this process)",
                    self.source,
                    self._name(j),
                    self.failed[j],
                    self.unit,
                    len(self.failed),
                    self.counted,
                )
        raise JepakitError(
            f"{self.source}: {self._name(i)} and the {tries - 1} {self.unit}s after it failed to decode", self.hint
        )

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        """The clean sample: what the probes, the monitors and an un-augmented training run read."""
        return self._get(int(i), None)

    def sample(self, i: int, key: int) -> tuple[torch.Tensor, int]:
        """The sample as training sees it at `key` (core's loader derives it from seed, step and index)."""
        return self._get(int(i), key)


class ImageFiles(DecodedSamples):
    """Image files decoded on demand: x float32 [C, S, S] in [-1, 1], y the class (-1 when unlabelled).

    Holds only root-relative paths in one numpy bytes array (no Python object per file, so forked workers do
    not copy pages by touching refcounts) and the labels. Clean samples are exactly the eager loader's pixels:
    centre-crop to a square, bilinear resize to `size`. With `augment`, training samples are instead a random
    resized crop of the whole image (plus flip), drawn from the key.
    """

    source = "image-folder"

    def __init__(
        self,
        root: Path,
        files: Sequence[Path],
        labels: np.ndarray,
        *,
        size: int,
        channels: int,
        augment: Augment | None = None,
        skipped: Sequence[str] = (),
    ) -> None:
        super().__init__(labels)
        if len(files) != len(self.labels):
            raise ValueError(f"{len(files)} files but {len(self.labels)} labels")
        self.root = str(root)
        self.paths = np.array([os.fsencode(os.path.relpath(f, root)) for f in files], dtype=np.bytes_)  # [N]
        self.size, self.channels, self.augment = int(size), int(channels), augment
        self.skipped: list[str] = list(skipped)  # left out at listing time (reported, as the eager loader did)

    def path(self, i: int) -> Path:
        return Path(self.root) / os.fsdecode(bytes(self.paths[i]))

    def _name(self, i: int) -> str:
        return str(self.path(i))

    def _decode(self, i: int, key: int | None) -> torch.Tensor:
        from PIL import Image

        with Image.open(self.path(i)) as im:
            im.seek(0)  # first frame of an animated gif/webp
            if key is None or self.augment is None:
                arr = fit_image(im, self.size, self.channels)  # [C, S, S] in [0, 1], the eager loader's pixels
            else:
                mode = "L" if self.channels == 1 else "RGB"
                im = self.augment(im if im.mode == mode else im.convert(mode), key)  # S x S PIL image
                pixels = torch.from_numpy(np.array(im, dtype=np.uint8).reshape(self.size, self.size, -1))
                x = pixels.permute(2, 0, 1).contiguous().float()  # [C, S, S] in [0, 255]
                return x.mul_(2.0 / 255.0).sub_(1.0)  # [C, S, S] in [-1, 1]
        return torch.from_numpy(np.ascontiguousarray(arr)).mul_(2.0).sub_(1.0)  # the eager loader's values


class UInt8Images(DecodedSamples):
    """Grey images kept as one uint8 array [N0, H, W] shared by every split, converted per item.

    `index` picks this split's rows. A sample is float32 [1, S, S] in [-1, 1], bilinearly resized from H x W
    when `size` differs; with `augment`, training samples are a random resized crop (plus flip) instead.
    """

    source = "uint8-images"

    def __init__(
        self, images: np.ndarray, labels: np.ndarray, index: np.ndarray, *, size: int, augment: Augment | None = None
    ) -> None:
        super().__init__(np.asarray(labels)[index])
        self.images = images  # [N0, H, W] uint8, not copied
        self.index = np.asarray(index, dtype=np.int64)  # [N]
        self.size, self.augment = int(size), augment

    def _decode(self, i: int, key: int | None) -> torch.Tensor:
        from torchvision.transforms.v2 import functional as TF

        x = torch.from_numpy(self.images[self.index[i]].copy())  # [H, W] uint8 (the shared array is read-only)
        x = x.unsqueeze(0).float().div_(255.0)  # [1, H, W] in [0, 1]
        if key is not None and self.augment is not None:
            x = self.augment(x, key)  # [1, S, S]
        elif tuple(x.shape[1:]) != (self.size, self.size):
            x = TF.resize(x, [self.size, self.size], antialias=True)  # [1, S, S]
        return x.clamp_(0.0, 1.0).mul_(2.0).sub_(1.0)
