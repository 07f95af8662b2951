"""Streamed image folders: memory that does not grow with the number of files, and loader throughput.

    python benchmarks/image_loader.py [--small 2000] [--large 50000] [--steps 100] [--epoch 4000] [--out DIR]

(a) Peak memory of `jepakit train` (ijepa/ijepa-tiny made tiny, 100 steps, 2 loader workers, I-JEPA augmentation,
    --no-eval) on a generated folder of `--small` vs `--large` 32x32 PNGs: the summed RSS of the trainer and its
    workers, sampled every 50 ms from /proc (Linux), and the trainer's own peak (getrusage). Streaming holds
    paths, not pixels, so the larger folder should cost within +10 % of the smaller one.
(b) Loader throughput, images/s over `--epoch` images (decode + RandomResizedCrop(32, scale 0.3-1) + flip, 2
    workers, batch 64): jepakit's ImageFiles through core's make_loader vs torchvision's ImageFolder with the
    same v2 transforms in a plain DataLoader, alternated 3 times in this process; the best of each is kept.

Measured, never asserted: benchmarks/README.md has a table from one run, with the machine's load.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

CLASSES = 10


def make_folder(root: Path, n: int, side: int = 32, seed: int = 0) -> Path:
    """n smooth random RGB PNGs (upsampled 4x4 noise plus a little grain) in CLASSES class folders."""
    from PIL import Image

    if (root / ".done").is_file():
        return root
    rng = np.random.default_rng(seed)
    for c in range(CLASSES):
        (root / f"c{c}").mkdir(parents=True, exist_ok=True)
    for i in range(n):
        low = Image.fromarray(rng.integers(0, 255, size=(4, 4, 3), dtype=np.uint8)).resize((side, side), Image.BILINEAR)
        arr = np.clip(np.asarray(low, dtype=np.int16) + rng.integers(-8, 9, size=(side, side, 3)), 0, 255)
        Image.fromarray(arr.astype(np.uint8)).save(root / f"c{i % CLASSES}" / f"{i:06d}.png")
    (root / ".done").write_text(str(n))
    return root


def _tree_rss_kb(pid: int) -> int:
    """Summed VmRSS (KiB) of a process and all its descendants, read from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        todo.extend(children.get(p, []))
        try:
            with open(f"/proc/{p}/status") as f:
                total += next((int(line.split()[1]) for line in f if line.startswith("VmRSS:")), 0)
        except OSError:
            pass
    return total


def train_peak(folder: Path, steps: int, out: Path) -> dict[str, float]:
    """Peak memory of one `jepakit train` on an unlabelled read of `folder`, and its wall time."""
    sets = [
        "data.use=core/image-folder",
        f"data.path={folder}",
        "data.labels=none",
        "data.size=16",
        "data.channels=1",
        "data.augment=ijepa",
        "encoder.embed_dim=32",
        "encoder.depth=1",
        "encoder.num_heads=2",
        "predictor.embed_dim=16",
        "predictor.depth=1",
        "predictor.num_heads=2",
        "optim.batch_size=64",
        f"optim.steps={steps}",
        "run.workers=2",
        f"run.ckpt_every={steps}",
        f"run.monitor_every={steps}",
        "run.log_every=50",
    ]
    cmd = [
        sys.executable,
        "-m",
        "jepakit.cli",
        "train",
        "ijepa/ijepa-tiny",
        "--out",
        str(out),
        "--no-eval",
        *[a for s in sets for a in ("--set", s)],
    ]
    t0 = time.perf_counter()
    log = out.with_suffix(".stderr")
    with open(log, "w") as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err)
    peak, done = [0], threading.Event()

    def poll() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], _tree_rss_kb(proc.pid))
            time.sleep(0.05)

    thread = threading.Thread(target=poll, daemon=True)
    thread.start()
    _, status, usage = os.wait4(proc.pid, 0)  # this child's own rusage (its largest process), not the session's
    proc.returncode = os.waitstatus_to_exitcode(status)
    done.set()
    thread.join()
    if proc.returncode:
        raise RuntimeError(f"jepakit train failed ({proc.returncode}): {log.read_text()[-2000:]}")
    return {
        "tree_peak_mb": peak[0] / 1024,
        "largest_process_mb": usage.ru_maxrss / 1024,
        "seconds": time.perf_counter() - t0,
    }


def _drain(loader, limit: int) -> float:
    """Images per second over the first `limit` images of a loader (after its first batch: worker start-up)."""
    it = iter(loader)
    first = next(it)
    seen, t0 = 0, time.perf_counter()
    for batch in it:
        x = batch["x"] if isinstance(batch, dict) else batch[0]
        seen += len(x)
        if seen + len(first["x"] if isinstance(first, dict) else first[0]) >= limit:
            break
    return seen / (time.perf_counter() - t0)


def throughput(folder: Path, epoch: int, workers: int = 2, batch: int = 64, size: int = 32) -> dict[str, float]:
    import torch
    from torch.utils.data import DataLoader
    from torchvision import datasets
    from torchvision.transforms import v2

    from jepakit.builtin.config import ImageFolderConfig
    from jepakit.builtin.data import image_folder
    from jepakit.engine.loader import make_loader

    t0 = time.perf_counter()
    ours = image_folder(ImageFolderConfig(path=str(folder), size=size, labels="none", augment="ijepa")).pretrain
    list_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    tv = datasets.ImageFolder(
        str(folder),
        transform=v2.Compose(
            [
                v2.RandomResizedCrop(size, scale=(0.3, 1.0), antialias=True),
                v2.RandomHorizontalFlip(0.5),
                v2.ToImage(),
                v2.ToDtype(torch.float32, scale=True),
                v2.Normalize([0.5] * 3, [0.5] * 3),
            ]
        ),
    )
    tv_list_s = time.perf_counter() - t0
    steps = epoch // batch + 2
    best = {"jepakit": 0.0, "torchvision": 0.0}
    for _ in range(3):
        loader = make_loader(ours, None, batch_size=batch, seed=0, start=0, total=steps, workers=workers)
        best["jepakit"] = max(best["jepakit"], _drain(loader, epoch))
        plain = DataLoader(
            tv,
            batch_size=batch,
            shuffle=True,
            num_workers=workers,
            prefetch_factor=4,
            generator=torch.Generator().manual_seed(0),
        )
        best["torchvision"] = max(best["torchvision"], _drain(plain, epoch))
    return {**best, "ratio": best["jepakit"] / best["torchvision"], "list_s": list_s, "tv_list_s": tv_list_s}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--small", type=int, default=2000)
    ap.add_argument("--large", type=int, default=50_000)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--epoch", type=int, default=4000)
    ap.add_argument("--out", type=Path, default=None, help="where the generated folders go (default: a temp dir)")
    args = ap.parse_args()
    base = args.out or Path(tempfile.mkdtemp(prefix="jepakit-imgbench-"))
    print(f"load average before: {os.getloadavg()}", flush=True)
    rows = {}
    for n in (args.small, args.large):
        t0 = time.perf_counter()
        folder = make_folder(base / f"png{n}", n)
        print(f"{n} images ready in {time.perf_counter() - t0:.0f} s", flush=True)
        rows[n] = train_peak(folder, args.steps, base / f"run{n}-{time.time_ns()}")
        print(f"train on {n}: {rows[n]}", flush=True)
    small, large = rows[args.small], rows[args.large]
    print("| images | steps | peak RSS, trainer + workers (MB) | trainer alone (MB) | wall (s) |")
    for n, r in rows.items():
        mb = f"{r['tree_peak_mb']:.0f} | {r['largest_process_mb']:.0f}"
        print(f"| {n:,} | {args.steps} | {mb} | {r['seconds']:.0f} |")
    print(f"large / small peak: {large['tree_peak_mb'] / small['tree_peak_mb']:.3f}")
    tp = throughput(base / f"png{args.small}", args.epoch)
    print(
        f"| loader | images/s |\n| jepakit ImageFiles + make_loader | {tp['jepakit']:.0f} |\n"
        f"| torchvision ImageFolder + DataLoader | {tp['torchvision']:.0f} |\nratio {tp['ratio']:.2f}; "
        f"listing {tp['list_s']:.2f} s (header check) vs ImageFolder {tp['tv_list_s']:.2f} s"
    )
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
