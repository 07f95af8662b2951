"""core/library/layers.py: attention on both paths (SDPA, CPU bf16 explicit GEMMs) with and without a key mask,
the shared cross-attention and the self+cross block the plugins build on."""

from __future__ import annotations

import torch
from torch import nn

from jepakit.api import CrossAttention, SelfCrossBlock, attention

G = torch.Generator().manual_seed(0)


def _qkv(b: int = 2, h: int = 2, nq: int = 3, nk: int = 5, hd: int = 4) -> tuple[torch.Tensor, ...]:
    return tuple(torch.randn(b, h, n, hd, generator=G) for n in (nq, nk, nk))


def _bf16(fn, *args):
    with torch.autocast("cpu", dtype=torch.bfloat16):
        return fn(*args).float()


def test_attention_bf16_path_matches_sdpa():
    q, k, v = _qkv()
    ref = torch.nn.functional.scaled_dot_product_attention(q, k, v)
    assert torch.equal(attention(q, k, v), ref)
    assert torch.allclose(_bf16(attention, q, k, v), ref, atol=5e-2)


def test_masked_keys_get_no_weight_on_both_paths():
    q, k, v = _qkv()
    mask = torch.tensor([[True, True, True, False, False], [True, False, True, True, False]])
    v2 = v.clone()
    v2[:, :, -1] += 100.0  # key 4 is masked in both rows
    v2[0, :, 3] -= 100.0  # key 3 is masked in row 0 only
    for run in (lambda *a: attention(*a), lambda *a: _bf16(attention, *a)):
        assert torch.allclose(run(q, k, v, mask), run(q, k, v2, mask), atol=1e-6)
    kept = mask[0]
    short = attention(q[:1], k[:1, :, kept], v[:1, :, kept])  # row 0 without its padding keys
    assert torch.allclose(attention(q, k, v, mask)[:1], short, atol=1e-6)


def test_a_query_with_every_key_masked_gets_zeros():
    q, k, v = _qkv(b=1)
    none = torch.zeros(1, 5, dtype=torch.bool)
    assert torch.equal(attention(q, k, v, none), torch.zeros_like(q))
    assert torch.equal(_bf16(attention, q, k, v, none), torch.zeros_like(q))


def test_cross_attention_padding_and_shared_queries():
    torch.manual_seed(0)
    cross = CrossAttention(8, 2)
    x, mem = torch.randn(3, 4, 8, generator=G), torch.randn(3, 6, 8, generator=G)
    out = cross(x, mem)
    assert out.shape == (3, 4, 8)
    padded = torch.cat([mem, torch.randn(3, 2, 8, generator=G)], dim=1)  # two padding tokens
    mask = torch.arange(8)[None].expand(3, -1) < 6  # [B, Nm]
    assert torch.allclose(cross(x, padded, mask), out, atol=1e-6)
    shared = x[:1]  # [1, Nq, D]: learned queries, one set for the batch
    assert torch.allclose(cross(shared, mem), cross(shared.expand(3, -1, -1), mem), atol=1e-6)


def test_self_cross_block_shapes_and_linear_order():
    torch.manual_seed(0)
    block = SelfCrossBlock(8, 2, mlp_ratio=2.0)
    x, mem = torch.randn(2, 5, 8, generator=G), torch.randn(2, 3, 8, generator=G)
    assert block(x, mem).shape == (2, 5, 8)
    assert block(x, mem, torch.ones(2, 3, dtype=torch.bool)).shape == (2, 5, 8)
    names = [n for n, m in block.named_modules() if isinstance(m, nn.Linear)]
    # creation order = seeded-init order; plugins' checkpoints and inits rely on these names
    assert names == ["attn.qkv", "attn.proj", "cross.q", "cross.kv", "cross.proj", "mlp.0", "mlp.2"]
    x.requires_grad_(True)
    block(x, mem).sum().backward()
    assert all(p.grad is not None for p in block.parameters())
