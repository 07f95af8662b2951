"""The user's own image-caption pairs: a CSV or JSONL loads as CaptionSplits; bad rows are skipped and counted."""

from __future__ import annotations

import csv
import json
import logging
from pathlib import Path

import numpy as np
import pytest
import torch
from jepakit_tijepa.config import PairFileConfig
from jepakit_tijepa.data import CaptionSplit
from jepakit_tijepa.pair_file import negative_rows, pair_file
from jepakit_tijepa.text import tokenize
from PIL import Image

from jepakit.errors import JepakitError

COMMA = "a red circle, left of a blue 7"  # a quoted CSV field


def _png(path: Path, value: int) -> Path:
    """A solid 12x10 image (not square: the loader crops) whose red channel encodes `value`, blue is 200."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((10, 12, 3), (value, 0, 200), dtype=np.uint8)).save(path)
    return path


def _value(x: torch.Tensor) -> int:
    """Back from a loaded red pixel in [-1, 1] to the image's value."""
    return int(round((float(x) + 1.0) / 2.0 * 255.0))


def _csv(root: Path, header: list[str], rows: list[list[str]], name: str = "pairs.csv") -> Path:
    path = root / name
    with path.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([header, *rows])
    return path


def _jsonl(root: Path, lines: list[object], name: str = "pairs.jsonl") -> Path:
    path = root / name
    path.write_text("\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n")
    return path


def _captions(n: int) -> list[str]:
    return [COMMA] + [f"photo number {k}" for k in range(1, n)]


def _good_csv(root: Path, n: int = 6) -> Path:
    """n pairs with an extra column; pair k's image has red value 20 + 30 k."""
    rows = [
        [str(_png(root / "imgs" / f"{k}.png", 20 + 30 * k).relative_to(root)), "web", text]
        for k, text in enumerate(_captions(n))
    ]
    return _csv(root, ["image", "source", "caption"], rows)


def _all(split_a: CaptionSplit, split_b: CaptionSplit) -> tuple[torch.Tensor, list[str]]:
    return torch.cat([split_a.x, split_b.x]), split_a.texts + split_b.texts


def _check_pairs(data, n: int, size: int, context_length: int) -> None:
    """Shapes, ranges, tokens and labels common to every good file; each image still sits beside its caption."""
    assert data.modality == "text-image" and data.input_shape == (3, size, size)
    assert len(data.train) + len(data.test) == n and len(data.test) >= 1 and len(data.train) >= 1
    for split in (data.train, data.test):
        assert isinstance(split, CaptionSplit)
        assert split.x.shape == (len(split), 3, size, size) and split.x.dtype == torch.float32
        assert split.tokens.shape == (len(split), context_length) and split.tokens.dtype == torch.long
        assert torch.equal(split.tokens, tokenize(split.texts, context_length))
        assert torch.equal(split.y, torch.zeros(len(split), dtype=torch.long))
        assert not split.unseen.any() and split.unseen.shape == (len(split),)
        sample, label = split[0]
        assert set(sample) == {"image", "tokens"} and label == 0
    x, texts = _all(data.train, data.test)
    assert x.min() >= -1.0 and x.max() <= 1.0
    assert sorted(texts) == sorted(_captions(n))
    for img, text in zip(x, texts, strict=True):
        k = _captions(n).index(text)
        assert _value(img[0, 0, 0]) == 20 + 30 * k and torch.allclose(img[2], torch.tensor(200 / 127.5 - 1.0))
    assert data.num_classes == 1 and data.class_names == ["pair"]
    assert data.meta["context_length"] == context_length


def test_good_csv_with_quoted_comma(tmp_path: Path) -> None:
    path = _good_csv(tmp_path)
    assert f'"{COMMA}"' in path.read_text()  # the writer did quote it: the loader must not split on that comma
    data = pair_file(PairFileConfig(path=str(path), size=8, context_length=16, test_fraction=0.34))
    assert data.name == "pairs"
    assert len(data.train) == 4 and len(data.test) == 2  # round(0.34 * 6)
    _check_pairs(data, 6, 8, 16)


def test_good_jsonl_relative_and_absolute_paths(tmp_path: Path) -> None:
    lines: list[object] = []
    for k, text in enumerate(_captions(5)):
        img = _png(tmp_path / "imgs" / f"{k}.png", 20 + 30 * k)
        name = str(img) if k % 2 else str(img.relative_to(tmp_path))  # odd pairs absolute, even relative
        lines += [{"image": name, "caption": text, "id": k}, ""]  # blank lines are not pairs
    data = pair_file(PairFileConfig(path=str(_jsonl(tmp_path, lines)), size=12, context_length=8))
    assert len(data.test) == 1 and len(data.train) == 4  # round(0.2 * 5)
    _check_pairs(data, 5, 12, 8)
    assert data.train.skipped == []


def test_split_is_deterministic_in_split_seed(tmp_path: Path) -> None:
    path = str(_good_csv(tmp_path, n=8))
    orders = {}
    for s in (0, 0, 1, 2, 3):
        d = pair_file(PairFileConfig(path=path, size=8, split_seed=s), seed=s + 7)
        got = (tuple(d.train.texts), tuple(d.test.texts), tuple(d.train.negatives), d.train.x.sum().item())
        assert orders.setdefault(s, got) == got
    assert len(set(orders.values())) > 1  # the seed does move pairs between splits


@pytest.mark.parametrize("split_seed", [0, 1, 2, 3])
def test_negatives_are_other_captions_of_the_split(tmp_path: Path, split_seed: int) -> None:
    rows = [[str(_png(tmp_path / f"{k}.png", k)), f"scene {k}"] for k in range(9)]
    rows.append([str(_png(tmp_path / "twin.png", 99)), "scene 0"])  # the same text on two images
    data = pair_file(
        PairFileConfig(
            path=str(_csv(tmp_path, ["image", "caption"], rows)),
            size=8,
            context_length=8,
            test_fraction=0.3,
            split_seed=split_seed,
        )
    )
    for split in (data.train, data.test):
        assert all(neg != own for neg, own in zip(split.negatives, split.texts, strict=True))
        assert set(split.negatives) <= set(split.texts)
        assert torch.equal(split.neg_tokens, tokenize(split.negatives, 8))
        assert split.inputs(np.arange(len(split)), negative=True)["tokens"].shape == (len(split), 8)


def test_negative_rows_derangement_and_single_row() -> None:
    rng = np.random.default_rng(0)
    rows = np.array([3, 5, 7, 9])
    neg = negative_rows(["a"] * 10, rows, rng)  # every text alike: still never the row itself
    assert sorted(neg) == sorted(rows) and all(n != r for n, r in zip(neg, rows, strict=True))
    distinct = [f"t{k}" for k in range(50)]
    neg = negative_rows(distinct, np.arange(50), rng)
    assert sorted(neg) == list(range(50)) and (neg != np.arange(50)).all()  # a derangement: each caption once
    assert negative_rows(["p", "q"], np.array([0, 1]), rng).tolist() == [1, 0]
    assert negative_rows(["x", "x", "x", "y"], np.array([0]), rng).tolist() == [3]  # one row: a different text
    texts = ["a", "b", "a"]  # no derangement avoids "a" -> "a": a different text wins over a bijection
    neg = negative_rows(texts, np.arange(3), rng).tolist()
    assert neg[0] == neg[2] == 1 and neg[1] in (0, 2)


def test_negative_rows_prefer_a_different_text_among_many_repeats() -> None:
    texts = ["a photo"] * 1990 + [f"rare {k}" for k in range(10)]
    rows = np.arange(len(texts))
    neg = negative_rows(texts, rows, np.random.default_rng(1))
    assert all(texts[j] != texts[i] for i, j in zip(rows, neg, strict=True))
    again = negative_rows(texts, rows, np.random.default_rng(1))
    assert np.array_equal(neg, again)  # a function of the generator's seed


def test_bad_rows_are_skipped_and_counted(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    good = [
        {"image": str(_png(tmp_path / f"g{k}.png", 10 * k)), "caption": c}
        for k, c in enumerate(["a dog", "!!", "a cat on a mat"])
    ]  # "!!" is a token: a usable caption
    corrupt = tmp_path / "bad" / "corrupt.png"
    corrupt.parent.mkdir()
    corrupt.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(7)))
    noise = np.random.default_rng(0).integers(0, 256, (40, 40, 3), dtype=np.uint8)
    Image.fromarray(noise).save(tmp_path / "bad" / "whole.png")
    whole = (tmp_path / "bad" / "whole.png").read_bytes()
    truncated = tmp_path / "bad" / "truncated.png"
    truncated.write_bytes(whole[: int(len(whole) * 0.6)])  # the header opens; decoding runs out of pixels
    img = good[0]["image"]
    bad: list[object] = [
        "{not json",
        "[1, 2]",
        {"image": img},
        {"image": img, "caption": ""},
        {"image": img, "caption": "   "},
        {"image": img, "caption": "&nbsp;"},  # unescapes to a space: no tokens
        {"caption": "no image"},
        {"image": "nowhere/0.png", "caption": "missing image"},
        {"image": str(corrupt), "caption": "corrupt image"},
        {"image": str(truncated), "caption": "truncated image"},
    ]
    path = _jsonl(tmp_path, [good[0], *bad, "", *good[1:]])
    with caplog.at_level(logging.WARNING, logger="jepakit"):
        data = pair_file(PairFileConfig(path=str(path), size=8, context_length=8))
    assert sorted(data.train.texts + data.test.texts) == sorted(["a dog", "!!", "a cat on a mat"])
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "skipped 10" in warnings[0] and "of 13" in warnings[0] and f"{path}:2: not valid JSON" in warnings[0]
    skipped = data.train.skipped
    assert [s.split(": ", 1)[0] for s in skipped] == [f"{path}:{n}" for n in range(2, 12)]
    reasons = [s.split(": ", 1)[1] for s in skipped]
    assert "not a JSON object" in reasons[1] and "missing or empty" in reasons[2] and "missing or empty" in reasons[3]
    assert "tokenizes to nothing" in reasons[5] and '"image" is missing' in reasons[6]
    assert "image not found" in reasons[7]
    assert all("unreadable image" in r for r in reasons[8:])


def test_bad_csv_rows_name_the_line_they_start_on(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    imgs = [str(_png(tmp_path / f"{k}.png", k)) for k in range(3)]
    rows = [[imgs[0], "two\nlines"], [imgs[1], ""], [imgs[2]], [imgs[1], "fine"], ["", "no image"], [imgs[2], "ok"]]
    path = _csv(tmp_path, ["Image ", "caption"], rows)  # header names are trimmed and case-blind
    with caplog.at_level(logging.WARNING, logger="jepakit"):
        data = pair_file(PairFileConfig(path=str(path), size=8))
    assert sorted(data.train.texts + data.test.texts) == ["fine", "ok", "two lines"]
    assert [s.split(": ", 1)[0] for s in data.train.skipped] == [f"{path}:4", f"{path}:5", f"{path}:7"]
    warnings = [r.getMessage() for r in caplog.records if r.name == "jepakit" and r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "skipped 3 unusable pair(s) of 6" in warnings[0]


@pytest.mark.parametrize("case", ["empty", "missing", "suffix", "folder", "no-caption", "single", "no-pairs"])
def test_fatal_inputs_name_the_file(tmp_path: Path, case: str) -> None:
    path = tmp_path / ("pairs.txt" if case == "suffix" else "pairs.csv")
    img = str(_png(tmp_path / "a.png", 10))
    if case == "suffix":
        path.write_text("image,caption\n")
    elif case == "folder":
        path.mkdir()
    elif case == "no-caption":
        _csv(tmp_path, ["image", "text"], [[img, "a"], [img, "b"]])
    elif case == "single":
        _csv(tmp_path, ["image", "caption"], [[img, "a dog"], ["gone.png", "a cat"]])
    elif case == "no-pairs":
        _csv(tmp_path, ["image", "caption"], [])
    with pytest.raises(JepakitError) as err:
        pair_file(PairFileConfig(path="" if case == "empty" else str(path)))
    assert err.value.hint
    assert ("data.path" if case == "empty" else str(path)) in err.value.message
    expected = {
        "empty": "is empty",
        "missing": "not found",
        "suffix": "neither a .csv nor a .jsonl",
        "folder": "is a folder",
        "no-caption": 'no "caption" column',
        "single": "only 1 of 2 pairs usable",
        "no-pairs": "only 0 of 0",
    }[case]
    assert expected in err.value.message
    if case == "single":
        assert f"{path}:3: image not found" in err.value.message
    if case == "empty":
        assert "data.path" in err.value.hint
