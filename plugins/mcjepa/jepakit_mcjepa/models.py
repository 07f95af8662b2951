"""MC-JEPA's networks: the shared ConvNeXt feature pyramid (the encoder) and the PWC-style flow estimator.

The encoder is registered as an `Encoder` part: clips [B, C, T, H, W] are encoded frame by frame and its tokens
are the last level's features of every frame, t-major ([B, T*h*w, D], grid (T, h, w)), so core's probes, collapse
monitor and contract suite read it like any video encoder. The flow estimator reads `pyramid(frames)`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from jepakit import JepakitError
from jepakit_mcjepa.config import MCJEPAConfig, PyramidConfig
from jepakit_mcjepa.flow import correlation, resize_flow, warp


class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channels of a [B, C, H, W] map (ConvNeXt's channels-first norm)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class ConvNeXtBlock(nn.Module):
    """Depthwise k x k conv, LayerNorm, 4x pointwise MLP with GELU, per-channel layer scale, residual."""

    def __init__(self, dim: int, kernel: int, layer_scale: float, eps: float) -> None:
        super().__init__()
        self.dwconv = nn.Conv2d(dim, dim, kernel, padding=kernel // 2, groups=dim)
        self.norm = nn.LayerNorm(dim, eps=eps)
        self.fc1, self.fc2 = nn.Linear(dim, 4 * dim), nn.Linear(4 * dim, dim)
        self.gamma = nn.Parameter(torch.full((dim,), float(layer_scale)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [B, C, H, W]
        y = self.dwconv(x).permute(0, 2, 3, 1)  # [B, H, W, C]
        y = self.fc2(F.gelu(self.fc1(self.norm(y)))) * self.gamma
        return x + y.permute(0, 3, 1, 2)


class ConvNeXtPyramid(nn.Module):
    """Level l: a downsampling (the stem conv of stride `stem_stride` for l = 0, else LayerNorm + 2x2 stride-2
    conv) and `depths[l]` ConvNeXt blocks, `dims[l]` channels at stride stem_stride * 2^l.
    Input: frames [B, C, H, W] or clips [B, C, T, H, W]."""

    layout = "grid3d"

    def __init__(self, cfg: PyramidConfig, input_shape: tuple[int, ...]) -> None:
        super().__init__()
        if len(input_shape) not in (3, 4):
            raise JepakitError(
                f"encoder: mcjepa/convnext-pyramid reads images (C, H, W) or clips (C, T, H, W), "
                f"got input shape {list(input_shape)}",
                "use a video or image dataset",
            )
        c, *rest = input_shape
        frames, (h, w) = (rest[0] if len(rest) == 3 else 1), rest[-2:]
        stride = cfg.stem_stride * 2 ** (len(cfg.dims) - 1)
        if h % stride or w % stride:
            raise JepakitError(
                f"encoder.dims: {len(cfg.dims)} levels need frame sides divisible by {stride}, got {h}x{w}",
                "use fewer levels or another frame size",
            )
        self.cfg, self.in_chans = cfg, c
        self.embed_dim = cfg.dims[-1]
        self.grid = (frames, h // stride, w // stride)
        self.downs, self.stages = nn.ModuleList(), nn.ModuleList()
        prev = c
        for i, (dim, depth) in enumerate(zip(cfg.dims, cfg.depths, strict=True)):
            k = cfg.stem_stride if i == 0 else 2
            down = [nn.Conv2d(prev, dim, k, stride=k)] + ([LayerNorm2d(dim, eps=cfg.norm_eps)] if i == 0 else [])
            if i > 0:
                down.insert(0, LayerNorm2d(prev, eps=cfg.norm_eps))
            self.downs.append(nn.Sequential(*down))
            self.stages.append(
                nn.Sequential(
                    *[ConvNeXtBlock(dim, cfg.kernel_size, cfg.layer_scale_init, cfg.norm_eps) for _ in range(depth)]
                )
            )
            prev = dim
        self.norm = nn.LayerNorm(self.embed_dim, eps=cfg.norm_eps)  # for pooled readouts, as ConvNeXt's head
        self.apply(_init)

    def pyramid(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Frames [B, C, H, W] -> feature maps, finest first: level l is [B, dims[l], H / s_l, W / s_l] with
        s_l = stem_stride * 2^l."""
        feats = []
        for down, stage in zip(self.downs, self.stages, strict=True):
            x = stage(down(x))
            feats.append(x)
        return feats

    def _frames(self, x: torch.Tensor) -> tuple[torch.Tensor, int]:
        """Clips [B, C, T, H, W] -> frames [B*T, C, H, W] (t-major per clip); images pass through with T = 1."""
        if x.dim() == 4:
            return x, 1
        b, c, t, h, w = x.shape
        return x.permute(0, 2, 1, 3, 4).reshape(b * t, c, h, w), t

    def _tokens(self, fmap: torch.Tensor, b: int) -> torch.Tensor:
        """[B*T, D, h, w] -> [B, T*h*w, D] t-major."""
        return fmap.flatten(2).transpose(1, 2).reshape(b, -1, fmap.shape[1])

    def forward(self, x: torch.Tensor, keep: torch.Tensor | None = None) -> torch.Tensor:
        """Final-normed last-level tokens [B, N, D] (or the kept ones [B, Nk, D]). A conv net sees the whole frame,
        so keep gathers after the network (MC-JEPA masks nothing; this only meets the Encoder contract)."""
        frames, _ = self._frames(x)
        out = self.norm(self._tokens(self.pyramid(frames)[-1], x.shape[0]))  # [B, N, D]
        if keep is None:
            return out
        return out.gather(1, keep[..., None].expand(-1, -1, out.shape[-1]))

    def forward_layers(self, x: torch.Tensor, n: int) -> list[torch.Tensor]:
        """Outputs of the last n blocks of the last level, each [B, N, D]."""
        last = self.stages[-1]
        if n > len(last):
            raise JepakitError(
                f"eval.readout: the encoder's last level has {len(last)} block(s), {n} requested",
                'use readout = "mean" or deepen the last level (encoder.depths)',
            )
        frames, _ = self._frames(x)
        h = self.pyramid_until_last(frames)
        outs = []
        for blk in last:
            h = blk(h)
            outs.append(self._tokens(h, x.shape[0]))
        return outs[-n:]

    def pyramid_until_last(self, frames: torch.Tensor) -> torch.Tensor:
        """The input of the last level's blocks (after its downsampling)."""
        h = frames
        for down, stage in zip(self.downs[:-1], self.stages[:-1], strict=True):
            h = stage(down(h))
        return self.downs[-1](h)


def _init(m: nn.Module) -> None:
    if isinstance(m, (nn.Conv2d, nn.Linear)):
        nn.init.trunc_normal_(m.weight, std=0.02)
        if m.bias is not None:
            nn.init.zeros_(m.bias)


class FlowHead(nn.Module):
    """PWC-Net's per-level estimator: 3x3 convs with LeakyReLU(0.1), then a 3x3 conv to a residual flow."""

    def __init__(self, in_dim: int, dims: tuple[int, ...]) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for d in dims:
            layers += [nn.Conv2d(in_dim, d, 3, padding=1), nn.LeakyReLU(0.1)]
            in_dim = d
        self.body = nn.Sequential(*layers)
        self.out = nn.Conv2d(in_dim, 2, 3, padding=1)  # PyTorch's default init: a random net predicts random flow

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.body(x))


class FlowEstimator(nn.Module):
    """Coarse to fine over the pyramid: at each level upsample the coarser flow (x2), warp frame 2's features
    with it, correlate frame 1's features with the warped ones, and predict a residual flow from
    [cost volume, frame-1 features, upsampled flow]."""

    def __init__(self, cfg: MCJEPAConfig, dims: tuple[int, ...]) -> None:
        super().__init__()
        n = cfg.flow_levels or len(dims)
        if n > len(dims):
            raise JepakitError(
                f"method.flow_levels: {n} levels requested, the encoder has {len(dims)}",
                "lower method.flow_levels or add encoder levels",
            )
        self.levels = list(range(n))  # indices into the pyramid, finest first
        self.radius = cfg.corr_radius
        cost = (2 * cfg.corr_radius + 1) ** 2
        self.heads = nn.ModuleList([FlowHead(cost + dims[i] + 2, cfg.head_dims) for i in self.levels])

    def forward(self, f1: list[torch.Tensor], f2: list[torch.Tensor]) -> list[torch.Tensor]:
        """Pyramids of frames 1 and 2 (finest first) -> flows 1 -> 2 per used level, finest first: [B, 2, h_l, w_l]."""
        flows: list[torch.Tensor] = []
        flow = None
        for i in reversed(self.levels):
            a, b = f1[i], f2[i]  # [B, C_l, h, w]
            if flow is None:
                flow = a.new_zeros(a.shape[0], 2, *a.shape[-2:])
            else:
                flow = resize_flow(flow, a.shape[-2:])
            cost = F.leaky_relu(correlation(a, warp(b, flow), self.radius), 0.1)  # [B, (2r+1)^2, h, w]
            flow = flow + self.heads[i](torch.cat([cost, a, flow], dim=1))
            flows.append(flow)
        return flows[::-1]


class Expander(nn.Module):
    """VICReg's expander: Linear-BN-ReLU blocks, then a final Linear (paper: 8192-8192-8192)."""

    def __init__(self, in_dim: int, dims: tuple[int, ...]) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for d in dims[:-1]:
            layers += [nn.Linear(in_dim, d), nn.BatchNorm1d(d), nn.ReLU()]
            in_dim = d
        layers.append(nn.Linear(in_dim, dims[-1]))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [B, D] -> [B, E]
        return self.net(x)
