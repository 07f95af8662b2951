"""jepakit's `vjepa/bench` step against the official V-JEPA code's step, timed in one process on one machine.

    git clone https://github.com/facebookresearch/jepa /tmp/jepa        # not ours, CC-BY-NC: never committed
    python benchmarks/official_vjepa.py --jepa-src /tmp/jepa [--steps 10] [--warmup 2]

The official side uses the official modules unchanged (`src.models.vision_transformer.vit_tiny`,
`src.models.predictor.vit_predictor`, the `MultiMaskWrapper` / `PredictorMultiMaskWrapper` of
`src.models.utils.multimask`, `src.masks.multiblock3d.MaskCollator`, `src.masks.utils.apply_masks`), imported
from the clone given on the command line, at the `vjepa/bench` configuration: 8x32x32 RGB clips, tubelet 2,
patch 4 (4x8x8 = 256 tokens), ViT-Tiny 192x12x3, predictor 96x6x3, batch 32, AdamW. The model settings are its
`configs/pretrain/vitl16.yaml`'s (`use_sdpa`, `uniform_power`, `use_mask_tokens`, `zero_init_mask_tokens`).
Its step is driven the way `app/vjepa/train.py` drives it: masks collated in one DataLoader worker, target
forward without grad + layer norm + `apply_masks`, context encoder, predictor, L1 (`loss_exp` 1) plus its
predictor-variance term (computed; `reg_coeff` 0 as in its configs), backward, AdamW, EMA. "bf16" wraps the
forward in CPU bf16 autocast: the official code asks for CUDA autocast only, which does nothing on a CPU.

Equal work per row. The official collator draws *every* configured mask set for every batch and runs the context
encoder and predictor once per set; jepakit's `vjepa/tube` draws one of the two per batch (`generator = "mixed"`,
docs/variants/vjepa.md). So each row times one generator on both sides: the official collator given only the
short-range (8 tubes of 15 %) or only the long-range (2 tubes of 70 %) configuration, jepakit's masker with
`generator = "short"` / `"long"`. jepakit's step also computes `vjepa/bench`'s VICReg term on the pooled
context ([32, 192]: a negligible share), which the official step lacks; the ratio counts it against jepakit.

jepakit's side is `jepakit.experiments.bench.run_bench` on `vjepa/bench` (the step `jepakit train` takes).
Both sides see random clips: content does not change the cost of a step.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import official_step  # benchmarks/official_step.py: the driver both official-code benchmarks share
import torch
import torch.nn.functional as F

FRAMES, SIZE, PATCH, TUBELET, BATCH = 8, 32, 4, 2, 32
#: The official configuration of each generator (configs/pretrain/vitl16.yaml's `mask` list, one entry each).
MASKS = {
    "short": {"spatial_scale": (0.15, 0.15), "num_blocks": 8},
    "long": {"spatial_scale": (0.7, 0.7), "num_blocks": 2},
}


class _RandomClips(torch.utils.data.Dataset):
    def __init__(self, n: int = 256) -> None:
        g = torch.Generator().manual_seed(0)
        self.x = torch.rand(n, 3, FRAMES, SIZE, SIZE, generator=g)  # [n, C, T, H, W], the official clip layout

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        return self.x[i], 0


def _official_models() -> tuple[Any, Any, Any, Any]:
    from src.masks.multiblock3d import MaskCollator
    from src.masks.utils import apply_masks
    from src.models import predictor as vit_pred
    from src.models import vision_transformer as video_vit
    from src.models.utils.multimask import MultiMaskWrapper, PredictorMultiMaskWrapper

    torch.manual_seed(0)
    common = {"img_size": SIZE, "patch_size": PATCH, "num_frames": FRAMES, "tubelet_size": TUBELET}
    encoder = MultiMaskWrapper(video_vit.vit_tiny(uniform_power=True, use_sdpa=True, **common))
    predictor = PredictorMultiMaskWrapper(
        vit_pred.vit_predictor(
            use_mask_tokens=True,
            embed_dim=192,
            predictor_embed_dim=96,
            depth=6,
            num_heads=3,
            uniform_power=True,
            num_mask_tokens=2,
            zero_init_mask_tokens=True,
            use_sdpa=True,
            **common,
        )
    )
    return encoder, predictor, MaskCollator, apply_masks


def official_ms_per_step(src: Path, generator: str, precision: str, steps: int, warmup: int) -> float:
    """Median ms of the official training step with one mask generator (data wait included, as jepakit's bench)."""
    with official_step.official_source(src):
        encoder, predictor, MaskCollator, apply_masks = _official_models()
        cfg = {**MASKS[generator], "temporal_scale": (1.0, 1.0), "aspect_ratio": (0.75, 1.5), "max_temporal_keep": 1.0}
        collator = MaskCollator(
            cfgs_mask=[cfg], crop_size=(SIZE, SIZE), num_frames=FRAMES, patch_size=PATCH, tubelet_size=TUBELET
        )

        def loss_fn(batch: Any, target: torch.nn.Module) -> torch.Tensor:
            (clips, _), masks_enc, masks_pred = batch
            with torch.no_grad():
                h = target(clips)  # [B, 256, 192]
                h = F.layer_norm(h, (h.size(-1),))
                h = apply_masks(h, masks_pred, concat=False)  # one [B, Nt, 192] per mask set
            z = predictor(encoder(clips, masks_enc), h, masks_enc, masks_pred)  # one [B, Nt, 192] per mask set
            loss = sum(torch.mean(torch.abs(zi - hi)) for zi, hi in zip(z, h, strict=True)) / len(masks_pred)
            pstd = sum(torch.sqrt(zi.var(dim=1) + 0.0001) for zi in z) / len(z)
            return loss + 0.0 * torch.mean(F.relu(1.0 - pstd))  # reg_coeff 0, computed as the official step does

        return official_step.official_ms_per_step(
            encoder,
            predictor,
            _RandomClips(),
            collator,
            loss_fn,
            batch_size=BATCH,
            precision=precision,
            steps=steps,
            warmup=warmup,
        )


def jepakit_result(generator: str, precision: str, steps: int, warmup: int) -> dict:
    sets = [f"run.precision={precision}", f'masker.generator="{generator}"']
    return official_step.jepakit_result("vjepa/bench", sets, steps, warmup)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--jepa-src", type=Path, required=True, help="a clone of facebookresearch/jepa")
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--precisions", default="fp32,bf16")
    ap.add_argument("--generators", default="short,long")
    args = ap.parse_args()
    if not (args.jepa_src / "src" / "masks" / "multiblock3d.py").is_file():
        sys.exit(
            f"Error: {args.jepa_src} is not a clone of facebookresearch/jepa\n"
            "Hint: git clone https://github.com/facebookresearch/jepa and pass its folder"
        )
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch {BATCH}, {args.steps} timed steps")
    print(f"{'masks':6s} {'precision':9s} {'official clips/s':>17s} {'jepakit clips/s':>16s} {'ratio':>6s}")
    for generator in args.generators.split(","):
        for precision in args.precisions.split(","):
            off = BATCH / official_ms_per_step(args.jepa_src, generator, precision, args.steps, args.warmup) * 1e3
            ours = jepakit_result(generator, precision, args.steps, args.warmup)
            print(
                f"{generator:6s} {precision:9s} {off:17.1f} {ours['samples_per_s']:16.1f} "
                f"{ours['samples_per_s'] / off:5.2f}x",
                flush=True,
            )


if __name__ == "__main__":
    main()
