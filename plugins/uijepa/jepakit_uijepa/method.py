"""`uijepa/intent`: train as core's masked JEPA (V-JEPA parts), evaluate by writing the user's intent.

Training is exactly core's `core/jepa` method with the run's encoder, masker, predictor and target (UI-JEPA's
recipe is V-JEPA's on screen recordings). Evaluation is the paper's: a decoder-only LM reads the frozen encoder's
tokens and generates the intent; scored by exact match (any accepted phrasing) and token-F1 similarity, on
all test sessions and on the held-out intents alone, for the trained encoder, the same encoder at random init
and raw pixel tubelets (the same decoder, seed and schedule on each).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import torch

from jepakit import JepakitError
from jepakit.api import MONITOR_SAMPLES, Built, ResolvedRun, assemble, build_encoder, collapse_stats
from jepakit.interfaces import DataSplits, EvalResult, Scores
from jepakit_uijepa.config import IntentDecoderConfig
from jepakit_uijepa.decoder import DecodeScores, IntentDecoder
from jepakit_uijepa.text import detokenize

log = logging.getLogger("jepakit")


def raw_tubelets(x: torch.Tensor, grid: tuple[int, ...]) -> torch.Tensor:
    """Pixels cut into the encoder's token grid: x [B, C, T, H, W] -> [B, T'H'W', C t p p] (the raw baseline)."""
    B, C, T, H, W = x.shape
    t, h, w = grid
    pt, ph, pw = T // t, H // h, W // w
    x = x.reshape(B, C, t, pt, h, ph, w, pw).permute(0, 2, 4, 6, 1, 3, 5, 7)  # [B, t, h, w, C, pt, ph, pw]
    return x.reshape(B, t * h * w, C * pt * ph * pw)


def _token_features(encoder: torch.nn.Module, split: Any, readout: str) -> np.ndarray:
    from jepakit.api import extract_features

    if readout == "rows_mean":
        readout = "mean"  # the decoder reads every token; rows_mean only changes pooled features
    return extract_features(encoder, split, readout=readout, tokens=True)[0]  # [N, T, F]


class UIJEPAMethod:
    """Builds the run as `core/jepa` does; evaluates with the intent decoder."""

    def __init__(self, cfg: IntentDecoderConfig | None = None) -> None:
        self.cfg = cfg or IntentDecoderConfig()

    def build(self, resolved: ResolvedRun, splits: DataSplits) -> Built:
        if not hasattr(splits.train, "texts"):
            raise JepakitError(
                f"data.use: {splits.name} has no intent texts",
                'use data.use = "uijepa/ui-sessions" or "uijepa/session-file"',
            )
        return assemble(resolved, splits, build_encoder(resolved, splits), method="uijepa/intent")

    def evaluate(self, resolved: ResolvedRun, built: Built, run_dir: Any) -> EvalResult:
        """Intent decoders on trained, random-init and raw-tubelet tokens; core writes eval.json."""
        splits, cfg = built.splits, self.cfg
        model = built.model
        trained = model.teacher if resolved.eval.encoder == "target" else model.encoder
        torch.manual_seed(resolved.run.seed)
        random_init = build_encoder(resolved, splits)
        readout = resolved.eval.readout
        grid = tuple(trained.grid)
        feats = {
            "trained": [_token_features(trained, s, readout) for s in (splits.train, splits.test)],
            "random_init": [_token_features(random_init, s, readout) for s in (splits.train, splits.test)],
            "raw": [raw_tubelets(s.x, grid).numpy() for s in (splits.train, splits.test)],
        }
        refs_by_class = splits.meta.get("references") or [[n] for n in splits.class_names]
        test_y = splits.test.y.numpy()
        references = [refs_by_class[k] for k in test_y]
        unseen = np.array([bool((splits.meta.get("held_out") or [False] * splits.num_classes)[k]) for k in test_y])
        scores: dict[str, DecodeScores] = {}
        curves: dict[str, list[float]] = {}
        for row, (train_f, test_f) in feats.items():
            decoder = IntentDecoder(cfg)
            curves[row] = decoder.fit(train_f, splits.train.texts)
            scores[row] = decoder.score(test_f, references)
            log.info("intent decoder on %s features: exact match %.1f %%", row, 100 * scores[row].exact.mean())
        pooled = {row: f[0][:MONITOR_SAMPLES].mean(axis=1) for row, f in feats.items() if row != "raw"}  # [n, F]
        examples = [
            {
                "reference": splits.test.texts[i],
                "trained": detokenize(scores["trained"].predictions[i]),
                "random_init": detokenize(scores["random_init"].predictions[i]),
            }
            for i in _example_rows(test_y, cfg.examples)
        ]
        c = self.cfg
        return EvalResult(
            variant=resolved.variant,
            dataset=splits.name,
            primary="intent_accuracy",
            scores=_scores(scores, unseen),
            baseline_label="raw pixel tubelets",
            encoder=resolved.eval.encoder,
            readout=resolved.eval.readout,
            n_train=len(splits.train),
            n_test=len(splits.test),
            collapse={
                **_rounded(collapse_stats(pooled["trained"])),
                "random_init": _rounded(collapse_stats(pooled["random_init"])),
            },
            protocol=(
                f"intent decoder (prefix-LM, {c.depth}x{c.width}, {c.epochs} epochs, seed {c.seed}) trained "
                f"on frozen {resolved.eval.readout} tokens of the {len(splits.train)} training sessions' "
                f"texts, greedy decoding on {len(splits.test)} test sessions ({int(unseen.sum())} of intents "
                "never seen in training); exact match against any accepted phrasing, similarity = token F1; "
                "identical for trained, random_init and raw"
            ),
            details={
                "n_test_unseen_intents": int(unseen.sum()),
                "decoder_final_loss": {row: round(v[-1], 4) for row, v in curves.items()},
                "examples": examples,
            },
        )


def _scores(scores: dict[str, DecodeScores], unseen: np.ndarray) -> dict[str, Scores]:
    """Exact match and token F1 on every test session, and exact match on the unseen / seen intents alone."""

    def pct(a: np.ndarray) -> float | None:
        return round(100.0 * float(a.mean()), 2) if a.size else None

    out: dict[str, Scores] = {}
    for name, pick, attr in (
        ("intent_accuracy", slice(None), "exact"),
        ("intent_similarity", slice(None), "f1"),
        ("unseen_intent_accuracy", unseen, "exact"),
        ("seen_intent_accuracy", ~unseen, "exact"),
    ):
        row = {r: pct(getattr(s, attr)[pick]) for r, s in scores.items()}
        metric = "token_f1" if attr == "f1" else "exact_match"
        out[name] = Scores(
            metric=name if name == "intent_accuracy" else metric,  # the primary: eval.json's `metric`
            trained=row["trained"],
            random_init=row["random_init"],
            raw=row["raw"],
        )
    return out


def _rounded(stats: dict[str, float]) -> dict[str, float]:
    return {k: round(v, 5) for k, v in stats.items()}


def _example_rows(labels: np.ndarray, n: int) -> list[int]:
    """Up to n test rows of distinct intents, in a fixed order."""
    seen: set[int] = set()
    rows = []
    for i, k in enumerate(labels.tolist()):
        if k not in seen:
            seen.add(k)
            rows.append(i)
    step = max(1, len(rows) // max(n, 1))
    return rows[::step][:n]
