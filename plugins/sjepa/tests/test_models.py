"""The EEG encoder reads any montage with the same weights; the decoder predictor's shapes; position codes."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from jepakit_sjepa.config import DecoderPredictorConfig, EEGEncoderConfig
from jepakit_sjepa.models import DecoderPredictor, EEGEncoder, xyz_code

from jepakit.errors import JepakitError

CFG = EEGEncoderConfig(
    conv_layers=((8, 16, 8), (16, 2, 2), (32, 2, 2), (32, 2, 2)),
    conv_norm="layer",
    embed_dim=32,
    depth=2,
    num_heads=2,
    channel_dims=12,
)


def test_one_token_per_channel_per_second(meta19):
    enc = EEGEncoder(CFG, (19, 256), meta19)  # 4 s at 64 Hz
    assert enc.grid == (19, 3)
    out = enc(torch.randn(2, 19, 256))
    assert out.shape == (2, 19 * 3, 32)
    paper = EEGEncoder(EEGEncoderConfig(depth=1), (19, 16 * 128), meta19)  # paper: 128 Hz, stride 128
    assert paper.grid == (19, 15)


def test_montage_change_needs_no_retraining(meta19, meta20):
    torch.manual_seed(0)
    enc = EEGEncoder(CFG, (19, 256), meta19)
    other = EEGEncoder(CFG, (20, 256), meta20)
    missing, unexpected = other.load_state_dict(enc.state_dict(), strict=True)  # no weight depends on channels
    assert not missing and not unexpected
    x20 = torch.randn(3, 20, 256)
    moved = copy.deepcopy(enc)
    moved.set_montage(np.asarray(meta20["ch_pos"]))
    assert moved.grid == (20, 3)
    out = moved(x20)
    assert out.shape == (3, 60, 32) and torch.isfinite(out).all()
    torch.testing.assert_close(out, other(x20))
    keep = torch.arange(0, 60, 2).expand(3, -1)
    assert moved(x20, keep).shape == (3, 30, 32)
    with pytest.raises(JepakitError, match="expected"):
        enc(x20)  # the 19-channel encoder refuses 20-channel data with a hint


def test_position_code_separates_electrodes(meta19):
    code = xyz_code(torch.as_tensor(np.asarray(meta19["ch_pos"])), 30)
    assert code.shape == (19, 30)
    d = torch.cdist(code, code)
    assert float(d[~torch.eye(19, dtype=torch.bool)].min()) > 0.1  # no two electrodes share a code


def test_encoder_needs_positions():
    with pytest.raises(JepakitError, match="ch_pos"):
        EEGEncoder(CFG, (19, 256), {})


def test_decoder_predictor_shapes_and_gradients(meta19):
    pred = DecoderPredictor(
        DecoderPredictorConfig(embed_dim=16, depth=1, num_heads=2, channel_dims=6), 32, (19, 3), meta19
    )
    ctx = torch.randn(2, 30, 32, requires_grad=True)
    ctx_idx = torch.arange(30).expand(2, -1)
    tgt_idx = torch.arange(30, 57).expand(2, -1)[:, None]
    out = pred(ctx, ctx_idx, tgt_idx)
    assert out.shape == (2, 1, 27, 32)
    out.sum().backward()
    assert ctx.grad is not None and torch.isfinite(ctx.grad).all()
