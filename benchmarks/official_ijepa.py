"""jepakit's `ijepa/bench` step against the official I-JEPA code's step, timed in one process on one machine.

    git clone https://github.com/facebookresearch/ijepa /tmp/ijepa        # not ours, CC-BY-NC: never committed
    python benchmarks/official_ijepa.py --ijepa-src /tmp/ijepa [--steps 10] [--warmup 2] [--compile]

The official side uses the official modules unchanged (`src.models.vision_transformer`, `src.masks.multiblock`,
`src.masks.utils.apply_masks`, `src.utils.tensors.repeat_interleave_batch`), imported from the clone given on
the command line, at exactly the bench configuration (64x64 RGB, patch 4, ViT-Tiny 192x12x3, predictor 96x6x3,
4 targets of scale 0.15-0.2 and aspect 0.75-1.5, 1 context block of scale 0.85-1.0, min_keep 10, AdamW, batch 32).
Its step is driven the way its `src/train.py` drives it: masks collated in one DataLoader worker, target
forward without grad + layer norm + gather + repeat, context forward, predictor, smooth-L1, backward, AdamW,
EMA. "bf16" wraps the forward in CPU bf16 autocast: the official code asks for CUDA autocast only, which does
nothing on a CPU, so that row is the official code with CPU autocast patched in, as issue 7 defines it.

jepakit's side is `jepakit.experiments.bench.run_bench` on `ijepa/bench` (the step `jepakit train` takes).
Both sides see random images: content does not change the cost of a step.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import official_step  # benchmarks/official_step.py: the driver both official-code benchmarks share
import torch
import torch.nn.functional as F

IMG, PATCH, BATCH = 64, 4, 32


class _RandomImages(torch.utils.data.Dataset):
    def __init__(self, n: int = 512) -> None:
        self.x = torch.rand(n, 3, IMG, IMG, generator=torch.Generator().manual_seed(0))  # [n, 3, 64, 64]

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        return self.x[i], 0


def official_ms_per_step(src: Path, precision: str, steps: int, warmup: int) -> float:
    """Median ms of the official training step (data wait included, as in jepakit's bench)."""
    with official_step.official_source(src):
        from src.masks.multiblock import MaskCollator
        from src.masks.utils import apply_masks
        from src.models import vision_transformer as vit
        from src.utils.tensors import repeat_interleave_batch

        torch.manual_seed(0)
        encoder = vit.vit_tiny(img_size=[IMG], patch_size=PATCH)
        predictor = vit.vit_predictor(
            num_patches=encoder.patch_embed.num_patches,
            embed_dim=encoder.embed_dim,
            predictor_embed_dim=96,
            depth=6,
            num_heads=encoder.num_heads,
        )
        collator = MaskCollator(
            input_size=(IMG, IMG),
            patch_size=PATCH,
            enc_mask_scale=(0.85, 1.0),
            pred_mask_scale=(0.15, 0.2),
            aspect_ratio=(0.75, 1.5),
            nenc=1,
            npred=4,
            min_keep=10,
            allow_overlap=False,
        )

        def loss_fn(batch: Any, target: torch.nn.Module) -> torch.Tensor:
            (imgs, _), masks_enc, masks_pred = batch
            with torch.no_grad():
                h = target(imgs)  # [B, 256, 192]
                h = F.layer_norm(h, (h.size(-1),))
                h = repeat_interleave_batch(apply_masks(h, masks_pred), len(imgs), repeat=len(masks_enc))
            z = predictor(encoder(imgs, masks_enc), masks_enc, masks_pred)  # [4B, Nt, 192]
            return F.smooth_l1_loss(z, h)

        return official_step.official_ms_per_step(
            encoder,
            predictor,
            _RandomImages(),
            collator,
            loss_fn,
            batch_size=BATCH,
            precision=precision,
            steps=steps,
            warmup=warmup,
        )


def jepakit_result(precision: str, steps: int, warmup: int, compile_: bool = False) -> dict:
    sets = [f"run.precision={precision}"] + (["run.compile=true"] if compile_ else [])
    return official_step.jepakit_result("ijepa/bench", sets, steps, warmup)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ijepa-src", type=Path, required=True, help="a clone of facebookresearch/ijepa")
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--compile", action="store_true", help="jepakit side with run.compile (bf16 only gains)")
    ap.add_argument("--precisions", default="fp32,bf16")
    args = ap.parse_args()
    if not (args.ijepa_src / "src" / "models" / "vision_transformer.py").is_file():
        sys.exit(
            f"Error: {args.ijepa_src} is not a clone of facebookresearch/ijepa\n"
            "Hint: git clone https://github.com/facebookresearch/ijepa and pass its folder"
        )
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch {BATCH}, {args.steps} timed steps")
    print(f"{'precision':9s} {'official img/s':>15s} {'jepakit img/s':>14s} {'ratio':>6s} {'jepakit MFU':>12s}")
    for precision in args.precisions.split(","):
        off = BATCH / official_ms_per_step(args.ijepa_src, precision, args.steps, args.warmup) * 1000.0
        ours = jepakit_result(precision, args.steps, args.warmup, args.compile)
        print(
            f"{precision:9s} {off:15.1f} {ours['samples_per_s']:14.1f} {ours['samples_per_s'] / off:5.2f}x "
            f"{ours['mfu']:11.1%}",
            flush=True,
        )


if __name__ == "__main__":
    main()
