"""Evaluation sets: the labelled data a run's heads are scored on, apart from the data it pretrains on. Torch-free.

A run pretrains on `[data]` (labels optional) and is evaluated on `[eval.sets.NAME]` tables, each a dataset
part with its own settings and a `max_samples` cap, validated like every other part:

    [eval.sets.digits]
    use = "core/digits"
    size = 16
    max_samples = 500   # a fixed stratified subset of at most 500 train and 500 test samples; 0 = all

Every head is scored on every set; the first set is the primary one (eval.json's top level, the verdict,
sweeps). Without sets a run is scored on its pretraining dataset's own labelled split, the set named "data".
A dataset says it has no labels through its config: a `labelled` attribute (field or property) that is False.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jepakit.errors import JepakitError, did_you_mean
from jepakit.framework.compose import Part, _named_entries, _part, _settings
from jepakit.framework.config import apply_overrides, fields_of
from jepakit.interfaces import DEFAULT_EVAL_SET

#: settings of a set's table that are the set's own, not its dataset's
SET_KEYS = ("max_samples",)
#: the dataset part `jepakit eval RUN --data PATH` uses for a folder
FOLDER_DATASET = "core/image-folder"


@dataclass
class EvalSet:
    """One labelled evaluation set: its dataset part (settings validated) and the cap on samples per split."""

    part: Part
    max_samples: int = 0  # at most this many train and this many test samples (a fixed stratified subset); 0 = all


def is_labelled(part: Part) -> bool:
    """False when the dataset's config says it has no labels (`labelled = False`); True otherwise."""
    return getattr(part.cfg, "labelled", True) is not False


def resolve_sets(reg: Any, value: Any, key: str = "eval.sets") -> dict[str, EvalSet]:
    """Validate `eval.sets` (a table per set, or a list: the exact set) into named `EvalSet`s."""
    return {
        name: resolve_set(reg, table, where, use_key, default_use=name)
        for name, (table, where, use_key) in _named_entries(value, "datasets", key).items()
    }


def resolve_set(
    reg: Any, table: dict[str, Any], key: str, use_key: str | None = None, default_use: str = ""
) -> EvalSet:
    """One set's table (`use` + the dataset's settings + `max_samples`) -> an `EvalSet`; errors name the key."""
    table = dict(table)
    use = str(table.pop("use", default_use))
    use_key = use_key or f"{key}.use"
    if reg.resolve("datasets", use) is None:  # a short name is the usual spelling here: suggest among those too
        known = [n for s in reg.list("datasets") for n in (s.name, s.short)]
        raise JepakitError(
            f'{use_key}: unknown dataset "{use}".{did_you_mean(use, known)}',
            f'name a labelled dataset: [{key}] use = "<dataset>" (`jepakit list datasets`)',
        )
    spec = reg.get("datasets", use, key=use_key)
    valid = [*(fields_of(spec.config) if spec.config else ()), *SET_KEYS]
    for name in table:
        if name not in valid:
            raise JepakitError(
                f'{key}.{name}: unknown key "{name}".{did_you_mean(name, valid)}',
                f"valid keys of [{key}]: use, {', '.join(valid)} (`jepakit show {spec.name}`)",
            )
    cap = table.pop("max_samples", 0)
    if isinstance(cap, bool) or not isinstance(cap, int) or cap < 0:
        raise JepakitError(
            f"{key}.max_samples: expected a whole number >= 0, got {cap!r}",
            "e.g. max_samples = 500 (at most 500 train and 500 test samples); 0 = all",
        )
    part = _part(reg, "datasets", {"use": use, **table}, key, use_key)
    if not is_labelled(part):
        raise JepakitError(
            f'{key}: dataset "{spec.name}" is set up without labels; an evaluation set needs them',
            f"give [{key}] a labelled dataset (class folders, a labelled split)",
        )
    return EvalSet(part, cap)


def sets_plain(sets: dict[str, EvalSet], exact: bool) -> list[Any] | dict[str, Any]:
    """`[eval.sets.NAME]` tables as config.toml writes them; a list of inline tables when the run gave the exact
    set (a table would merge the variant's others back)."""
    tables = {
        name: {
            "use": s.part.spec.name,
            **{k: v for k, v in _settings(s.part).items() if v is not None},
            "max_samples": s.max_samples,
        }
        for name, s in sets.items()
    }
    return list(tables.values()) if exact else tables


def check_sets(sets: dict[str, EvalSet], parts: dict[str, Part]) -> None:
    """Before any tensor: every set's data is of a modality the encoder encodes."""
    enc = parts["encoder"]
    for s in sets.values():
        modality = s.part.spec.modality
        if modality and enc.spec.modality and enc.spec.modality not in modality.split("-"):
            raise JepakitError(
                f'{s.part.key}.use: dataset "{s.part.spec.name}" is {modality} data but encoder '
                f'"{enc.spec.name}" encodes {enc.spec.modality}',
                f"evaluate on {enc.spec.modality} data of the pretraining data's input shape",
            )


def check_evaluable(resolved: Any) -> None:
    """A run that will be evaluated needs labels: its own sets, or a labelled pretraining dataset. Checked by
    `jepakit validate` and before `jepakit train` starts (not with --no-eval: such a run may be probed later)."""
    data = resolved.parts.get("data")
    if not resolved.sets and data is not None and not is_labelled(data):
        raise unlabelled_error(data.spec.name)


def unlabelled_error(dataset: str) -> JepakitError:
    """The error for a run that pretrains on data without labels and names nothing to evaluate on."""
    return JepakitError(
        f'eval.sets: the pretraining dataset "{dataset}" has no labels and the run names no labelled evaluation set',
        'add one, e.g. [eval.sets.digits] use = "core/digits" with the input shape of [data] '
        "(or train with --no-eval and probe it later: jepakit eval RUN_DIR --data ...)",
    )


def probe_set(
    reg: Any, data: str, overrides: Sequence[str] = (), max_samples: int | None = None
) -> tuple[str, EvalSet]:
    """`jepakit eval RUN --data X [--set data.k=v] [--max-samples N]`: (a name for its block, the set).

    X is a registered dataset, or a folder of class sub-folders (read by core/image-folder). The settings are
    validated under the key `data`, as the options name them.
    """
    qualified = reg.resolve("datasets", data)
    if qualified is not None:
        table: dict[str, Any] = {"use": qualified}
        name = qualified.split("/")[-1]
    elif Path(data).is_dir() and reg.resolve("datasets", FOLDER_DATASET) is not None:
        table, name = {"use": FOLDER_DATASET, "path": str(data)}, Path(data).resolve().name or "folder"
    else:
        known = [n for s in reg.list("datasets") for n in (s.name, s.short)]
        raise JepakitError(
            f'--data: "{data}" is neither a dataset nor a folder.{did_you_mean(data, known)}',
            "name a dataset part (`jepakit list datasets`) or a folder of class sub-folders",
        )
    given = [o if o.startswith("data.") else f"data.{o}" for o in overrides]
    table = apply_overrides({"data": table}, given)["data"]
    if max_samples is not None:
        table["max_samples"] = max_samples
    return name if name != DEFAULT_EVAL_SET else f"{name}-probe", resolve_set(reg, table, "data")
