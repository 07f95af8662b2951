"""`jepakit new plugin NAME`: scaffold an installable plugin that passes its own tests the moment it is installed.

The scaffold is real code, not placeholders: each requested kind gets one small working part (a random masker,
a cosine energy, a conv-stem ViT, an MLP predictor, a nearest-centroid head, a gratings dataset), a `NAME/tiny`
variant composes them with jepakit's own parts, and its tests run jepakit's contract suite plus a tiny train.
Templates live in `jepakit/cli/scaffold/plugin/`; placeholders are `{{name}}`-style and filled by plain replace.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from jepakit.errors import JepakitError

NAME = re.compile(r"^[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*$")


@dataclass(frozen=True)
class Kind:
    module: str  # the file it goes in
    short: str  # its registered name
    config: str  # its config class
    what: str  # for the README


KINDS: dict[str, Kind] = {
    "masker": Kind("masks.py", "random", "RandomMaskConfig", "a random-token masker"),
    "loss": Kind("losses.py", "cosine", "CosineConfig", "a cosine energy term"),
    "encoder": Kind("encoders.py", "convstem-vit", "ConvStemViTConfig", "a conv-stem ViT encoder"),
    "predictor": Kind("predictors.py", "mlp-predictor", "MLPPredictorConfig", "an MLP predictor"),
    "head": Kind("heads.py", "centroid", "CentroidConfig", "a nearest-centroid probe head"),
    "dataset": Kind("data.py", "gratings", "GratingsConfig", "a generated gratings dataset"),
}


def parse_kinds(text: str) -> list[str]:
    kinds = [k.strip() for k in text.split(",") if k.strip()]
    unknown = [k for k in kinds if k not in KINDS]
    if unknown or not kinds:
        raise JepakitError(
            f'--kinds: unknown kind "{unknown[0] if unknown else text}"',
            f"choose any of: {', '.join(KINDS)} (comma-separated)",
        )
    return [k for k in KINDS if k in kinds]  # canonical order, no repeats


def _template(rel: str) -> str:
    return resources.files("jepakit.cli.scaffold").joinpath("plugin", rel).read_text(encoding="utf-8")


def _fill(text: str, values: dict[str, str]) -> str:
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", value)
    if "{{" in text:
        raise AssertionError(f"unfilled placeholder in a scaffold template: {text[text.index('{{') :][:40]}")
    return text


def _variant(name: str, kinds: list[str]) -> tuple[dict, list[str], list[str]]:
    """The NAME/tiny spec, its extra dependencies, and the --set lines that make its test run toy-sized."""
    own = {k: f"{name}/{KINDS[k].short}" for k in kinds}
    deps, toy = [], ["encoder.embed_dim=32", "encoder.depth=1", "encoder.num_heads=2"]
    if "encoder" in own:
        encoder = {
            "use": own["encoder"],
            "patch_size": 2,
            "stem_channels": 16,
            "embed_dim": 64,
            "depth": 4,
            "num_heads": 4,
        }
    else:
        encoder = {"use": "core/vit", "patch_size": 2, "embed_dim": 64, "depth": 4, "num_heads": 4}
    if "masker" in own:
        masker: dict[str, object] = {"use": own["masker"]}
    else:
        masker, deps = {"use": "ijepa/multiblock", "min_keep": 4}, ["jepakit-ijepa>=0.1"]
    if "predictor" in own:
        predictor = {"use": own["predictor"], "hidden": 128, "depth": 2}
        toy.append("predictor.hidden=16")
    else:
        predictor = {
            "use": "core/vit-predictor",
            "embed_dim": 48,
            "depth": 2,
            "num_heads": 4,
            "target_attention": "joint",
        }
        toy += ["predictor.embed_dim=16", "predictor.depth=1", "predictor.num_heads=2"]
    if "dataset" in own:
        data = {"use": own["dataset"], "size": 16}
        toy += ["data.n_train=128", "data.n_test=64"]
    else:
        data = {"use": "core/digits", "size": 16, "digit_size": 12}
    spec = {
        "encoder": encoder,
        "masker": masker,
        "predictor": predictor,
        "target": {"use": "core/ema", "momentum": [0.996, 1.0]},
        "data": data,
        "loss": {"pred": {"use": own.get("loss", "core/smooth-l1")}, "vicreg": {"use": "core/vicreg", "weight": 1.0}},
        "optim": {"steps": 300, "batch_size": 64, "lr": 5e-4, "start_lr": 1e-4, "warmup": 0.1},
        "run": {"ckpt_every": 100, "monitor_every": 100, "log_every": 10},
        "eval": {
            "readout": "last4_mean",
            "encoder": "target",
            "heads": ["core/linear-probe", "core/knn", *([own["head"]] if "head" in own else [])],
        },
    }
    return spec, deps, toy


def _flat(obj: object) -> str:
    """A one-line Python literal with double-quoted strings (as the rest of the code base writes them)."""
    if isinstance(obj, str):
        return json.dumps(obj)
    if isinstance(obj, dict):
        return "{" + ", ".join(f"{_flat(k)}: {_flat(v)}" for k, v in obj.items()) + "}"
    if isinstance(obj, list):
        return "[" + ", ".join(_flat(v) for v in obj) + "]"
    if isinstance(obj, set):
        return "{" + ", ".join(_flat(v) for v in sorted(obj)) + "}"
    return repr(obj)


def _literal(obj: object, indent: int = 0, width: int = 110) -> str:
    """A Python literal as a person would write it: one line if it fits, else one key or item per line."""
    flat = _flat(obj)
    if len(flat) + indent <= width or not isinstance(obj, (dict, list, set)) or not obj:
        return flat
    pad = " " * (indent + 4)
    if isinstance(obj, dict):
        items = [f"{pad}{_flat(k)}: {_literal(v, indent + 4, width)}," for k, v in obj.items()]
        return "{\n" + "\n".join(items) + "\n" + " " * indent + "}"
    items = [f"{pad}{_literal(v, indent + 4, width)}," for v in (sorted(obj) if isinstance(obj, set) else obj)]
    ends = "{}" if isinstance(obj, set) else "[]"
    return ends[0] + "\n" + "\n".join(items) + "\n" + " " * indent + ends[1]


def render(name: str, kinds: list[str]) -> dict[str, str]:
    """Relative path -> file content for a plugin NAME with one part of each kind."""
    if not NAME.fullmatch(name):
        raise JepakitError(
            f'"{name}" is not a valid plugin name',
            "use lower-case letters and digits, optionally joined by - or _ (e.g. myjepa)",
        )
    pkg, dist = "jepakit_" + name.replace("-", "_"), "jepakit-" + name.replace("_", "-")
    spec, deps, toy = _variant(name, kinds)
    registered = {f"{name}/{KINDS[k].short}" for k in kinds} | {f"{name}/tiny"}
    tiny = {f"{name}/convstem-vit": {"embed_dim": 32, "depth": 1, "num_heads": 2, "patch_size": 4, "stem_channels": 8}}
    base = {"name": name, "pkg": pkg, "dist": dist}

    def fragments(suffix: str) -> str:
        return "\n\n\n".join(_fill(_template(f"kinds/{k}.{suffix}.tmpl"), base).rstrip() for k in kinds)

    values = {
        **base,
        "dependencies": ", ".join(f'"{d}"' for d in ["jepakit>=0.1,<2", *deps]),
        "kinds_human": ", ".join(KINDS[k].what for k in kinds),
        "files_table": "".join(f"| `{pkg}/{KINDS[k].module}` | {KINDS[k].what} |\n" for k in kinds),
        "config_names": "(\n" + "".join(f"    {KINDS[k].config},\n" for k in kinds) + ")",
        "variant_spec": _literal(spec),
        "hooks": fragments("hook"),
        "configs": fragments("config"),
        "tiny_overrides": _literal({k: v for k, v in tiny.items() if k in registered}),
        "registered": _literal(registered, 4),
        "toy_overrides": ", ".join(f'"{t}"' for t in toy),
    }
    files = {
        "pyproject.toml": "pyproject.toml.tmpl",
        "README.md": "README.md.tmpl",
        f"{pkg}/plugin.py": "plugin.py.tmpl",
        f"{pkg}/config.py": "config.py.tmpl",
        "tests/test_contract.py": "test_contract.py.tmpl",
        "tests/test_train.py": "test_train.py.tmpl",
        **{f"{pkg}/{KINDS[k].module}": f"kinds/{k}.py.tmpl" for k in kinds},
    }
    out = {path: _fill(_template(tmpl), values).rstrip() + "\n" for path, tmpl in files.items()}
    out[f"{pkg}/__init__.py"] = f'"""{dist}: a jepakit plugin (see plugin.py for what it registers)."""\n'
    return out


def write(name: str, kinds: list[str], dest: Path) -> list[Path]:
    """Render into `dest` (which must not exist or be empty); nothing is written if rendering fails."""
    files = render(name, kinds)
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise JepakitError(f"{dest} already exists and is not empty", "choose another folder with --out")
    written = []
    try:
        for rel, text in files.items():
            path = dest / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            written.append(path)
    except OSError as exc:
        raise JepakitError(
            f"cannot write {dest}: {exc.strerror or exc}", "choose a writable folder with --out"
        ) from exc
    return written
