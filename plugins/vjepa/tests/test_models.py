"""The tubelet video ViT: shapes, the gather-before-blocks context path, positions, images as clips."""

from __future__ import annotations

import pytest
import torch
from jepakit_vjepa.config import VideoViTConfig
from jepakit_vjepa.models import VideoViT

from jepakit.builtin.config import PredictorConfig
from jepakit.builtin.models import TransformerPredictor
from jepakit.errors import JepakitError

TINY = dict(tubelet_size=2, patch_size=4, embed_dim=32, depth=2, num_heads=2)


def test_shapes_grid_and_keep():
    torch.manual_seed(0)
    enc = VideoViT(VideoViTConfig(**TINY), input_shape=(1, 8, 16, 16))
    assert enc.grid == (4, 4, 4) and enc.layout == "grid3d" and enc.num_tokens == 64
    x = torch.randn(3, 1, 8, 16, 16)
    full = enc(x)
    assert full.shape == (3, 64, 32)
    keep = torch.tensor([[0, 5, 17, 63]] * 3)
    assert enc(x, keep).shape == (3, 4, 32)
    layers = enc.forward_layers(x, 2)
    assert len(layers) == 2 and all(z.shape == (3, 64, 32) for z in layers)
    torch.testing.assert_close(layers[-1], full)


def test_tubelet_embedding_and_positions_follow_the_t_major_grid():
    enc = VideoViT(VideoViTConfig(**TINY), input_shape=(1, 8, 16, 16))
    conv = enc.patch_embed
    assert conv.kernel_size == (2, 4, 4) and conv.stride == (2, 4, 4)
    # a change in frames 2-3, rows 0-3, cols 4-7 touches exactly token (t=1, h=0, w=1) = 1*16 + 0*4 + 1 = 17
    x = torch.zeros(1, 1, 8, 16, 16)
    y = x.clone()
    y[:, :, 2:4, 0:4, 4:8] = 1.0
    diff = (enc.tokens(y) - enc.tokens(x)).abs().sum(-1)[0]
    assert diff.nonzero().flatten().tolist() == [17]
    pos = enc.pos_embed[0]
    assert len({tuple(r.tolist()) for r in pos}) == 64, "each grid cell has its own position"


def test_context_path_runs_only_on_kept_tokens():
    enc = VideoViT(VideoViTConfig(**TINY), input_shape=(1, 8, 16, 16))
    seen = []
    enc.blocks[0].register_forward_hook(lambda m, i, o: seen.append(i[0].shape[1]))
    enc(torch.randn(2, 1, 8, 16, 16), torch.arange(10).expand(2, 10))
    assert seen == [10]


def test_images_are_read_as_repeated_frames():
    enc = VideoViT(VideoViTConfig(**TINY), input_shape=(3, 16, 16))
    assert enc.grid == (1, 4, 4)
    img = torch.randn(2, 3, 16, 16)
    clip = img[:, :, None].expand(-1, -1, 2, -1, -1)
    torch.testing.assert_close(enc(img), VideoViT.forward(enc, clip))


def test_core_predictor_works_on_the_3d_grid():
    pred = TransformerPredictor(PredictorConfig(embed_dim=16, depth=1, num_heads=2), embed_dim=32, grid=(4, 4, 4))
    tgt = torch.arange(20, 64).view(1, 1, 44).expand(2, 1, 44)
    out = pred(torch.randn(2, 20, 32), torch.arange(20).expand(2, 20), tgt)
    assert out.shape == (2, 1, 44, 32)


@pytest.mark.parametrize(
    "shape, key", [((1, 7, 16, 16), "tubelet_size"), ((1, 8, 15, 16), "patch_size"), ((16, 16), "encoder")]
)
def test_bad_shapes_name_the_key(shape, key):
    with pytest.raises(JepakitError, match=key):
        VideoViT(VideoViTConfig(**TINY), input_shape=shape)
