"""A contract suite any plugin runs on its own parts (timm's registry-parametrized model tests, made reusable):

    def test_contract():  # in the plugin's tests
        check_plugin("myjepa", tiny={"myjepa/tube": {"min_keep": 2, "_grid": (4, 8, 8)}})

`check_<kind>(spec, tiny)` builds a part from its default config plus `tiny` overrides (paper defaults are huge)
and checks its `jepakit.interfaces` protocol: shapes, dtypes, finite values and gradients, determinism under a
seed, pickling. A failure is an AssertionError naming the part and the check. Keys of `tiny` starting with "_" are
build context, not config: `_input_shape` (encoders, targets), `_grid` (maskers, predictors), `_embed_dim`
(predictors, losses); defaults come from `CONTEXT` by layout, so parts on layouts other than grid2d pass their own.
Kind defaults (`TINY`) apply only to fields a config has; per-part overrides apply strictly.
"""

from __future__ import annotations

import dataclasses
import math
import pickle
import tempfile
from pathlib import Path
from typing import Any, cast

import torch
from torch import nn

from jepakit.engine.loader import sample_masks
from jepakit.framework.compose import resolve_run
from jepakit.framework.registry import PartSpec
from jepakit.interfaces import (
    Encoder,
    EnergyTerm,
    Head,
    Masker,
    MaskSet,
    Method,
    Predictor,
    TargetStrategy,
    describe_head,
    head_input,
)
from jepakit.testing.harness import (  # the building blocks (harness.py); CONTEXT and KEYS re-exported
    BATCH,
    TINY,
    _build,
    _check,
    _fail,
    _grads,
    _probe,
    _shape,
    _split,
    _subset,
    check_config,
    worker_copy,
)
from jepakit.testing.harness import CONTEXT as CONTEXT
from jepakit.testing.harness import KEYS as KEYS


def check_encoder(spec: PartSpec, cfg_overrides: dict[str, Any] | None = None) -> None:
    """[B, N, D] without keep, [B, Nc, D] with keep (all kept = no keep), forward_layers, gradients, determinism."""
    cfg, ctx = check_config(spec, cfg_overrides), _split(spec, cfg_overrides)[1]
    shape = tuple(ctx["_input_shape"])
    x = torch.randn(BATCH, *shape, generator=torch.Generator().manual_seed(0))
    torch.manual_seed(0)
    enc = _build(spec, cfg, input_shape=shape, meta=ctx.get("_meta", {}))
    with _check(spec, "forward"):
        assert isinstance(enc, nn.Module), f"built a {type(enc).__name__}, not an nn.Module"
        assert isinstance(enc, Encoder), "missing one of embed_dim, grid, layout, forward, forward_layers"
        assert not spec.layout or enc.layout == spec.layout, f"layout {enc.layout!r}, registered as {spec.layout!r}"
        n, d = math.prod(enc.grid), int(enc.embed_dim)
        out = enc(x)
    _shape(spec, "forward", out, (BATCH, n, d), "forward(x)")
    keep = _subset(n, max(1, n // 2), BATCH)
    with _check(spec, "forward with keep"):
        _shape(spec, "forward with keep", enc(x, keep), (BATCH, keep.shape[1], d), "forward(x, keep)")
        torch.testing.assert_close(
            enc(x, torch.arange(n).expand(BATCH, n)),
            out,
            msg=lambda m: f"keeping every token differs from keep=None: {m}",
        )
    with _check(spec, "forward_layers"):
        layers = enc.forward_layers(x, 1)
        assert isinstance(layers, (list, tuple)) and len(layers) == 1, f"forward_layers(x, 1) gave {type(layers)}"
        _shape(spec, "forward_layers", layers[0], (BATCH, n, d), "forward_layers(x, 1)[0]")
    _grads(spec, enc, _probe(out, 1) + _probe(enc(x, keep), 2))
    torch.manual_seed(0)
    again = _build(spec, cfg, input_shape=shape, meta=ctx.get("_meta", {}))
    with _check(spec, "determinism"), torch.no_grad():
        assert torch.equal(again(x), out.detach()), "two builds under torch.manual_seed(0) give different outputs"


def check_masker(spec: PartSpec, cfg_overrides: dict[str, Any] | None = None, seeds: int = 5) -> None:
    """MaskSet shapes, dtypes, index ranges, uniqueness, disjointness (unless allow_overlap), seeds, pickling."""
    cfg, ctx = check_config(spec, cfg_overrides), _split(spec, cfg_overrides)[1]
    grid = tuple(ctx["_grid"])
    n, overlap = math.prod(grid), bool(getattr(cfg, "allow_overlap", False))
    m = _build(spec, cfg, grid=grid, meta=ctx.get("_meta", {}))
    with _check(spec, "protocol"):
        assert isinstance(m, Masker), "missing one of grid, layout, __call__(batch_size, generator)"
        assert tuple(m.grid) == grid, f"grid {m.grid}, built with {grid}"
        assert not spec.layout or m.layout == spec.layout, f"layout {m.layout!r}, registered as {spec.layout!r}"

    def sample(masker: Any, seed: int, global_seed: int = 0) -> MaskSet:
        torch.manual_seed(global_seed)  # masks must not depend on the global RNG
        with _check(spec, "sampling"):
            return sample_masks(masker, BATCH, torch.Generator().manual_seed(seed), step=seed, total_steps=seeds)

    for seed in range(seeds):
        ms = sample(m, seed)
        with _check(spec, "MaskSet"):
            assert isinstance(ms, MaskSet), f"returned a {type(ms).__name__}, not a MaskSet"
            c, t = ms.context, ms.targets
            assert c.dtype == torch.long and t.dtype == torch.long, f"dtypes {c.dtype}, {t.dtype}: expected long"
            assert c.dim() == 2 and c.shape[0] == BATCH and c.shape[1] >= 1, f"context shape {list(c.shape)}"
            assert t.dim() == 3 and t.shape[0] == BATCH and min(t.shape[1:]) >= 1, f"targets shape {list(t.shape)}"
            for name, idx in (("context", c), ("targets", t)):
                assert int(idx.min()) >= 0 and int(idx.max()) < n, f"{name} indices outside [0, {n})"
            assert all(len(set(r.tolist())) == len(r) for r in c), "context repeats a token"
            assert all(len(set(b.tolist())) == len(b) for b in t.flatten(0, 1)), "a target block repeats a token"
            if not overlap:
                for row, (cr, tr) in enumerate(zip(c.tolist(), t.flatten(1).tolist(), strict=True)):
                    both = set(cr) & set(tr)
                    assert not both, f"seed {seed} row {row}: context overlaps targets at {sorted(both)[:5]}"
    with _check(spec, "determinism"):
        a, b = sample(m, 3, 1), sample(_build(spec, cfg, grid=grid, meta=ctx.get("_meta", {})), 3, 2)
        assert torch.equal(a.context, b.context) and torch.equal(a.targets, b.targets), (
            "equal generator seeds gave different masks"
        )
    with _check(spec, "pickling"):
        copied = sample(worker_copy(m), 3)
        assert torch.equal(a.context, copied.context) and torch.equal(a.targets, copied.targets), (
            "the worker copy of the masker samples different masks"
        )


def check_predictor(spec: PartSpec, cfg_overrides: dict[str, Any] | None = None) -> None:
    """[B, M, Nt, D] from ctx [B, Nc, D]; finite gradients to every parameter and to ctx; determinism."""
    cfg, ctx = check_config(spec, cfg_overrides), _split(spec, cfg_overrides)[1]
    grid, d = tuple(ctx["_grid"]), int(ctx["_embed_dim"])
    n, m, nt = math.prod(grid), 2, max(1, math.prod(grid) // 4)
    ctx_idx, tgt_idx = _subset(n, max(1, n // 2), BATCH, 0), _subset(n, m * nt, BATCH, 1).view(BATCH, m, nt)
    feats = torch.randn(BATCH, ctx_idx.shape[1], d, generator=torch.Generator().manual_seed(0), requires_grad=True)
    torch.manual_seed(0)
    pred = _build(spec, cfg, embed_dim=d, grid=grid, meta=ctx.get("_meta", {}))
    with _check(spec, "forward"):
        assert isinstance(pred, nn.Module) and isinstance(pred, Predictor), f"built a {type(pred).__name__}"
        out = pred(feats, ctx_idx, tgt_idx)
    _shape(spec, "forward", out, (BATCH, m, nt, d), "forward(ctx, ctx_idx, tgt_idx)")
    _grads(spec, pred, _probe(out))
    if feats.grad is None or not bool(torch.isfinite(feats.grad).all()):
        _fail(spec, "gradients", "the context features got no finite gradient")
    torch.manual_seed(0)
    again = _build(spec, cfg, embed_dim=d, grid=grid, meta=ctx.get("_meta", {}))
    with _check(spec, "determinism"), torch.no_grad():
        assert torch.equal(again(feats, ctx_idx, tgt_idx), out.detach()), (
            "two builds under torch.manual_seed(0) give different outputs"
        )


def check_target(spec: PartSpec, cfg_overrides: dict[str, Any] | None = None, encoder_factory: Any = None) -> None:
    """targets [B, M, Nt, D] without grad; update runs and leaves the student alone; teacher; determinism.
    The student is `encoder_factory(input_shape)`, by default core's ViT at TINY size."""
    from jepakit.builtin.config import ViTConfig
    from jepakit.builtin.models import VisionTransformer

    cfg, ctx = check_config(spec, cfg_overrides), _split(spec, cfg_overrides)[1]
    shape = tuple(ctx["_input_shape"])
    factory = encoder_factory or (lambda s: VisionTransformer(ViTConfig(**TINY["encoders"]), input_shape=s))
    x = torch.randn(BATCH, *shape, generator=torch.Generator().manual_seed(0))

    def build() -> tuple[nn.Module, Any]:
        torch.manual_seed(0)
        enc = factory(shape)
        return enc, _build(spec, cfg, encoder=enc, total_steps=10)

    enc, tgt = build()
    geometry = cast(Encoder, enc)  # grid and embed_dim, as the Encoder contract promises
    n, d = math.prod(geometry.grid), int(geometry.embed_dim)
    tgt_idx = _subset(n, 2 * max(1, n // 4), BATCH).view(BATCH, 2, -1)
    with _check(spec, "targets"):
        assert isinstance(tgt, nn.Module) and isinstance(tgt, TargetStrategy), f"built a {type(tgt).__name__}"
        assert isinstance(tgt.teacher, nn.Module) and tgt.state_dict() is not None, "teacher is not an nn.Module"
        out = tgt.targets(x, tgt_idx)
    _shape(spec, "targets", out, (BATCH, 2, tgt_idx.shape[2], d), "targets(x, tgt_idx)")
    if out.requires_grad or out.grad_fn is not None:
        _fail(spec, "targets", "targets carry a gradient (they must be computed without one)")
    with _check(spec, "update"):
        with torch.no_grad():
            torch._foreach_add_(list(enc.parameters()), [0.1 * torch.randn_like(p) for p in enc.parameters()])
        student = {k: v.clone() for k, v in enc.state_dict().items()}
        for step in (0, 5, 10):
            tgt.update(enc, step)
        for k, v in enc.state_dict().items():
            assert torch.equal(v, student[k]), f"update changed the student encoder's {k!r}"
        _shape(spec, "update", tgt.targets(x, tgt_idx), tuple(out.shape), "targets after update")
    with _check(spec, "determinism"):
        assert torch.equal(build()[1].targets(x, tgt_idx), out), "two builds under torch.manual_seed(0) differ"


def check_loss(spec: PartSpec, cfg_overrides: dict[str, Any] | None = None) -> None:
    """A finite scalar with finite gradients to pred (and to the `context` aux where used); determinism."""
    cfg, ctx = check_config(spec, cfg_overrides), _split(spec, cfg_overrides)[1]
    d, g = int(ctx["_embed_dim"]), torch.Generator().manual_seed(0)
    pred = torch.randn(BATCH, 2, 3, d, generator=g).requires_grad_(True)
    target = torch.randn(BATCH, 2, 3, d, generator=g)
    context = torch.randn(BATCH, 5, d, generator=g).requires_grad_(True)
    term = _build(spec, cfg)
    with _check(spec, "forward"):
        assert isinstance(term, nn.Module) and isinstance(term, EnergyTerm), f"built a {type(term).__name__}"
        torch.manual_seed(0)  # stochastic terms (SIGReg's random directions) draw from the global RNG
        out = term(pred, target, context=context)
    _shape(spec, "forward", out, (), "the energy")
    with _check(spec, "gradients"):
        out.backward()
        assert pred.grad is not None or context.grad is not None, "neither pred nor context gets a gradient"
        for name, t in (("pred", pred), ("context", context)):
            assert t.grad is None or bool(torch.isfinite(t.grad).all()), f"the gradient to {name} holds NaN or inf"
    with _check(spec, "determinism"):
        torch.manual_seed(0)
        assert torch.equal(_build(spec, cfg)(pred, target, context=context), out), (
            "same seed and inputs, different energy"
        )


def check_head(spec: PartSpec, cfg_overrides: dict[str, Any] | None = None) -> None:
    """fit on separable features, then score returns a finite value for the head's metric."""
    cfg = check_config(spec, cfg_overrides)
    g = torch.Generator().manual_seed(0)
    y = torch.arange(60) % 3
    feats = (torch.randn(60, 8, generator=g) + 4.0 * nn.functional.one_hot(y, 8)).numpy()
    head = _build(spec, cfg)
    with _check(spec, "fit and score"):
        assert isinstance(head, Head), "missing one of metric, higher_is_better, fit, score"
        assert isinstance(head.metric, str) and isinstance(head.higher_is_better, bool), "bad metric attributes"
        head_input(head)  # the optional `input` is "pooled" or "tokens"
        assert describe_head(head).strip(), "describe() returned an empty string"
        head.fit(feats[:45], y[:45].numpy())
        scores = head.score(feats[45:], y[45:].numpy())
        assert isinstance(scores, dict) and head.metric in scores, f"score gave {scores!r}, no {head.metric!r}"
        assert all(math.isfinite(float(v)) for v in scores.values()), f"non-finite scores {scores}"


def check_method(spec: PartSpec, cfg_overrides: dict[str, Any] | None = None) -> None:
    """Builds from its config and offers `build` and `evaluate` (what the training loop and `jepakit eval` call)."""
    cfg = check_config(spec, cfg_overrides)
    method = _build(spec, cfg)
    with _check(spec, "interface"):
        assert isinstance(method, Method), "missing build(resolved, splits) or evaluate(resolved, built, run_dir)"
        pickle.dumps(method)


def check_logger(spec: PartSpec, cfg_overrides: dict[str, Any] | None = None) -> None:
    """Builds into a run directory, logs two rows (non-numbers are ignored), closes."""
    cfg = check_config(spec, cfg_overrides)
    with tempfile.TemporaryDirectory() as tmp:
        logger = _build(spec, cfg, run_dir=Path(tmp))
        with _check(spec, "log and close"):
            logger.log({"step": 1, "loss": 0.5, "lr": 1e-3, "note": "text"})
            logger.log({"step": 2, "loss": float("nan")})
            logger.close()


def check_variant(spec: PartSpec, state: Any) -> None:
    """The variant resolves against the installed parts (nothing is built)."""
    with _check(spec, "resolve"):
        resolve_run({"variant": spec.name}, state)


def isolated_state() -> Any:
    """Installed plugins loaded with an empty plugins.toml, so the user's file cannot interfere."""
    from jepakit.framework.plugins import load_plugins

    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "plugins.toml").write_text("", encoding="utf-8")
        return load_plugins(Path(tmp) / "plugins.toml")


CHECKS = {
    "encoders": check_encoder,
    "maskers": check_masker,
    "predictors": check_predictor,
    "targets": check_target,
    "losses": check_loss,
    "heads": check_head,
    "datasets": check_config,
    "methods": check_method,
    "loggers": check_logger,
}


def tiny_for(spec: PartSpec, tiny: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """Per-part overrides if given, else the kind's defaults restricted to the fields the config has."""
    if tiny and spec.name in tiny:
        return dict(tiny[spec.name])
    names = {f.name for f in dataclasses.fields(spec.config)} if spec.config else set()
    return {k: v for k, v in TINY.get(spec.kind, {}).items() if k in names}


def check_part(spec: PartSpec, tiny: dict[str, Any] | None = None, *, state: Any = None) -> None:
    """Run the contract of the part's kind. `tiny` overrides this part's config (default: `tiny_for(spec)`)."""
    if spec.kind == "variants":
        return check_variant(spec, state if state is not None else isolated_state())
    if spec.kind not in CHECKS:
        _fail(spec, "kind", f"no contract for kind {spec.kind!r}")
    CHECKS[spec.kind](spec, tiny_for(spec) if tiny is None else tiny)


def check_plugin(plugin_name: str, tiny: dict[str, dict] | None = None) -> list[str]:
    """Check every part a plugin registered (tiny overrides by qualified name, then kind defaults) and resolve each
    of its variants. Returns the qualified names checked."""
    state = isolated_state()
    names = [r.name for r in state.records] + [r.distribution for r in state.records]
    assert plugin_name in names, f'plugin "{plugin_name}" is not installed (installed: {sorted(set(names) - {""})})'
    rec = state.record(plugin_name)
    assert rec.status == "ok", f'plugin "{rec.name}" is {rec.status}: {rec.error}'
    specs = state.registry.by_plugin(rec.name)
    assert specs, f'plugin "{rec.name}" registered nothing'
    for spec in specs:
        check_part(spec, tiny_for(spec, tiny), state=state)
    return [s.name for s in specs]
