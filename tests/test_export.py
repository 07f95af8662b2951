"""`jepakit export` and `jepakit.api.load_encoder`: the evaluated encoder leaves the run as weights + config +
model card, loads back without the training stack, and (--format timm) loads into timm's VisionTransformer."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from encoder_fixtures import tiny_run
from typer.testing import CliRunner

from jepakit.cli.app import app

runner = CliRunner()
DOCS = Path(__file__).resolve().parents[1] / "docs"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    return tiny_run(tmp_path_factory)


def cli(*args: str):
    return runner.invoke(app, list(args))


def export(run_dir: Path, out: Path, *extra: str) -> dict:
    result = cli("export", str(run_dir), "--out", str(out), "--json", *extra)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_export_writes_weights_config_and_a_model_card(run_dir, tmp_path):
    summary = export(run_dir, tmp_path / "exp", "--with-predictor", "--license", "mit")
    out = tmp_path / "exp"
    assert sorted(p.name for p in out.iterdir()) == sorted(summary["files"])
    config = json.loads((out / "config.json").read_text(encoding="utf-8"))
    assert config["part"] == "core/vit" and config["input_shape"] == [1, 8, 8]
    assert config["settings"]["embed_dim"] == 32 and config["readout"] == "last4_mean"
    assert config["encoder"] == "target" and config["variant"] == "ijepa/ijepa-tiny"
    assert config["normalisation"]["image_mean"] == [0.5] and config["jepakit_version"]
    card = (out / "README.md").read_text(encoding="utf-8")
    front = card.split("---\n")[1]
    for key in ("library_name: jepakit", "license: mit", 'variant: "ijepa/ijepa-tiny"', "steps: 4", "data: "):
        assert key in front, key
    evaluation = json.loads((run_dir / "eval.json").read_text(encoding="utf-8"))
    rows = {line.split("|")[1].strip(): line for line in card.splitlines() if line.startswith("| ")}
    for head, scores in evaluation["metrics"].items():
        assert f"{scores['trained']:.4g}" in rows["trained"], head
        assert f"{scores['random_init']:.4g}" in rows["random init"], head


def test_the_export_and_the_run_give_the_evaluated_encoder(run_dir, tmp_path):
    from jepakit.api import load_encoder
    from jepakit.engine.export import load_predictor
    from jepakit.engine.run_eval import load_run
    from jepakit.testing.contracts import isolated_state

    state = isolated_state()
    export(run_dir, tmp_path / "exp", "--with-predictor")
    from_export, info = load_encoder(tmp_path / "exp", state=state)
    from_run, _ = load_encoder(run_dir, state=state)
    _, built, _ = load_run(run_dir, state)  # the whole run rebuilt: the reference
    assert not from_export.training and info.encoder == "target"
    x = torch.randn(5, *info.input_shape)
    with torch.no_grad():
        want = built.model.teacher.eval()(x)  # the EMA target, which evaluation probes
        torch.testing.assert_close(from_export(x), want, atol=0, rtol=0)
        torch.testing.assert_close(from_run(x), want, atol=0, rtol=0)
        assert not torch.allclose(built.model.encoder.eval()(x), want)
    predictor = load_predictor(tmp_path / "exp", state=state)
    for key, value in built.model.predictor.state_dict().items():
        torch.testing.assert_close(predictor.state_dict()[key], value)


def test_load_encoder_builds_no_dataset(run_dir, monkeypatch):
    import jepakit.builtin.data as data
    from jepakit.api import load_encoder

    def boom(*args, **kwargs):
        raise AssertionError("load_encoder built the dataset")

    monkeypatch.setattr(data, "digits", boom)
    _, info = load_encoder(run_dir)
    assert info.input_shape == (1, 8, 8) and info.source["step"] == 4


def test_the_fallbacks_rebuild_and_agree(run_dir, monkeypatch):
    """Another method's model (the whole run rebuilt) or a dataset whose settings hide its shape (the dataset
    built): the same encoder comes out."""
    import jepakit.engine.run_encoder as run_encoder
    from jepakit.api import load_encoder

    fast, info = load_encoder(run_dir)
    x = torch.randn(3, *info.input_shape)
    monkeypatch.setattr(run_encoder, "_shape_from_settings", lambda *a: None)
    from_data, _ = load_encoder(run_dir)
    monkeypatch.setattr(run_encoder, "CORE_METHOD", "no/such-method")
    rebuilt, rinfo = load_encoder(run_dir)
    assert rinfo.input_shape == info.input_shape
    with torch.no_grad():
        torch.testing.assert_close(from_data(x), fast(x), atol=0, rtol=0)
        torch.testing.assert_close(rebuilt(x), fast(x), atol=0, rtol=0)


def test_timm_format_loads_into_timms_vit(run_dir, tmp_path):
    timm = pytest.importorskip("timm")
    from safetensors.torch import load_file

    from jepakit.api import load_encoder

    export(run_dir, tmp_path / "timm", "--format", "timm")
    ours, info = load_encoder(run_dir)
    s = info.settings
    model = timm.create_model(
        "vit_base_patch16_224",
        pretrained=False,
        img_size=info.input_shape[-1],
        patch_size=s["patch_size"],
        embed_dim=s["embed_dim"],
        depth=s["depth"],
        num_heads=s["num_heads"],
        class_token=False,
        global_pool="",
        no_embed_class=True,
        in_chans=info.input_shape[0],
        num_classes=0,
    )
    model.load_state_dict(load_file(str(tmp_path / "timm" / "model.safetensors")), strict=True)
    model.eval()
    x = torch.randn(4, *info.input_shape)
    with torch.no_grad():
        torch.testing.assert_close(model.forward_features(x), ours(x), atol=1e-5, rtol=1e-5)
    config = json.loads((tmp_path / "timm" / "config.json").read_text(encoding="utf-8"))
    assert config["format"] == "timm" and config["timm"]["kwargs"]["no_embed_class"] is True
    back, _ = load_encoder(tmp_path / "timm")  # jepakit reads its timm-layout export too
    with torch.no_grad():
        torch.testing.assert_close(back(x), ours(x), atol=0, rtol=0)


def test_the_documented_snippet_runs_in_a_fresh_interpreter(run_dir, tmp_path):
    from PIL import Image

    text = (DOCS / "using-an-encoder.md").read_text(encoding="utf-8")
    snippet = re.search(r"```python\n(.*?)```", text, flags=re.S).group(1)
    assert "import jepakit.api" in snippet or "from jepakit.api import" in snippet
    export(run_dir, tmp_path / "exports" / "ijepa-tiny")
    (tmp_path / "photos").mkdir()
    for i, size in enumerate([(20, 20), (40, 30), (16, 16)]):
        Image.new("RGB", size, (40 * i, 80, 200 - 50 * i)).save(tmp_path / "photos" / f"p{i}.png")
    proc = subprocess.run(
        [sys.executable, "-c", snippet], capture_output=True, text=True, cwd=tmp_path, timeout=300, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert "(3, 64)" in proc.stdout  # 3 images, last4_mean of a 2-block 32-wide ViT


def test_bad_input_is_exit_2_with_a_hint(run_dir, tmp_path):
    def refused(result, needle):
        assert result.exit_code == 2, result.output
        assert "Error:" in result.stderr and "Hint:" in result.stderr and "Traceback" not in result.output
        assert needle in result.stderr, result.stderr

    (tmp_path / "nothing").mkdir()  # a folder without config.toml (a missing one is "not found")
    refused(cli("export", str(tmp_path / "nothing"), "--out", str(tmp_path / "o")), "not a run directory")
    refused(cli("export", str(tmp_path / "missing"), "--out", str(tmp_path / "o")), "not found")
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine", encoding="utf-8")
    refused(cli("export", str(run_dir), "--out", str(tmp_path / "busy")), "not empty")
    refused(cli("export", str(run_dir), "--out", str(tmp_path / "busy"), "--force"), "not an export directory")
    refused(cli("export", str(run_dir), "--out", str(tmp_path / "o"), "--format", "onnx"), "unknown format")
    assert (tmp_path / "busy" / "notes.txt").read_text(encoding="utf-8") == "mine"


def test_timm_refuses_a_video_encoder():
    from jepakit import JepakitError
    from jepakit.engine.export import EncoderInfo, timm_kwargs

    info = EncoderInfo("vjepa/video-vit", {"patch_size": 16}, (3, 16, 224, 224), {})
    with pytest.raises(JepakitError, match="no timm counterpart"):
        timm_kwargs(info)


def test_the_api_exports_load_encoder():
    import jepakit.api as api

    assert "load_encoder" in api.__all__ and "EncoderInfo" in api.__all__
    assert api.load_encoder.__module__ == "jepakit.engine.export"


@pytest.mark.parametrize("command", ["export", "embed", "import"])
def test_help_has_an_example_and_imports_no_torch(tmp_path, command):
    from test_startup import run_cli

    probe, proc = run_cli([command, "--help"], tmp_path)
    assert probe["code"] == 0, proc.stderr
    assert "Example:" in proc.stdout and f"jepakit {command} " in proc.stdout
    assert probe["torch"] is False, f"jepakit {command} --help imported torch"
