"""`tijepa/captioned-shapes`: image-caption pairs generated offline, and the split type every TI-JEPA dataset uses.

A sample's input is a dict, {"image": [C, H, W] in [-1, 1], "tokens": [L] open_clip BPE ids}; core's loader
stacks it key by key. Each split also keeps the caption texts, a hard negative caption per pair (one attribute
swapped, or another pair's caption for user data) and which pairs hold combinations never seen in training.
The label `y` is the relation of shape to digit (4 classes), for the fused-representation probe.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset

from jepakit.interfaces import DataSplits
from jepakit_tijepa.config import CaptionedShapesConfig
from jepakit_tijepa.scenes import RELATIONS, caption, render, sample_scene, swap_one
from jepakit_tijepa.text import tokenize


class CaptionSplit(Dataset):
    """An in-memory split of pairs: `x` [N, C, H, W], `tokens` [N, L], `y` [N], `texts`, `negatives` (a caption
    that does not describe image i), `neg_tokens` [N, L], `unseen` [N] bool (pair outside training's combinations)."""

    def __init__(
        self,
        x: torch.Tensor,
        tokens: torch.Tensor,
        y: torch.Tensor,
        texts: list[str],
        negatives: list[str],
        neg_tokens: torch.Tensor,
        unseen: np.ndarray | None = None,
        skipped: list[str] | None = None,
    ) -> None:
        n = int(x.shape[0])
        if not (len(tokens) == len(y) == len(texts) == len(negatives) == len(neg_tokens) == n):
            raise ValueError("images, tokens, labels, texts and negatives must have one row per pair")
        self.x, self.tokens, self.y = x.contiguous(), tokens.long(), y.long()
        self.texts, self.negatives, self.neg_tokens = list(texts), list(negatives), neg_tokens.long()
        self.unseen = np.zeros(n, bool) if unseen is None else np.asarray(unseen, bool)
        self.skipped: list[str] = list(skipped or [])

    def __len__(self) -> int:
        return int(self.x.shape[0])

    def __getitem__(self, i: int) -> tuple[dict[str, torch.Tensor], int]:
        return {"image": self.x[i], "tokens": self.tokens[i]}, int(self.y[i])

    def inputs(self, rows: np.ndarray | slice, negative: bool = False) -> dict[str, torch.Tensor]:
        """A batch of inputs for these rows, with their own captions or their negatives."""
        return {"image": self.x[rows], "tokens": (self.neg_tokens if negative else self.tokens)[rows]}


def _pixels(images: np.ndarray) -> torch.Tensor:
    """uint8 [N, H, W, 3] -> float32 [N, 3, H, W] in [-1, 1]."""
    return torch.from_numpy(images).permute(0, 3, 1, 2).float().div(127.5).sub(1.0).contiguous()


def make_split(cfg: CaptionedShapesConfig, n: int, test: bool) -> CaptionSplit:
    """n pairs, each a pure function of (cfg.seed, split, index)."""
    images, texts, negatives, labels, unseen = [], [], [], [], []
    for i in range(n):
        rng = np.random.default_rng([cfg.seed, int(test), i])
        scene = sample_scene(rng, test)
        images.append(render(scene, cfg.size, rng))
        texts.append(caption(scene))
        negatives.append(caption(swap_one(scene, rng)))
        labels.append(RELATIONS.index(scene.relation))
        unseen.append(scene.unseen)
    return CaptionSplit(
        _pixels(np.stack(images)),
        tokenize(texts, cfg.context_length),
        torch.tensor(labels),
        texts,
        negatives,
        tokenize(negatives, cfg.context_length),
        np.asarray(unseen),
    )


def captioned_shapes(cfg: CaptionedShapesConfig, seed: int = 0) -> DataSplits:
    """Train and test pairs; the test split holds the held-out shape-colour combinations (about 1 in 6 pairs)."""
    train, test = make_split(cfg, cfg.n_train, test=False), make_split(cfg, cfg.n_test, test=True)
    return DataSplits(
        name="captioned-shapes",
        train=train,
        test=test,
        input_shape=(3, cfg.size, cfg.size),
        num_classes=len(RELATIONS),
        modality="text-image",
        class_names=list(RELATIONS),
        meta={
            "context_length": cfg.context_length,
            "label": "relation of the shape to the digit",
            "negatives": "the caption with one attribute swapped",
        },
    )
