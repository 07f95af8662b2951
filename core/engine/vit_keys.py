"""ViT parameter names across layouts: the official I-JEPA / V-JEPA code's (timm's) and jepakit's.

The official encoders are pre-norm ViTs named as in timm; jepakit's blocks differ only in the MLP's names
(`mlp.0`/`mlp.2` for `mlp.fc1`/`mlp.fc2`) and the patch embedding's. One table per scope maps them, both ways:
`jepakit import` reads published checkpoints through it and `jepakit export --format timm` writes through it.
"""

from __future__ import annotations

import re

#: official / timm name -> jepakit name, per block (blocks.{i}.<name>)
BLOCK_KEYS: dict[str, str] = {
    "norm1.weight": "norm1.weight",
    "norm1.bias": "norm1.bias",
    "attn.qkv.weight": "attn.qkv.weight",
    "attn.qkv.bias": "attn.qkv.bias",
    "attn.proj.weight": "attn.proj.weight",
    "attn.proj.bias": "attn.proj.bias",
    "norm2.weight": "norm2.weight",
    "norm2.bias": "norm2.bias",
    "mlp.fc1.weight": "mlp.0.weight",
    "mlp.fc1.bias": "mlp.0.bias",
    "mlp.fc2.weight": "mlp.2.weight",
    "mlp.fc2.bias": "mlp.2.bias",
}
#: official / timm name -> jepakit name, outside the blocks
TOP_KEYS: dict[str, str] = {
    "patch_embed.proj.weight": "patch_embed.weight",
    "patch_embed.proj.bias": "patch_embed.bias",
    "pos_embed": "pos_embed",
    "norm.weight": "norm.weight",
    "norm.bias": "norm.bias",
}
#: wrapper prefixes the official code's DDP and multi-mask wrappers add (and torch.compile's)
PREFIXES = ("module.", "backbone.", "_orig_mod.")
#: a block parameter's name: its index and the name inside the block
BLOCK_NAME = re.compile(r"^blocks\.(\d+)\.(.+)$")


def strip_prefixes(key: str) -> str:
    """`module.backbone.blocks.0...` -> `blocks.0...`: the wrappers' prefixes, in any order, at the start only."""
    changed = True
    while changed:
        changed = False
        for p in PREFIXES:
            if key.startswith(p):
                key, changed = key[len(p) :], True
    return key


def to_jepakit_key(key: str) -> str | None:
    """An official / timm parameter name as jepakit's encoder names it (None: not part of the encoder)."""
    if key in TOP_KEYS:
        return TOP_KEYS[key]
    m = BLOCK_NAME.match(key)
    if m and m.group(2) in BLOCK_KEYS:
        return f"blocks.{m.group(1)}.{BLOCK_KEYS[m.group(2)]}"
    return None


def to_timm_key(key: str) -> str | None:
    """A jepakit encoder key in timm's (= the official) layout; the inverse of `to_jepakit_key`."""
    top = {v: k for k, v in TOP_KEYS.items()}
    if key in top:
        return top[key]
    m = BLOCK_NAME.match(key)
    inverse = {v: k for k, v in BLOCK_KEYS.items()}
    if m and m.group(2) in inverse:
        return f"blocks.{m.group(1)}.{inverse[m.group(2)]}"
    return None
