"""The spectrogram ViT: front end from meta, time-major token grid, gather-before-blocks, core's predictor on tf2d."""

from __future__ import annotations

import pytest
import torch
from jepakit_ajepa.audio import LogMel
from jepakit_ajepa.models import SpectrogramViT

from jepakit.builtin.config import PredictorConfig, ViTConfig
from jepakit.builtin.models import TransformerPredictor
from jepakit.errors import JepakitError

FRONT = {"sample_rate": 8000, "n_mels": 32, "frames": 64, "win_ms": 25.0, "hop_ms": 16.0, "f_min": 0.0, "f_max": 0.0}
META = {"frontend": FRONT, "logmel_mean": -4.0, "logmel_std": 2.5}
SAMPLES = 63 * 128 + 200  # 64 Kaldi frames of 200 samples, hop 128
CFG = ViTConfig(patch_size=8, embed_dim=32, depth=2, num_heads=2)


def make(meta=META) -> SpectrogramViT:
    torch.manual_seed(0)
    return SpectrogramViT(CFG, input_shape=(1, SAMPLES), meta=meta)


def test_grid_shapes_and_keep():
    enc = make()
    assert enc.grid == (8, 4) and enc.layout == "tf2d" and enc.num_tokens == 32
    x = torch.randn(3, 1, SAMPLES)
    full = enc(x)
    assert full.shape == (3, 32, 32)
    assert enc(x, torch.tensor([[0, 5, 17, 31]] * 3)).shape == (3, 4, 32)
    layers = enc.forward_layers(x, 2)
    assert len(layers) == 2 and all(z.shape == (3, 32, 32) for z in layers)
    torch.testing.assert_close(layers[-1], full)


def test_front_end_comes_from_meta_and_matches_the_raw_baseline():
    enc = make()
    x = torch.randn(2, 1, SAMPLES)
    torch.testing.assert_close(enc.spectrogram(x), LogMel(FRONT, -4.0, 2.5)(x))
    torch.testing.assert_close(enc(x), enc(enc.spectrogram(x)), msg="spectrogram inputs skip the front end")
    assert not any(k.startswith("frontend") for k in enc.state_dict()), "the front end is rebuilt, not stored"
    default = SpectrogramViT(ViTConfig(patch_size=16, embed_dim=32, depth=1, num_heads=2), input_shape=(1, 16000))
    assert default.grid == (64, 8), "without meta: the paper's 1024 x 128 front end, 16x16 patches"


def test_tokens_are_time_major():
    """A change in frames 8-15 and mel bins 16-23 touches exactly token (t=1, f=2) = 1 * 4 + 2 = 6."""
    enc = make()
    spec = torch.zeros(1, 1, 64, 32)
    hit = spec.clone()
    hit[:, :, 8:16, 16:24] = 1.0
    diff = (enc.tokens(hit) - enc.tokens(spec)).abs().sum(-1)[0]
    assert diff.nonzero().flatten().tolist() == [6]
    assert len({tuple(r.tolist()) for r in enc.pos_embed[0]}) == 32, "each cell has its own position"


def test_context_path_runs_only_on_kept_tokens():
    enc = make()
    seen = []
    enc.blocks[0].register_forward_hook(lambda m, i, o: seen.append(i[0].shape[1]))
    enc(torch.randn(2, 1, SAMPLES), torch.arange(10).expand(2, 10))
    assert seen == [10]


def test_core_predictor_works_on_the_tf_grid():
    pred = TransformerPredictor(
        PredictorConfig(embed_dim=16, depth=1, num_heads=2, target_attention="joint"), embed_dim=32, grid=(8, 4)
    )
    tgt = torch.arange(20, 32).view(1, 2, 6).expand(2, 2, 6)
    out = pred(torch.randn(2, 20, 32), torch.arange(20).expand(2, 20), tgt)
    assert out.shape == (2, 2, 6, 32)


@pytest.mark.parametrize(
    "shape, meta, key",
    [
        ((1, SAMPLES), {"frontend": {**FRONT, "n_mels": 36}}, "encoder.patch_size"),
        ((1, SAMPLES), {"frontend": {**FRONT, "frames": 60}}, "encoder.patch_size"),
        ((3, 16, 16), META, "encoder"),
        ((2, SAMPLES), META, "mono"),
    ],
)
def test_bad_inputs_name_the_key(shape, meta, key):
    with pytest.raises(JepakitError, match=key):
        SpectrogramViT(CFG, input_shape=shape, meta=meta)
