"""Core's datasets: real material that ships offline, and a loader for the user's own images.

Each returns `DataSplits` with a fixed train/test split (independent of the run's seed), so every probe row
(trained, random init, raw) of every run is scored on the same images. Nothing here downloads anything.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import tempfile
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from jepakit.builtin.config import DigitsConfig, GlyphsConfig, ImageFolderConfig
from jepakit.errors import JepakitError
from jepakit.interfaces import DataSplits
from jepakit.library.data import IMAGE_SUFFIXES, ImageSplit, cache_dir, read_class_folders, stratified_split
from jepakit.library.images import Augment, ImageFiles, check_image, list_images, make_augment

log = logging.getLogger("jepakit")

GLYPHS_VERSION = 2  # bump when the renderer changes, so stale disk caches are not reused
GLYPH_SHIFT = 0.125  # max translation each way, fraction of the side (a 25% range: pixels lose, pooling wins)
GLYPH_FRAGMENT_P = 0.5  # chance of a fragment of another letter
# Distinct families and styles shipped in matplotlib's mpl-data/fonts/ttf (the STIX size/non-unicode faces and
# the "Display" faces have no Latin letters, cmmi/cmsy map letters to math symbols: all left out).
GLYPH_FACES = (
    "DejaVuSans",
    "DejaVuSans-Bold",
    "DejaVuSans-Oblique",
    "DejaVuSans-BoldOblique",
    "DejaVuSerif",
    "DejaVuSerif-Bold",
    "DejaVuSerif-Italic",
    "DejaVuSerif-BoldItalic",
    "DejaVuSansMono",
    "DejaVuSansMono-Bold",
    "DejaVuSansMono-Oblique",
    "DejaVuSansMono-BoldOblique",
    "STIXGeneral",
    "STIXGeneralBol",
    "STIXGeneralItalic",
    "STIXGeneralBolIta",
    "cmr10",
    "cmb10",
    "cmss10",
    "cmti10",
    "cmtt10",
)


def _make_splits(
    name: str,
    x: torch.Tensor,
    y: np.ndarray,
    train: np.ndarray,
    test: np.ndarray,
    classes: list[str],
    skipped: list[str] | None = None,
) -> DataSplits:
    yt = torch.as_tensor(y, dtype=torch.long)
    tr, te = torch.as_tensor(train), torch.as_tensor(test)
    return DataSplits(
        name=name,
        train=ImageSplit(x[tr], yt[tr], skipped),
        test=ImageSplit(x[te], yt[te], skipped),
        input_shape=tuple(int(s) for s in x.shape[1:]),
        num_classes=len(classes),
        modality="image",
        class_names=list(classes),
    )


# ----------------------------------------------------------------------------------------------------- digits


@functools.lru_cache(maxsize=4)
def _digits_tensor(size: int) -> tuple[torch.Tensor, np.ndarray]:
    """All 1,797 digits upsampled once per size and kept in memory (indexing is then a view)."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x = torch.as_tensor(d.images, dtype=torch.float32)[:, None] / 16.0  # [1797, 1, 8, 8] in [0, 1]
    if size != 8:
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)  # [1797, 1, S, S]
    return x * 2.0 - 1.0, np.asarray(d.target)


def digits(cfg: DigitsConfig, seed: int = 0) -> DataSplits:
    """scikit-learn digits (offline): pixels / 16, bilinear upsampling to cfg.size, mapped to [-1, 1].

    `seed` (the run's seed) is ignored on purpose: the split is the fixed protocol of docs/recipes.md.
    """
    inner = cfg.digit_size or cfg.size
    x, y = _digits_tensor(int(inner))
    name = f"digits{cfg.size}"
    if inner < cfg.size:  # shifted digits: each image at its own fixed random offset on a blank canvas
        g = torch.Generator().manual_seed(cfg.split_seed)
        offsets = torch.randint(0, cfg.size - inner + 1, (len(x), 2), generator=g).tolist()
        canvas = torch.full((len(x), x.shape[1], cfg.size, cfg.size), -1.0)  # [N, 1, S, S] background
        for i, (top, left) in enumerate(offsets):
            canvas[i, :, top : top + inner, left : left + inner] = x[i]
        x, name = canvas, f"digits{cfg.size}-shifted{inner}"
    if cfg.channels == 3:
        x, name = x.expand(-1, 3, -1, -1), f"{name}-rgb"  # [N, 3, S, S]; _make_splits' indexing copies it
    train, test = stratified_split(y, int(cfg.test_size), int(cfg.split_seed))
    return _make_splits(name, x, y, train, test, [str(i) for i in range(10)])


# ----------------------------------------------------------------------------------------------------- glyphs


def _font_paths() -> list[Path]:
    import matplotlib

    ttf = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    faces = [ttf / f"{name}.ttf" for name in GLYPH_FACES if (ttf / f"{name}.ttf").is_file()]
    if len(faces) < 2:
        raise JepakitError(
            f"only {len(faces)} of matplotlib's fonts were found in {ttf}",
            "reinstall matplotlib: the glyphs dataset renders letters from the fonts it ships",
        )
    return faces


@functools.lru_cache(maxsize=2048)
def _font(path: str, px: int):
    from PIL import ImageFont

    return ImageFont.truetype(path, px)


def _paste_text(draw, text: str, font, centre: tuple[float, float], fill: int) -> None:
    """Draw `text` with its ink box centred on `centre` (glyph metrics differ a lot between fonts)."""
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    draw.text((centre[0] - (left + right) / 2, centre[1] - (top + bottom) / 2), text, fill=fill, font=font)


def _affine(rng: np.random.Generator, big: int) -> tuple[float, ...]:
    """PIL AFFINE data for a random rotation/scale/shear/translation about the canvas centre (output -> input)."""
    theta = np.deg2rad(rng.uniform(-15.0, 15.0))
    scale = rng.uniform(0.7, 1.1)
    shear = rng.uniform(-0.25, 0.25)
    t = rng.uniform(-GLYPH_SHIFT, GLYPH_SHIFT, size=2) * big  # translation, pixels of the canvas
    rot = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    fwd = scale * rot @ np.array([[1.0, shear], [0.0, 1.0]])  # input -> output about the centre
    inv = np.linalg.inv(fwd)
    c = np.array([big / 2.0, big / 2.0])
    off = c - inv @ (c + t)
    return (inv[0, 0], inv[0, 1], off[0], inv[1, 0], inv[1, 1], off[1])


def _render(label: int, cfg: GlyphsConfig, fonts: list[Path], rng: np.random.Generator) -> np.ndarray:
    """One letter at 2x resolution (jitter + clutter), box-downsampled to cfg.size: uint8 [S, S]."""
    from PIL import Image, ImageDraw

    big = cfg.size * 2  # supersampling: strokes stay anti-aliased after the affine warp
    img = Image.new("L", (big, big), 0)
    draw = ImageDraw.Draw(img)
    font = _font(str(fonts[int(rng.integers(len(fonts)))]), int(big * rng.uniform(0.55, 0.8)))
    _paste_text(draw, chr(ord("A") + label), font, (big / 2, big / 2), int(rng.uniform(190, 255)))
    if cfg.jitter:
        img = img.transform((big, big), Image.Transform.AFFINE, _affine(rng, big), resample=Image.Resampling.BILINEAR)
        draw = ImageDraw.Draw(img)
    noise_sd = 0.0
    if cfg.clutter:
        for _ in range(int(rng.integers(0, 3))):  # random thin strokes crossing the image
            pts = [tuple(float(v) for v in rng.uniform(0, big, size=2)) for _ in range(2)]
            draw.line(pts, fill=int(rng.uniform(60, 170)), width=2)
        if rng.random() < GLYPH_FRAGMENT_P:  # part of another letter poking in from an edge
            other = (label + int(rng.integers(1, 26))) % 26
            frag = _font(str(fonts[int(rng.integers(len(fonts)))]), int(big * rng.uniform(0.35, 0.55)))
            edge = rng.integers(4)
            along, across = rng.uniform(0.1, 0.9) * big, rng.uniform(-0.1, 0.06) * big
            centre = [(along, across), (along, big - across), (across, along), (big - across, along)][edge]
            _paste_text(draw, chr(ord("A") + other), frag, centre, int(rng.uniform(80, 180)))
        noise_sd = rng.uniform(0.02, 0.05)
    small = np.asarray(img.reduce(2), dtype=np.float32) / 255.0  # [S, S] in [0, 1]
    if noise_sd:
        small = small + rng.normal(0.0, noise_sd, size=small.shape)
    return np.clip(np.rint(small * 255.0), 0, 255).astype(np.uint8)  # quantised like an image file


def _glyphs_key(cfg: GlyphsConfig) -> str:
    import matplotlib
    import PIL

    blob = json.dumps(
        {"cfg": asdict(cfg), "v": GLYPHS_VERSION, "mpl": matplotlib.__version__, "pil": PIL.__version__}, sort_keys=True
    )
    return hashlib.sha1(blob.encode()).hexdigest()[:16]


def _load_npz(path: Path, cfg: GlyphsConfig) -> tuple[np.ndarray, np.ndarray] | None:
    try:
        with np.load(path) as z:
            x, y = z["x"], z["y"]
    except (OSError, ValueError, KeyError) as exc:  # missing or corrupt: regenerate
        if path.exists():
            log.debug("ignoring unreadable glyphs cache %s: %s", path, exc)
        return None
    n = cfg.classes * cfg.per_class
    if x.shape != (n, cfg.size, cfg.size) or x.dtype != np.uint8 or y.shape != (n,):
        return None
    return x, y


def _save_npz(path: Path, x: np.ndarray, y: np.ndarray) -> None:
    """Atomic: a temp file in the same folder, renamed over the target. A failure only costs the cache."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                np.savez(f, x=x, y=y)
            os.replace(tmp, path)
        finally:
            Path(tmp).unlink(missing_ok=True)
    except OSError as exc:
        log.debug("could not write glyphs cache %s: %s", path, exc)


@functools.lru_cache(maxsize=4)
def _glyph_arrays(key: str, cfg_items: tuple) -> tuple[np.ndarray, np.ndarray]:
    """uint8 images [N, S, S] and labels [N] for one config: memory cache, then disk cache, then rendering."""
    cfg = GlyphsConfig(**dict(cfg_items))
    cache = cache_dir()
    path = cache / f"glyphs-{key}.npz" if cache is not None else None
    if path is not None and (hit := _load_npz(path, cfg)) is not None:
        return hit
    fonts = _font_paths()
    rng = np.random.default_rng(cfg.seed)
    y = np.repeat(np.arange(cfg.classes), cfg.per_class)  # [N], balanced
    x = np.stack([_render(int(label), cfg, fonts, rng) for label in y])  # [N, S, S] uint8
    if path is not None:
        _save_npz(path, x, y)
    return x, y


def glyphs(cfg: GlyphsConfig, seed: int = 0) -> DataSplits:
    """Letters A.. rendered from matplotlib's fonts with affine jitter and clutter: harder than digits.

    Deterministic from cfg.seed (images and split); the run's `seed` is ignored so runs compare on one test set.
    """
    x8, y = _glyph_arrays(_glyphs_key(cfg), tuple(sorted(asdict(cfg).items())))
    x = torch.from_numpy(x8).float().div_(127.5).sub_(1.0)[:, None]  # [N, 1, S, S] in [-1, 1]
    train, test = stratified_split(y, float(cfg.test_fraction), int(cfg.seed))
    letters = [chr(ord("A") + i) for i in range(cfg.classes)]
    return _make_splits(f"glyphs{cfg.size}", x, y, train, test, letters)


# ------------------------------------------------------------------------------------------------ image folder


def _unlabelled_files(root: Path, cfg: ImageFolderConfig) -> tuple[list[Path], list[str]]:
    """Every readable image under the root, recursively; errors name what is wrong with the folder."""
    if not cfg.path:
        raise JepakitError("data.path is empty: this dataset reads your own files", 'set data.path = "/path/to/images"')
    if not root.is_dir():
        raise JepakitError(f"data.path: folder not found: {root}", "check the path; it must be a folder of images")
    files, skipped = list_images(root)
    if skipped:
        log.warning(
            "image-folder: skipped %d unreadable file(s) under %s (not %s, or failed to load); first: %s",
            len(skipped),
            root,
            "/".join(IMAGE_SUFFIXES),
            skipped[0],
        )
    if not files:
        raise JepakitError(
            f"data.path: no readable image under {root}",
            f"put {'/'.join(IMAGE_SUFFIXES)} files in the folder (sub-folders are read too)",
        )
    return files, skipped


def image_folder(cfg: ImageFolderConfig, seed: int = 0) -> DataSplits:
    """The user's images, streamed: file paths listed once (a header check each), decoded per sample in the
    loader's workers, cropped + resized to cfg.size, mapped to [-1, 1].

    `path/<class>/*` (labelled): a stratified train/test split by cfg.split_seed (the run's `seed` is ignored, so
    runs compare on one test set); with an augmentation, training reads `pretrain`, the train files augmented.
    A folder without class folders (or labels = "none"): every image, recursively, is `pretrain` with label -1
    and there is nothing to probe (train and test are None). Unreadable files are skipped, never fatal: they are
    listed in `skipped` and one warning on the "jepakit" logger names the count and the first file; a file that
    only fails at decode time is replaced by the next sample and counted in a warning.
    """
    root = Path(cfg.path).expanduser()
    augment = make_augment(cfg.augment, cfg.size, cfg.crop_scale, cfg.flip)
    shape = (int(cfg.channels), int(cfg.size), int(cfg.size))

    def files(paths: list[Path], labels: np.ndarray, skipped: list[str], aug: Augment | None = None) -> ImageFiles:
        return ImageFiles(root, paths, labels, size=cfg.size, channels=cfg.channels, augment=aug, skipped=skipped)

    if not cfg.labelled:
        paths, skipped = _unlabelled_files(root, cfg)
        unlabelled = files(paths, np.full(len(paths), -1, dtype=np.int64), skipped, augment)
        return DataSplits(
            name=root.name or "images",
            train=None,
            test=None,
            pretrain=unlabelled,
            input_shape=shape,
            num_classes=0,
            modality="image",
            meta={"skipped": skipped},
        )
    data = read_class_folders(cfg, IMAGE_SUFFIXES, check_image, source="image-folder", noun="image")
    train_paths = [data.items[i] for i in data.train]
    train = files(train_paths, data.labels[data.train], data.skipped)
    test = files([data.items[i] for i in data.test], data.labels[data.test], data.skipped)
    pretrain = None if augment is None else files(train_paths, data.labels[data.train], data.skipped, augment)
    return DataSplits(
        name=data.root.name or "images",
        train=train,
        test=test,
        pretrain=pretrain,
        input_shape=shape,
        num_classes=len(data.names),
        modality="image",
        class_names=list(data.names),
    )
