"""`3djepa/jepa`: Point-JEPA's method (training through core's loop; the SVM / k-NN evaluation) with one change:
the masker's draws become blocks by patch-centre proximity inside the training step, where the batch's centres
are known (masks.resolve). The evaluation is Point-JEPA's protocol (jepakit_pointjepa.evaluation), so the two
variants' tables compare directly.
"""

from __future__ import annotations

import torch
from jepakit_pointjepa.method import PointJEPA, PointJEPAMethod

from jepakit.interfaces import MaskSet
from jepakit_3djepa.masks import resolve


class ThreeDJEPA(PointJEPA):
    """PointJEPA whose masks are resolved by centre proximity (the encoder's centres are read every step)."""

    needs_centres = True

    def resolve_masks(self, masks: MaskSet, centres: torch.Tensor | None) -> MaskSet:
        return resolve(masks, centres)


class ThreeDJEPAMethod(PointJEPAMethod):
    """Point-JEPA's method with `ThreeDJEPA` as the model."""

    model_class = ThreeDJEPA
