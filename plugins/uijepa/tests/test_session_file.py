"""The user's own UI sessions: a JSONL file loads as clips with intents; bad lines are skipped and counted."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest
from jepakit_uijepa.config import SessionFileConfig
from jepakit_uijepa.session_file import frame_indices, session_file
from PIL import Image

from jepakit.errors import JepakitError


def _png(path: Path, value: int) -> Path:
    """A solid 12x10 screen (not square: the loader crops) whose red and green channels encode `value`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((10, 12, 3), (value, value, 200), dtype=np.uint8)).save(path)
    return path


def _value(x: np.ndarray) -> int:
    """Back from a loaded pixel in [-1, 1] to the screen's value."""
    return int(round((float(x) + 1.0) / 2.0 * 255.0))


def _screens(root: Path, name: str, values: list[int]) -> list[str]:
    """Write one screen per value under root/name/, return their paths relative to root."""
    return [str(_png(root / name / f"{i}.png", v).relative_to(root)) for i, v in enumerate(values)]


def _jsonl(root: Path, lines: list[object], name: str = "sessions.jsonl") -> Path:
    path = root / name
    path.write_text("\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n")
    return path


def _good(root: Path) -> Path:
    """8 sessions, 5 intents: a long one (12 screens), a short one with absolute paths, six of 3 screens."""
    long_values = [10 * i + 20 for i in range(12)]  # distinct greys: which ones were picked is readable
    short = [str(_png(root / "abs" / f"{i}.png", v)) for i, v in enumerate([30, 90])]  # absolute paths
    lines: list[object] = [
        {"screens": _screens(root, "long", long_values), "intent": "  open the\n alarm   app ", "actions": ["tap"]},
        {"screens": short, "intent": "text Ana hi"},
        "",  # blank lines are not sessions
    ]
    for k in range(6):
        lines.append(
            {
                "screens": _screens(root, f"s{k}", [40, 60, 80]),
                "intent": ["turn off wifi", "play jazz", "set an alarm for 7:30"][k % 3],
            }
        )
    return _jsonl(root, lines)


def _all(data) -> tuple[np.ndarray, list[str]]:
    x = np.concatenate([data.train.x.numpy(), data.test.x.numpy()])
    return x, data.train.texts + data.test.texts


def test_frame_indices_even_and_held() -> None:
    assert frame_indices(12, 4) == [0, 4, 7, 11]
    assert frame_indices(4, 4) == [0, 1, 2, 3]
    assert frame_indices(2, 5) == [0, 1, 1, 1, 1]


def test_good_file_shapes_labels_and_frames(tmp_path: Path) -> None:
    data = session_file(SessionFileConfig(path=str(_good(tmp_path)), frames=4, size=8, test_fraction=0.25))
    assert data.name == "sessions" and data.modality == "video"
    assert len(data.train) == 6 and len(data.test) == 2  # round(0.25 * 8)
    assert data.input_shape == (3, 4, 8, 8) and data.train.x.shape[1:] == (3, 4, 8, 8)
    assert data.train.x.dtype.is_floating_point
    x, texts = _all(data)
    assert x.min() >= -1.0 and x.max() <= 1.0
    assert data.class_names == sorted(
        {"open the alarm app", "text Ana hi", "turn off wifi", "play jazz", "set an alarm for 7:30"}
    )
    assert data.num_classes == 5
    for split in (data.train, data.test):
        assert [data.class_names[int(k)] for k in split.y] == split.texts
    assert data.meta["references"] == [[name] for name in data.class_names]
    train_names = set(data.train.texts)
    assert data.meta["held_out"] == [name not in train_names for name in data.class_names]
    long = x[texts.index("open the alarm app")]  # [C, T, S, S]
    assert [_value(long[0, t, 0, 0]) for t in range(4)] == [20, 60, 90, 130]  # screens 0, 4, 7, 11
    assert np.allclose(long[2], 200 / 127.5 - 1.0, atol=1e-5)  # solid frames stay solid
    short = x[texts.index("text Ana hi")]
    assert [_value(short[0, t, 0, 0]) for t in range(4)] == [30, 90, 90, 90]  # last screen held


def test_split_is_deterministic_in_split_seed(tmp_path: Path) -> None:
    path = str(_good(tmp_path))
    orders = {}
    for s in (0, 0, 1, 2, 3):
        d = session_file(SessionFileConfig(path=path, frames=3, size=8, split_seed=s), seed=s + 7)
        got = (tuple(d.train.texts), tuple(d.test.texts), d.train.x.sum().item())
        assert orders.setdefault(s, got) == got
    assert len(set(orders.values())) > 1  # the seed does move sessions between splits


def test_grayscale_and_split_clamped_to_both_sides(tmp_path: Path) -> None:
    lines = [{"screens": _screens(tmp_path, f"s{k}", [50, 100]), "intent": f"open app {k}"} for k in range(2)]
    data = session_file(
        SessionFileConfig(path=str(_jsonl(tmp_path, lines)), frames=2, size=8, channels=1, test_fraction=0.9)
    )
    assert data.input_shape == (1, 2, 8, 8) and data.train.x.shape == (1, 1, 2, 8, 8)
    assert len(data.test) == 1
    assert data.meta["held_out"].count(True) == 1  # the test session's intent is never seen in training


def test_bad_lines_are_skipped_and_counted(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    good = [{"screens": _screens(tmp_path, f"g{k}", [40, 80]), "intent": "turn off wifi"} for k in range(3)]
    corrupt = tmp_path / "bad" / "corrupt.png"
    corrupt.parent.mkdir()
    corrupt.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(7)))
    noise = np.random.default_rng(0).integers(0, 256, (40, 40, 3), dtype=np.uint8)  # a long pixel stream
    Image.fromarray(noise).save(tmp_path / "bad" / "whole.png")
    whole = (tmp_path / "bad" / "whole.png").read_bytes()
    truncated = tmp_path / "bad" / "truncated.png"
    truncated.write_bytes(whole[: int(len(whole) * 0.6)])  # the header opens; decoding runs out of pixels
    bad: list[object] = [
        "{not json",
        "[1, 2]",
        {"intent": "no screens"},
        {"screens": [3, 4], "intent": "paths not strings"},
        {"screens": _screens(tmp_path, "b1", [10])},
        {"screens": _screens(tmp_path, "b2", [10]), "intent": "?!"},
        {"screens": ["nowhere/0.png"], "intent": "missing screen"},
        {"screens": [str(corrupt)], "intent": "corrupt screen"},
        {"screens": [str(truncated)], "intent": "truncated screen"},
    ]
    path = _jsonl(tmp_path, [good[0], *bad, *good[1:]])
    with caplog.at_level(logging.WARNING, logger="jepakit"):
        data = session_file(SessionFileConfig(path=str(path), frames=2, size=8))
    assert len(data.train) + len(data.test) == 3 and data.class_names == ["turn off wifi"]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "skipped 9" in warnings[0] and f"{path}:2" in warnings[0]
    assert len(data.train.skipped) == 9
    assert data.train.skipped[-1].startswith(f"{path}:10:") and "unreadable screen" in data.train.skipped[-1]


@pytest.mark.parametrize("case", ["empty", "missing", "folder", "all-bad", "single", "no-sessions"])
def test_fatal_inputs_name_the_file(tmp_path: Path, case: str) -> None:
    path = tmp_path / "sessions.jsonl"
    if case == "folder":
        path.mkdir()
    elif case == "all-bad":
        _jsonl(tmp_path, ["{oops", {"screens": ["gone.png"], "intent": "open app"}])
    elif case == "single":
        _jsonl(tmp_path, [{"screens": _screens(tmp_path, "s", [10]), "intent": "open app"}, "{oops"])
    elif case == "no-sessions":
        _jsonl(tmp_path, ["", "  "])
    cfg = SessionFileConfig(path="" if case == "empty" else str(path))
    with pytest.raises(JepakitError) as err:
        session_file(cfg)
    assert err.value.hint
    assert ("data.path" if case == "empty" else str(path)) in err.value.message
    if case == "all-bad":
        assert "0 of 2 sessions usable" in err.value.message and f"{path}:1" in err.value.message
    if case == "single":
        assert "1 of 2" in err.value.message
