"""`actjepa/act-jepa`: the training method. A policy, its EMA target encoder and its BC twin in core's loop.

    window x [B, H + 1, F]:  o_t = row 0,  a_t..a_{t+H-1} = rows 0..H-1,  o_{t+1}..o_{t+H} = rows 1..H
    ctx     = E_theta(o_t)                                       [B, N, D]
    a_hat   = D(ctx)                                             [B, H, act_dim]   L1 to the demonstrated chunk
    z_hat   = P_phi(ctx)                                         [B, H, D]
    z       = LN(mean_tokens(E_theta~(o_{t+k}))), k = 1..H       [B, H, D]         no gradient (EMA teacher)
    loss    = action_weight * L1(a_hat, a) + jepa_weight * energy(z_hat, z)  (+ the BC twin's L1)

Padded rows (past an episode's end) and non-expert rows are masked (`jepakit_actjepa.masks`). The BC twin (a
second encoder and action decoder, initialised exactly like the policy's) reads the same batch in the same step
with the action loss alone: the ACT baseline at equal steps, data and optimiser. Its parameters are disjoint, so
AdamW updates it as if it trained alone; only gradient-norm clipping (off in the presets) would couple them.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from jepakit import JepakitError
from jepakit.api import Built, ResolvedRun, build_encoder, ema_momentum, ema_update_, vicreg_var_cov
from jepakit.interfaces import DataSplits, EvalResult, StepOutput
from jepakit_actjepa.config import ActJEPAConfig
from jepakit_actjepa.masks import chunk_loss, split_rows
from jepakit_actjepa.models import ChunkDecoder


class Policy(nn.Module):
    """Encoder + action decoder: what acts in the environment. `act(state, image) -> chunk [B, H, act_dim]`."""

    def __init__(self, encoder: nn.Module, decoder: nn.Module) -> None:
        super().__init__()
        self.encoder, self.decoder = encoder, decoder

    @torch.no_grad()
    def act(self, state: torch.Tensor, image: torch.Tensor | None = None) -> torch.Tensor:
        return self.decoder(self.encoder.encode(state, image))


class ActJEPA(nn.Module):
    """The trainable model core's loop drives: `step`, `after_step`, `trainable_parameters`, `encoder`, `teacher`."""

    def __init__(
        self, make_encoder: Any, cfg: ActJEPAConfig, chunk: int, act_dim: int, total_steps: int, seed: int = 0
    ) -> None:
        super().__init__()
        self.cfg, self.chunk, self.act_dim, self.total_steps = cfg, int(chunk), int(act_dim), max(1, total_steps)
        torch.manual_seed(seed)
        self.encoder = make_encoder()
        d = self.encoder.embed_dim
        torch.manual_seed(seed + 1)
        self.action_decoder = ChunkDecoder(d, cfg.decoder_dim, cfg.decoder_depth, cfg.num_heads, chunk, act_dim)
        self.predictor = ChunkDecoder(d, cfg.predictor_dim, cfg.predictor_depth, cfg.num_heads, chunk, d)
        self.target = copy.deepcopy(self.encoder).requires_grad_(False)
        self.bc_encoder: nn.Module | None = None
        self.bc_decoder: nn.Module | None = None
        if cfg.bc_baseline:
            torch.manual_seed(seed)
            self.bc_encoder = make_encoder()
            torch.manual_seed(seed + 1)
            self.bc_decoder = ChunkDecoder(d, cfg.decoder_dim, cfg.decoder_depth, cfg.num_heads, chunk, act_dim)
        self.obs_dim = int(self.encoder.obs_dim)

    @property
    def teacher(self) -> nn.Module:
        """The EMA target encoder (core's collapse monitor reads it)."""
        return self.target

    def policy(self) -> Policy:
        return Policy(self.encoder, self.action_decoder)

    def bc_policy(self) -> Policy | None:
        return None if self.bc_encoder is None else Policy(self.bc_encoder, self.bc_decoder)

    def trainable_parameters(self) -> list[nn.Parameter]:
        return [p for p in self.parameters() if p.requires_grad]

    def momentum(self, step: int) -> float:
        return ema_momentum(self.cfg.ema, step, self.total_steps)

    @torch.no_grad()
    def after_step(self, step: int) -> None:
        """EMA update of the target encoder with the momentum ramp (I-JEPA's linear m0 -> m1 over the run)."""
        ema_update_(self.target, self.encoder, self.momentum(step))

    def _targets(self, obs: torch.Tensor, images: torch.Tensor | None) -> torch.Tensor:
        """Future observations [B, H, obs_dim] (+ images [B, H, 3, S, S]) -> layer-normed latents [B, H, D]."""
        b, h = obs.shape[:2]
        img = None if images is None else images.flatten(0, 1)
        with torch.no_grad():
            z = self.target.encode(obs.flatten(0, 1), img).mean(dim=1)  # [B*H, D]
        return F.layer_norm(z, z.shape[-1:]).view(b, h, -1)

    def step(self, batch: dict[str, Any]) -> StepOutput:
        x = batch["x"]
        rows, images = (x["state"], x["image"]) if isinstance(x, dict) else (x, None)  # [B, H+1, F]
        obs, act, obs_ok, act_ok = split_rows(rows, self.obs_dim, self.act_dim)
        h, c = self.chunk, self.cfg
        img0 = None if images is None else images[:, 0]
        ctx = self.encoder.encode(obs[:, 0], img0)  # [B, N, D]
        l_act = chunk_loss(self.action_decoder(ctx), act[:, :h], act_ok[:, :h], "l1")
        z = self._targets(obs[:, 1:], None if images is None else images[:, 1:])  # [B, H, D]
        l_jepa = chunk_loss(self.predictor(ctx), z, obs_ok[:, 1:], c.energy)
        loss = c.action_weight * l_act + c.jepa_weight * l_jepa
        metrics = {"loss/action": float(l_act.detach()), "loss/jepa": float(l_jepa.detach())}
        if c.vc_weight > 0:
            var, cov = vicreg_var_cov(ctx.mean(dim=1))
            loss = loss + c.vc_weight * (var + cov)
            metrics["loss/vc"] = float((var + cov).detach())
        if self.bc_encoder is not None and self.bc_decoder is not None:
            bc_ctx = self.bc_encoder.encode(obs[:, 0], img0)
            l_bc = chunk_loss(self.bc_decoder(bc_ctx), act[:, :h], act_ok[:, :h], "l1")
            metrics["loss/bc_action"] = float(l_bc.detach())
            total = loss + l_bc
        else:
            total = loss
        metrics["loss"] = float(loss.detach())  # ACT-JEPA's own objective (the BC twin's is logged apart)
        return StepOutput(total, metrics)


class ActJEPAMethod:
    """Builds ACT-JEPA from a run's `[encoder]` and `[data]` (windows of chunk + 1 rows); evaluates by acting."""

    def __init__(self, cfg: ActJEPAConfig | None = None) -> None:
        self.cfg = cfg or ActJEPAConfig()

    def build(self, resolved: ResolvedRun, splits: DataSplits) -> Built:
        shape, meta = tuple(splits.input_shape), splits.meta
        if len(shape) != 2 or "act_dim" not in meta or "obs_dim" not in meta:
            raise JepakitError(
                f"data.use: ACT-JEPA trains on trajectory windows, {splits.name} gives samples of shape {list(shape)}",
                'use data.use = "actjepa/metaworld-demos" or "actjepa/trajectories"',
            )

        def make_encoder() -> nn.Module:
            enc = build_encoder(resolved, splits)
            if not hasattr(enc, "encode"):
                raise JepakitError(
                    "encoder.use: ACT-JEPA needs an observation encoder with `encode(state, image)`",
                    'use encoder.use = "actjepa/obs-encoder"',
                )
            return enc

        model = ActJEPA(
            make_encoder,
            self.cfg,
            chunk=shape[0] - 1,
            act_dim=int(meta["act_dim"]),
            total_steps=resolved.optim.steps,
            seed=resolved.run.seed,
        )
        return Built(model, None, splits)

    def evaluate(self, resolved: ResolvedRun, built: Built, run_dir: Any) -> EvalResult:
        from jepakit_actjepa.evaluation import evaluate_actjepa

        return evaluate_actjepa(self, resolved, built, run_dir)
