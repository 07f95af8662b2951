"""UI sessions as a jepakit dataset: clips [3, T, S, S] in [-1, 1], the intent as class, the words as text.

Labels index `class_names` (each intent's canonical text); `meta["references"][k]` lists every accepted
phrasing of intent k (the decoder's exact match accepts any), `meta["held_out"][k]` marks intents that appear
only in the test split. Each split also carries `texts`: the phrasing its session was labelled with, which is
what the decoder learns to write.
"""

from __future__ import annotations

import functools

import numpy as np
import torch

from jepakit.api import ImageSplit
from jepakit.interfaces import DataSplits
from jepakit_uijepa.config import UISessionsConfig
from jepakit_uijepa.screens import RENDER, all_intents, held_out, render_session


class SessionSplit(ImageSplit):
    """An in-memory split of sessions: `x` [N, C, T, H, W], `y` [N] intent index, `texts` [N] reference text."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor, texts: list[str], skipped: list[str] | None = None) -> None:
        super().__init__(x, y, skipped)
        if len(texts) != len(self):
            raise ValueError(f"{len(texts)} texts for {len(self)} sessions")
        self.texts = list(texts)


def _downsample(frames: np.ndarray, size: int) -> np.ndarray:
    """uint8 [T, R, R, 3] -> float32 [3, T, size, size] in [-1, 1] (area average: text blurs as on a small
    screen). numpy, not torch: per-session tensors this small cost more in dispatch than in arithmetic."""
    k, t = RENDER // size, frames.shape[0]
    x = frames.reshape(t, size, k, size, k, 3).mean(axis=(2, 4), dtype=np.float32)  # [T, S, S, 3]
    return (x / 127.5 - 1.0).transpose(3, 0, 1, 2)  # [3, T, S, S]


@functools.lru_cache(maxsize=2)
def _generate(
    frames: int, size: int, n_train: int, n_seen_test: int, n_unseen_test: int, seed: int
) -> tuple[torch.Tensor, torch.Tensor, list[str], torch.Tensor, torch.Tensor, list[str]]:
    intents = all_intents()
    tr_x, tr_y, tr_t, te_x, te_y, te_t = [], [], [], [], [], []
    for k, intent in enumerate(intents):
        texts = intent.texts()
        counts = (0, n_unseen_test) if held_out(intent) else (n_train, n_seen_test)
        for split, count in enumerate(counts):
            for i in range(count):
                rng = np.random.default_rng((seed, k, split, i))
                clip = _downsample(render_session(intent, frames, rng), size)
                text = texts[int(rng.integers(0, len(texts)))]
                xs, ys, ts = (tr_x, tr_y, tr_t) if split == 0 else (te_x, te_y, te_t)
                xs.append(clip)
                ys.append(k)
                ts.append(text)
    return (
        torch.from_numpy(np.stack(tr_x)),
        torch.as_tensor(tr_y),
        tr_t,
        torch.from_numpy(np.stack(te_x)),
        torch.as_tensor(te_y),
        te_t,
    )


def ui_sessions(cfg: UISessionsConfig, seed: int = 0) -> DataSplits:
    """The generated UI sessions; the run's `seed` is ignored so every run scores on the same sessions."""
    tr_x, tr_y, tr_t, te_x, te_y, te_t = _generate(
        cfg.frames, cfg.size, cfg.train_per_intent, cfg.test_per_seen_intent, cfg.test_per_unseen_intent, cfg.seed
    )
    intents = all_intents()
    return DataSplits(
        name=f"ui-sessions{cfg.size}x{cfg.frames}",
        train=SessionSplit(tr_x, tr_y, tr_t),
        test=SessionSplit(te_x, te_y, te_t),
        input_shape=tuple(int(s) for s in tr_x.shape[1:]),
        num_classes=len(intents),
        modality="video",
        class_names=[it.texts()[0] for it in intents],
        meta={"references": [it.texts() for it in intents], "held_out": [held_out(it) for it in intents]},
    )
