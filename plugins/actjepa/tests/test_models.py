"""The observation encoder's tokens (states and images), the chunk decoders, the EMA target and the BC twin."""

from __future__ import annotations

import pytest
import torch
from jepakit_actjepa.config import ActJEPAConfig, ObsEncoderConfig
from jepakit_actjepa.method import ActJEPA
from jepakit_actjepa.models import ChunkDecoder, ObsEncoder

from jepakit import JepakitError

META = {"obs_dim": 39, "act_dim": 4, "state_groups": [4, 7, 7, 4, 7, 7, 3]}
ENC = ObsEncoderConfig(embed_dim=16, depth=1, num_heads=2, image_stem=(4, 8))
CFG = ActJEPAConfig(decoder_dim=16, decoder_depth=1, predictor_dim=16, predictor_depth=1, num_heads=2)


def _window(b: int = 3, h: int = 4) -> torch.Tensor:
    x = torch.randn(b, h + 1, 45, generator=torch.Generator().manual_seed(0))
    x[..., -2:] = 1.0
    return x


def test_state_groups_become_tokens_and_the_window_reads_row_zero():
    enc = ObsEncoder(ENC, (5, 45), META)
    x = _window()
    out = enc(x)
    assert out.shape == (3, 7, 16) and enc.grid == (7,)
    y = x.clone()
    y[:, 1:] = 0.0  # the future rows are not the encoder's input
    assert torch.equal(enc(y), out)


def test_images_add_conv_cells():
    enc = ObsEncoder(ENC, (5, 45), {**META, "image_size": 16})
    x = {"state": _window(2), "image": torch.rand(2, 5, 3, 16, 16)}
    assert enc.grid == (7 + 4 * 4,) and enc(x).shape == (2, 23, 16)
    with pytest.raises(JepakitError, match="built for images"):
        enc.encode(torch.randn(2, 45))


def test_state_groups_must_cover_the_observation():
    with pytest.raises(JepakitError, match="state groups"):
        ObsEncoder(ENC, (5, 45), {**META, "state_groups": [4, 7]})
    with pytest.raises(JepakitError, match="windows"):
        ObsEncoder(ENC, (3, 32, 32), META)


def test_chunk_decoder_shapes():
    dec = ChunkDecoder(16, 8, 2, 2, chunk=5, out_dim=4)
    assert dec(torch.randn(3, 7, 16)).shape == (3, 5, 4)


def _model(bc: bool = True) -> ActJEPA:
    cfg = ActJEPAConfig(**{**CFG.__dict__, "bc_baseline": bc})
    return ActJEPA(lambda: ObsEncoder(ENC, (5, 45), META), cfg, chunk=4, act_dim=4, total_steps=10, seed=3)


def test_one_step_trains_policy_predictor_and_twin_but_not_the_target():
    model = _model()
    out = model.step({"step": 0, "x": _window()})
    assert {"loss/action", "loss/jepa", "loss/bc_action", "loss"} <= set(out.metrics)
    out.loss.backward()
    for part in ("encoder", "action_decoder", "predictor", "bc_encoder", "bc_decoder"):
        grads = [p.grad for p in getattr(model, part).parameters()]
        assert all(g is not None and torch.isfinite(g).all() for g in grads), part
    assert all(p.grad is None for p in model.target.parameters()), "the EMA target gets no gradient"
    assert not any(p is q for p in model.trainable_parameters() for q in model.target.parameters())


def test_bc_twin_starts_from_the_policys_weights():
    model = _model()
    for a, b in zip(model.encoder.parameters(), model.bc_encoder.parameters(), strict=True):
        assert torch.equal(a, b)
    for a, b in zip(model.action_decoder.parameters(), model.bc_decoder.parameters(), strict=True):
        assert torch.equal(a, b)
    assert _model(bc=False).bc_policy() is None


def test_ema_ramp_moves_the_target_toward_the_encoder():
    model = _model()
    assert model.momentum(0) == 0.996 and model.momentum(10) == 1.0
    with torch.no_grad():
        for p in model.encoder.parameters():
            p.add_(1.0)
    before = [t.clone() for t in model.target.parameters()]
    model.after_step(5)  # m = 0.998
    moved = [float((t - b).abs().max()) for t, b in zip(model.target.parameters(), before, strict=True)]
    assert all(abs(d - 0.002) < 1e-5 for d in moved)
    frozen = [t.clone() for t in model.target.parameters()]
    model.after_step(10)  # m = 1: the target no longer moves
    assert all(torch.equal(t, f) for t, f in zip(model.target.parameters(), frozen, strict=True))


def test_nonexpert_windows_feed_only_the_jepa_term():
    model = _model(bc=False)
    x = _window()
    x[..., -1] = 0.0  # no action labels anywhere
    out = model.step({"step": 0, "x": x})
    assert out.metrics["loss/action"] == 0.0 and out.metrics["loss/jepa"] > 0.0
    out.loss.backward()
    assert all(p.grad is None or float(p.grad.abs().sum()) == 0.0 for p in model.action_decoder.parameters())


@pytest.mark.parametrize(
    "kw",
    [
        dict(energy="l3"),
        dict(ema=(0.9, 0.8)),
        dict(decoder_dim=30, num_heads=4),
        dict(probe_k=()),
        dict(jepa_weight=-1.0),
    ],
)
def test_bad_method_configs(kw):
    with pytest.raises(ValueError):
        ActJEPAConfig(**kw)
