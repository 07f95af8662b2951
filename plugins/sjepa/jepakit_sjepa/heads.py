"""S-JEPA's three downstream classifiers (paper section "downstream architectures"; braindecode's
`SignalJEPA_Contextual`, `_PostLocal`, `_PreLocal`), as heads trained on frozen pretrained parts.

All three put a learned *spatial filter* in front of a linear classifier, the paper's finding being that spatial
filtering is what downstream accuracy needs:
- contextual: features = the contextual encoder's tokens [N, C, T', D]; filter over channels; flatten; linear.
- post-local: features = the conv tokenizer's output alone [N, C, T', d] (no transformer, no positions); same head.
- pre-local: the filter acts on the raw signal first ([N, C, L] -> [N, F, L] virtual channels), then the frozen
  conv tokenizer reads each virtual channel; flatten; linear.
As heads (the Head contract: frozen features) the pretrained parts stay frozen, so the comparison with random init
measures what pre-training put into them. `finetune_contextual` is the paper's own protocol: the contextual
classifier trained end to end, the encoder included, from the pretrained weights and from random init alike.
Every one trains through core's seeded minibatch loop (`fit_minibatches`), so the compared rows share one protocol.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from jepakit.api import fit_minibatches
from jepakit_sjepa.config import FineTuneConfig, SpatialHeadConfig


def _as_grid(feats: Any) -> torch.Tensor:
    """Features as [N, C, T, F]: 4-D as given; [N, T, F] tokens as T spatial units of one step; [N, F] as one."""
    x = torch.as_tensor(np.asarray(feats), dtype=torch.float32)
    if x.dim() == 2:
        return x[:, None, None]
    if x.dim() == 3:
        return x[:, :, None]
    if x.dim() != 4:
        raise ValueError(f"spatial-filter heads take [N, C, T, F] features, got shape {list(x.shape)}")
    return x


@torch.no_grad()
def _predict(net: nn.Module, x: torch.Tensor, batch_size: int, precision: str = "fp32") -> np.ndarray:
    """Class indices [N] from an eval-mode net, `batch_size` inputs at a time."""
    from jepakit.api import autocast

    with autocast(precision, torch.device("cpu")):
        return torch.cat([net(x[i : i + batch_size]).argmax(1) for i in range(0, len(x), batch_size)]).numpy()


class _SpatialFilterNet(nn.Module):
    """[N, C, T, F] -> logits: `filters` learned weighted sums over channels (Conv3d with a (C, 1, 1) kernel in
    the paper), flattened, then linear."""

    def __init__(
        self, channels: int, steps: int, feats: int, filters: int, classes: int, local: nn.Module | None = None
    ) -> None:
        super().__init__()
        self.spatial = nn.Linear(channels, filters, bias=False)
        self.local = local
        self.classify = nn.Linear(filters * steps * feats, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.local is None:  # x [N, C, T, F]
            z = torch.einsum("nctf,kc->nktf", x, self.spatial.weight)  # [N, filters, T, F]
        else:  # x [N, C, L] raw: filter first, then the frozen tokenizer per virtual channel
            z = self.local(torch.einsum("ncl,kc->nkl", x, self.spatial.weight))  # [N, filters, T', d]
        return self.classify(z.flatten(1))


class SpatialFilterHead:
    """Contextual / post-local head: fit(feats [N, C, T', F], labels) then score -> accuracy in percent."""

    metric = "accuracy"
    higher_is_better = True
    input = "tokens"  # core passes token features [N, C*T', F]; the S-JEPA method passes [N, C, T', F]
    name = "contextual"

    def __init__(self, cfg: SpatialHeadConfig | None = None) -> None:
        self.cfg = cfg or SpatialHeadConfig()
        self.local: nn.Module | None = None  # pre-local only: the frozen conv tokenizer
        self._net: _SpatialFilterNet | None = None
        self._mean = self._std = None

    def describe(self) -> str:
        c = self.cfg
        return (
            f"{self.name}: {c.spatial_filters} spatial filters + linear, AdamW {c.epochs} epochs lr {c.lr} "
            f"on frozen features"
        )

    def _prepare(self, feats: Any) -> torch.Tensor:
        x = _as_grid(feats)
        return (x - self._mean) / self._std if self._mean is not None else x

    def _build(self, x: torch.Tensor, classes: int) -> _SpatialFilterNet:
        return _SpatialFilterNet(x.shape[1], x.shape[2], x.shape[3], self.cfg.spatial_filters, classes)

    def fit(self, feats: Any, labels: Any) -> None:
        cfg = self.cfg
        self._mean = self._std = None
        x = self._prepare(feats)
        dims = (0, 2) if x.dim() == 3 else (0, 1, 2)
        self._mean, self._std = x.mean(dim=dims, keepdim=True), x.std(dim=dims, keepdim=True).clamp_min(1e-6)
        x = (x - self._mean) / self._std
        self._classes, y = np.unique(np.asarray(labels), return_inverse=True)
        y = torch.as_tensor(y, dtype=torch.long)
        with torch.random.fork_rng():
            torch.manual_seed(cfg.seed)
            net = self._build(x, len(self._classes))
        params = [p for p in net.parameters() if p.requires_grad]
        opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
        fit_minibatches(
            net,
            opt,
            len(x),
            lambda idx: F.cross_entropy(net(x[idx]), y[idx]),
            epochs=cfg.epochs,
            batch_size=cfg.batch_size,
            seed=cfg.seed,
        )
        self._net = net.eval()

    @torch.no_grad()
    def score(self, feats: Any, labels: Any) -> dict[str, float]:
        if self._net is None:
            raise RuntimeError(f"{type(self).__name__}.score called before fit")
        x = self._prepare(feats)
        pred = _predict(self._net, x, 512)
        return {"accuracy": 100.0 * float(np.mean(self._classes[pred] == np.asarray(labels)))}


class PostLocalHead(SpatialFilterHead):
    """The same spatial-filter classifier, meant for the conv tokenizer's local features (no transformer)."""

    name = "post-local"


class PreLocalHead(SpatialFilterHead):
    """Spatial filter on the raw signal [N, C, L], then the frozen conv tokenizer (set `local`), flatten, linear.

    Without a tokenizer (a generic caller) the virtual channels are classified directly.
    """

    name = "pre-local"
    input = "pooled"

    def _prepare(self, feats: Any) -> torch.Tensor:
        x = torch.as_tensor(np.asarray(feats), dtype=torch.float32)
        if x.dim() == 2:
            x = x[:, :, None]  # [N, F] -> F channels of one sample
        return (x - self._mean) / self._std if self._mean is not None else x  # [N, C, L]

    def _build(self, x: torch.Tensor, classes: int) -> _SpatialFilterNet:
        f = self.cfg.spatial_filters
        if self.local is None:
            return _SpatialFilterNet(x.shape[1], 1, x.shape[2], f, classes, local=_Unsqueeze())
        local = self.local.requires_grad_(False)
        with torch.no_grad():
            steps, feats = local(torch.zeros(1, f, x.shape[2])).shape[2:]
        return _SpatialFilterNet(x.shape[1], steps, feats, f, classes, local=local)


class _Unsqueeze(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, :, None]  # [N, F, L] -> [N, F, 1, L]


class _Contextual(nn.Module):
    """Encoder -> tokens [N, C, T', D] -> spatial filters -> dropout -> linear: the contextual classifier whole."""

    def __init__(self, encoder: nn.Module, filters: int, classes: int, dropout: float) -> None:
        super().__init__()
        self.encoder = encoder
        C, T = encoder.grid
        self.head = _SpatialFilterNet(C, T, encoder.embed_dim, filters, classes)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        C, T = self.encoder.grid
        z = self.encoder(x).reshape(len(x), C, T, -1)  # [N, C, T', D]
        z = torch.einsum("nctf,kc->nktf", z, self.head.spatial.weight)  # [N, filters, T', D]
        return self.head.classify(self.drop(z.flatten(1)))


def fit_contextual(
    encoder: nn.Module, x: torch.Tensor, labels: Any, cfg: FineTuneConfig, filters: int = 4, precision: str = "fp32"
) -> tuple[_Contextual, np.ndarray]:
    """(net in eval mode, its classes): the contextual classifier trained end to end on (x [N, C, L], labels [N])
    from a copy of `encoder`, which is left as it is (its weights and requires_grad flags)."""
    import copy

    from jepakit.api import cosine

    classes, y = np.unique(np.asarray(labels), return_inverse=True)
    y = torch.as_tensor(y, dtype=torch.long)
    with torch.random.fork_rng():
        torch.manual_seed(cfg.seed)
        net = _Contextual(copy.deepcopy(encoder).requires_grad_(True), filters, len(classes), cfg.dropout)
    groups = [
        {"params": list(net.encoder.parameters()), "lr": cfg.encoder_lr},
        {"params": list(net.head.parameters()), "lr": cfg.lr},
    ]
    opt = torch.optim.AdamW(groups, weight_decay=cfg.weight_decay)
    steps = cfg.epochs * -(-len(x) // cfg.batch_size)
    warm = max(1, round(cfg.warmup * steps))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt,
        lambda k: (
            (k + 1) / warm
            if k < warm
            # warm-up, cosine
            else cosine(1.0, 0.0, (k - warm) / max(1, steps - warm))
        ),
    )
    x = x.float()
    fit_minibatches(
        net,
        opt,
        len(x),
        lambda idx: F.cross_entropy(net(x[idx]), y[idx]),
        epochs=cfg.epochs,
        batch_size=cfg.batch_size,
        seed=cfg.seed,
        scheduler=sched,
        precision=precision,
    )
    return net.eval(), classes


def finetune_contextual(
    encoder: nn.Module,
    train: tuple[torch.Tensor, Any],
    test: tuple[torch.Tensor, Any],
    cfg: FineTuneConfig,
    filters: int = 4,
    precision: str = "fp32",
) -> float:
    """Test accuracy (%) of the contextual classifier fine-tuned end to end from a copy of `encoder`.

    train / test: (x [N, C, L] raw recordings, labels [N]).
    """
    net, classes = fit_contextual(encoder, train[0], train[1], cfg, filters, precision)
    pred = _predict(net, test[0].float(), 256, precision)
    return 100.0 * float(np.mean(classes[pred] == np.asarray(test[1])))
