"""Point-JEPA's evaluation protocol on frozen features (the papers' linear SVM, plus k-NN).

Features: the max and the mean of the encoder's final tokens, concatenated ([N, 2D], point2vec / Point-JEPA).
Rows: the trained encoder (the EMA teacher unless `eval.encoder = "context"`), the same network at random init
(rebuilt under the run's seed: training's starting point), and a hand-crafted raw baseline (the D2 shape
distribution + bounding-box extents). Scores: accuracy of a linear SVM and of a cosine k-NN under repeated
stratified k-fold cross-validation over every labelled cloud (train and test splits pooled: ~330 models are
too few for one fixed split to separate rows a few points apart); mean over folds, with the std in `details`.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import torch

from jepakit import JepakitError
from jepakit_pointjepa.config import PointEvalConfig
from jepakit_pointjepa.data import d2_features

log = logging.getLogger("jepakit")


@torch.no_grad()
def max_mean_features(encoder: torch.nn.Module, x: torch.Tensor, batch: int = 128) -> np.ndarray:
    """x [N, P, 3] -> [N, 2D]: max and mean over the tokens of the final-normed output."""
    was = encoder.training
    encoder.eval()
    try:
        out = []
        for i in range(0, len(x), batch):
            z = encoder(x[i : i + batch].float())  # [b, G, D]
            out.append(torch.cat([z.amax(dim=1), z.mean(dim=1)], dim=1).float())
        return torch.cat(out).numpy()
    finally:
        encoder.train(was)


def labelled_clouds(splits: Any) -> tuple[torch.Tensor, np.ndarray]:
    """Every labelled clean cloud of a dataset: train and test pooled, [N, P, 3] and [N]."""
    if splits.train is None or splits.test is None:
        raise JepakitError(
            f"{splits.name} has no labels to evaluate with",
            "train with class sub-folders, or evaluate on a labelled set (`jepakit eval RUN --data ...`)",
        )
    x = torch.cat([splits.train.x, splits.test.x])
    y = np.concatenate([splits.train.y.numpy(), splits.test.y.numpy()])
    return x, y


def cross_validate(feats: np.ndarray, y: np.ndarray, cfg: PointEvalConfig) -> dict[str, tuple[float, float]]:
    """{"svm": (mean %, std %), "knn": (mean %, std %)} over `repeats` x `folds` stratified folds (the same
    folds for every row: they depend only on the labels and `cv_seed`)."""
    from sklearn.model_selection import RepeatedStratifiedKFold
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import Normalizer, StandardScaler
    from sklearn.svm import LinearSVC

    folds = min(cfg.folds, int(np.bincount(y).min()))
    if folds < 2:
        raise JepakitError(
            "eval: a class has a single labelled cloud: cross-validation needs 2 per class",
            "add clouds to the smallest class (or merge it)",
        )
    cv = RepeatedStratifiedKFold(n_splits=folds, n_repeats=cfg.repeats, random_state=cfg.cv_seed)
    acc: dict[str, list[float]] = {"svm": [], "knn": []}
    for tr, te in cv.split(feats, y):
        svm = make_pipeline(StandardScaler(), LinearSVC(C=cfg.svm_c, max_iter=5000))
        knn = make_pipeline(
            StandardScaler(), Normalizer(), KNeighborsClassifier(min(cfg.knn_k, len(tr)), metric="cosine")
        )
        for name, clf in (("svm", svm), ("knn", knn)):
            clf.fit(feats[tr], y[tr])
            acc[name].append(100.0 * float((clf.predict(feats[te]) == y[te]).mean()))
    return {k: (round(float(np.mean(v)), 2), round(float(np.std(v)), 2)) for k, v in acc.items()}


def evaluate_points(
    cfg: PointEvalConfig, trained: torch.nn.Module, random_init: torch.nn.Module, splits: Any
) -> dict[str, Any]:
    """{"scores": {"svm": {trained, random_init, raw}, "knn": {...}}, "details": {...}, "collapse": {...}}."""
    from jepakit.api import collapse_stats

    x, y = labelled_clouds(splits)
    feats = {
        "trained": max_mean_features(trained, x),
        "random_init": max_mean_features(random_init, x),
        "raw": d2_features(x, cfg.d2_bins).numpy(),
    }
    results = {row: cross_validate(f, y, cfg) for row, f in feats.items()}
    scores = {h: {row: results[row][h][0] for row in feats} for h in ("svm", "knn")}
    majority = round(100.0 * float(np.bincount(y).max()) / len(y), 2)
    details = {
        "protocol": {
            "features": "max + mean of the final tokens (raw: D2 histogram + bbox extents)",
            "cv": f"{cfg.repeats} x stratified {min(cfg.folds, int(np.bincount(y).min()))}-fold over {len(y)} clouds",
            "svm": f"standardise + LinearSVC(C={cfg.svm_c})",
            "knn": f"standardise + L2 + cosine {cfg.knn_k}-NN",
        },
        "std_over_folds": {h: {row: results[row][h][1] for row in feats} for h in ("svm", "knn")},
        "majority_class": majority,
        "classes": {name: int((y == i).sum()) for i, name in enumerate(splits.class_names)},
    }
    collapse = {
        **{k: round(v, 5) for k, v in collapse_stats(feats["trained"]).items()},
        "random_init": {k: round(v, 5) for k, v in collapse_stats(feats["random_init"]).items()},
    }
    return {"scores": scores, "details": details, "collapse": collapse, "n": len(y)}
