"""`tijepa/pair-file`: the user's own image-caption pairs, from a CSV (`image,caption`) or a JSONL file.

TI-JEPA as published trains on real captioned photos (COCO-scale); this loader lets a user bring theirs in the
shape of the generated `captioned-shapes` data, so the same towers, fusion and evaluation run on real pairs. A
CSV needs a header row with `image` and `caption` columns (others are ignored; quoted captions may hold commas);
a JSONL holds one `{"image": ..., "caption": ...}` object per line. Image paths are relative to the file's
folder or absolute; images become RGB [3, S, S] in [-1, 1]. A bad row (not JSON, no caption, a caption that
tokenizes to nothing, a missing or corrupt image) is skipped and counted, with one warning naming the count and
the first offender as `path:line`; only a file with fewer than two usable pairs is fatal.

User pairs have no classes (every `y` is 0) and no attribute-swapped captions: a pair's negative is another
pair's caption from the same split (a derangement drawn from `split_seed`, avoiding identical texts if it can).
"""

from __future__ import annotations

import csv
import io
import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch

from jepakit import JepakitError
from jepakit.api import fit_image, json_object
from jepakit.interfaces import DataSplits
from jepakit_tijepa.config import PairFileConfig
from jepakit_tijepa.data import CaptionSplit
from jepakit_tijepa.text import tokenize, word_count

log = logging.getLogger("jepakit")
FORMAT_HINT = (
    'a .csv with a header row "image,caption", or a .jsonl with one object per line: '
    '{"image": "imgs/1.png", "caption": "a red circle"}'
)
SUFFIXES = (".csv", ".jsonl")
_REPAIR_TRIES = 64  # random swap partners tried per negative that repeats its row's caption text


def _image(name: Any, base: Path, size: int) -> np.ndarray:
    """An image path (relative to base, or absolute) -> float32 [3, S, S] in [-1, 1]; ValueError says why not."""
    from PIL import Image

    if not isinstance(name, str) or not name.strip():
        raise ValueError('"image" is missing or empty')
    file = base / name.strip()  # an absolute path replaces base
    if not file.is_file():
        raise ValueError(f"image not found: {file}")
    try:
        with Image.open(file) as im:
            im.seek(0)  # first frame of an animated gif/webp
            return fit_image(im, size, 3) * 2.0 - 1.0
    except Exception as exc:  # any decoder failure means "skip this pair"
        raise ValueError(f"unreadable image {file} ({exc})") from None


def _pair(rec: str | dict[str, Any], base: Path, cfg: PairFileConfig) -> tuple[np.ndarray, str, torch.Tensor]:
    """One JSONL line or CSV row -> (image [3, S, S], caption, token ids [L]); ValueError says why not."""
    fields = json_object(rec) if isinstance(rec, str) else rec
    text = fields.get("caption")
    if not isinstance(text, str) or not text.strip():
        raise ValueError('"caption" is missing or empty')
    text = " ".join(text.split())
    ids = tokenize([text], cfg.context_length)
    if int(word_count(ids)[0]) < 1:
        raise ValueError(f'"caption" tokenizes to nothing: {text!r}')
    return _image(fields.get("image"), base, cfg.size), text, ids[0]


def _csv_rows(path: Path, text: str) -> list[tuple[int, dict[str, Any]]]:
    """CSV rows keyed by the header's (stripped, lower-cased) names, each with the line it starts on."""
    reader = csv.reader(io.StringIO(text, newline=""))
    header = [h.strip().lower() for h in next(reader, [])]
    for column in ("image", "caption"):
        if column not in header:
            raise JepakitError(
                f'data.path: {path} has no "{column}" column (header: {",".join(header) or "none"})',
                'the first row must name the columns, e.g. "image,caption"',
            )
    rows, start = [], reader.line_num + 1
    for row in reader:
        if row:  # a blank line is not a pair
            # not strict: a short row lacks a column (reported as missing), a long row's extra cells are ignored
            rows.append((start, dict(zip(header, row, strict=False))))
        start = reader.line_num + 1
    return rows


def _jsonl_rows(text: str) -> list[tuple[int, str]]:
    return [(number, line) for number, line in enumerate(text.splitlines(), start=1) if line.strip()]


def _read_rows(path: Path, cfg: PairFileConfig) -> list[tuple[int, Any]]:
    if not cfg.path:
        raise JepakitError(
            "data.path is empty: pair-file reads your own file of image-caption pairs",
            f'set data.path = "/path/to/pairs.csv" ({FORMAT_HINT})',
        )
    if path.suffix.lower() not in SUFFIXES:
        raise JepakitError(f"data.path: {path} is neither a .csv nor a .jsonl file", FORMAT_HINT)
    if not path.exists():
        raise JepakitError(f"data.path: file not found: {path}", "check the path to your pairs file")
    if path.is_dir():
        raise JepakitError(f"data.path: {path} is a folder, not a file", f"point data.path at {FORMAT_HINT}")
    try:
        text = path.read_text(encoding="utf-8-sig")  # a byte-order mark (Excel's CSVs) is not part of the header
    except (OSError, UnicodeDecodeError) as exc:
        raise JepakitError(f"data.path: cannot read {path} ({exc})", "save it as UTF-8 text, " + FORMAT_HINT) from exc
    return _csv_rows(path, text) if path.suffix.lower() == ".csv" else _jsonl_rows(text)


def pair_file(cfg: PairFileConfig, seed: int = 0) -> DataSplits:
    """The pairs of cfg.path, split at random by cfg.split_seed (the run's `seed` is ignored)."""
    path = Path(cfg.path).expanduser()
    rows = _read_rows(path, cfg)
    images: list[np.ndarray] = []  # [3, S, S] each
    texts: list[str] = []
    ids: list[torch.Tensor] = []  # [L] each
    skipped: list[str] = []
    for number, rec in rows:
        try:
            image, text, row_ids = _pair(rec, path.parent, cfg)
        except ValueError as exc:
            skipped.append(f"{path}:{number}: {exc}")
            continue
        images.append(image)
        texts.append(text)
        ids.append(row_ids)
    if skipped:
        log.warning(
            "pair-file: skipped %d unusable pair(s) of %d in %s; first: %s", len(skipped), len(rows), path, skipped[0]
        )
    if len(images) < 2:
        first = f"; first: {skipped[0]}" if skipped else " (the file has no pairs)"
        raise JepakitError(
            f"data.path: only {len(images)} of {len(rows)} pairs usable in {path}{first}; need at least 2",
            f"fix the rows named or add pairs (one for training, one for "
            f"testing); {FORMAT_HINT}, image paths relative to the file's folder",
        )
    x = torch.from_numpy(np.stack(images).astype(np.float32))  # [N, 3, S, S]
    return _split(path, x, torch.stack(ids), texts, skipped, cfg)


def negative_rows(texts: list[str], rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """For each of `rows` (indices into texts), another index whose caption is its negative.

    Two or more rows: a derangement of `rows` (a cyclic shift of a random order); a row whose negative repeats its
    own caption text swaps negatives with another row where that suits both (still a derangement), else takes a
    row of a different text, if the split has one. One row: any other index, of a different text if one exists.
    """
    if len(rows) == 1:
        others = [j for j in range(len(texts)) if j != rows[0]]
        different = [j for j in others if texts[j] != texts[rows[0]]]
        return np.asarray([rng.choice(different or others)])
    codes = np.unique([texts[r] for r in rows], return_inverse=True)[1].reshape(-1)  # [n] text id per row
    order = rng.permutation(len(rows))
    neg = np.empty(len(rows), dtype=np.int64)  # positions within rows
    neg[order] = np.roll(order, -1)
    if codes.max() > 0:  # at least two distinct texts: a repeated text can be moved away
        _swap_repeats(codes, neg, rng)
        _other_text(codes, neg, rng)
    return rows[neg]


def _swap_repeats(codes: np.ndarray, neg: np.ndarray, rng: np.random.Generator) -> None:
    """Swap the negatives of i and k where i's repeats its text and neither row then meets itself or its text."""
    n = len(codes)
    for i in np.flatnonzero(codes == codes[neg]):
        if codes[i] != codes[neg[i]]:  # fixed by an earlier swap
            continue
        partners = rng.permutation(n) if n <= _REPAIR_TRIES else rng.integers(0, n, _REPAIR_TRIES)
        for k in partners:
            if neg[k] != i and neg[i] != k and codes[neg[k]] != codes[i] and codes[neg[i]] != codes[k]:
                neg[i], neg[k] = neg[k], neg[i]
                break


def _other_text(codes: np.ndarray, neg: np.ndarray, rng: np.random.Generator) -> None:
    """Rows whose negative still repeats their text take a uniform row of another text (all at once)."""
    left = np.flatnonzero(codes == codes[neg])
    if not len(left):
        return
    by_code = np.argsort(codes, kind="stable")  # positions grouped by text
    counts = np.bincount(codes)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    c = codes[left]
    r = (rng.random(len(left)) * (len(codes) - counts[c])).astype(np.int64)  # r-th row outside group c
    neg[left] = by_code[np.where(r < starts[c], r, r + counts[c])]


def _split(
    path: Path, x: torch.Tensor, ids: torch.Tensor, texts: list[str], skipped: list[str], cfg: PairFileConfig
) -> DataSplits:
    n = len(texts)
    n_test = min(max(1, round(cfg.test_fraction * n)), n - 1)  # both splits non-empty
    order = np.random.default_rng(cfg.split_seed).permutation(n)
    test_idx, train_idx = np.sort(order[:n_test]), np.sort(order[n_test:])

    def part(idx: np.ndarray, which: int) -> CaptionSplit:
        neg = negative_rows(texts, idx, np.random.default_rng([cfg.split_seed, which]))
        rows, neg_rows = torch.as_tensor(idx), torch.as_tensor(neg)
        return CaptionSplit(
            x[rows],
            ids[rows],
            torch.zeros(len(idx), dtype=torch.long),
            [texts[i] for i in idx],
            [texts[i] for i in neg],
            ids[neg_rows],
            skipped=skipped,
        )

    return DataSplits(
        name=path.stem,
        train=part(train_idx, 0),
        test=part(test_idx, 1),
        input_shape=(3, cfg.size, cfg.size),
        num_classes=1,
        modality="text-image",
        class_names=["pair"],
        meta={
            "context_length": cfg.context_length,
            "negatives": "another pair's caption",
            "label": "none: your pairs have no classes (every y is 0)",
        },
    )
