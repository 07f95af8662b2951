"""Config of the I-JEPA multi-block masker. Torch-free: it is the TOML schema of `[masker]` for `ijepa/multiblock`.

Defaults are the values of every released I-JEPA config (configs/in1k_*.yaml, section `mask`).
"""

from __future__ import annotations

from dataclasses import dataclass

from jepakit.interfaces import range_pair


@dataclass
class MultiBlockConfig:
    """Multi-block masking: M target blocks and one context block (minus the targets) per image.

    One target block size and one context block size are drawn per batch (not per image), as the paper's
    collator does, so every image's targets have the same number of tokens and stack without padding.
    """

    #: Target blocks per image (the paper's M = 4). More blocks make the prediction task harder and remove
    #: more tokens from the context.
    num_targets: int = 4
    #: Fraction of the grid each target block covers, drawn uniformly per batch. (0.15, 0.2) is the paper's
    #: "semantic" block size: large enough that predicting it needs more than local texture.
    target_scale: tuple[float, float] = (0.15, 0.2)
    #: Height / width of a target block, drawn uniformly per batch. (0.75, 1.5) gives mildly tall or wide blocks.
    target_aspect: tuple[float, float] = (0.75, 1.5)
    #: Context blocks per image. The MaskSet carries one context, so several blocks are merged (their union);
    #: the paper always uses 1.
    num_context: int = 1
    #: Fraction of the grid the context block covers before the targets are cut out. (0.85, 1.0) keeps the
    #: context informative; cutting out the targets is what keeps the task non-trivial.
    context_scale: tuple[float, float] = (0.85, 1.0)
    #: Height / width of the context block. The paper uses square context blocks (1.0, 1.0).
    context_aspect: tuple[float, float] = (1.0, 1.0)
    #: Fewest tokens a target block, and the context after removing the targets, may have. Below it the
    #: context position is redrawn (20 tries), then target cut-outs are given up one at a time. A grid on which
    #: it can never hold is rejected when the masker is built. The paper's 10 suits 14x14; use ~4 on 8x8.
    min_keep: int = 10
    #: If true the targets are not cut out of the context (the context encoder may see what it must predict).
    #: The paper uses false.
    allow_overlap: bool = False
    #: Reproduce the official collator's off-by-ones: block corners drawn from [0, H-h) (the last row and column
    #: are never masked), blocks at most H-1 x W-1 (`while h >= H` decrement), `len > min_keep` instead of `>=`,
    #: and one uniform draw shared by scale and aspect. False (default) fixes them: corners in [0, H-h], blocks
    #: up to the full grid, at least `min_keep` tokens, independent scale and aspect draws.
    reference_quirks: bool = False

    def __post_init__(self) -> None:
        # Plain ValueErrors: the config loader re-raises them as JepakitError naming the [masker] table.
        if self.num_targets < 1 or self.num_context < 1:
            raise ValueError("num_targets and num_context must be at least 1")
        if self.min_keep < 0:
            raise ValueError(f"min_keep must be >= 0, got {self.min_keep}")
        for name in ("target_scale", "context_scale"):  # fractions of the token grid
            setattr(self, name, range_pair(name, getattr(self, name), 0.0, 1.0, open_low=True))
        for name in ("target_aspect", "context_aspect"):  # height / width
            setattr(self, name, range_pair(name, getattr(self, name), 0.0, float("inf"), open_low=True))

    def check(self, grid: tuple[int, ...]) -> None:
        """Without tensors (`jepakit validate`, given the grid the encoder declares): the masker's own grid
        checks, so a `min_keep` that cannot be met on that grid is refused before training starts."""
        from jepakit_ijepa.geometry import as_grid, validate

        validate(self, as_grid(grid))
