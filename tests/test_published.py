"""`jepakit import`: published I-JEPA / V-JEPA checkpoints (official key layouts, papers' architectures at reduced
depth and width) become export directories whose encoder reproduces the reference forward from the same weights;
every unexpected file is refused with exit 2, and a pickle carrying code runs none of it."""

from __future__ import annotations

import json

import pytest
import torch
from encoder_fixtures import OfficialViT, official_checkpoint
from typer.testing import CliRunner

from jepakit.cli.app import app
from jepakit.engine.export import build_encoder_part, check_tensors
from jepakit.engine.published import convert, to_jepakit_key, to_timm_key

runner = CliRunner()


def cli(*args: str):
    return runner.invoke(app, list(args))


def assert_refused(result, *needles: str) -> None:
    assert result.exit_code == 2, (result.exit_code, result.output)
    assert "Error:" in result.stderr and "Hint:" in result.stderr and "Traceback" not in result.output
    for needle in needles:
        assert needle in result.stderr, (needle, result.stderr)


def _pair(**kw):
    torch.manual_seed(0)
    return OfficialViT(**kw).eval(), OfficialViT(**kw).eval()


# I-JEPA ViT-H/14 and ViT-g/16 shapes, narrowed: patch 14 with mlp ratio 4, patch 16 with ViT-g's ratio 48/11
IJEPA_CASES = {
    "h14": dict(chans=3, dim=64, depth=2, heads=4, hidden=256, patch=14, tokens=16),
    "g16": dict(chans=3, dim=88, depth=2, heads=4, hidden=384, patch=16, tokens=9),
}


@pytest.mark.parametrize("case", list(IJEPA_CASES))
def test_ijepa_import_reproduces_the_reference_forward(tmp_path, case):
    from jepakit.api import load_encoder

    kw = IJEPA_CASES[case]
    context, target = _pair(**kw)
    torch.save(official_checkpoint(context, target, "module."), tmp_path / "ijepa.pth.tar")
    result = cli(
        "import",
        str(tmp_path / "ijepa.pth.tar"),
        "--kind",
        "ijepa",
        "--num-heads",
        str(kw["heads"]),
        "--out",
        str(tmp_path / "exp"),
        "--json",
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    side = 4 * kw["patch"] if case == "h14" else 3 * kw["patch"]
    assert summary["part"] == "core/vit" and summary["input_shape"] == [3, side, side]
    encoder, info = load_encoder(tmp_path / "exp")
    assert info.normalisation["image_mean"] == [0.485, 0.456, 0.406] and info.source["epoch"] == 3
    x = torch.randn(2, 3, side, side)
    with torch.no_grad():
        torch.testing.assert_close(encoder(x), target(x), atol=1e-5, rtol=1e-5)  # the EMA target by default
        assert not torch.allclose(encoder(x), context(x), atol=1e-3)
    card = (tmp_path / "exp" / "README.md").read_text(encoding="utf-8")
    assert card.startswith("---\n") and "license: cc-by-nc-4.0" in card


def test_vjepa_import_maps_tubelets_and_keeps_the_stored_positions(tmp_path):
    from jepakit.api import load_encoder

    kw = dict(chans=3, dim=48, depth=2, heads=3, hidden=192, patch=16, tokens=8, tubelet=2)  # 4 frames of 32 px
    context, target = _pair(**kw)
    torch.save(official_checkpoint(context, target, "module.backbone."), tmp_path / "vjepa.pth.tar")
    result = cli(
        "import",
        str(tmp_path / "vjepa.pth.tar"),
        "--kind",
        "vjepa",
        "--num-heads",
        "3",
        "--frames",
        "4",
        "--encoder",
        "context",
        "--out",
        str(tmp_path / "exp"),
    )
    assert result.exit_code == 0, result.output
    encoder, info = load_encoder(tmp_path / "exp")
    assert info.part == "vjepa/video-vit" and info.input_shape == (3, 4, 32, 32)
    assert info.settings["tubelet_size"] == 2 and info.encoder == "context"
    x = torch.randn(2, 3, 4, 32, 32)  # [B, C, T, H, W]
    with torch.no_grad():
        torch.testing.assert_close(encoder(x), context(x), atol=1e-5, rtol=1e-5)


#: the published models: kind, the paper's width / depth / mlp hidden / patch, image side, frames, input shape
PUBLISHED = [
    ("ijepa", "vit_huge", 1280, 32, 5120, 14, 224, 1, (3, 224, 224)),
    ("ijepa", "vit_huge", 1280, 32, 5120, 16, 448, 1, (3, 448, 448)),
    ("ijepa", "vit_giant", 1408, 40, 6144, 16, 224, 1, (3, 224, 224)),
    ("vjepa", "vit_large", 1024, 24, 4096, 16, 224, 16, (3, 16, 224, 224)),
    ("vjepa", "vit_huge", 1280, 32, 5120, 16, 224, 16, (3, 16, 224, 224)),
    ("vjepa", "vit_huge", 1280, 32, 5120, 16, 384, 16, (3, 16, 384, 384)),
]


@pytest.mark.parametrize("kind,arch,dim,depth,hidden,patch,side,frames,shape", PUBLISHED)
def test_published_architectures_map_shape_for_shape(kind, arch, dim, depth, hidden, patch, side, frames, shape):
    """Full-size official state dicts as meta tensors (no memory): every key maps and every shape fits."""
    meta = torch.device("meta")
    conv = (dim, 3, 2, patch, patch) if kind == "vjepa" else (dim, 3, patch, patch)
    tokens = (frames // 2 if kind == "vjepa" else 1) * (side // patch) ** 2
    sd = {
        "module.backbone.patch_embed.proj.weight": conv,
        "module.backbone.patch_embed.proj.bias": (dim,),
        "module.backbone.pos_embed": (1, tokens, dim),
        "module.backbone.norm.weight": (dim,),
        "module.backbone.norm.bias": (dim,),
    }
    for i in range(depth):
        for name, s in {
            "norm1.weight": (dim,),
            "norm1.bias": (dim,),
            "attn.qkv.weight": (3 * dim, dim),
            "attn.qkv.bias": (3 * dim,),
            "attn.proj.weight": (dim, dim),
            "attn.proj.bias": (dim,),
            "norm2.weight": (dim,),
            "norm2.bias": (dim,),
            "mlp.fc1.weight": (hidden, dim),
            "mlp.fc1.bias": (hidden,),
            "mlp.fc2.weight": (dim, hidden),
            "mlp.fc2.bias": (dim,),
        }.items():
            sd[f"module.backbone.blocks.{i}.{name}"] = s
    ckpt = {"target_encoder": {k: torch.empty(s, device=meta) for k, s in sd.items()}}
    imported = convert(ckpt, kind, arch=arch, frames=frames if kind == "vjepa" else None)
    assert imported.input_shape == shape
    with meta:
        module = build_encoder_part(imported.part, imported.settings, imported.input_shape)
    check_tensors(module, imported.tensors, arch)


def test_the_key_table_is_a_bijection():
    for key in [
        "patch_embed.proj.weight",
        "pos_embed",
        "norm.bias",
        "blocks.7.attn.qkv.weight",
        "blocks.0.mlp.fc1.bias",
        "blocks.31.mlp.fc2.weight",
    ]:
        assert to_timm_key(to_jepakit_key(key)) == key
    assert to_jepakit_key("blocks.0.mlp.fc2.weight") == "blocks.0.mlp.2.weight"
    assert to_jepakit_key("head.weight") is None


def test_wrong_architecture_and_missing_heads_are_bad_input(tmp_path):
    context, target = _pair(**IJEPA_CASES["h14"])
    torch.save(official_checkpoint(context, target, "module."), tmp_path / "c.pth")
    assert_refused(
        cli("import", str(tmp_path / "c.pth"), "--kind", "ijepa", "--arch", "vit_huge", "--out", str(tmp_path / "a")),
        "not a vit_huge",
        "embed_dim 64",
    )
    assert_refused(cli("import", str(tmp_path / "c.pth"), "--kind", "ijepa", "--out", str(tmp_path / "b")), "heads")
    assert_refused(
        cli("import", str(tmp_path / "c.pth"), "--kind", "vjepa", "--num-heads", "4", "--out", str(tmp_path / "c")),
        "not a video ViT",
    )
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_unexpected_keys_and_shapes_are_refused(tmp_path):
    context, target = _pair(**IJEPA_CASES["h14"])
    ckpt = official_checkpoint(context, target, "module.")
    ckpt["target_encoder"]["module.head.weight"] = torch.zeros(10, 64)
    torch.save(ckpt, tmp_path / "extra.pth")
    assert_refused(
        cli("import", str(tmp_path / "extra.pth"), "--kind", "ijepa", "--num-heads", "4", "--out", str(tmp_path / "x")),
        "unexpected key 'module.head.weight'",
    )
    ckpt = official_checkpoint(context, target, "module.")
    ckpt["target_encoder"]["module.blocks.1.attn.proj.weight"] = torch.zeros(64, 32)
    torch.save(ckpt, tmp_path / "shape.pth")
    assert_refused(
        cli("import", str(tmp_path / "shape.pth"), "--kind", "ijepa", "--num-heads", "4", "--out", str(tmp_path / "y")),
        "blocks.1.attn.proj.weight has shape (64, 32)",
    )
    (tmp_path / "junk.pth").write_bytes(b"not a checkpoint")
    assert_refused(
        cli(
            "import", str(tmp_path / "junk.pth"), "--kind", "ijepa", "--arch", "vit_huge", "--out", str(tmp_path / "z")
        ),
        "not a readable PyTorch checkpoint",
    )


class Payload:
    """Unpickling this would run `exec` and write a marker file."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (exec, (f"open({self.marker!r}, 'w').write('pwned')",))


def test_a_pickle_carrying_code_is_refused_and_runs_nothing(tmp_path):
    marker = tmp_path / "pwned.txt"
    torch.save(
        {"target_encoder": {"pos_embed": torch.zeros(1)}, "epoch": Payload(str(marker))}, tmp_path / "evil.pth.tar"
    )
    result = cli(
        "import",
        str(tmp_path / "evil.pth.tar"),
        "--kind",
        "ijepa",
        "--arch",
        "vit_huge",
        "--out",
        str(tmp_path / "exp"),
    )
    assert_refused(result, "refused without running any of it")
    assert not marker.exists()
    assert not (tmp_path / "exp").exists()


def test_a_flat_safetensors_state_dict_imports_too(tmp_path):
    from safetensors.torch import save_file

    from jepakit.api import load_encoder

    _, target = _pair(**IJEPA_CASES["h14"])
    save_file({"module." + k: v.contiguous() for k, v in target.state_dict().items()}, tmp_path / "t.safetensors")
    result = cli(
        "import", str(tmp_path / "t.safetensors"), "--kind", "ijepa", "--num-heads", "4", "--out", str(tmp_path / "exp")
    )
    assert result.exit_code == 0, result.output
    encoder, _ = load_encoder(tmp_path / "exp")
    x = torch.randn(1, 3, 56, 56)
    with torch.no_grad():
        torch.testing.assert_close(encoder(x), target(x), atol=1e-5, rtol=1e-5)


def test_an_imported_encoder_is_evaluated_on_a_labelled_set(tmp_path):
    """import -> eval --data: the published encoder, the same part at random init and the raw input, one protocol;
    the result lands beside the export (eval-NAME.json), and eval without --data says what to add."""
    kw = dict(chans=3, dim=32, depth=1, heads=2, hidden=64, patch=4, tokens=16)
    context, target = _pair(**kw)
    torch.save(official_checkpoint(context, target, "module."), tmp_path / "ijepa.pth.tar")
    exp = tmp_path / "exp"
    imported = cli("import", str(tmp_path / "ijepa.pth.tar"), "--kind", "ijepa", "--num-heads", "2", "--out", str(exp))
    assert imported.exit_code == 0, imported.output
    result = cli(
        "eval", str(exp), "--data", "core/digits", "--set", "data.size=16", "--set", "data.channels=3",
        "--max-samples", "200", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    block = json.loads(result.stdout)
    assert block["set"] == "digits" and block["metric"] == "accuracy"
    assert all(isinstance(block[row], float) for row in ("trained", "random_init", "baseline_raw"))
    assert json.loads((exp / "eval-digits.json").read_text(encoding="utf-8"))["trained"] == block["trained"]
    assert not (exp / "eval.json").exists()
    assert_refused(cli("eval", str(exp)), "exported encoder", "--data")
    assert_refused(cli("eval", str(exp), "--data", "core/digits"), "shape")
