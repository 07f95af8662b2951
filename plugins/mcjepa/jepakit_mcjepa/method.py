"""`mcjepa/mcjepa`: the training method. One shared encoder, two objectives, core's training loop unchanged.

    frames (t, t+1) of each clip --encoder.pyramid--> X_t, X_{t+1}   (levels finest first, [B, C_l, h_l, w_l])
    flow_fw = estimator(X_t, X_{t+1}),  flow_bw = estimator(X_{t+1}, X_t)            (per level, coarse to fine)
    motion  = photo + rec + smooth + cycle + VC                                      (both directions)
    two augmented views of a frame --encoder--> pooled last level --expander--> VICReg = content
    loss    = motion + content_weight * content

The batch is core's {"step", "x": clips [B, C, T, H, W], "y", "masks": None}; which frame pair and which views
are drawn depends only on (run seed, step), so resume stays exact.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from jepakit import JepakitError
from jepakit.api import Built, ResolvedRun, build_encoder, gather_batch
from jepakit.interfaces import DataSplits, EvalResult, StepOutput
from jepakit_mcjepa import losses
from jepakit_mcjepa.augment import pick_pairs, random_views, step_generator
from jepakit_mcjepa.config import MCJEPAConfig
from jepakit_mcjepa.flow import resize_flow
from jepakit_mcjepa.models import Expander, FlowEstimator


class MCJEPA(nn.Module):
    """The trainable model core's loop drives: `step`, `after_step`, `trainable_parameters`, `encoder`, `teacher`."""

    def __init__(self, encoder: nn.Module, cfg: MCJEPAConfig, seed: int = 0) -> None:
        super().__init__()
        if not hasattr(encoder, "pyramid"):
            raise JepakitError(
                "encoder.use: MC-JEPA needs an encoder with a feature pyramid (`pyramid(frames)`)",
                'use encoder.use = "mcjepa/convnext-pyramid"',
            )
        self.encoder = encoder
        self.flow = FlowEstimator(cfg, tuple(encoder.cfg.dims))
        self.expander = Expander(encoder.embed_dim, cfg.expander_dims)
        self.cfg, self.seed = cfg, int(seed)

    @property
    def teacher(self) -> nn.Module:
        """No EMA in MC-JEPA: the shared encoder is what is monitored and evaluated."""
        return self.encoder

    def trainable_parameters(self) -> list[nn.Parameter]:
        return [p for p in self.parameters() if p.requires_grad]

    def after_step(self, step: int) -> None:
        """Nothing to update after the optimizer step (no EMA target)."""

    def flows(self, frame1: torch.Tensor, frame2: torch.Tensor) -> tuple[list[torch.Tensor], ...]:
        """(fw flows, bw flows, pyramid 1, pyramid 2): one encoder pass over both frames [B, C, H, W]."""
        b = frame1.shape[0]
        pyr = self.encoder.pyramid(torch.cat([frame1, frame2]))  # levels [2B, C_l, h_l, w_l]
        p1, p2 = [f[:b] for f in pyr], [f[b:] for f in pyr]
        return self.flow(p1, p2), self.flow(p2, p1), p1, p2

    @torch.no_grad()
    def predict_flow(self, frame1: torch.Tensor, frame2: torch.Tensor) -> torch.Tensor:
        """Forward flow at frame resolution [B, 2, H, W] (the finest level's estimate, upsampled)."""
        pyr1, pyr2 = self.encoder.pyramid(frame1), self.encoder.pyramid(frame2)
        return resize_flow(self.flow(pyr1, pyr2)[0], tuple(frame1.shape[-2:]))

    def motion_loss(self, f1: torch.Tensor, f2: torch.Tensor, g: torch.Generator) -> tuple[torch.Tensor, dict]:
        """Both directions: photometric and smoothness on the final (finest, upsampled) flow at image level;
        feature regression, cycle and VC on every used pyramid level (averaged), as the paper places them."""
        c = self.cfg
        fw, bw, p1, p2 = self.flows(f1, f2)
        size = tuple(f1.shape[-2:])
        levels = self.flow.levels
        fw0, bw0 = resize_flow(fw[0], size), resize_flow(bw[0], size)  # the final estimate, at frame resolution
        vis1 = losses.visible_mask(fw0, bw0) if c.occlusion_mask else None  # [B, 1, H, W] frame-1 pixels seen
        vis2 = losses.visible_mask(bw0, fw0) if c.occlusion_mask else None
        photo = losses.photometric(f1, f2, fw0, c.ssim_weight, vis1) + losses.photometric(
            f2, f1, bw0, c.ssim_weight, vis2
        )
        rec = sum(
            losses.regression(p1[i], p2[i], fw[i]) + losses.regression(p2[i], p1[i], bw[i]) for i in levels
        ) / len(levels)
        smooth = losses.smoothness(fw0, f1, c.smooth_edge) + losses.smoothness(bw0, f2, c.smooth_edge)
        cyc = sum(losses.cycle(p1[i], fw[i], bw[i]) + losses.cycle(p2[i], bw[i], fw[i]) for i in levels) / len(levels)
        var = cov = torch.zeros((), device=f1.device)
        for feats in (p1, p2):
            for fmap in feats:
                v, cv = losses.feature_vc(fmap, c.vc_samples, g)
                var, cov = var + v / len(feats), cov + cv / len(feats)
        total = (
            c.photo_weight * photo
            + c.rec_weight * rec
            + c.smooth_weight * smooth
            + c.cycle_weight * cyc
            + c.vc_var_weight * var
            + c.vc_cov_weight * cov
        )
        parts = {"photo": photo, "rec": rec, "smooth": smooth, "cycle": cyc, "vc_var": var, "vc_cov": cov}
        metrics = {f"loss/{k}": float(v.detach()) for k, v in parts.items()}
        if vis1 is not None:
            metrics["visible"] = float(vis1.float().mean())  # share of pixels the photometric term scores
        return total, metrics

    def content_loss(self, frames: torch.Tensor, g: torch.Generator) -> tuple[torch.Tensor, dict]:
        """VICReg on the expanded, pooled last level of two augmented views of each frame [B, C, H, W]."""
        c = self.cfg
        views = torch.cat([random_views(frames, g, c.crop_scale, c.max_shift, c.noise_std) for _ in range(2)])
        pooled = self.encoder.norm(self.encoder.pyramid(views)[-1].mean(dim=(2, 3)))  # [2B, D]
        z = self.expander(pooled)  # [2B, E]
        z1, z2 = z.chunk(2)
        # data-parallel: variance and covariance are batch statistics, so take them over the global batch
        z1, z2 = gather_batch(z1), gather_batch(z2)  # [B_global, E]; one process: unchanged
        total, parts = losses.vicreg(z1, z2, c.inv_weight, c.var_weight, c.cov_weight)
        return total, {f"loss/vicreg_{k}": v for k, v in parts.items()}

    def step(self, batch: dict[str, Any]) -> StepOutput:
        x: torch.Tensor = batch["x"]  # [B, C, T, H, W]
        b, t_frames = x.shape[0], x.shape[2]
        g = step_generator(self.seed, int(batch["step"]), 0)
        rows = torch.arange(b)
        t = pick_pairs(b, t_frames, g)  # [B]
        f1, f2 = x[rows, :, t], x[rows, :, t + 1]  # [B, C, H, W] each
        motion, metrics = self.motion_loss(f1, f2, g)
        u = torch.randint(0, t_frames, (b,), generator=g)
        content, parts = self.content_loss(x[rows, :, u], g)
        loss = motion + self.cfg.content_weight * content
        metrics.update(parts)
        metrics.update(
            {
                "loss/motion": float(motion.detach()),
                "loss/content": float(content.detach()),
                "loss": float(loss.detach()),
            }
        )
        return StepOutput(loss, metrics)


class MCJEPAMethod:
    """Builds MC-JEPA from a run's `[encoder]` and `[data]`; evaluates flow EPE and a content probe."""

    def __init__(self, cfg: MCJEPAConfig | None = None) -> None:
        self.cfg = cfg or MCJEPAConfig()

    def build(self, resolved: ResolvedRun, splits: DataSplits) -> Built:
        shape = tuple(splits.input_shape)
        if len(shape) != 4 or shape[1] < 2:
            raise JepakitError(
                f"data.use: MC-JEPA trains on clips (C, T >= 2, H, W), {splits.name} gives {list(shape)}",
                'use a video dataset such as data.use = "mcjepa/flow-digits"',
            )
        encoder = build_encoder(resolved, splits)
        return Built(MCJEPA(encoder, self.cfg, seed=resolved.run.seed), None, splits)

    def evaluate(self, resolved: ResolvedRun, built: Built, run_dir: Any) -> EvalResult:
        from jepakit_mcjepa.evaluation import evaluate_mcjepa

        return evaluate_mcjepa(self, resolved, built, run_dir)
