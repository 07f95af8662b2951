"""Shapes of the ConvNeXt pyramid, the flow estimator's per-level outputs, and the encoder's token contract."""

from __future__ import annotations

import pytest
import torch
from jepakit_mcjepa.config import MCJEPAConfig, PyramidConfig
from jepakit_mcjepa.models import ConvNeXtPyramid, Expander, FlowEstimator

from jepakit.errors import JepakitError

PYR = PyramidConfig(dims=(8, 16, 24), depths=(1, 1, 2), kernel_size=3)


def test_pyramid_levels_halve_the_resolution():
    enc = ConvNeXtPyramid(PYR, input_shape=(1, 4, 32, 32))
    feats = enc.pyramid(torch.randn(3, 1, 32, 32))
    assert [tuple(f.shape) for f in feats] == [(3, 8, 16, 16), (3, 16, 8, 8), (3, 24, 4, 4)]
    assert enc.grid == (4, 4, 4) and enc.embed_dim == 24 and enc.layout == "grid3d"


def test_stem_stride_one_keeps_full_resolution():
    cfg = PyramidConfig(dims=(4, 8), depths=(1, 1), kernel_size=3, stem_stride=1)
    enc = ConvNeXtPyramid(cfg, input_shape=(1, 2, 8, 8))
    assert [tuple(f.shape) for f in enc.pyramid(torch.randn(1, 1, 8, 8))] == [(1, 4, 8, 8), (1, 8, 4, 4)]
    assert enc.grid == (2, 4, 4)


def test_tokens_are_each_frames_last_level_t_major():
    torch.manual_seed(0)
    enc = ConvNeXtPyramid(PYR, input_shape=(1, 4, 32, 32)).eval()
    clip = torch.randn(2, 1, 4, 32, 32)
    tokens = enc(clip)  # [B, T*h*w, D]
    assert tokens.shape == (2, 64, 24)
    third = enc(clip[:, :, 2])  # frame 2 alone, as an image
    torch.testing.assert_close(tokens[:, 32:48], third, atol=1e-5, rtol=1e-5)
    layers = enc.forward_layers(clip, 2)
    assert len(layers) == 2 and all(z.shape == (2, 64, 24) for z in layers)
    with pytest.raises(JepakitError, match="readout"):
        enc.forward_layers(clip, 3)


def test_flow_estimator_outputs_one_flow_per_level_finest_first():
    enc = ConvNeXtPyramid(PYR, input_shape=(1, 2, 32, 32))
    cfg = MCJEPAConfig(corr_radius=2, head_dims=(16, 8))
    est = FlowEstimator(cfg, PYR.dims)
    p1, p2 = enc.pyramid(torch.randn(2, 1, 32, 32)), enc.pyramid(torch.randn(2, 1, 32, 32))
    flows = est(p1, p2)
    assert [tuple(f.shape) for f in flows] == [(2, 2, 16, 16), (2, 2, 8, 8), (2, 2, 4, 4)]
    assert est.heads[0].body[0].in_channels == 25 + 8 + 2  # cost volume + features + upsampled flow
    two = FlowEstimator(MCJEPAConfig(corr_radius=1, head_dims=(8,), flow_levels=2), PYR.dims)
    assert [f.shape[-1] for f in two(p1, p2)] == [16, 8]
    with pytest.raises(JepakitError, match="flow_levels"):
        FlowEstimator(MCJEPAConfig(flow_levels=4), PYR.dims)


def test_expander_shapes():
    assert Expander(24, (32, 32, 16))(torch.randn(5, 24)).shape == (5, 16)


@pytest.mark.parametrize("shape, match", [((1, 4, 30, 32), "divisible"), ((32,), "reads images")])
def test_bad_shapes_name_the_key(shape, match):
    with pytest.raises(JepakitError, match=match):
        ConvNeXtPyramid(PYR, input_shape=shape)


def test_bad_configs():
    with pytest.raises(ValueError):
        PyramidConfig(dims=(8, 16), depths=(1,))
    with pytest.raises(ValueError):
        PyramidConfig(kernel_size=4)
    with pytest.raises(ValueError):
        MCJEPAConfig(smooth_weight=-1.0)
