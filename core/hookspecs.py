"""The hooks a jepakit plugin implements. This is the one file a plugin author needs to read.

A plugin is a module (usually `<your_package>.plugin`) exposed through an entry point in the `jepakit` group:

    [project.entry-points.jepakit]
    myjepa = "jepakit_myjepa.plugin"

It implements any of the registration hooks below, each of which receives a `register` function:

    from jepakit import hookimpl

    @hookimpl
    def jepa_register_maskers(register):
        register("tube", "jepakit_myjepa.masks:TubeMasker", config=TubeConfig,
                 summary="3-D tube multi-block masks", layout="grid3d")

Rules that keep the platform fast and robust:
- `target` is a lazy "module:attr" string: it is imported only when the part is built, so listing plugins (and
  `jepakit --help`) never imports torch. Keep `plugin.py` and your config dataclasses torch-free.
- `config` is a dataclass whose fields (with defaults) are the part's settings. It is the schema for TOML
  validation, `jepakit show` and the docs. The built object is called as `target(cfg, **context)`, where
  `context` holds what composition knows (see `jepakit.interfaces` for each kind's constructor and contract).
  Context is *offered*, as pluggy offers hook arguments: a constructor receives only the keywords it names
  (`meta`, the dataset's facts such as electrode positions, is there for parts that need it).
- Names are qualified with your plugin's name ("myjepa/tube"); registering a name another plugin owns is an
  error that names both plugins. `aliases` adds extra short names.
- `layout` names the token geometry a part produces or consumes (`grid2d`, `grid3d`, `tf2d`, `electrodes`,
  `seq1d`, `points`, ...). Composition rejects, say, a 3-D masker on a 2-D encoder before any tensor exists.
- Each of your hook implementations runs on its own inside a guard: if it raises, your plugin is reported as
  broken and every other plugin keeps working. A hook whose name is misspelled is reported too.

This file is append-only within a major version of `JEPAKIT_PLUGIN_API`: hooks and keyword arguments are added,
never renamed or removed. Declare `jepakit>=X.Y,<2` in your plugin's dependencies, never an exact pin.
"""

from __future__ import annotations

from typing import Any, Protocol

import pluggy

hookspec = pluggy.HookspecMarker("jepakit")


class RegisterFn(Protocol):
    """The `register` callable every registration hook receives."""

    def __call__(
        self,
        name: str,
        target: str,
        *,
        config: type | None = None,
        summary: str = "",
        modality: str = "",
        layout: str = "",
        aliases: tuple[str, ...] = (),
    ) -> None: ...


class RegisterVariantFn(Protocol):
    """The `register` callable `jepa_register_variants` receives.

    `spec` is a TOML-shaped dict: one table per part (`encoder`, `masker`, `predictor`, `target`, `data`, and
    optionally `method`), a `loss` table of named energy terms, and defaults for `optim`, `run`, `eval`. Each
    part table names a registered part with `use` and sets its config fields. It is the same schema as a
    `[variants.NAME]` table in plugins.toml, so a user composition and a published variant are one kind of thing.
    """

    def __call__(
        self, name: str, spec: dict[str, Any], *, summary: str = "", modality: str = "", aliases: tuple[str, ...] = ()
    ) -> None: ...


@hookspec
def jepa_register_encoders(register: RegisterFn) -> None:
    """Register tokenizer+encoder pairs (ViT-2D, ViT-3D tubelets, spectrogram ViT, EEG channel transformer ...).

    Built as `target(cfg, input_shape=..., meta=...)`; must satisfy `jepakit.interfaces.Encoder`.
    """


@hookspec
def jepa_register_maskers(register: RegisterFn) -> None:
    """Register maskers that sample context/target token indices (multi-block 2-D, tube 3-D, curriculum ...).

    Built as `target(cfg, grid=..., meta=...)`; must satisfy `jepakit.interfaces.Masker` and pickle (it runs in
    DataLoader workers). Optional: `step_aware = True` for curricula, `draw(x, path_stem)` for mask pictures.
    """


@hookspec
def jepa_register_predictors(register: RegisterFn) -> None:
    """Register predictors that map context features to target features (narrow ViT, cross-attention, MLP ...).

    Built as `target(cfg, embed_dim=..., grid=..., meta=...)`; must satisfy `jepakit.interfaces.Predictor`.
    """


@hookspec
def jepa_register_losses(register: RegisterFn) -> None:
    """Register energy terms (smooth-L1, L2, VICReg, SIGReg, flow, contrastive ...).

    Built as `target(cfg)`; must satisfy `jepakit.interfaces.EnergyTerm`. A variant's loss is a weighted sum.
    """


@hookspec
def jepa_register_targets(register: RegisterFn) -> None:
    """Register target strategies: how target features are made (EMA teacher with momentum ramp, stop-grad ...).

    Built as `target(cfg, encoder=..., total_steps=...)`; must satisfy `jepakit.interfaces.TargetStrategy`.
    """


@hookspec
def jepa_register_datasets(register: RegisterFn) -> None:
    """Register datasets that ship with a package or are generated offline, and loaders for users' own files.

    Built as `target(cfg, seed=...)`; must return a `jepakit.interfaces.DataSplits`. Nothing may download.
    """


@hookspec
def jepa_register_heads(register: RegisterFn) -> None:
    """Register downstream heads and probes (linear probe, k-NN, attentive probe, task decoders ...).

    Built as `target(cfg)`; must satisfy `jepakit.interfaces.Head`. Runs name them in `eval.heads`, with
    their settings in `[eval.heads.NAME]` tables.
    """


@hookspec
def jepa_register_loggers(register: RegisterFn) -> None:
    """Register metric loggers (TensorBoard, experiment trackers ...); metrics.jsonl is always written.

    Built as `target(cfg, run_dir=...)`; must offer `log(row: dict)` and `close()`. Runs name them in
    `run.loggers`, with their settings in `[run.loggers.NAME]` tables.
    """


@hookspec
def jepa_register_methods(register: RegisterFn) -> None:
    """Register training methods: how a run's parts become a model and how the trained run is evaluated.

    Built as `target(cfg)`; must satisfy `jepakit.interfaces.Method`. Most variants use the default `core/jepa`
    (masked latent prediction); register one only when the objective does not fit it (MC-JEPA's flow + content).
    """


@hookspec
def jepa_register_variants(register: RegisterVariantFn) -> None:
    """Register named compositions: a published JEPA with its paper defaults, and its tiny presets."""


#: Hook name -> registry kind. The order is the order `jepakit list` shows kinds in.
KINDS: dict[str, str] = {
    "jepa_register_encoders": "encoders",
    "jepa_register_maskers": "maskers",
    "jepa_register_predictors": "predictors",
    "jepa_register_losses": "losses",
    "jepa_register_targets": "targets",
    "jepa_register_datasets": "datasets",
    "jepa_register_heads": "heads",
    "jepa_register_loggers": "loggers",
    "jepa_register_methods": "methods",
    "jepa_register_variants": "variants",
}
