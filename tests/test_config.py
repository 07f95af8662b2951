"""Config validation: every error names the key path, the bad value and what was expected."""

from __future__ import annotations

import tomllib

import pytest

from jepakit.builtin.config import EMAConfig, PredictorConfig, ViTConfig
from jepakit.errors import JepakitError
from jepakit.framework.config import apply_overrides, build_dataclass, defaults_of, dumps_toml, parse_override


def test_defaults_fill_in_and_lists_become_tuples():
    cfg = build_dataclass(EMAConfig, {"momentum": [0.99, 1]}, "target")
    assert cfg.momentum == (0.99, 1.0) and cfg.ipe_scale == 1.0


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        ({"embed_dm": 8}, 'encoder.embed_dm: unknown key "embed_dm". Did you mean "embed_dim"?'),
        ({"depth": "4"}, "encoder.depth: expected an integer, got '4' (str)"),
        ({"depth": 2.5}, "encoder.depth: expected an integer"),
        ({"qkv_bias": 1}, "encoder.qkv_bias: expected true or false"),
        ({"mlp_ratio": float("nan")}, "encoder.mlp_ratio: expected a finite number"),
        ({"embed_dim": 30, "num_heads": 4}, "not divisible"),
    ],
)
def test_errors_name_the_key(data, needle):
    with pytest.raises(JepakitError) as info:
        build_dataclass(ViTConfig, data, "encoder")
    assert needle in info.value.message
    assert info.value.hint


def test_literal_and_tuple_checks():
    with pytest.raises(JepakitError, match="predictor.target_attention: expected 'separate' or 'joint'"):
        build_dataclass(PredictorConfig, {"target_attention": "jiont"}, "predictor")
    with pytest.raises(JepakitError, match=r"target.momentum: expected a list of 2 values"):
        build_dataclass(EMAConfig, {"momentum": [0.9]}, "target")
    with pytest.raises(JepakitError, match=r"target.momentum\[1\]: expected a finite number"):
        build_dataclass(EMAConfig, {"momentum": [0.9, "x"]}, "target")


def test_overrides_parse_toml_values():
    assert parse_override("optim.lr=5e-4") == (["optim", "lr"], 5e-4)
    assert parse_override("masker.target_scale=[0.1, 0.2]") == (["masker", "target_scale"], [0.1, 0.2])
    assert parse_override("data.use=core/digits") == (["data", "use"], "core/digits")
    data = apply_overrides({"optim": {"lr": 1.0}}, ["optim.lr=2", "run.seed=3"])
    assert data == {"optim": {"lr": 2}, "run": {"seed": 3}}
    for bad in ("optim.lr", "=3", "a..b=1"):
        with pytest.raises(JepakitError, match="bad override"):
            parse_override(bad)
    with pytest.raises(JepakitError, match="is a value, not a table"):
        apply_overrides({"optim": 1}, ["optim.lr=2"])


def test_toml_writer_round_trips():
    data = {
        "variant": "a/b",
        "encoder": {"use": "core/vit", **defaults_of(ViTConfig)},
        "loss": {"pred": {"use": "core/smooth-l1", "weight": 1.0}},
        "eval": {"heads": ["x", "y"]},
        "s": 'quote " and \\ back',
    }
    assert tomllib.loads(dumps_toml(data)) == data


def test_toml_writer_round_trips_head_tables_and_inline_head_lists():
    tables = {
        "eval": {
            "readout": "mean",
            "primary": "knn",
            "heads": {"knn": {"use": "core/knn", "k": 10}, "lp": {"use": "core/linear-probe", "C": 0.5}},
        }
    }
    assert tomllib.loads(dumps_toml(tables)) == tables
    text = dumps_toml(tables)
    assert "[eval.heads.knn]" in text and "k = 10" in text
    inline = {"eval": {"heads": [{"use": "core/knn", "k": 10}]}, "run": {"loggers": []}}
    assert tomllib.loads(dumps_toml(inline)) == inline


def test_switching_a_part_with_set_drops_its_old_settings():
    data = {"data": {"use": "core/glyphs", "per_class": 10}}
    assert apply_overrides(data, ["data.use=core/digits"]) == {"data": {"use": "core/digits"}}
    assert apply_overrides(data, ["data.use=core/glyphs"]) == data
