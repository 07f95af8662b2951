"""README.md of an export directory: a model card in the Hugging Face Hub's layout (YAML front matter first).

Torch-free. The evaluation table is the run's eval.json as written (every head: trained, random init, raw input),
so a reader sees the encoder next to the same architecture untrained and next to its raw input.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

ROWS = (("trained", "trained"), ("random init", "random_init"), ("raw input", "raw"))


def _yaml(value: Any) -> str:
    """A YAML scalar or flow list (JSON's syntax is YAML's too)."""
    return json.dumps(value)


def _cell(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return "-"
    return f"{value:.4g}" if isinstance(value, (int, float)) else str(value)


def eval_table(evaluation: Mapping[str, Any]) -> list[str]:
    """Markdown rows: one column per head, rows trained / random init / raw input (eval.json either layout)."""
    metrics = evaluation.get("metrics") if isinstance(evaluation.get("metrics"), Mapping) else {}
    if not metrics:
        metrics = {
            str(evaluation.get("metric", "score")): {
                "trained": evaluation.get("trained"),
                "random_init": evaluation.get("random_init"),
                "raw": evaluation.get("baseline_raw"),
            }
        }
    heads = [h for h, s in metrics.items() if isinstance(s, Mapping)]
    metric = evaluation.get("metric", "accuracy")
    names = [
        h if str(metrics[h].get("metric", metric)) in h else f"{h} {metrics[h].get('metric', metric)}" for h in heads
    ]
    lines = ["| encoder | " + " | ".join(names) + " |", "|---|" + "---|" * len(heads)]
    for label, key in ROWS:
        if key == "raw":
            label = str(evaluation.get("baseline_label") or label)
        cells = [_cell(metrics[h].get(key, metrics[h].get("baseline_raw") if key == "raw" else None)) for h in heads]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return lines


def model_card(
    info: Any,
    card: Mapping[str, Any],
    evaluation: Mapping[str, Any] | None,
    files: list[str],
    timm: Mapping[str, Any] | None,
) -> str:
    """The README.md text for an export of `info` (an EncoderInfo) with `card`'s licence, data and origin."""
    modality = "video" if len(info.input_shape) == 4 else "image" if len(info.input_shape) == 3 else "other"
    head = ["---", "library_name: jepakit", f"license: {card.get('license', 'other')}"]
    if modality == "image":
        head.append("pipeline_tag: image-feature-extraction")
    tags = ["jepakit", "jepa", "self-supervised-learning", info.variant.split("/")[0].split(" ")[0]]
    if timm:
        tags.append("timm")
    head += [
        f"tags: {_yaml(tags)}",
        f"variant: {_yaml(info.variant)}",
        f"data: {_yaml(card.get('data'))}",
        f"steps: {_yaml(card.get('steps'))}",
        f"encoder: {_yaml(info.encoder)}",
        f"jepakit_version: {_yaml(info.jepakit_version)}",
        "---",
        "",
    ]
    which = "EMA target encoder" if info.encoder == "target" else "context encoder"
    body = [
        f"# {info.variant}: {which}",
        "",
        f"The {which} of {card.get('origin', 'a jepakit run')}: `{info.part}` with the settings in "
        f"config.json, {card.get('steps', '?')} {card.get('steps_label', 'steps')} on {card.get('data', '?')}.",
        "",
        "## Use",
        "",
        "```python",
        "from jepakit.api import load_encoder",
        "",
        'encoder, info = load_encoder("path/to/this/folder")',
    ]
    if modality == "image":
        body += [
            'x = info.prepare(["photo.jpg"])   # [N, C, H, W], resized and normalised as in training',
            "feats = info.features(encoder, x)  # [N, F], the readout the probes below scored",
        ]
    else:
        body += ["tokens = encoder(x)  # x as config.json's input_shape, batched; tokens [N, T, D]"]
    body += ["```", ""]
    if timm:
        kwargs = ", ".join(f"{k}={v!r}" for k, v in timm["kwargs"].items())
        body += [
            "model.safetensors is in timm's VisionTransformer layout (no class token; `pos_embed` holds the "
            "fixed sin-cos table):",
            "",
            "```python",
            "import timm",
            "from safetensors.torch import load_file",
            "",
            f'model = timm.create_model("{timm["model_name"]}", pretrained=False, {kwargs})',
            'model.load_state_dict(load_file("model.safetensors"))',
            "tokens = model.forward_features(x)  # [N, tokens, D], equal to jepakit's encoder(x)",
            "```",
            "",
        ]
    shape = " x ".join(str(s) for s in info.input_shape)
    body += [
        "## Input",
        "",
        f"- shape: {shape} ({'C x T x H x W' if modality == 'video' else 'C x H x W'})",
        f"- values: {info.normalisation.get('range', 'see config.json')}",
    ]
    if info.normalisation.get("image_mean") is not None:
        body.append(
            f"- mean {info.normalisation['image_mean']}, std {info.normalisation['image_std']} on pixels in [0, 1]"
        )
    body += [
        f"- readout: `{info.readout}` (`mean`: average of the final-normed tokens; `last4_mean`: the last "
        "4 blocks' layer-normed token means, concatenated)",
        "",
    ]
    body += ["## Evaluation", ""]
    if evaluation:
        body += [
            f"Frozen features on {evaluation.get('dataset', '?')} ({evaluation.get('readout', info.readout)} "
            f"readout), n_train={evaluation.get('n_train', '?')}, n_test={evaluation.get('n_test', '?')}; "
            "the same architecture at random init and the raw input are scored by the same protocol:",
            "",
            *eval_table(evaluation),
            "",
        ]
        if evaluation.get("protocol"):
            body += [f"Protocol: {evaluation['protocol']}.", ""]
    else:
        body += ["No evaluation of these weights comes with this export (`jepakit eval` scores a run).", ""]
    body += (
        ["## Files", ""] + [f"- `{f}`" for f in files] + ["", "## Licence", "", str(card.get("licence_text", "")), ""]
    )
    return "\n".join(head + body)
