"""Point-JEPA's parts through jepakit's contract suite, at toy sizes on the "points" layout."""

from __future__ import annotations

from jepakit.testing.contracts import check_plugin

TINY = {
    "pointjepa/point-transformer": {
        "_input_shape": (64, 3),
        "num_groups": 8,
        "group_size": 8,
        "pointnet_dims": [8, 16, 16],
        "embed_dim": 32,
        "depth": 1,
        "num_heads": 2,
        "pos_hidden": 8,
    },
    "pointjepa/sequence-blocks": {"_grid": (16,)},
    "pointjepa/predictor": {"_grid": (16,), "_embed_dim": 32, "embed_dim": 16, "depth": 1, "num_heads": 2},
}


def test_plugin_meets_the_contracts():
    checked = check_plugin("pointjepa", tiny=TINY)
    assert set(checked) == {
        "pointjepa/point-transformer",
        "pointjepa/sequence-blocks",
        "pointjepa/predictor",
        "pointjepa/furniture",
        "pointjepa/shapes",
        "pointjepa/point-folder",
        "pointjepa/jepa",
        "pointjepa/pointjepa",
        "pointjepa/pointjepa-tiny",
        "pointjepa/pointjepa-tiny-shapes",
        "pointjepa/bench",
    }
