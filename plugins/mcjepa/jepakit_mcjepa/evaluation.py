"""MC-JEPA's evaluation: both halves of the shared encoder, each next to the same network at random init.

Motion: end-point error (EPE, pixels) of the forward flow on every consecutive frame pair of the held-out clips,
against the exact ground truth of `mcjepa/flow-digits`, next to random init and the zero-flow baseline (the
best constant guess on a static background); lower is better. Split into all / digit / background pixels.
Content: core's probes on mean-pooled last-level features (digit class), trained vs random init vs raw pixels.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import torch

from jepakit.api import Built, ResolvedRun
from jepakit.interfaces import EvalResult, Scores
from jepakit_mcjepa.flow import end_point_error

log = logging.getLogger("jepakit")


@torch.no_grad()
def flow_errors(model: Any, split: Any, max_pairs: int = 0, batch_size: int = 256) -> dict[str, dict[str, float]]:
    """EPE of `model.predict_flow` (or zero flow when model is None) over frame pairs (clip i, t -> t+1):
    {"all", "digit", "background"} means in pixels, for the model and for zero flow."""
    n, frames = split.x.shape[0], split.x.shape[2]
    pairs = torch.cartesian_prod(torch.arange(n), torch.arange(frames - 1))  # [P, 2] (clip, t)
    if max_pairs:
        pairs = pairs[:max_pairs]
    sums = {k: {"all": 0.0, "digit": 0.0, "background": 0.0} for k in ("model", "zero")}
    counts = {"all": 0, "digit": 0, "background": 0}
    was = None if model is None else model.training
    if model is not None:
        model.eval()
    try:
        for s in range(0, len(pairs), batch_size):
            i, t = pairs[s : s + batch_size, 0], pairs[s : s + batch_size, 1]
            gt = split.flow(i, t)  # [K, 2, H, W]
            digit = split.digit[i, t]  # [K, H, W]
            pred = model.predict_flow(split.x[i, :, t], split.x[i, :, t + 1]) if model is not None else gt * 0
            for key, err in (("model", end_point_error(pred, gt)), ("zero", gt.norm(dim=1))):
                sums[key]["all"] += float(err.sum())
                sums[key]["digit"] += float(err[digit].sum())
                sums[key]["background"] += float(err[~digit].sum())
            counts["all"] += digit.numel()
            counts["digit"] += int(digit.sum())
            counts["background"] += int((~digit).sum())
    finally:
        if model is not None:
            model.train(was)
    return {k: {r: round(v / max(counts[r], 1), 4) for r, v in row.items()} for k, row in sums.items()}


def _random_init(method: Any, resolved: ResolvedRun, built: Built) -> Any:
    """The very network training started from: rebuilt under the run's seed, as core's `build` seeds it."""
    torch.manual_seed(resolved.run.seed)
    return method.build(resolved, built.splits).model


def evaluate_mcjepa(method: Any, resolved: ResolvedRun, built: Built, run_dir: Any) -> EvalResult:
    """Flow EPE (primary) and the content probes, each vs random init and baseline; writes the flow picture.

    Without ground-truth flow the content linear probe is the primary score. Core writes eval.json.
    """
    from jepakit.api import evaluate_encoders, head_factory

    model, splits = built.model, built.splits
    rand = _random_init(method, resolved, built)

    def content_name(name: str) -> str:  # "linear-probe" -> "content_linear"
        return f"content_{name.removesuffix('-probe')}"

    heads = {content_name(name): head_factory(part) for name, part in resolved.heads.items()}
    primary = content_name(resolved.eval.primary) if resolved.eval.primary else None
    content = evaluate_encoders(
        model.encoder, rand.encoder, splits, readout=resolved.eval.readout, heads=heads, primary=primary
    )
    scores: dict[str, Scores] = {}
    details: dict[str, Any] = {}
    if hasattr(splits.test, "flow"):
        max_pairs = method.cfg.eval_pairs
        trained, random_init = flow_errors(model, splits.test, max_pairs), flow_errors(rand, splits.test, max_pairs)
        zero = trained["zero"]
        scores["flow_epe"] = Scores(
            metric="flow_epe",
            trained=trained["model"]["all"],
            random_init=random_init["model"]["all"],
            raw=zero["all"],
            higher_is_better=False,
        )
        details["baseline_zero_flow"] = zero["all"]
        details["flow"] = {
            "unit": "pixels, end-point error, forward flow t -> t+1",
            "trained": trained["model"],
            "random_init": random_init["model"],
            "zero_flow": zero,
        }
        _plot(model, rand, splits.test, method.cfg.plot_pairs, run_dir)
    else:
        log.warning("%s has no ground-truth flow: flow EPE skipped, content probes only", splits.name)
        details["baseline_zero_flow"] = None
    scores.update(content.scores)
    main = content.main
    details["content"] = {
        "metric": main.metric,
        "trained": main.trained,
        "random_init": main.random_init,
        "raw": main.raw,
    }
    return EvalResult(
        variant=resolved.variant,
        dataset=splits.name,
        primary="flow_epe" if "flow_epe" in scores else content.primary,
        scores=scores,
        collapse=content.collapse,
        baseline_label="zero flow / raw pixels",
        encoder=resolved.eval.encoder,
        readout=content.readout,
        protocol=(
            "flow: EPE over every pixel of every consecutive test pair, zero-flow baseline in the "
            "'zero flow / raw pixels' row; content: " + content.protocol
        ),
        n_train=content.n_train,
        n_test=content.n_test,
        details=details,
    )


def flow_to_rgb(flow: np.ndarray, max_mag: float) -> np.ndarray:
    """Flow [2, H, W] -> colours [H, W, 3]: hue = direction, brightness = magnitude / max_mag."""
    from matplotlib.colors import hsv_to_rgb

    dx, dy = flow
    hue = (np.arctan2(dy, dx) / (2 * np.pi)) % 1.0
    val = np.clip(np.hypot(dx, dy) / max(max_mag, 1e-6), 0.0, 1.0)
    return hsv_to_rgb(np.stack([hue, np.ones_like(hue), val], axis=-1))


def _plot(model: Any, rand: Any, split: Any, pairs: int, run_dir: Any) -> None:
    """plots/flow.png: for a few test pairs, frame t, frame t+1, ground truth, trained and random-init flow."""
    if pairs < 1:
        return
    try:
        from jepakit.api import new_figure, save_png

        idx, t = torch.arange(min(pairs, len(split))), torch.zeros(min(pairs, len(split)), dtype=torch.long)
        f1, f2 = split.x[idx, :, t], split.x[idx, :, t + 1]
        rows = {"ground truth": split.flow(idx, t)}
        for name, m in (("trained", model), ("random init", rand)):
            was = m.training
            m.eval()
            rows[name] = m.predict_flow(f1, f2)
            m.train(was)
        top = float(rows["ground truth"].norm(dim=1).max()) or 1.0
        fig = new_figure(2.0 * 5, 2.0 * len(idx))
        cols = [("frame t", f1), ("frame t+1", f2), *rows.items()]
        for r in range(len(idx)):
            for c, (title, data) in enumerate(cols):
                ax = fig.add_subplot(len(idx), len(cols), r * len(cols) + c + 1)
                img = data[r].numpy()
                ax.imshow(img[0], cmap="gray", vmin=-1, vmax=1) if c < 2 else ax.imshow(flow_to_rgb(img, top))
                ax.set_axis_off()
                if r == 0:
                    ax.set_title(title, fontsize=8)
        save_png(fig, run_dir.plots / "flow.png")
    except (ValueError, RuntimeError, OSError) as exc:  # a plot must never lose an evaluation
        log.warning("flow plot skipped: %s", exc)
