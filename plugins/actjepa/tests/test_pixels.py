"""Pixel observations on a few frames: a rendered Meta-World episode becomes image windows, and ACT-JEPA trains
one step on them. Skipped only where no headless GL library is installed (EGL or OSMesa; `make test` and CI install
libegl1): with one present, a render that fails is a failure."""

from __future__ import annotations

import ctypes.util
import os

import pytest
import torch


@pytest.fixture(scope="module")
def episode():
    pytest.importorskip("metaworld", reason="Meta-World is not installed")
    from jepakit_actjepa import sim
    from jepakit_actjepa.config import MetaWorldDemosConfig
    from jepakit_actjepa.data import record

    backend = os.environ.get("MUJOCO_GL", "egl")
    if not ctypes.util.find_library({"egl": "EGL", "osmesa": "OSMesa"}.get(backend, "GL")):
        pytest.skip(f"no {backend} library for MuJoCo's headless rendering (apt-get install libegl1)")
    cfg = MetaWorldDemosConfig(tasks=("reach-v3",), pixels=True, image_size=16, max_steps=3)
    env = sim.make_env("reach-v3", cfg.image_size)
    try:
        ep, _ = record(cfg, env, "reach-v3", 0, 123, "expert")
    finally:
        sim.close(env)
    return ep


def test_rendered_frames_become_image_windows_and_train(episode):
    from jepakit_actjepa.config import ActJEPAConfig, ObsEncoderConfig
    from jepakit_actjepa.data import WindowSplit
    from jepakit_actjepa.method import ActJEPA
    from jepakit_actjepa.models import ObsEncoder

    assert episode.images.shape == (4, 3, 16, 16) and episode.images.dtype.name == "uint8"
    assert episode.images.std() > 0, "a blank frame means the renderer drew nothing"
    split = WindowSplit([episode, episode], chunk=2)
    x, y = split[0]
    assert set(x) == {"image", "state"} and x["image"].shape == (3, 3, 16, 16) and float(x["image"].max()) <= 1.0
    meta = {"obs_dim": 39, "act_dim": 4, "state_groups": [4, 7, 7, 4, 7, 7, 3], "image_size": 16}
    enc_cfg = ObsEncoderConfig(embed_dim=16, depth=1, num_heads=2, image_stem=(4, 8))
    cfg = ActJEPAConfig(decoder_dim=16, decoder_depth=1, predictor_dim=16, predictor_depth=1, num_heads=2)
    model = ActJEPA(lambda: ObsEncoder(enc_cfg, (3, 45), meta), cfg, chunk=2, act_dim=4, total_steps=5)
    batch = {k: torch.stack([split[i][0][k] for i in range(len(split))]) for k in ("image", "state")}
    out = model.step({"step": 0, "x": batch})
    out.loss.backward()
    assert torch.isfinite(out.loss) and model.encoder.stem[0].weight.grad is not None
    assert model.teacher(batch).shape == (len(split), 7 + 16, 16)
