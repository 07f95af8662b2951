"""Sweeps and run bookkeeping: grid expansion, run-directory names, and the status of every run under a folder.

Torch-free: `jepakit runs` and `jepakit sweep` planning never import torch; each run of a sweep is its own
`jepakit train` process, so a crash or a kill costs one run, not the sweep.
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jepakit.engine.results import read_eval
from jepakit.errors import JepakitError
from jepakit.framework.config import load_toml, parse_override
from jepakit.interfaces import EvalResult

#: Keys every run differs in by construction: never shown as "settings that differ".
BOOKKEEPING = {"run.out", "run.threads", "run.workers"}


def split_values(text: str) -> list[str]:
    """ "1e-3,5e-4" -> ["1e-3", "5e-4"]; commas inside [...], {...} or quotes do not split."""
    out, depth, quote, cur = [], 0, "", ""
    for ch in text:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        elif ch == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
            continue
        cur += ch
    out.append(cur.strip())
    return [v for v in out if v]


def parse_grid(exprs: list[str]) -> list[tuple[str, list[str]]]:
    """["optim.lr=1e-3,5e-4", ...] -> [("optim.lr", ["1e-3", "5e-4"]), ...], validated like --set."""
    grid: list[tuple[str, list[str]]] = []
    for expr in exprs:
        key, sep, raw = expr.partition("=")
        values = split_values(raw) if sep else []
        if not values:
            raise JepakitError(f"--grid {expr}: no values", "write --grid section.key=V1,V2 (e.g. optim.lr=1e-3,5e-4)")
        for v in values:
            parse_override(f"{key}={v}")  # the same checks as --set
        if any(k == key.strip() for k, _ in grid):
            raise JepakitError(f"--grid {key.strip()} is given twice", "list all its values in one --grid")
        grid.append((key.strip(), values))
    return grid


def parse_seeds(text: str | None) -> list[int]:
    if not text:
        return [0]
    try:
        seeds = [int(s) for s in split_values(text)]
    except ValueError:
        raise JepakitError(f"--seeds {text}: expected integers", "e.g. --seeds 0,1,2") from None
    if len(set(seeds)) != len(seeds):
        raise JepakitError(f"--seeds {text}: a seed is repeated", "list each seed once")
    return seeds


def _slug(value: str) -> str:
    return re.sub(r"[^A-Za-z0-9.+-]+", "_", value.strip("\"'")).strip("_") or "x"


@dataclass
class PlannedRun:
    name: str  # directory name under the sweep folder
    settings: dict[str, str] = field(default_factory=dict)  # grid key -> value (TOML text)
    seed: int = 0

    def overrides(self) -> list[str]:
        return [f"{k}={v}" for k, v in self.settings.items()] + [f"run.seed={self.seed}"]


def expand(grid: list[tuple[str, list[str]]], seeds: list[int]) -> list[PlannedRun]:
    """Every combination of the grid's values, times every seed; names say the settings, in grid order."""
    runs = []
    for combo in itertools.product(*(values for _, values in grid)):
        settings = {k: v for (k, _), v in zip(grid, combo, strict=True)}
        stem = "__".join(f"{k}={_slug(v)}" for k, v in settings.items())
        for seed in seeds:
            name = f"{stem}__seed={seed}" if stem else f"seed={seed}"
            runs.append(PlannedRun(name, settings, seed))
    names = [r.name for r in runs]
    if len(set(names)) != len(names):
        raise JepakitError(
            "two grid values map to the same run directory name",
            "use values that differ in letters or digits, not only in punctuation",
        )
    return runs


# --- status of existing run directories -------------------------------------------------------------------------


def _locked(path: Path) -> bool:
    """True while a live jepakit process holds the run's lock (a killed one leaves no lock)."""
    from jepakit.engine.runlock import holder

    return holder(path) is not None


def _last_metrics(path: Path) -> dict[str, Any]:
    last: dict[str, Any] = {}
    try:
        for line in (path / "metrics.jsonl").read_text(encoding="utf-8").splitlines():
            try:
                row = json.loads(line)
            except ValueError:
                continue
            if "step" in row:
                last = row
    except OSError:
        pass
    return last


def evaluation(path: Path) -> EvalResult | None:
    """The run's eval.json as an `EvalResult`; None when there is none, it is unreadable, or it is empty."""
    if not (path / "eval.json").is_file():
        return None
    try:
        ev = read_eval(path)
    except (OSError, ValueError, TypeError, AttributeError):  # unreadable, or JSON that is no eval.json
        return None
    return ev if (ev.scores or ev.variant) else None


def read_config(path: Path) -> tuple[dict[str, Any], str]:
    """A run directory's config.toml and "", or {} and why it cannot be read (bad TOML, not UTF-8, no access,
    not a table of tables): one such run is shown as broken, never a reason to fail the whole table."""
    try:
        config = load_toml(path / "config.toml") if (path / "config.toml").is_file() else {}
    except JepakitError as exc:
        return {}, f"unreadable config.toml: {exc.message}"
    except OSError as exc:
        return {}, f"unreadable config.toml: {exc.strerror or exc}"
    bad: list[str] = [k for k in ("optim", "run", "eval") if k in config and not isinstance(config[k], dict)]
    if bad or not isinstance(config.get("variant", ""), str):
        return {}, f"config.toml is not a run's config ({(bad or ['variant'])[0]} has the wrong type)"
    return config, ""


def run_status(path: Path) -> dict[str, Any]:
    """What `jepakit runs` shows for one run directory (reads only small JSON/TOML files)."""
    config, broken = read_config(path)
    try:
        steps = int(config.get("optim", {}).get("steps", 0) or 0)
    except (TypeError, ValueError):
        steps = 0
    last = _last_metrics(path)
    ev = evaluation(path)
    failure = path / "failure.json"
    if _locked(path):
        status = "running"
    elif broken:
        status = "broken"
    elif failure.is_file():
        status = "failed"
    elif ev is not None and last.get("step") == steps:
        status = "finished"
    else:
        status = "interrupted"
    main = ev.main if ev is not None else None
    out = {
        "path": str(path),
        "name": path.name,
        "status": status,
        "variant": config.get("variant", "?"),
        "step": last.get("step", 0),
        "steps": steps,
        "seconds": last.get("elapsed_s"),
        "metric": main.metric if main else None,
        "trained": main.trained if main else None,
        "random_init": main.random_init if main else None,
        "baseline_raw": main.raw if main else None,
        "higher_is_better": main.higher_is_better if main else True,
        "metrics": {n: sc.to_dict() for n, sc in ev.scores.items()} if ev is not None else {},
        # the primary score of each evaluation set (the top level above is the primary set's)
        "sets": {
            n: {
                "dataset": b.dataset,
                "metric": b.main.metric,
                "trained": b.main.trained,
                "random_init": b.main.random_init,
                "baseline_raw": b.main.raw,
                "higher_is_better": b.main.higher_is_better,
            }
            for n, b in ev.sets.items()
        }
        if ev
        else {},
        "warnings": list(ev.warnings) if ev is not None else [],
        "config": config,
    }
    if broken:
        out["error"] = broken
    elif status == "failed":
        try:
            out["error"] = str(json.loads(failure.read_text(encoding="utf-8")).get("error", ""))
        except (OSError, ValueError, AttributeError):
            out["error"] = "unreadable failure.json"
    return out


def find_runs(root: Path, depth: int = 3) -> list[Path]:
    """Run directories (holding config.toml) at or under `root`, sorted."""
    if (root / "config.toml").is_file():
        return [root]
    found: list[Path] = []
    if depth > 0 and root.is_dir():
        for child in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
            found += find_runs(child, depth - 1)
    return found


def flatten(config: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in config.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(flatten(v, key + "."))
        else:
            out[key] = v
    return out


def differing(configs: list[dict[str, Any]], ignore: set[str] = BOOKKEEPING) -> list[str]:
    """Flattened keys whose values differ between runs (the settings a table should show)."""
    flat = [flatten(c) for c in configs]
    keys = sorted({k for f in flat for k in f} - ignore)
    return [k for k in keys if len({json.dumps(f.get(k), sort_keys=True) for f in flat}) > 1]
