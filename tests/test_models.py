"""Core model parts: shapes, the context path gathers before the blocks, EMA ramp, predictor modes, schedules."""

from __future__ import annotations

import pytest
import torch

from jepakit.builtin.config import EMAConfig, PredictorConfig, ViTConfig
from jepakit.builtin.losses import VICReg, vicreg_var_cov
from jepakit.builtin.models import TransformerPredictor, VisionTransformer
from jepakit.builtin.targets import EMATarget
from jepakit.engine.steps import lr_at, wd_at
from jepakit.errors import JepakitError
from jepakit.framework.compose import OptimConfig
from jepakit.library.layers import attention, sincos_pos_embed

TINY = ViTConfig(patch_size=4, embed_dim=32, depth=2, num_heads=4)


def test_vit_shapes_and_context_gather():
    enc = VisionTransformer(TINY, input_shape=(1, 16, 16)).eval()
    x = torch.randn(3, 1, 16, 16)
    assert enc.grid == (4, 4)
    full = enc(x)
    assert full.shape == (3, 16, 32)
    keep = torch.tensor([[0, 5, 7]] * 3)
    ctx = enc(x, keep=keep)
    assert ctx.shape == (3, 3, 32)
    # the context path sees only kept tokens: it differs from gathering the full-input output
    assert not torch.allclose(ctx, full[:, [0, 5, 7]], atol=1e-4)
    layers = enc.forward_layers(x, 2)
    assert len(layers) == 2 and torch.allclose(layers[-1], full, atol=1e-5)


def test_vit_rejects_patch_that_does_not_divide():
    with pytest.raises(JepakitError, match="encoder.patch_size"):
        VisionTransformer(ViTConfig(patch_size=5, embed_dim=32, depth=1, num_heads=4), input_shape=(1, 16, 16))


def test_sincos_table_is_unique_per_position():
    table = sincos_pos_embed(32, (4, 4))
    assert table.shape == (16, 32)
    assert torch.cdist(table, table).add(torch.eye(16) * 10).min() > 1e-3


@pytest.mark.parametrize("mode", ["separate", "joint"])
def test_predictor_shapes(mode):
    pred = TransformerPredictor(PredictorConfig(embed_dim=16, depth=1, num_heads=2, target_attention=mode), 32, (4, 4))
    ctx = torch.randn(2, 5, 32)
    out = pred(ctx, torch.arange(5).expand(2, 5), torch.arange(5, 11).reshape(1, 2, 3).expand(2, 2, 3))
    assert out.shape == (2, 2, 3, 32)


def test_separate_mode_blocks_do_not_see_each_other():
    torch.manual_seed(0)
    pred = TransformerPredictor(PredictorConfig(embed_dim=16, depth=2, num_heads=2), 32, (4, 4)).eval()
    ctx, ctx_idx = torch.randn(1, 4, 32), torch.arange(4)[None]
    both = pred(ctx, ctx_idx, torch.tensor([[[8, 9], [14, 15]]]))
    alone = pred(ctx, ctx_idx, torch.tensor([[[8, 9]]]))
    assert torch.allclose(both[:, 0], alone[:, 0], atol=1e-5)


def test_ema_momentum_ramp_and_update():
    enc = VisionTransformer(TINY, input_shape=(1, 16, 16))
    ema = EMATarget(EMAConfig(momentum=(0.996, 1.0)), enc, total_steps=100)
    assert ema.momentum(0) == pytest.approx(0.996) and ema.momentum(50) == pytest.approx(0.998)
    assert ema.momentum(100) == pytest.approx(1.0) and ema.momentum(500) == pytest.approx(1.0)
    assert not any(p.requires_grad for p in ema.teacher.parameters())
    with torch.no_grad():
        for p in enc.parameters():
            p.add_(1.0)
    before = [p.clone() for p in ema.teacher.parameters()]
    ema.update(enc, 0)  # m = 0.996: teacher moves 0.4 % of the way
    moved = [(a - b).abs().mean() for a, b in zip(ema.teacher.parameters(), before, strict=True)]
    assert all(m == pytest.approx(0.004, rel=1e-3) for m in moved)
    ema.update(enc, 100)  # m = 1: frozen
    assert all(
        torch.equal(a, b)
        for a, b in zip(ema.teacher.parameters(), [p.clone() for p in ema.teacher.parameters()], strict=True)
    )


def test_targets_are_layer_normed_and_gathered():
    enc = VisionTransformer(TINY, input_shape=(1, 16, 16))
    ema = EMATarget(EMAConfig(), enc, total_steps=10)
    tgt = ema.targets(torch.randn(2, 1, 16, 16), torch.tensor([[[0, 1, 2]], [[3, 4, 5]]]))
    assert tgt.shape == (2, 1, 3, 32)
    assert torch.allclose(tgt.mean(-1), torch.zeros(2, 1, 3), atol=1e-5)
    assert not tgt.requires_grad


def test_vicreg_penalises_collapse():
    collapsed = torch.ones(64, 8) + 1e-3 * torch.randn(64, 8)
    spread = torch.randn(64, 8)
    var_c, _ = vicreg_var_cov(collapsed)
    var_s, _ = vicreg_var_cov(spread)
    assert var_c > 0.9 and var_s < 0.2
    term = VICReg(__import__("jepakit.builtin.config", fromlist=["x"]).VICRegConfig())
    assert term(None, None, context=collapsed[:, None, :].expand(64, 3, 8)) > term(None, None, context=spread[:, None])


def test_schedules_follow_the_paper_shape():
    cfg = OptimConfig(steps=100, lr=1e-3, start_lr=2e-4, final_lr=1e-6, warmup=0.1)
    assert lr_at(cfg, 0) == pytest.approx(2e-4)
    assert lr_at(cfg, 10) == pytest.approx(1e-3)
    assert lr_at(cfg, 100) == pytest.approx(1e-6)
    assert lr_at(cfg, 55) < lr_at(cfg, 20)
    assert wd_at(cfg, 0) == pytest.approx(0.04) and wd_at(cfg, 100) == pytest.approx(0.4)


def test_sigreg_is_small_for_gaussian_and_large_for_collapsed_embeddings():
    from jepakit.builtin.config import SIGRegConfig
    from jepakit.builtin.losses import SIGReg

    torch.manual_seed(0)
    term = SIGReg(SIGRegConfig())
    gauss = term(None, None, context=torch.randn(256, 1, 32))  # one token: pooled = N(0, I) samples
    collapsed = term(None, None, context=torch.ones(256, 3, 32) + 1e-3 * torch.randn(256, 3, 32))
    assert gauss < 5 and collapsed > 50 * gauss
    z = torch.randn(64, 2, 16, requires_grad=True)
    term(None, None, context=z).backward()
    assert torch.isfinite(z.grad).all() and z.grad.abs().sum() > 0


def test_stopgrad_target_is_the_encoder_without_gradient_or_a_second_copy():
    from jepakit.builtin.config import StopGradConfig
    from jepakit.builtin.targets import StopGradTarget

    enc = VisionTransformer(TINY, input_shape=(1, 16, 16))
    target = StopGradTarget(StopGradConfig(), enc, total_steps=10)
    assert target.teacher is enc and list(target.state_dict()) == []
    tgt = target.targets(torch.randn(2, 1, 16, 16), torch.tensor([[[0, 1]], [[2, 3]]]))
    assert tgt.shape == (2, 1, 2, 32) and not tgt.requires_grad


def test_attention_under_cpu_bf16_autocast_matches_sdpa_and_trains() -> None:
    """The explicit-matmul path taken under CPU bf16 autocast is the same function as SDPA (values, gradients)."""
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(2, 3, 10, 8, generator=g, requires_grad=True) for _ in range(3))  # [B, H, N, hd]
    ref = torch.nn.functional.scaled_dot_product_attention(q, k, v)
    ref_grads = torch.autograd.grad(ref.square().sum(), (q, k, v))
    assert torch.equal(attention(q, k, v), ref)  # fp32: SDPA itself
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = attention(q, k, v)
    assert out.dtype == torch.bfloat16
    assert torch.allclose(out.float(), ref, atol=3e-2, rtol=3e-2)
    grads = torch.autograd.grad(out.float().square().sum(), (q, k, v))
    for got, want in zip(grads, ref_grads, strict=True):
        assert torch.allclose(got, want, atol=0.1, rtol=0.1) and got.abs().sum() > 0
