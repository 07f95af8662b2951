"""The intent decoder: a small decoder-only language model that writes the user's intent from frozen UI tokens.

UI-JEPA (arXiv 2409.04081) feeds the JEPA encoder's video embeddings through a projection into a decoder-only LM
(Phi-3) that generates the intent. Here the LM is trained from scratch (nothing can be downloaded): the frozen
tokens [N, D] are layer-normed (so trained, random-init and raw features meet the decoder on the same scale),
projected to the LM width and placed before the text as a prefix. Attention is prefix-LM: prefix tokens see each
other, each text token sees the whole prefix and the text before it. Trained with next-token cross-entropy,
decoded greedily. Dropout acts on the projected prefix only (feature dropout: the regulariser that matters
with ~1.5k training sessions, at a fraction of the cost of dropout in every block). Everything is seeded, so two
rows differ only in the features they were given.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from jepakit.api import fit_minibatches
from jepakit_uijepa.config import IntentDecoderConfig
from jepakit_uijepa.text import token_f1, tokenize

PAD, BOS, EOS, UNK = 0, 1, 2, 3
SPECIALS = ("<pad>", "<bos>", "<eos>", "<unk>")


class Vocab:
    """Word vocabulary of the training intents (test-only words become <unk>: the decoder cannot invent them)."""

    def __init__(self, texts: list[str]) -> None:
        words = sorted({w for t in texts for w in tokenize(t)})
        self.itos = [*SPECIALS, *words]
        self.stoi = {w: i for i, w in enumerate(self.itos)}

    def __len__(self) -> int:
        return len(self.itos)

    def encode(self, text: str, length: int) -> list[int]:
        """<bos> words <eos>, padded / cut to `length` + 2 ids."""
        ids = [BOS, *(self.stoi.get(w, UNK) for w in tokenize(text))][: length + 1] + [EOS]
        return ids + [PAD] * (length + 2 - len(ids))

    def decode(self, ids: list[int]) -> list[str]:
        """Ids after <bos> up to <eos>, as word tokens."""
        out = []
        for i in ids:
            if i == EOS:
                break
            if i not in (PAD, BOS):
                out.append(self.itos[i])
        return out


class _Block(nn.Module):
    """Pre-norm transformer block; attention takes a boolean mask (True = may attend)."""

    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.norm1, self.norm2 = nn.LayerNorm(width), nn.LayerNorm(width)
        self.qkv, self.proj = nn.Linear(width, 3 * width), nn.Linear(width, width)
        self.mlp = nn.Sequential(nn.Linear(width, 4 * width), nn.GELU(), nn.Linear(4 * width, width))

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:  # x [B, L, W], mask [L, L]
        B, L, W = x.shape
        q, k, v = self.qkv(self.norm1(x)).view(B, L, 3, self.heads, W // self.heads).permute(2, 0, 3, 1, 4)
        a = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)  # [B, h, L, W / h]
        x = x + self.proj(a.transpose(1, 2).reshape(B, L, W))
        return x + self.mlp(self.norm2(x))


class IntentLM(nn.Module):
    """forward(prefix [B, N, F], ids [B, L]) -> next-token logits [B, L, V] for the text positions."""

    def __init__(self, feat_dim: int, prefix_len: int, vocab: int, max_len: int, cfg: IntentDecoderConfig) -> None:
        super().__init__()
        w = cfg.width
        self.feat_norm = nn.LayerNorm(feat_dim, elementwise_affine=False)
        self.proj = nn.Linear(feat_dim, w)
        self.prefix_pos = nn.Parameter(torch.randn(1, prefix_len, w) * 0.02)
        self.embed = nn.Embedding(vocab, w)
        self.text_pos = nn.Parameter(torch.randn(1, max_len, w) * 0.02)
        self.blocks = nn.ModuleList(_Block(w, cfg.heads) for _ in range(cfg.depth))
        self.norm, self.head = nn.LayerNorm(w), nn.Linear(w, vocab)
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, prefix: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        n, length = prefix.shape[1], ids.shape[1]
        p = self.proj(self.feat_norm(prefix)) + self.prefix_pos  # [B, N, W]
        t = self.embed(ids) + self.text_pos[:, :length]  # [B, L, W]
        x = torch.cat([self.drop(p), t], dim=1)  # [B, N + L, W]
        total = n + length
        causal = torch.ones(total, total, dtype=torch.bool, device=x.device).tril()
        causal[:n, :n] = True  # prefix-LM: the prefix attends bidirectionally
        for block in self.blocks:
            x = block(x, causal)
        return self.head(self.norm(x[:, n:]))  # [B, L, V]


@dataclass
class DecodeScores:
    """Per-session predictions and the aggregate scores (percent)."""

    predictions: list[list[str]]
    exact: np.ndarray  # [N] bool: prediction equals one accepted phrasing
    f1: np.ndarray  # [N] best token F1 against the accepted phrasings


class IntentDecoder:
    """Fit the LM on (features, reference text) pairs, then generate and score intents for new features."""

    def __init__(self, cfg: IntentDecoderConfig) -> None:
        self.cfg = cfg
        self.vocab: Vocab | None = None
        self.model: IntentLM | None = None

    def fit(self, feats: np.ndarray, texts: list[str]) -> list[float]:
        """feats [N, T, F] (frozen tokens), texts [N]. Returns the mean training loss of each epoch."""
        cfg = self.cfg
        torch.manual_seed(cfg.seed)
        self.vocab = Vocab(texts)
        x = torch.as_tensor(feats, dtype=torch.float32)  # [N, T, F]
        ids = torch.tensor([self.vocab.encode(t, cfg.max_tokens) for t in texts])  # [N, L + 2]
        self.model = IntentLM(x.shape[-1], x.shape[1], len(self.vocab), cfg.max_tokens + 2, cfg)
        opt = torch.optim.AdamW(self.model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        steps = cfg.epochs * math.ceil(len(x) / cfg.batch_size)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=steps, pct_start=0.1)
        model = self.model

        def loss_of(b: torch.Tensor) -> torch.Tensor:
            logits = model(x[b], ids[b, :-1])  # [b, L + 1, V]: predict token t + 1 from tokens <= t
            return F.cross_entropy(logits.flatten(0, 1), ids[b, 1:].flatten(), ignore_index=PAD)

        # dropout continues the stream seeded above (the model's init drew from it first)
        return fit_minibatches(
            model,
            opt,
            len(x),
            loss_of,
            epochs=cfg.epochs,
            batch_size=cfg.batch_size,
            seed=cfg.seed,
            scheduler=sched,
            reseed=False,
        )

    @torch.no_grad()
    def generate(self, feats: np.ndarray, batch_size: int = 256) -> list[list[str]]:
        """Greedy decoding: word tokens per session (no <bos>/<eos>)."""
        if self.model is None or self.vocab is None:
            raise RuntimeError("IntentDecoder.generate called before fit")
        self.model.eval()
        x = torch.as_tensor(feats, dtype=torch.float32)
        out: list[list[str]] = []
        for i in range(0, len(x), batch_size):
            xb = x[i : i + batch_size]
            ids = torch.full((len(xb), 1), BOS, dtype=torch.long)  # [b, 1]
            for _ in range(self.cfg.max_tokens + 1):
                nxt = self.model(xb, ids)[:, -1].argmax(-1, keepdim=True)  # [b, 1]
                ids = torch.cat([ids, nxt], dim=1)
                if bool((ids == EOS).any(dim=1).all()):
                    break
            out += [self.vocab.decode(row) for row in ids.tolist()]
        return out

    def score(self, feats: np.ndarray, references: list[list[str]]) -> DecodeScores:
        """Generate for feats [N, T, F] and compare with each session's accepted phrasings."""
        preds = self.generate(feats)
        refs = [[tokenize(r) for r in rs] for rs in references]
        exact = np.array([p in rs for p, rs in zip(preds, refs, strict=True)])
        f1 = np.array([max(token_f1(p, r) for r in rs) for p, rs in zip(preds, refs, strict=True)])
        return DecodeScores(preds, exact, f1)
