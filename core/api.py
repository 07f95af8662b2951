"""The public library for plugins and scripts: everything here is a promise, everything else in jepakit is private.

A plugin imports from four places only: `jepakit` (torch-free: `hookimpl`, `JepakitError`), `jepakit.hookspecs`
(the hooks and their register types), `jepakit.interfaces` (protocols and dataclasses, torch-free) and this
module (torch-using). `__all__` is the contract: names are added within a major version of the plugin API, never
renamed or removed, and `docs/hooks.md` documents each one (a test checks that the two agree). Core may move its
private modules freely behind this list; a test fails if a bundled plugin imports any of them.

The groups:
- layers: attention with the fast CPU-bf16 path, self-attention / cross-attention / self+cross blocks, the token
  encoder base class, sin-cos positions, I-JEPA's init;
- building a JEPA: core's masked-JEPA model and method, `assemble` (masker, predictor, target and energy terms
  around any encoder), the built bundle, the mask sampler the loader uses, the DDP batch gather;
- data: the in-memory tensor split, stratified splitting, class folders (found, and read with skips counted),
  image fitting and loading, JSONL records, the cache folder;
- training: precision (autocast), the cosine ramp, the EMA teacher's momentum ramp and update, the seeded
  minibatch loop heads train with, VICReg's variance and covariance terms;
- evaluation: feature extraction, raw baselines, collapse statistics, core's heads, the one evaluation routine for
  encoders, the result type and its one writer, the verdict;
- plots: a figure of a given size and its atomic PNG save.
- using a trained encoder: `load_encoder` (an export or run directory -> the encoder in eval mode and its
  `EncoderInfo`: how it was built, its input shape and normalisation, its readout).

Importing this module is cheap and torch-free: each name is imported from its private module on first use (PEP 562
`__getattr__`), so a plugin's torch-free config module may import `ViTConfig` from here and `jepakit --help` stays
fast. Type checkers and IDEs see the real objects through the `TYPE_CHECKING` imports below.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jepakit.builtin.config import AttentiveProbeConfig, KNNConfig, LinearProbeConfig, PredictorConfig, ViTConfig
    from jepakit.builtin.heads import AttentiveProbe, KNNProbe, LinearProbe
    from jepakit.engine.distributed import gather_batch
    from jepakit.engine.evaluate import (
        MONITOR_SAMPLES,
        collapse_stats,
        evaluate_encoders,
        extract_features,
        raw_features,
    )
    from jepakit.engine.export import EncoderInfo, load_encoder
    from jepakit.engine.jepa import JEPA, Built, JEPAMethod, assemble, build_encoder
    from jepakit.engine.loader import sample_masks
    from jepakit.engine.results import Verdict, read_eval, verdict, write_eval
    from jepakit.engine.run_eval import evaluate_built, head_factory
    from jepakit.framework.compose import ResolvedRun
    from jepakit.interfaces import EvalResult, Scores
    from jepakit.library.data import (
        IMAGE_SUFFIXES,
        ClassFolderData,
        ImageSplit,
        cache_dir,
        class_folders,
        fit_image,
        json_object,
        load_image,
        read_class_folders,
        stratified_split,
    )
    from jepakit.library.images import DecodedSamples
    from jepakit.library.layers import (
        Attention,
        Block,
        CrossAttention,
        SelfCrossBlock,
        TokenEncoder,
        attention,
        gather_tokens,
        init_transformer,
        sincos_1d,
        sincos_pos_embed,
    )
    from jepakit.library.losses import vicreg_var_cov
    from jepakit.library.plots import new_figure, save_png
    from jepakit.library.training import autocast, cosine, ema_momentum, ema_update_, fit_minibatches

__all__ = [
    # layers
    "Attention",
    "Block",
    "CrossAttention",
    "SelfCrossBlock",
    "TokenEncoder",
    "attention",
    "gather_tokens",
    "init_transformer",
    "sincos_1d",
    "sincos_pos_embed",
    # building a JEPA
    "JEPA",
    "Built",
    "JEPAMethod",
    "ResolvedRun",
    "assemble",
    "build_encoder",
    "gather_batch",
    "sample_masks",
    "PredictorConfig",
    "ViTConfig",
    # data
    "DecodedSamples",
    "IMAGE_SUFFIXES",
    "ClassFolderData",
    "ImageSplit",
    "cache_dir",
    "class_folders",
    "fit_image",
    "json_object",
    "load_image",
    "read_class_folders",
    "stratified_split",
    # training
    "autocast",
    "cosine",
    "ema_momentum",
    "ema_update_",
    "fit_minibatches",
    "vicreg_var_cov",
    # evaluation
    "MONITOR_SAMPLES",
    "AttentiveProbe",
    "AttentiveProbeConfig",
    "EvalResult",
    "KNNConfig",
    "KNNProbe",
    "LinearProbe",
    "LinearProbeConfig",
    "Scores",
    "Verdict",
    "collapse_stats",
    "evaluate_built",
    "evaluate_encoders",
    "extract_features",
    "head_factory",
    "raw_features",
    "read_eval",
    "verdict",
    "write_eval",
    # plots
    "new_figure",
    "save_png",
    # using a trained encoder
    "EncoderInfo",
    "load_encoder",
]

#: name -> the private module that defines it
_HOME: dict[str, str] = {
    "AttentiveProbeConfig": "jepakit.builtin.config",
    "KNNConfig": "jepakit.builtin.config",
    "LinearProbeConfig": "jepakit.builtin.config",
    "PredictorConfig": "jepakit.builtin.config",
    "ViTConfig": "jepakit.builtin.config",
    "AttentiveProbe": "jepakit.builtin.heads",
    "KNNProbe": "jepakit.builtin.heads",
    "LinearProbe": "jepakit.builtin.heads",
    "gather_batch": "jepakit.engine.distributed",
    "EncoderInfo": "jepakit.engine.export",
    "load_encoder": "jepakit.engine.export",
    "MONITOR_SAMPLES": "jepakit.engine.evaluate",
    "collapse_stats": "jepakit.engine.evaluate",
    "evaluate_encoders": "jepakit.engine.evaluate",
    "extract_features": "jepakit.engine.evaluate",
    "raw_features": "jepakit.engine.evaluate",
    "JEPA": "jepakit.engine.jepa",
    "Built": "jepakit.engine.jepa",
    "JEPAMethod": "jepakit.engine.jepa",
    "assemble": "jepakit.engine.jepa",
    "build_encoder": "jepakit.engine.jepa",
    "sample_masks": "jepakit.engine.loader",
    "Verdict": "jepakit.engine.results",
    "read_eval": "jepakit.engine.results",
    "verdict": "jepakit.engine.results",
    "write_eval": "jepakit.engine.results",
    "evaluate_built": "jepakit.engine.run_eval",
    "head_factory": "jepakit.engine.run_eval",
    "ResolvedRun": "jepakit.framework.compose",
    "EvalResult": "jepakit.interfaces",
    "Scores": "jepakit.interfaces",
    "DecodedSamples": "jepakit.library.images",
    "IMAGE_SUFFIXES": "jepakit.library.data",
    "ClassFolderData": "jepakit.library.data",
    "ImageSplit": "jepakit.library.data",
    "cache_dir": "jepakit.library.data",
    "class_folders": "jepakit.library.data",
    "fit_image": "jepakit.library.data",
    "json_object": "jepakit.library.data",
    "load_image": "jepakit.library.data",
    "read_class_folders": "jepakit.library.data",
    "stratified_split": "jepakit.library.data",
    "vicreg_var_cov": "jepakit.library.losses",
    "Attention": "jepakit.library.layers",
    "Block": "jepakit.library.layers",
    "CrossAttention": "jepakit.library.layers",
    "SelfCrossBlock": "jepakit.library.layers",
    "TokenEncoder": "jepakit.library.layers",
    "attention": "jepakit.library.layers",
    "gather_tokens": "jepakit.library.layers",
    "init_transformer": "jepakit.library.layers",
    "sincos_1d": "jepakit.library.layers",
    "sincos_pos_embed": "jepakit.library.layers",
    "new_figure": "jepakit.library.plots",
    "save_png": "jepakit.library.plots",
    "autocast": "jepakit.library.training",
    "cosine": "jepakit.library.training",
    "ema_momentum": "jepakit.library.training",
    "ema_update_": "jepakit.library.training",
    "fit_minibatches": "jepakit.library.training",
}


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module 'jepakit.api' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
