"""The user's own UI sessions: a JSONL file of screen recordings and the intent each one carried out.

UI-JEPA learns from recordings of people using apps; this loader lets a user bring theirs in the same shape as
the generated `ui-sessions` dataset, so the same encoder and intent decoder run on real screens. One line is one
session, `{"screens": [...], "intent": "...", "actions": [...]}` (`actions` is ignored): its screens become a
clip [C, T, S, S] in [-1, 1] (a long recording is sampled evenly, a short one holds its last screen, as an idle
screen would), its intent both the class and the text the decoder learns to write. A bad line (not JSON, no
screens, no intent, a missing or corrupt screen) is skipped and counted, with one warning naming the count and
the first offender as `path:line`; only a file with fewer than two usable sessions is fatal.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np
import torch

from jepakit import JepakitError
from jepakit.api import fit_image, json_object
from jepakit.interfaces import DataSplits
from jepakit_uijepa.config import SessionFileConfig
from jepakit_uijepa.data import SessionSplit
from jepakit_uijepa.text import tokenize

log = logging.getLogger("jepakit")
_WORD = re.compile(r"\w")  # a word token, not a lone punctuation mark
FORMAT_HINT = 'one JSON object per line: {"screens": ["s1/0.png", "s1/1.png"], "intent": "turn off wifi"}'


def frame_indices(n_screens: int, frames: int) -> list[int]:
    """Which screens fill the `frames` slots: evenly spaced (first and last kept) or the last one held."""
    if n_screens >= frames:
        return [round(i * (n_screens - 1) / (frames - 1)) for i in range(frames)]
    return list(range(n_screens)) + [n_screens - 1] * (frames - n_screens)


def normalise_intent(text: str) -> str:
    """Strip and collapse whitespace: "  turn off\n wifi " -> "turn off wifi"."""
    return " ".join(text.split())


def _session(line: str, base: Path, cfg: SessionFileConfig) -> tuple[np.ndarray, str]:
    """One JSONL line -> (clip float32 [C, T, S, S] in [-1, 1], normalised intent); ValueError says why not."""
    from PIL import Image

    rec = json_object(line)
    screens = rec.get("screens")
    if not isinstance(screens, list) or not screens or not all(isinstance(s, str) and s for s in screens):
        raise ValueError('"screens" must be a non-empty list of image paths')
    intent = rec.get("intent")
    if not isinstance(intent, str) or not any(_WORD.match(tok) for tok in tokenize(intent)):
        raise ValueError('"intent" is missing or has no words')  # "?!" tokenizes to punctuation only
    files = [base / s for s in screens]  # an absolute path replaces base
    missing = [f for f in files if not f.is_file()]
    if missing:
        raise ValueError(f"screen not found: {missing[0]}")
    decoded: dict[int, np.ndarray] = {}
    for i in sorted(set(frame_indices(len(files), cfg.frames))):  # only the screens the clip uses are decoded
        try:
            with Image.open(files[i]) as im:
                decoded[i] = fit_image(im, cfg.size, cfg.channels)  # [C, S, S] in [0, 1]
        except Exception as exc:  # any decoder failure means "skip this session"
            raise ValueError(f"unreadable screen {files[i]} ({exc})") from None
    clip = np.stack([decoded[i] for i in frame_indices(len(files), cfg.frames)], axis=1)  # [C, T, S, S]
    return clip * 2.0 - 1.0, normalise_intent(intent)


def _read_lines(path: Path, cfg: SessionFileConfig) -> list[str]:
    if not cfg.path:
        raise JepakitError(
            "data.path is empty: session-file reads your own JSONL file of UI sessions",
            f'set data.path = "/path/to/sessions.jsonl", {FORMAT_HINT}',
        )
    if not path.exists():
        raise JepakitError(f"data.path: file not found: {path}", "check the path to your sessions JSONL file")
    if path.is_dir():
        raise JepakitError(
            f"data.path: {path} is a folder, not a JSONL file",
            f"point data.path at the .jsonl file itself ({FORMAT_HINT})",
        )
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise JepakitError(f"data.path: cannot read {path} ({exc})", "save it as UTF-8 text, " + FORMAT_HINT) from exc


def session_file(cfg: SessionFileConfig, seed: int = 0) -> DataSplits:
    """The sessions of cfg.path, split at random by cfg.split_seed (the run's `seed` is ignored)."""
    path = Path(cfg.path).expanduser()
    lines = _read_lines(path, cfg)
    clips: list[np.ndarray] = []  # [C, T, S, S] each
    intents: list[str] = []
    skipped: list[str] = []
    total = 0
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        total += 1
        try:
            clip, intent = _session(line, path.parent, cfg)
        except ValueError as exc:
            skipped.append(f"{path}:{number}: {exc}")
            continue
        clips.append(clip)
        intents.append(intent)
    if skipped:
        log.warning(
            "session-file: skipped %d unusable session(s) of %d in %s; first: %s", len(skipped), total, path, skipped[0]
        )
    if not clips:
        first = f"; first: {skipped[0]}" if skipped else " (the file has no sessions)"
        raise JepakitError(
            f"data.path: 0 of {total} sessions usable in {path}{first}",
            f"fix the lines named; {FORMAT_HINT}, screen paths relative to the file's folder",
        )
    if len(clips) < 2:
        raise JepakitError(
            f"data.path: only 1 of {total} sessions usable in {path}; need at least 2",
            "add sessions: one is needed for training and one for testing",
        )
    return _split(path, clips, intents, skipped, cfg)


def _split(
    path: Path, clips: list[np.ndarray], intents: list[str], skipped: list[str], cfg: SessionFileConfig
) -> DataSplits:
    names = sorted(set(intents))
    index = {name: k for k, name in enumerate(names)}
    n = len(clips)
    n_test = min(max(1, round(cfg.test_fraction * n)), n - 1)  # both splits non-empty
    order = np.random.default_rng(cfg.split_seed).permutation(n)
    test_idx, train_idx = np.sort(order[:n_test]), np.sort(order[n_test:])
    x = torch.from_numpy(np.stack(clips).astype(np.float32))  # [N, C, T, S, S]
    y = torch.as_tensor([index[t] for t in intents], dtype=torch.long)  # [N]

    def part(idx: np.ndarray) -> SessionSplit:
        return SessionSplit(x[torch.as_tensor(idx)], y[torch.as_tensor(idx)], [intents[i] for i in idx], skipped)

    seen = {int(y[i]) for i in train_idx}
    return DataSplits(
        name=path.stem,
        train=part(train_idx),
        test=part(test_idx),
        input_shape=tuple(int(s) for s in x.shape[1:]),
        num_classes=len(names),
        modality="video",
        class_names=names,
        meta={"references": [[name] for name in names], "held_out": [k not in seen for k in range(len(names))]},
    )
