"""`pointjepa/jepa`: core's masked JEPA whose predictor also reads the patch centres, evaluated by the papers'
protocol (evaluation.py). Training, checkpoints and resume stay core's.

Why a method: a point cloud's geometry is per sample (FPS centres), while core's predictor contract carries only
token indices. `PointJEPA.step` asks the encoder for the batch's centres (no parameters: the same for student and
teacher) and hands them to a predictor that declares `reads_centres`, so mask tokens know where their patch is.
Any other predictor is called as core calls it. Subclasses (3D-JEPA) may also turn the masker's draws into masks
that depend on the centres (`resolve_masks`).
"""

from __future__ import annotations

from typing import Any

import torch

from jepakit.api import JEPA, Built, JEPAMethod, ResolvedRun, build_encoder
from jepakit.interfaces import EvalResult, MaskSet, Scores, StepOutput
from jepakit_pointjepa.config import PointEvalConfig


class PointJEPA(JEPA):
    """Core's JEPA; the predictor gets the patch centres [B, G, 3] when it reads them."""

    def resolve_masks(self, masks: MaskSet, centres: torch.Tensor | None) -> MaskSet:
        """The batch's masks given its centres: unchanged here (Point-JEPA's masks are index runs)."""
        return masks

    def step(self, batch: dict[str, Any]) -> StepOutput:
        x: torch.Tensor = batch["x"]  # [B, P, 3]
        reads = getattr(self.predictor, "reads_centres", False) or getattr(self, "needs_centres", False)
        centres = self.encoder.centres(x) if reads and hasattr(self.encoder, "centres") else None  # [B, G, 3]
        masks = self.resolve_masks(batch["masks"], centres)
        ctx = self.encoder(x, keep=masks.context)  # [B, Nc, D]
        if getattr(self.predictor, "reads_centres", False):
            pred = self.predictor(ctx, masks.context, masks.targets, centres)  # [B, M, Nt, D]
        else:
            pred = self.predictor(ctx, masks.context, masks.targets)
        tgt = self.target.targets(x, masks.targets)  # [B, M, Nt, D]
        return self.energy(pred, tgt, ctx)


class PointJEPAMethod(JEPAMethod):
    """Training as `core/jepa` with `PointJEPA`; evaluation: SVM and k-NN by repeated k-fold CV (evaluation.py)."""

    model_class: type[PointJEPA] = PointJEPA

    def __init__(self, cfg: PointEvalConfig | None = None) -> None:
        self.cfg = cfg or PointEvalConfig()

    def build(self, resolved: ResolvedRun, splits: Any) -> Built:
        built = super().build(resolved, splits)
        m = built.model
        built.model = self.model_class(m.encoder, m.predictor, m.target, dict(m.terms), dict(m.weights))
        return built

    def evaluate(self, resolved: ResolvedRun, built: Built, run_dir: Any) -> EvalResult:
        """SVM (primary) and k-NN, trained vs random init vs D2 + extents; core writes eval.json."""
        from jepakit_pointjepa.evaluation import evaluate_points

        model = built.model
        trained = model.teacher if resolved.eval.encoder == "target" else model.encoder
        torch.manual_seed(resolved.run.seed)
        random_init = build_encoder(resolved, built.splits)
        out = evaluate_points(self.cfg, trained, random_init, built.splits)
        scores = {h: Scores(metric="accuracy", **rows) for h, rows in out["scores"].items()}
        if self.cfg.mask_pictures and built.masker is not None and hasattr(model.encoder, "centres"):
            _mask_picture(model, built, run_dir)
        return EvalResult(
            variant=resolved.variant,
            dataset=built.splits.name,
            primary="svm",
            scores=scores,
            collapse=out["collapse"],
            baseline_label="D2 shape distribution + extents",
            encoder=resolved.eval.encoder,
            readout="max+mean",
            protocol=out["details"]["protocol"]["cv"],
            n_train=out["n"],
            n_test=out["n"],
            details=out["details"],
        )


def _mask_picture(model: PointJEPA, built: Built, run_dir: Any) -> None:
    """plots/masks_encoder.png: the run's masks on 4 clouds with the trained encoder's own patches and order."""
    from jepakit.api import sample_masks
    from jepakit_pointjepa.plots import plot_point_masks

    data = built.splits.pretrain_set
    x = torch.stack([data[i][0] for i in range(min(4, len(data)))])
    with torch.no_grad():
        centres = model.encoder.centres(x)
    ms = sample_masks(built.masker, len(x), torch.Generator().manual_seed(0), step=0, total_steps=1)
    ms = model.resolve_masks(ms, centres)
    plot_point_masks(x, ms.context, ms.targets, centres.shape[1], run_dir.plots / "masks_encoder.png", centres)
