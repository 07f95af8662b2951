"""The trained encoder as a product: `jepakit export` writes it out, `load_encoder` reads it back anywhere.

An export directory is what a Hugging Face Hub model repository holds:

    model.safetensors   the encoder's weights (jepakit's key layout, or timm's with --format timm), plus its
                        position table `pos_embed` [1, N, D] so a published model keeps its own
    config.json         the registered part to build, its settings, the input shape and normalisation, the readout
    README.md           a model card: YAML front matter, how to load it, the run's evaluation table, the licence
    predictor.safetensors  (--with-predictor) the predictor, to keep training or to probe predictions

`load_encoder` builds only the encoder part from the registry and loads its weights: no dataset, optimizer,
predictor or training loop. It reads a run directory the same way (the checkpoint's encoder tensors), so the
encoder a run evaluates is usable before anything is exported.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from jepakit import __version__
from jepakit.errors import JepakitError

log = logging.getLogger("jepakit")

EXPORT_FORMAT = 1  # config.json's "jepakit_export": bump when the directory's layout changes
FORMATS = ("jepakit", "timm")
#: core's image and video datasets map pixels to [-1, 1]: (p / 255 - 0.5) / 0.5
MINUS_ONE_ONE = {"image_mean": [0.5], "image_std": [0.5], "range": "[-1, 1] (pixel / 127.5 - 1)"}


@dataclass
class EncoderInfo:
    """What `load_encoder` returns beside the module: how to build it and how to feed it.

    `prepare` turns image files (or PIL images) into the input the encoder was trained on; `features` applies
    the run's readout (the pooled features its probes scored).
    """

    part: str
    settings: dict[str, Any]
    input_shape: tuple[int, ...]
    normalisation: dict[str, Any]
    readout: str = "mean"
    variant: str = ""
    encoder: str = "target"  # which encoder of the run: the EMA target or the context encoder
    source: dict[str, Any] = field(default_factory=dict)
    format: str = "jepakit"
    jepakit_version: str = __version__

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["input_shape"] = list(self.input_shape)
        return {"jepakit_export": EXPORT_FORMAT, **d}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> EncoderInfo:
        names = {f.name for f in dataclasses.fields(cls)}
        kwargs = {k: v for k, v in d.items() if k in names}
        missing = {"part", "settings", "input_shape", "normalisation"} - set(kwargs)
        if missing:
            raise JepakitError(f"config.json lacks {', '.join(sorted(missing))}", "re-export the run")
        kwargs["input_shape"] = tuple(int(s) for s in kwargs["input_shape"])
        return cls(**kwargs)

    def prepare(self, images: Any) -> torch.Tensor:
        """Image paths or PIL images -> the encoder's input [N, C, H, W] (centre-cropped, resized, normalised)."""
        from PIL import Image

        from jepakit.library.data import fit_image

        if len(self.input_shape) != 3:
            raise JepakitError(
                f"this encoder reads inputs of shape {list(self.input_shape)}, not images",
                "build its input as its dataset does (`jepakit embed --data ...` does that)",
            )
        chans, size = self.input_shape[0], self.input_shape[-1]
        items = [images] if isinstance(images, (str, Path, Image.Image)) else list(images)
        arrays = []
        for item in items:
            if isinstance(item, Image.Image):
                arrays.append(fit_image(item, size, chans))
            else:
                with Image.open(item) as im:
                    im.seek(0)
                    arrays.append(fit_image(im, size, chans))  # [C, S, S] in [0, 1]
        return self.normalise(torch.from_numpy(np.stack(arrays)))  # [N, C, S, S]

    def normalise(self, x01: torch.Tensor) -> torch.Tensor:
        """Pixels in [0, 1] [N, C, ...] -> the encoder's input range (its config.json `normalisation`)."""
        mean, std = self.normalisation.get("image_mean"), self.normalisation.get("image_std")
        if mean is None or std is None:
            raise JepakitError("this encoder's inputs are not pixels", "prepare them as its dataset does")
        if all(m == 0.5 for m in mean) and all(s == 0.5 for s in std):
            return x01 * 2.0 - 1.0  # the very arithmetic core's datasets use
        shape = (1, -1) + (1,) * (x01.dim() - 2)
        return (x01 - torch.tensor(mean).reshape(shape)) / torch.tensor(std).reshape(shape)

    def features(
        self, encoder: nn.Module, x: torch.Tensor, readout: str | None = None, batch_size: int = 256
    ) -> np.ndarray:
        """Pooled features [N, F] of inputs x [N, ...] with the run's readout (or the one named)."""
        from jepakit.engine.evaluate import extract_features

        feats, _ = extract_features(encoder, TensorRows(x), readout=readout or self.readout, batch_size=batch_size)
        return feats


class TensorRows:
    """Inputs without labels as a split `extract_features` reads: `x` [N, ...], `y` [N] zeros."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor | None = None) -> None:
        self.x = x
        self.y = torch.zeros(len(x), dtype=torch.long) if y is None else y

    def __len__(self) -> int:
        return int(self.x.shape[0])

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        return self.x[i], int(self.y[i])


def plugins_or_default(state: Any) -> Any:
    """The given plugin state, else the installed plugins (read as the CLI reads them)."""
    if state is not None:
        return state
    from jepakit.framework.plugins import load_plugins

    return load_plugins()


def build_encoder_part(
    part: str,
    settings: dict[str, Any],
    input_shape: tuple[int, ...],
    state: Any = None,
    meta: dict[str, Any] | None = None,
) -> nn.Module:
    """The registered encoder `part` with `settings` for `input_shape`: nothing else of a run is built."""
    from jepakit.framework.compose import Part, build_part
    from jepakit.framework.config import build_dataclass

    spec = plugins_or_default(state).registry.get("encoders", part, key="encoder.use")
    cfg = build_dataclass(spec.config, dict(settings), "encoder") if spec.config else None
    return build_part(Part(spec, cfg, "encoder"), input_shape=tuple(input_shape), meta=dict(meta or {}))


def _expected(module: nn.Module) -> dict[str, tuple[int, ...]]:
    """Shapes an encoder's weights must have: its state dict, plus a non-persistent position table."""
    shapes = {k: tuple(v.shape) for k, v in module.state_dict().items()}
    pos = getattr(module, "pos_embed", None)
    if isinstance(pos, torch.Tensor) and "pos_embed" not in shapes:
        shapes["pos_embed"] = tuple(pos.shape)
    return shapes


def check_tensors(module: nn.Module, tensors: dict[str, torch.Tensor], what: str) -> None:
    """Every key present, none extra, every shape equal: a JepakitError names the first difference."""
    expected = _expected(module)
    missing = [k for k in expected if k not in tensors and k != "pos_embed"]
    extra = [k for k in tensors if k not in expected]
    if missing or extra:
        first = f"lacks {missing[0]!r}" if missing else f"has an unexpected {extra[0]!r}"
        raise JepakitError(
            f"{what} {first} ({len(missing)} missing, {len(extra)} unexpected tensors)",
            "the weights do not belong to this encoder part with these settings",
        )
    for key, shape in expected.items():
        if key in tensors and tuple(tensors[key].shape) != shape:
            raise JepakitError(
                f"{what}: {key} has shape {tuple(tensors[key].shape)}, the encoder needs {shape}",
                "the weights do not belong to this encoder part with these settings",
            )


def load_weights(module: nn.Module, tensors: dict[str, torch.Tensor], what: str) -> nn.Module:
    """Load checked tensors; a stored `pos_embed` replaces a computed (non-persistent) position table."""
    check_tensors(module, tensors, what)
    own = module.state_dict()
    module.load_state_dict({k: v for k, v in tensors.items() if k in own}, strict=True)
    if "pos_embed" in tensors and "pos_embed" not in own:
        pos: Any = module.pos_embed  # a buffer, [1, N, D]
        with torch.no_grad():
            pos.copy_(tensors["pos_embed"])
    return module


def encoder_tensors(module: nn.Module) -> dict[str, torch.Tensor]:
    """What model.safetensors holds: the state dict plus the position table the module actually adds."""
    tensors = {k: v.detach().cpu().contiguous() for k, v in module.state_dict().items()}
    pos = getattr(module, "pos_embed", None)
    if isinstance(pos, torch.Tensor) and "pos_embed" not in tensors:
        tensors["pos_embed"] = pos.detach().cpu().contiguous()
    return tensors


# --- reading --------------------------------------------------------------------------------------------------


def load_encoder(path: str | Path, *, state: Any = None) -> tuple[nn.Module, EncoderInfo]:
    """An export directory or a run directory -> (the encoder in eval mode on the CPU, its EncoderInfo).

    For a run directory it is the encoder the run's evaluation reads (`eval.encoder`: the EMA target or the
    context encoder), from the newest good checkpoint. `state` is the loaded plugins (default: load them).
    """
    p = Path(path)
    if (p / "config.json").is_file() and (p / "model.safetensors").is_file():
        module, info = _from_export(p, plugins_or_default(state))
    elif (p / "config.toml").is_file():
        from jepakit.engine.run_encoder import run_encoder

        module, info, _ = run_encoder(p, plugins_or_default(state))
    else:
        raise JepakitError(
            f"{p} is neither an export directory (config.json + model.safetensors) nor a run directory (config.toml)",
            "pass the --out of `jepakit export`, `import` or `train`",
        )
    return module.eval(), info


def _from_export(path: Path, state: Any) -> tuple[nn.Module, EncoderInfo]:
    from safetensors.torch import load_file

    from jepakit.engine.vit_keys import to_jepakit_key

    try:
        info = EncoderInfo.from_dict(json.loads((path / "config.json").read_text(encoding="utf-8")))
        tensors = load_file(str(path / "model.safetensors"))
    except (OSError, ValueError, TypeError) as exc:
        raise JepakitError(f"{path} is not a readable export: {exc}", "export the run again") from exc
    except Exception as exc:  # safetensors raises its own error types
        raise JepakitError(f"{path / 'model.safetensors'} is corrupt: {exc}", "export the run again") from exc
    if info.format == "timm":
        tensors = {to_jepakit_key(k) or k: v for k, v in tensors.items()}
    module = build_encoder_part(info.part, info.settings, info.input_shape, state)
    return load_weights(module, tensors, str(path / "model.safetensors")), info


def load_predictor(path: str | Path, *, state: Any = None) -> nn.Module:
    """The predictor an export made with --with-predictor holds, rebuilt from the registry, in eval mode."""
    from safetensors.torch import load_file

    from jepakit.framework.compose import Part, build_part
    from jepakit.framework.config import build_dataclass

    p = Path(path)
    cfg = json.loads((p / "config.json").read_text(encoding="utf-8")).get("predictor")
    if not cfg or not (p / "predictor.safetensors").is_file():
        raise JepakitError(f"{p} holds no predictor", "export the run with --with-predictor")
    spec = plugins_or_default(state).registry.get("predictors", cfg["part"], key="predictor.use")
    settings = build_dataclass(spec.config, dict(cfg["settings"]), "predictor") if spec.config else None
    module = build_part(
        Part(spec, settings, "predictor"), embed_dim=int(cfg["embed_dim"]), grid=tuple(cfg["grid"]), meta={}
    )
    return load_weights(module, load_file(str(p / "predictor.safetensors")), str(p / "predictor.safetensors")).eval()


# --- writing --------------------------------------------------------------------------------------------------


def timm_kwargs(info: EncoderInfo) -> dict[str, Any]:
    """`timm.create_model("vit_base_patch16_224", pretrained=False, **kwargs)` builds this encoder's twin."""
    s = info.settings
    if info.part != "core/vit":
        raise JepakitError(
            f"--format timm: {info.part} has no timm counterpart (timm's ViT is 2-D)",
            "export it with --format jepakit and load it with jepakit.api.load_encoder",
        )
    if float(s.get("norm_eps", 1e-6)) != 1e-6:
        raise JepakitError(
            f"--format timm: norm_eps {s['norm_eps']} differs from timm's ViT (1e-6)", "export with --format jepakit"
        )
    chans, h, w = info.input_shape
    return {
        "img_size": [h, w],
        "patch_size": s["patch_size"],
        "in_chans": chans,
        "embed_dim": s["embed_dim"],
        "depth": s["depth"],
        "num_heads": s["num_heads"],
        "mlp_ratio": s["mlp_ratio"],
        "qkv_bias": s["qkv_bias"],
        "class_token": False,
        "global_pool": "",
        "no_embed_class": True,
        "num_classes": 0,
    }


def write_export(
    out: Path,
    tensors: dict[str, torch.Tensor],
    info: EncoderInfo,
    *,
    card: dict[str, Any],
    fmt: str = "jepakit",
    predictor: tuple[dict[str, torch.Tensor], dict[str, Any]] | None = None,
    evaluation: dict[str, Any] | None = None,
    force: bool = False,
) -> dict[str, Any]:
    """Write model.safetensors, config.json and README.md (and predictor.safetensors) into `out`, atomically each."""
    from safetensors.torch import save as st_save

    from jepakit.engine.ckpt import atomic_write, atomic_write_text
    from jepakit.engine.export_card import model_card
    from jepakit.engine.vit_keys import to_timm_key

    if fmt not in FORMATS:
        raise JepakitError(f"--format: unknown format {fmt!r}", f"choose one of: {', '.join(FORMATS)}")
    _prepare_out(out, force)
    info = dataclasses.replace(info, format=fmt)
    config = info.to_dict()
    if fmt == "timm":
        config["timm"] = {"model_name": "vit_base_patch16_224", "kwargs": timm_kwargs(info)}
        tensors = {to_timm_key(k) or k: v for k, v in tensors.items()}
    files = ["model.safetensors", "config.json", "README.md"]
    atomic_write(out / "model.safetensors", st_save({k: v.detach().cpu().contiguous() for k, v in tensors.items()}))
    if predictor is not None:
        ptensors, pconfig = predictor
        config["predictor"] = pconfig
        atomic_write(out / "predictor.safetensors", st_save(ptensors))
        files.append("predictor.safetensors")
    atomic_write_text(out / "config.json", json.dumps(config, indent=1, default=str) + "\n")
    atomic_write_text(out / "README.md", model_card(info, card, evaluation, files, config.get("timm")))
    params = sum(int(v.numel()) for k, v in tensors.items() if k != "pos_embed")
    return {
        "out": str(out),
        "format": fmt,
        "files": files,
        "part": info.part,
        "encoder": info.encoder,
        "input_shape": list(info.input_shape),
        "parameters": params,
        "variant": info.variant,
    }


def _prepare_out(out: Path, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise JepakitError(f"--out {out} is a file", "choose a directory")
    if out.is_dir() and any(out.iterdir()):
        if not force:
            raise JepakitError(f"--out {out} exists and is not empty", "choose another --out, or pass --force")
        if not (out / "config.json").is_file():
            raise JepakitError(
                f"--out {out} is not an export directory; --force only replaces an export", "choose another --out"
            )
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)


def export_run(
    run_dir: str | Path,
    out: str | Path,
    *,
    state: Any = None,
    fmt: str = "jepakit",
    with_predictor: bool = False,
    licence: str = "other",
    force: bool = False,
) -> dict[str, Any]:
    """`jepakit export RUN --out DIR`: the encoder the run's evaluation reads, as an export directory."""
    from jepakit.engine.run_encoder import run_encoder

    if fmt not in FORMATS:
        raise JepakitError(f"--format: unknown format {fmt!r}", f"choose one of: {', '.join(FORMATS)}")
    module, info, extra = run_encoder(Path(run_dir), plugins_or_default(state), predictor=with_predictor)
    if fmt == "timm":
        timm_kwargs(info)  # refuse before writing anything
    evaluation = None
    eval_json = Path(run_dir) / "eval.json"
    if eval_json.is_file():
        try:
            evaluation = json.loads(eval_json.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            log.warning("export: %s is unreadable; the model card has no evaluation table", eval_json)
    data = (evaluation or {}).get("dataset") or info.source.get("data", "?")
    card = {
        "license": licence,
        "data": data,
        "steps": info.source.get("step"),
        "steps_label": "steps",
        "origin": f"a jepakit run of `{info.variant}` ({Path(run_dir).name})",
        "licence_text": "You trained these weights with jepakit (MIT); their licence is yours to choose, "
        "within the terms of the data they were trained on (`--license` sets it here).",
    }
    return write_export(
        Path(out),
        encoder_tensors(module),
        info,
        card=card,
        fmt=fmt,
        predictor=extra.get("predictor"),
        evaluation=evaluation,
        force=force,
    )
