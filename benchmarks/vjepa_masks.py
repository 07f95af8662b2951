"""V-JEPA mask generation per batch: jepakit's `vjepa/tube` against the official generator, time and memory.

    git clone https://github.com/facebookresearch/jepa /tmp/jepa      # not ours, CC-BY-NC: never committed
    python benchmarks/vjepa_masks.py [--jepa-src /tmp/jepa] [--batches 16,256,3072] [--repeats 3]

Both sides draw the paper's pre-training masks for 16 frames at 224 px, tubelet 2 x 16 x 16 (an 8 x 14 x 14 grid):
the short-range generator (8 blocks of spatial scale 0.15) and the long-range one (2 blocks of scale 0.7), aspect
0.75-1.5, full temporal extent, one generator of each per batch as the official collator does. The official side is
`src.masks.multiblock3d._MaskGenerator` from the clone given on the command line, unchanged. Each measurement runs in
a fresh process, so the peak resident memory (ru_maxrss) is that of one side and one batch size alone.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

GRID = (8, 14, 14)
GENS = (("short", 8, (0.15, 0.15)), ("long", 2, (0.7, 0.7)))


def _ours(batch: int, repeats: int) -> float:
    import torch
    from jepakit_vjepa.config import TubeConfig
    from jepakit_vjepa.masks import TubeMasker

    maskers = [TubeMasker(TubeConfig(generator=name), GRID) for name, _, _ in GENS]
    g = torch.Generator().manual_seed(0)
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        for m in maskers:
            m(batch, g)
        best = min(best, time.perf_counter() - t)
    return best


def _official(batch: int, repeats: int, src: str) -> float:
    sys.path.insert(0, src)
    from src.masks.multiblock3d import _MaskGenerator  # the official generator, from the user's clone

    gens = [
        _MaskGenerator(
            crop_size=(224, 224),
            num_frames=16,
            spatial_patch_size=16,
            temporal_patch_size=2,
            spatial_pred_mask_scale=scale,
            temporal_pred_mask_scale=(1.0, 1.0),
            aspect_ratio=(0.75, 1.5),
            npred=npred,
        )
        for _, npred, scale in GENS
    ]
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        for gen in gens:
            gen(batch)
        best = min(best, time.perf_counter() - t)
    return best


def _child(side: str, batch: int, repeats: int, src: str) -> None:
    import torch

    torch.set_num_threads(1)
    seconds = _ours(batch, repeats) if side == "jepakit" else _official(batch, repeats, src)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"side": side, "batch": batch, "ms": 1000 * seconds, "peak_mb": peak_mb}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jepa-src", default="", help="a clone of facebookresearch/jepa (omit: jepakit only)")
    ap.add_argument("--batches", default="16,256,3072")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--child", nargs=2, metavar=("SIDE", "BATCH"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        _child(args.child[0], int(args.child[1]), args.repeats, args.jepa_src)
        return
    sides = ["jepakit"] + (["official"] if args.jepa_src else [])
    print(f"{'batch':>6} {'side':>9} {'ms/batch':>10} {'peak RSS MB':>12}")
    rows: dict[tuple[str, int], dict] = {}
    for batch in (int(b) for b in args.batches.split(",")):
        for side in sides:
            out = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--child",
                    side,
                    str(batch),
                    "--repeats",
                    str(args.repeats),
                    "--jepa-src",
                    args.jepa_src,
                ],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            row = rows[(side, batch)] = json.loads(out.strip().splitlines()[-1])
            print(f"{batch:>6} {side:>9} {row['ms']:>10.1f} {row['peak_mb']:>12.0f}")
        if "official" in sides:
            o, j = rows[("official", batch)], rows[("jepakit", batch)]
            print(f"{batch:>6} {'ratio':>9} {o['ms'] / j['ms']:>9.2f}x {'(official / jepakit time)':>12}")


if __name__ == "__main__":
    main()
