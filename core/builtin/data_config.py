"""Config dataclasses of the built-in datasets. Torch-free: they are the TOML schema of `[data]`.

Checks raise ValueError in `__post_init__`; the config loader turns that into a JepakitError naming the key.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class DigitsConfig:
    """scikit-learn's 8x8 digits (ships with scikit-learn, so it works offline), upsampled bilinearly.

    The split is the fixed tiny-scale protocol (reference/tiny-scale.md): 1,400 train / 397 test, stratified,
    random_state 0, so every run and every seed is scored on the same test images.
    """

    size: int = 16  # side of the upsampled image; 16 gives an 8x8 grid with patch 2
    test_size: int = 397  # number of test images (out of 1,797); 397 is the fixed protocol
    split_seed: int = 0  # random_state of the stratified split; keep 0 to compare with published numbers
    # 0: the digit fills the canvas. Else each digit is upsampled to digit_size and placed at its own fixed
    # random offset on the size x size canvas: the same real digits, but raw pixels no longer line up.
    digit_size: int = 0
    # 1: grayscale. 3: the same gray image in R, G and B, for encoders and benchmarks (ijepa/bench) that need
    # the input shape of RGB photos without shipping a photo dataset.
    channels: int = 1

    def __post_init__(self) -> None:
        if self.size < 1:
            raise ValueError(f"size must be at least 1, got {self.size}")
        if self.channels not in (1, 3):
            raise ValueError(f"channels must be 1 (grayscale) or 3 (gray replicated to RGB), got {self.channels}")
        if not 0 <= self.digit_size <= self.size:
            raise ValueError(f"digit_size must lie in [0, size={self.size}], got {self.digit_size}")
        if not 10 <= self.test_size <= 1797 - 10:
            raise ValueError(f"test_size must lie in [10, 1787] so both splits hold every class, got {self.test_size}")


@dataclass
class GlyphsConfig:
    """Letters rendered offline from matplotlib's bundled fonts, with affine jitter and clutter.

    A harder benchmark than digits: jitter moves letters across pixels, so raw-pixel probes lose accuracy and
    learned features have room to beat them. The images are a function of `seed` alone (not the run's seed), so
    runs with different seeds are scored on the same data.
    """

    size: int = 32  # side of the square grayscale image
    per_class: int = 200  # images per letter (balanced classes)
    test_fraction: float = 0.25  # fraction held out for testing, stratified by letter
    classes: int = 26  # the first `classes` letters of A..Z
    seed: int = 0  # drives rendering, jitter, clutter and the split
    jitter: bool = True  # random rotation (±15°), scale (0.7-1.1), shear (±0.25) and shift (±12.5% of the side)
    clutter: bool = True  # 0-2 thin random strokes, half the time a fragment of another letter, pixel noise

    def __post_init__(self) -> None:
        if self.size < 8:
            raise ValueError(f"size must be at least 8 to render a letter, got {self.size}")
        if not 2 <= self.classes <= 26:
            raise ValueError(f"classes must lie in [2, 26] (letters A..Z), got {self.classes}")
        if self.per_class < 2:
            raise ValueError(f"per_class must be at least 2 so both splits hold every class, got {self.per_class}")
        if not 0.0 < self.test_fraction < 1.0:
            raise ValueError(f"test_fraction must lie in (0, 1), got {self.test_fraction}")


@dataclass
class ImageFolderConfig:
    """Your own images laid out as `path/<class name>/*.png|jpg|jpeg|bmp|gif|webp` (one folder per class).

    Images are center-cropped to a square, resized and mapped to [-1, 1]; unreadable files are skipped and
    counted rather than stopping the run.
    """

    path: str = ""  # the root folder; each sub-folder is one class (its name is the class name)
    size: int = 32  # side of the square image after crop + resize
    channels: int = 3  # 1 = grayscale, 3 = RGB
    test_fraction: float = 0.2  # fraction held out for testing, stratified by class
    split_seed: int = 0  # random_state of the stratified split (fixed, independent of the run's seed)

    def __post_init__(self) -> None:
        if self.size < 1:
            raise ValueError(f"size must be at least 1, got {self.size}")
        if self.channels not in (1, 3):
            raise ValueError(f"channels must be 1 (grayscale) or 3 (RGB), got {self.channels}")
        if not 0.0 < self.test_fraction < 1.0:
            raise ValueError(f"test_fraction must lie in (0, 1), got {self.test_fraction}")
