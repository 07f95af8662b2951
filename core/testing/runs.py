"""A tiny end-to-end run for plugin tests: train a variant a few steps into `out` and return the summary.

Every bundled plugin's `test_train.py` does the same set-up (isolated plugins, single-threaded, frequent
checkpoints and monitors, no DataLoader workers); this keeps it in one place. `evaluate_untrained` and
`check_collapse_warnings` exercise a method's `evaluate` and core's eval.json writer without training.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

#: Run settings that make a few steps exercise checkpoints, monitors and logs without workers or extra threads.
QUICK = ["run.workers=0", "run.threads=1", "run.ckpt_every=2", "run.monitor_every=2", "run.log_every=1"]


def train_tiny(variant: str, overrides: list[str], out: Path) -> dict[str, Any]:
    """Train `variant` with `overrides` (plus QUICK) into `out` from the installed plugins, then evaluate."""
    import torch

    from jepakit.engine.train import train
    from jepakit.framework.compose import resolve_run
    from jepakit.testing.contracts import isolated_state

    run = resolve_run({"variant": variant}, isolated_state(), [*overrides, f'run.out="{out}"', *QUICK])
    threads = torch.get_num_threads()
    try:
        return train(run)
    finally:
        torch.set_num_threads(threads)  # run.threads=1 must not slow the rest of the session


def evaluate_untrained(variant: str, overrides: list[str], out: Path) -> tuple[Any, Any, Any]:
    """Build `variant` (no training step) into the run directory `out` and evaluate it through its method.

    Returns (resolved run, the method's `EvalResult`, the `RunDir`); nothing is written to eval.json.
    """
    import torch

    from jepakit.engine.jepa import build
    from jepakit.engine.runs import RunDir
    from jepakit.framework.compose import resolve_run
    from jepakit.testing.contracts import isolated_state

    run = resolve_run({"variant": variant}, isolated_state(), [*overrides, f'run.out="{out}"', *QUICK])
    run_dir = RunDir(out)
    run_dir.create()
    run_dir.plots.mkdir(exist_ok=True)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        built = build(run)
        return run, built.method.evaluate(run, built, run_dir), run_dir
    finally:
        torch.set_num_threads(threads)


def check_collapse_warnings(variant: str, overrides: list[str], out: Path) -> dict[str, Any]:
    """A method's result gets core's collapse warnings in eval.json, whatever the method: one the training loop
    logged (a planted metrics.jsonl row) and one for the evaluated encoder's feature std (run.collapse_std is set
    above any std). Returns the written eval.json."""
    import json

    from jepakit.engine.results import write_eval
    from jepakit.interfaces import EVAL_SCHEMA, EvalResult

    resolved, result, run_dir = evaluate_untrained(variant, [*overrides, "run.collapse_std=1e9"], out)
    assert isinstance(result, EvalResult), f"{variant}: evaluate returned {type(result).__name__}, not EvalResult"
    assert not run_dir.eval_json.exists(), f"{variant}: the method wrote eval.json itself"
    assert "feature_std" in result.collapse, f"{variant}: the result has no collapse statistics"
    run_dir.log({"step": 7, "loss": 0.5, "feature_std": 1e-4, "collapse_warning": 1e-3})
    written = write_eval(result, resolved, run_dir)
    ev = json.loads(run_dir.eval_json.read_text(encoding="utf-8"))
    assert ev == json.loads(json.dumps(written.to_dict())), "eval.json differs from the returned result"
    assert any("collapse at step 7" in w for w in ev["warnings"]), ev["warnings"]
    assert any("evaluated encoder's feature std" in w for w in ev["warnings"]), ev["warnings"]
    assert ev["train"] == {"steps": 7, "final_loss": 0.5} and ev["schema"] == EVAL_SCHEMA
    assert EvalResult.from_dict(ev) == written, "eval.json does not read back as the written result"
    return ev
