"""What a training run watches and draws besides its loss: the collapse monitors (the teacher's feature std and
effective rank on a fixed batch of training inputs) and the plots a run directory gets (loss, online probe, masks).
"""

from __future__ import annotations

from typing import Any, cast

import torch

from jepakit.engine.distributed import move_batch
from jepakit.engine.loader import input_pixels, input_rows, sample_masks, stack_inputs
from jepakit.engine.runs import RunDir


def monitor_batch(dataset: Any, n: int = 512) -> Any:
    """A fixed set of training inputs for the collapse monitors (the first n, always the same)."""
    n = min(n, len(dataset))
    return stack_inputs([dataset[i][0] for i in range(n)])


@torch.no_grad()
def collapse_monitor(model: torch.nn.Module, x: Any) -> dict[str, float]:
    """Per-dimension std and effective rank of the teacher's mean-pooled features: collapse shows here first."""
    from jepakit.engine.evaluate import collapse_stats

    teacher = cast(torch.nn.Module, model.teacher)  # the training contract: any method's model has a teacher
    was_training = teacher.training
    device = next(teacher.parameters()).device
    teacher.eval()
    n = len(x["image"] if isinstance(x, dict) else x)
    feats = torch.cat(
        [teacher(move_batch(input_rows(x, i, i + 256), device)).mean(dim=1) for i in range(0, n, 256)]
    )  # [n, D]
    teacher.train(was_training)
    stats = collapse_stats(feats.float().cpu().numpy())
    return {
        "feature_std": round(float(stats["feature_std"]), 5),
        "effective_rank": round(float(stats["effective_rank"]), 3),
    }


def draw_run_plots(run_dir: RunDir, built: Any, draw_masks: bool) -> None:
    """Loss curve always, the online probe's curve when it ran; masks drawn over sample inputs once per run."""
    from jepakit.library import plots

    run_dir.plots.mkdir(exist_ok=True)
    rows = run_dir.read_metrics()
    plots.plot_loss(rows, run_dir.plots / "loss.png")
    if any("online_knn" in r for r in rows):
        plots.plot_online_probe(rows, run_dir.plots / "online_probe.png")
    masker = built.masker
    if masker is None or not (draw_masks or not (run_dir.plots / "masks.png").exists()):
        return
    data = built.splits.pretrain_set
    x = input_pixels(stack_inputs([data[i][0] for i in range(min(4, len(data)))]))
    if hasattr(masker, "draw"):  # the masker knows its geometry best (spectrograms, scalp maps, curricula)
        masker.draw(x, run_dir.plots / "masks")
        return
    masks = sample_masks(masker, len(x), torch.Generator().manual_seed(0), step=0, total_steps=1)
    grid = tuple(masker.grid)
    if len(grid) == 2:
        plots.plot_masks(x, masks.context, masks.targets, grid, run_dir.plots / "masks.png")
    elif len(grid) == 3:
        plots.plot_masks_3d(x, masks.context, masks.targets, grid, run_dir.plots / "masks.png")
