"""3D-JEPA's parts through jepakit's contract suite, and its composition from Point-JEPA's parts by name."""

from __future__ import annotations

from jepakit.framework.compose import resolve_run
from jepakit.testing.contracts import check_plugin, isolated_state

TINY = {
    "3djepa/proximity-blocks": {"_grid": (16,)},
    "3djepa/context-decoder": {"_grid": (16,), "_embed_dim": 32, "embed_dim": 16, "depth": 1, "num_heads": 2},
}


def test_plugin_meets_the_contracts():
    checked = check_plugin("3djepa", tiny=TINY)
    assert set(checked) == {
        "3djepa/proximity-blocks",
        "3djepa/context-decoder",
        "3djepa/neg-cosine",
        "3djepa/jepa",
        "3djepa/3djepa",
        "3djepa/3djepa-tiny",
        "3djepa/3djepa-tiny-concat",
        "3djepa/3djepa-tiny-shapes",
        "3djepa/bench",
    }


def test_tokenizer_and_data_come_from_the_pointjepa_plugin():
    state = isolated_state()
    for variant in ("3djepa/3djepa", "3djepa/3djepa-tiny"):
        run = resolve_run({"variant": variant}, state)
        assert (run.parts["encoder"].spec.name, run.parts["encoder"].spec.plugin) == (
            "pointjepa/point-transformer",
            "pointjepa",
        )
        assert run.parts["data"].spec.name == "pointjepa/furniture"
        assert run.parts["predictor"].spec.name == "3djepa/context-decoder"


def test_the_decoder_ablation_has_the_decoder_parameter_count():
    from jepakit_3djepa.config import ContextDecoderConfig
    from jepakit_3djepa.models import ContextDecoder
    from jepakit_3djepa.plugin import TINY, TINY_CONCAT
    from jepakit_pointjepa.config import PointPredictorConfig
    from jepakit_pointjepa.models import PointPredictor

    def count(m):
        return sum(p.numel() for p in m.parameters())

    dec = {k: v for k, v in TINY["predictor"].items() if k != "use"}
    pred = {k: v for k, v in TINY_CONCAT["predictor"].items() if k != "use"}
    a = count(ContextDecoder(ContextDecoderConfig(**dec), 96, (32,)))
    b = count(PointPredictor(PointPredictorConfig(**pred), 96, (32,)))
    assert abs(a - b) / a < 0.01
