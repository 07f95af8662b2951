"""TI-JEPA's evaluation: retrieval by energy, a match probe and a relation probe on fused features, energy AUC.

Every number is computed the same way for the trained model and for the same network at random init:
- Retrieval: the energy of every caption x image pair of a test pool (the training loss itself, averaged over
  fixed mask draws); text-to-image ranks images per caption, image-to-text captions per image, lowest first.
  Recall@k is the share whose own partner ranks in the top k (chance k / pool).
- Match probe: V-JEPA's attentive probe on the EMA fusion's tokens of (image, caption) reads whether the caption
  describes the image (and core's linear probe on their mean); negatives differ from the truth in exactly one
  attribute, so neither modality alone beats 50 %. Fitted on training images' pairs, scored on test images'
  pairs (and on the unseen combinations).
- Energy preference: how often a test image's true caption has lower energy than its one-attribute-swapped
  negative, and the ROC AUC of energy over all those pairs. Training never saw a negative.
- Relation probe: a linear probe on fused features of true pairs, label = the relation of shape to digit.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from jepakit.api import (
    AttentiveProbe,
    AttentiveProbeConfig,
    Built,
    LinearProbe,
    ResolvedRun,
    collapse_stats,
    gather_tokens,
    sample_masks,
)
from jepakit.interfaces import EvalResult, MaskSet, Scores
from jepakit_tijepa.config import TIJEPAConfig
from jepakit_tijepa.data import CaptionSplit

log = logging.getLogger("jepakit")
BATCH = 512


def fixed_masks(masker: Any, n: int, seed: int) -> list[MaskSet]:
    """n mask draws for one sample each, the same for every pair scored with them."""
    gen = torch.Generator().manual_seed(seed)
    return [sample_masks(masker, 1, gen, step=0, total_steps=1) for _ in range(n)]


@torch.no_grad()
def pair_energy(model: Any, x: dict[str, torch.Tensor], masks: list[MaskSet]) -> torch.Tensor:
    """The training energy of each pair of the batch [B], averaged over the mask draws (lower = compatible)."""
    b = x["image"].shape[0]
    total = torch.zeros(b)
    for m in masks:
        ctx_idx, tgt_idx = m.context.expand(b, -1), m.targets.expand(b, -1, -1)  # [B, Nc], [B, M, Nt]
        ctx = model.encoder(x, keep=ctx_idx)  # [B, Nc, D]
        pred = model.predictor(ctx, ctx_idx, tgt_idx)  # [B, M, Nt, D]
        tgt = model.target.targets(x, tgt_idx)  # [B, M, Nt, D]
        total += (pred.float() - tgt.float()).pow(2).mean(dim=(1, 2, 3))
    return total / len(masks)


@torch.no_grad()
def energy_matrix(model: Any, split: CaptionSplit, rows: np.ndarray, masks: list[MaskSet]) -> np.ndarray:
    """E[t, i] for the caption of rows[t] with the image of rows[i]: [P, P], equal to `pair_energy` of each pair.

    P^2 pairs would run the towers P^2 times; they depend on one side of the pair only, so they run P times
    (per mask for the context path) and only the fusion, the predictor and the target gather run per pair.
    """
    enc, teacher, pred_net = model.encoder, model.target.teacher, model.predictor
    norm = getattr(getattr(model.target, "cfg", None), "layer_norm", True)  # EMA targets are always layer-normed
    images, tokens = split.x[rows], split.tokens[rows]
    p = len(rows)
    txt, txt_mask = enc.encode_text(tokens)  # [P, L, Dt], [P, L]
    t_txt, _ = teacher.encode_text(tokens)
    t_img = teacher.encode_image(images)  # [P, N, Di]
    ctx_img = [enc.encode_image(images, keep=m.context.expand(p, -1)) for m in masks]  # [P, Nc, Di] per mask
    ti, ii = (a.ravel() for a in np.meshgrid(np.arange(p), np.arange(p), indexing="ij"))  # caption, image
    out = np.empty(p * p, np.float32)
    for lo in range(0, p * p, BATCH):
        t, i = ti[lo : lo + BATCH], ii[lo : lo + BATCH]
        b = len(t)
        h = teacher.fuse(t_img[i], t_txt[t], txt_mask[t])  # [b, N, D] target features of every patch
        if norm:
            h = F.layer_norm(h, h.shape[-1:])
        total = torch.zeros(b)
        for m, cimg in zip(masks, ctx_img, strict=True):
            ctx_idx, tgt_idx = m.context.expand(b, -1), m.targets.expand(b, -1, -1)  # [b, Nc], [b, M, Nt]
            ctx = enc.fuse(cimg[i], txt[t], txt_mask[t])  # [b, Nc, D]
            pred = pred_net(ctx, ctx_idx, tgt_idx)  # [b, M, Nt, D]
            tgt = gather_tokens(h, tgt_idx.reshape(b, -1)).reshape(pred.shape)
            total += (pred.float() - tgt.float()).pow(2).mean(dim=(1, 2, 3))
        out[lo : lo + b] = (total / len(masks)).numpy()
    return out.reshape(p, p)


def recall_at(energy: np.ndarray, k: int) -> tuple[float, float]:
    """(text-to-image, image-to-text) recall@k in percent for an energy matrix E[caption, image] whose
    diagonal holds the true pairs; ties count against the true partner."""
    diag = np.diag(energy)
    t2i = (energy <= diag[:, None]).sum(axis=1) - 1  # images at least as compatible as the true one, per caption
    i2t = (energy <= diag[None, :]).sum(axis=0) - 1  # captions at least as compatible, per image
    return 100.0 * float(np.mean(t2i < k)), 100.0 * float(np.mean(i2t < k))


@torch.no_grad()
def fused_tokens(model: Any, split: CaptionSplit, rows: np.ndarray, negative: bool = False) -> np.ndarray:
    """EMA-fusion features of every patch of (image, caption or negative caption) for these rows [n, N, D]."""
    teacher = model.teacher
    return torch.cat(
        [teacher(split.inputs(rows[lo : lo + BATCH], negative)).float() for lo in range(0, len(rows), BATCH)]
    ).numpy()


def auc(pos_energy: np.ndarray, neg_energy: np.ndarray) -> float:
    """ROC AUC of 'higher energy = not a match' over matched (pos) and mismatched (neg) pairs, in percent."""
    from sklearn.metrics import roc_auc_score

    scores = np.concatenate([pos_energy, neg_energy])
    labels = np.concatenate([np.zeros(len(pos_energy)), np.ones(len(neg_energy))])
    return 100.0 * float(roc_auc_score(labels, scores))


def _probe(
    head: Any,
    train_f: np.ndarray,
    train_y: np.ndarray,
    test_f: np.ndarray,
    test_y: np.ndarray,
    subset: np.ndarray | None = None,
) -> tuple[float, float | None]:
    """Accuracy of a core probe (its fixed protocol) on the test rows, and on a subset of them (None: empty)."""
    head.fit(train_f, train_y)
    acc = head.score(test_f, test_y)["accuracy"]
    if subset is None or not subset.any():
        return acc, None
    return acc, head.score(test_f[subset], test_y[subset])["accuracy"]


def score_model(
    model: Any, masker: Any, cfg: TIJEPAConfig, train: CaptionSplit, test: CaptionSplit, seed: int
) -> dict[str, Any]:
    """Every metric of one model (trained or random init), keyed by metric name (None where a probe does not
    apply), and the pooled test features under "_pooled"."""
    model.eval()
    masks = fixed_masks(masker, cfg.energy_masks, seed)
    pool = np.arange(min(cfg.retrieval_pool, len(test)))
    energy = energy_matrix(model, test, pool, masks)
    out: dict[str, Any] = {}
    for k in (1, 5):
        out[f"t2i_recall@{k}"], out[f"i2t_recall@{k}"] = recall_at(energy, k)
    out["recall@5"] = (out["t2i_recall@5"] + out["i2t_recall@5"]) / 2
    rows_te = np.arange(len(test))
    pos = np.concatenate(
        [
            pair_energy(model, test.inputs(rows_te[lo : lo + BATCH]), masks).numpy()
            for lo in range(0, len(rows_te), BATCH)
        ]
    )
    neg = np.concatenate(
        [
            pair_energy(model, test.inputs(rows_te[lo : lo + BATCH], True), masks).numpy()
            for lo in range(0, len(rows_te), BATCH)
        ]
    )
    out["energy_prefers_true_caption"] = 100.0 * float(np.mean(pos < neg))
    out["energy_auc"] = auc(pos, neg)
    rows_tr = np.arange(min(cfg.probe_pairs // 2, len(train)))
    tr_pos, tr_neg = fused_tokens(model, train, rows_tr), fused_tokens(model, train, rows_tr, True)  # [n, N, D]
    te_pos, te_neg = fused_tokens(model, test, rows_te), fused_tokens(model, test, rows_te, True)
    match_tr, match_te = np.concatenate([tr_pos, tr_neg]), np.concatenate([te_pos, te_neg])  # true pairs first
    y_tr = np.concatenate([np.ones(len(rows_tr), int), np.zeros(len(rows_tr), int)])
    y_te = np.concatenate([np.ones(len(rows_te), int), np.zeros(len(rows_te), int)])
    out["match_probe"], out["match_probe_unseen"] = _probe(
        AttentiveProbe(AttentiveProbeConfig()), match_tr, y_tr, match_te, y_te, np.concatenate([test.unseen] * 2)
    )
    out["match_probe_linear"], _ = _probe(LinearProbe(), match_tr.mean(1), y_tr, match_te.mean(1), y_te)
    out["relation_probe"] = None
    if len(np.unique(train.y[rows_tr].numpy())) > 1:  # user pairs carry no label
        out["relation_probe"], _ = _probe(
            LinearProbe(), tr_pos.mean(1), train.y[rows_tr].numpy(), te_pos.mean(1), test.y.numpy()
        )
    out["_pooled"] = te_pos.mean(1)  # for the collapse statistics, removed by the caller
    return out


#: metric -> its definition (eval.json's "definitions"); {neg} is the data's kind of negative caption
METRICS = {
    "recall@5": "retrieval recall@5 by energy, mean of text-to-image and image-to-text",
    "t2i_recall@1": "text-to-image recall@1",
    "t2i_recall@5": "text-to-image recall@5",
    "i2t_recall@1": "image-to-text recall@1",
    "i2t_recall@5": "image-to-text recall@5",
    "energy_prefers_true_caption": "share of test images whose caption has lower energy than {neg}",
    "energy_auc": "ROC AUC of energy separating true captions from {neg}",
    "match_probe": "attentive probe on fused tokens: does the caption describe the image? (negatives: {neg})",
    "match_probe_unseen": "the match probe on test pairs with attribute combinations unseen in training",
    "match_probe_linear": "the same question for a linear probe on mean-pooled fused features",
    "relation_probe": "linear probe on fused features of true pairs, predicting the dataset's label",
}


def evaluate_tijepa(
    cfg: TIJEPAConfig, resolved: ResolvedRun, built: Built, random_init: Any, run_dir: Any
) -> EvalResult:
    """Every metric of METRICS for the trained model and the same network at random init, chance as the third
    row; core writes eval.json."""
    splits = built.splits
    train, test = splits.train, splits.test
    seed = resolved.run.seed
    neg = splits.meta.get("negatives", "another pair's caption")
    rows = {
        "trained": score_model(built.model, built.masker, cfg, train, test, seed),
        "random_init": score_model(random_init, built.masker, cfg, train, test, seed),
    }
    pooled = {row: rows[row].pop("_pooled") for row in rows}
    pool = min(cfg.retrieval_pool, len(test))
    labels = test.y.numpy()
    chance = {
        "recall@5": 500.0 / pool,
        "energy_prefers_true_caption": 50.0,
        "energy_auc": 50.0,
        "match_probe": 50.0,
        "match_probe_unseen": 50.0,
        "match_probe_linear": 50.0,
        "relation_probe": 100.0 * np.bincount(labels).max() / len(labels),
        **{f"{side}_recall@{k}": 100.0 * k / pool for k in (1, 5) for side in ("t2i", "i2t")},
    }
    scores: dict[str, Scores] = {}
    for name in METRICS:
        if all(v.get(name) is None for v in rows.values()):
            continue  # not measurable on these data (no unseen pairs, a single label)
        trained, rand = (None if rows[r][name] is None else round(float(rows[r][name]), 2) for r in rows)
        scores[name] = Scores(metric=name, trained=trained, random_init=rand, raw=round(chance[name], 2))
    log.info(
        "retrieval recall@5: trained %.1f, random init %.1f, chance %.1f",
        rows["trained"]["recall@5"],
        rows["random_init"]["recall@5"],
        500.0 / pool,
    )
    return EvalResult(
        variant=resolved.variant,
        dataset=splits.name,
        primary="recall@5",
        scores=scores,
        baseline_label="chance",
        encoder="EMA fusion (target) for probes; context path + predictor vs EMA fusion for energy",
        readout="fused tokens (attentive probe), their mean (linear probes)",
        n_train=len(train),
        n_test=len(test),
        protocol=(
            f"energy = the training loss of a pair (mean squared error between predicted and EMA-fusion "
            f"features of the target blocks), averaged over {cfg.energy_masks} fixed mask draws; retrieval "
            f"ranks all {pool}x{pool} caption-image pairs of the test pool; probes on EMA-fusion features "
            f"(attentive on tokens, linear on their mean: core's fixed protocols), fitted on "
            f"{min(cfg.probe_pairs // 2, len(train))} training images' pairs, scored on the {len(test)} "
            "test images; identical for trained and random_init"
        ),
        collapse={
            **_rounded(collapse_stats(pooled["trained"])),
            "random_init": _rounded(collapse_stats(pooled["random_init"])),
        },
        details={
            "definitions": {k: v.format(neg=neg) for k, v in METRICS.items() if k in scores},
            "retrieval_pool": pool,
            "n_test_unseen": int(test.unseen.sum()),
        },
    )


def _rounded(stats: dict[str, float]) -> dict[str, float]:
    return {k: round(v, 5) for k, v in stats.items()}
