"""Published I-JEPA and V-JEPA checkpoints as jepakit export directories.

The official training code saves `torch.save({"encoder": ..., "target_encoder": ..., "predictor": ..., "opt": ...,
"epoch": ...})` with each model wrapped in DistributedDataParallel (keys start with `module.`) and, for V-JEPA, in
a multi-mask wrapper (`module.backbone.`). The encoders are pre-norm ViTs whose parameter names are timm's: so one
table maps the official layout, timm's layout and jepakit's onto each other (engine/vit_keys.py). The published
models differ from jepakit's in one respect: their sin-cos position table is stored in the checkpoint (I-JEPA
puts the column coordinate in the first half of the channels, V-JEPA splits channels per axis in its own way), so
the export keeps that table and `load_encoder` uses it instead of recomputing jepakit's.

Files are read with `torch.load(weights_only=True)` only: tensors and plain containers, never arbitrary objects,
so a crafted pickle is refused before any of its code can run.
"""

from __future__ import annotations

import hashlib
import pickle
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from jepakit.engine.vit_keys import BLOCK_NAME, strip_prefixes, to_jepakit_key, to_timm_key
from jepakit.errors import JepakitError

#: the papers' ViT sizes: embed_dim, depth, num_heads, mlp_ratio (ViT-g: 48/11, hidden 6144)
ARCHS: dict[str, tuple[int, int, int, float]] = {
    "vit_tiny": (192, 12, 3, 4.0),
    "vit_small": (384, 12, 6, 4.0),
    "vit_base": (768, 12, 12, 4.0),
    "vit_large": (1024, 24, 16, 4.0),
    "vit_huge": (1280, 32, 16, 4.0),
    "vit_giant": (1408, 40, 16, 48 / 11),
}
#: the published checkpoints `jepakit import` is written for: kind, arch, patch, image size, frames
PUBLISHED: dict[str, tuple[str, str, int, int, int]] = {
    "I-JEPA ViT-H/14 224 (IN-1K, IN-22K)": ("ijepa", "vit_huge", 14, 224, 1),
    "I-JEPA ViT-H/16 448 (IN-1K)": ("ijepa", "vit_huge", 16, 448, 1),
    "I-JEPA ViT-g/16 224 (IN-22K)": ("ijepa", "vit_giant", 16, 224, 1),
    "V-JEPA ViT-L/16 224, 16 frames": ("vjepa", "vit_large", 16, 224, 16),
    "V-JEPA ViT-H/16 224, 16 frames": ("vjepa", "vit_huge", 16, 224, 16),
    "V-JEPA ViT-H/16 384, 16 frames": ("vjepa", "vit_huge", 16, 384, 16),
}
KINDS = {"ijepa": "core/vit", "vjepa": "vjepa/video-vit"}
#: the official models read ImageNet-standardised RGB in [0, 1]
IMAGENET = {
    "image_mean": [0.485, 0.456, 0.406],
    "image_std": [0.229, 0.224, 0.225],
    "range": "ImageNet-standardised ((pixel / 255 - mean) / std)",
}
WEIGHTS_LICENCE = "cc-by-nc-4.0"  # the I-JEPA and V-JEPA releases' licence (weights and code)


def read_weights(path: Path) -> Any:
    """A checkpoint's content: safetensors as is, anything else through torch's tensors-only unpickler.

    A file holding anything but tensors and plain containers (classes, functions, `__reduce__` payloads) is
    refused with exit code 2 before any object in it is built, so none of its code runs.
    """
    if not path.is_file():
        raise JepakitError(f"{path}: no such file", "pass the downloaded checkpoint file (e.g. *.pth.tar)")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        try:
            return load_file(str(path))
        except Exception as exc:  # safetensors raises its own error types
            raise JepakitError(f"{path} is not a readable safetensors file: {exc}", "download it again") from exc
    try:
        return torch.load(path, weights_only=True, map_location="cpu")
    except pickle.UnpicklingError as exc:
        found = re.search(r"Unsupported global: GLOBAL (\S+)", str(exc))
        if found is None:
            raise JepakitError(
                f"{path} is not a readable PyTorch checkpoint (its pickle stream is damaged or not torch's)",
                "check that the download is complete (compare its checksum)",
            ) from None
        raise JepakitError(
            f"{path} holds objects other than tensors and plain containers (it names "
            f"{found.group(1)}); refused without running any of it",
            "import only checkpoints from a source you trust; the official I-JEPA/V-JEPA releases hold tensors only",
        ) from None
    except (RuntimeError, OSError, EOFError, ValueError) as exc:
        raise JepakitError(
            f"{path} is not a readable PyTorch checkpoint: {str(exc).splitlines()[0][:200]}",
            "check that the download is complete (compare its size or checksum)",
        ) from None


@dataclass
class Imported:
    """A published encoder in jepakit's terms: the part to build, its settings, input shape and its weights."""

    part: str
    settings: dict[str, Any]
    input_shape: tuple[int, ...]
    tensors: dict[str, torch.Tensor]  # jepakit keys, plus the checkpoint's own `pos_embed` [1, N, D]
    source: dict[str, Any]


def pick_state(obj: Any, encoder: str) -> tuple[dict[str, torch.Tensor], str]:
    """The encoder's state dict from a checkpoint: `target_encoder` or `encoder`, or the file itself if flat."""
    if not isinstance(obj, dict):
        raise JepakitError(
            f"the checkpoint holds a {type(obj).__name__}, not a dict of state dicts",
            "pass an official I-JEPA/V-JEPA checkpoint (a dict with 'encoder'/'target_encoder')",
        )
    want = "target_encoder" if encoder == "target" else "encoder"
    if want in obj:
        state = obj[want]
    elif all(torch.is_tensor(v) for v in obj.values()) and obj:
        state, want = obj, "(flat state dict)"
    else:
        have = ", ".join(sorted(str(k) for k in obj)[:8])
        other = "--encoder context" if encoder == "target" else "--encoder target"
        raise JepakitError(
            f"the checkpoint has no {want!r} entry (it has: {have})",
            f"try {other}, or pass the pretraining checkpoint (not an evaluation one)",
        )
    if not isinstance(state, dict) or not all(torch.is_tensor(v) for v in state.values()):
        raise JepakitError(
            f"the checkpoint's {want!r} entry is not a state dict of tensors",
            "pass an official I-JEPA/V-JEPA pretraining checkpoint",
        )
    return state, want


def convert(
    obj: Any,
    kind: str,
    *,
    arch: str | None = None,
    num_heads: int | None = None,
    img_size: int | None = None,
    frames: int | None = None,
    encoder: str = "target",
) -> Imported:
    """Map an official checkpoint onto jepakit's encoder: keys, then every shape against the named architecture."""
    if kind not in KINDS:
        raise JepakitError(f"--kind: unknown kind {kind!r}", "use --kind ijepa or --kind vjepa")
    state, entry = pick_state(obj, encoder)
    tensors: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        short = strip_prefixes(key)
        mapped = to_jepakit_key(short)
        if mapped is None:
            raise JepakitError(
                f"unexpected key {key!r} in the checkpoint's {entry!r} entry",
                f"this is not a plain {kind} ViT encoder; jepakit maps patch_embed.proj, pos_embed, "
                "blocks.i.(norm1|attn.qkv|attn.proj|norm2|mlp.fc1|mlp.fc2) and norm",
            )
        tensors[mapped] = value
    for need in ("patch_embed.weight", "pos_embed", "norm.weight"):
        if need not in tensors:
            raise JepakitError(
                f"the checkpoint's {entry!r} entry has no {to_timm_key(need)!r}",
                "the file is incomplete or not an I-JEPA/V-JEPA encoder",
            )
    conv, pos = tensors["patch_embed.weight"], tensors["pos_embed"]
    dim, chans = int(conv.shape[0]), int(conv.shape[1])
    depth = 1 + max((int(m.group(1)) for k in tensors if (m := BLOCK_NAME.match(k))), default=-1)
    if depth < 1 or f"blocks.{depth - 1}.mlp.0.weight" not in tensors:
        raise JepakitError("the encoder has no complete transformer block", "the file is incomplete")
    hidden = int(tensors["blocks.0.mlp.0.weight"].shape[0])
    heads = _heads(arch, num_heads, dim, depth, hidden)
    ratio = hidden / dim
    settings: dict[str, Any] = {
        "patch_size": int(conv.shape[-1]),
        "embed_dim": dim,
        "depth": depth,
        "num_heads": heads,
        "mlp_ratio": ratio,
        "qkv_bias": "blocks.0.attn.qkv.bias" in tensors,
        "norm_eps": 1e-6,
    }
    p = settings["patch_size"]
    if conv.shape[-2] != p:
        raise JepakitError(f"non-square patches {tuple(conv.shape[-2:])}", "jepakit's ViTs use square patches")
    if pos.dim() != 3 or pos.shape[0] != 1 or pos.shape[2] != dim:
        raise JepakitError(
            f"pos_embed has shape {tuple(pos.shape)}, expected [1, N, {dim}]",
            "the file is not an I-JEPA/V-JEPA encoder with a fixed position table",
        )
    n = int(pos.shape[1])
    if kind == "ijepa":
        if conv.dim() != 4:
            raise JepakitError(
                f"patch_embed.proj.weight is {conv.dim()}-D: not an image ViT",
                "a 5-D (tubelet) patch embedding is a V-JEPA checkpoint: use --kind vjepa",
            )
        side = _square(n, 1, "the position table")
        shape: tuple[int, ...] = (chans, side * p, side * p)
    else:
        if conv.dim() != 5:
            raise JepakitError(
                f"patch_embed.proj.weight is {conv.dim()}-D: not a video ViT",
                "a 4-D patch embedding is an I-JEPA checkpoint: use --kind ijepa",
            )
        tubelet = int(conv.shape[2])
        settings["tubelet_size"] = tubelet
        frames = frames or 16
        if frames % tubelet:
            raise JepakitError(
                f"--frames {frames} is not a multiple of the tubelet size {tubelet}",
                "V-JEPA's published models read 16-frame clips: --frames 16",
            )
        side = _square(n, frames // tubelet, f"the position table at --frames {frames}")
        shape = (chans, frames, side * p, side * p)
    if img_size is not None and img_size != shape[-1]:
        raise JepakitError(
            f"--img-size {img_size} does not match the checkpoint: its {n} positions give {shape[-1]} px at patch {p}",
            f"drop --img-size, or pass --img-size {shape[-1]}",
        )
    _check_blocks(tensors, dim, depth, hidden, settings["qkv_bias"])
    epoch = obj.get("epoch") if isinstance(obj, dict) else None
    source = {
        "kind": kind,
        "arch": arch or "custom",
        "entry": entry,
        "encoder": encoder,
        "epoch": int(epoch) if isinstance(epoch, (int, float)) and not isinstance(epoch, bool) else None,
    }
    return Imported(KINDS[kind], settings, shape, tensors, source)


def _heads(arch: str | None, num_heads: int | None, dim: int, depth: int, hidden: int) -> int:
    """Attention heads (not readable from weights): the architecture's, checked against every inferred size."""
    if arch is not None:
        if arch not in ARCHS:
            raise JepakitError(f"--arch: unknown architecture {arch!r}", f"choose one of: {', '.join(ARCHS)}")
        a_dim, a_depth, a_heads, a_ratio = ARCHS[arch]
        got = {"embed_dim": dim, "depth": depth, "mlp hidden": hidden}
        want = {"embed_dim": a_dim, "depth": a_depth, "mlp hidden": int(a_dim * a_ratio)}
        bad = [f"{k} {got[k]} (a {arch} has {want[k]})" for k in got if got[k] != want[k]]
        if bad:
            fits = [n for n, (d, de, _, r) in ARCHS.items() if (d, de, int(d * r)) == (dim, depth, hidden)]
            hint = (
                f"this checkpoint is a {fits[0]}: --arch {fits[0]}"
                if fits
                else "a custom size: drop --arch and give --num-heads"
            )
            raise JepakitError(f"the checkpoint is not a {arch}: {'; '.join(bad)}", hint)
        if num_heads is not None and num_heads != a_heads:
            raise JepakitError(
                f"--num-heads {num_heads} contradicts --arch {arch} ({a_heads} heads)", "give one of the two"
            )
        return a_heads
    if num_heads is None:
        raise JepakitError(
            "the number of attention heads is not stored in the weights",
            f"name the architecture (--arch vit_huge; one of {', '.join(ARCHS)}) or give --num-heads",
        )
    if num_heads < 1 or dim % num_heads:
        raise JepakitError(f"--num-heads {num_heads} does not divide the width {dim}", "check the model's heads")
    return num_heads


def _square(n: int, depth: int, what: str) -> int:
    side = round((n / depth) ** 0.5) if depth else 0
    if depth < 1 or side * side * depth != n:
        raise JepakitError(
            f"{what} has {n} positions: not {depth} x a square grid",
            "check --kind and --frames (V-JEPA's published models: 16 frames, tubelet 2)",
        )
    return side


def _check_blocks(tensors: dict[str, torch.Tensor], dim: int, depth: int, hidden: int, bias: bool) -> None:
    """Every block's every tensor has the shape a pre-norm ViT of this width needs; nothing is missing."""
    shapes = {
        "norm1.weight": (dim,),
        "norm1.bias": (dim,),
        "attn.qkv.weight": (3 * dim, dim),
        "attn.proj.weight": (dim, dim),
        "attn.proj.bias": (dim,),
        "norm2.weight": (dim,),
        "norm2.bias": (dim,),
        "mlp.0.weight": (hidden, dim),
        "mlp.0.bias": (hidden,),
        "mlp.2.weight": (dim, hidden),
        "mlp.2.bias": (dim,),
    }
    if bias:
        shapes["attn.qkv.bias"] = (3 * dim,)
    expected = {f"blocks.{i}.{k}": s for i in range(depth) for k, s in shapes.items()}
    expected.update({"norm.weight": (dim,), "norm.bias": (dim,), "patch_embed.bias": (dim,)})
    for key, shape in expected.items():
        if key not in tensors:
            raise JepakitError(f"the checkpoint lacks {to_timm_key(key)!r}", "the file is incomplete")
        if tuple(tensors[key].shape) != shape:
            raise JepakitError(
                f"{to_timm_key(key)} has shape {tuple(tensors[key].shape)}, expected {shape}",
                "the file is not the architecture named, or it is damaged",
            )
    extra = sorted(set(tensors) - set(expected) - {"patch_embed.weight", "pos_embed"})
    if extra:
        raise JepakitError(
            f"the checkpoint has a block beyond its depth or an unknown tensor: {to_timm_key(extra[0])}",
            "the file is damaged or not a plain ViT encoder",
        )


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


def import_checkpoint(
    path: str | Path,
    out: str | Path,
    kind: str,
    *,
    arch: str | None = None,
    num_heads: int | None = None,
    img_size: int | None = None,
    frames: int | None = None,
    encoder: str = "target",
    state: Any = None,
    force: bool = False,
) -> dict[str, Any]:
    """`jepakit import`: read, map, check against the encoder built on the meta device, write an export dir."""
    from jepakit.engine.export import EncoderInfo, build_encoder_part, check_tensors, write_export

    path = Path(path)
    imported = convert(
        read_weights(path), kind, arch=arch, num_heads=num_heads, img_size=img_size, frames=frames, encoder=encoder
    )
    with torch.device("meta"):  # shapes only: a ViT-g costs no memory and no init time here
        module = build_encoder_part(imported.part, imported.settings, imported.input_shape, state)
    check_tensors(module, imported.tensors, what=str(path))
    imported.source.update(file=path.name, sha256=sha256_of(path))
    name = {"ijepa": "I-JEPA", "vjepa": "V-JEPA"}[kind]
    info = EncoderInfo(
        part=imported.part,
        settings=imported.settings,
        input_shape=imported.input_shape,
        normalisation=dict(IMAGENET),
        readout="mean",
        variant=f"{kind} (published {name}, imported)",
        encoder=encoder,
        source=imported.source,
    )
    card = {
        "license": WEIGHTS_LICENCE,
        "data": "as published (see the paper)",
        "steps": imported.source.get("epoch"),
        "steps_label": "epochs",
        "origin": f"the published {name} checkpoint `{path.name}` (sha256 "
        f"{imported.source['sha256'][:16]}...), converted by `jepakit import`",
        "licence_text": f"The weights are Meta's {name} release, licensed CC BY-NC 4.0 (non-commercial use, "
        "attribution); converting them does not change that.",
    }
    return write_export(Path(out), imported.tensors, info, card=card, force=force)
