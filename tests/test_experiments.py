"""Sweeps, run tables, comparisons and reports: grid expansion, statuses, grouping statistics, HTML content."""

from __future__ import annotations

import base64
import io
import json
import math
from html.parser import HTMLParser
from pathlib import Path

import pytest
from PIL import Image

from jepakit.engine.runs import RunDir
from jepakit.errors import JepakitError
from jepakit.experiments.compare import group_runs, summary
from jepakit.experiments.sweep import differing, expand, parse_grid, parse_seeds, run_status, split_values


def test_values_split_on_top_level_commas_only():
    assert split_values("1e-3,5e-4") == ["1e-3", "5e-4"]
    assert split_values("[0.1, 0.2],[0.3,0.4]") == ["[0.1, 0.2]", "[0.3,0.4]"]
    assert split_values('"a,b", "c"') == ['"a,b"', '"c"']


def test_grid_expands_to_every_combination_times_every_seed():
    grid = parse_grid(["optim.lr=1e-3,5e-4", "masker.num_targets=2,4,6"])
    runs = expand(grid, parse_seeds("0,1"))
    assert len(runs) == 12 and len({r.name for r in runs}) == 12
    assert runs[0].name == "optim.lr=1e-3__masker.num_targets=2__seed=0"
    assert runs[0].overrides() == ["optim.lr=1e-3", "masker.num_targets=2", "run.seed=0"]
    assert {(r.settings["optim.lr"], r.settings["masker.num_targets"], r.seed) for r in runs} == {
        (lr, n, s) for lr in ("1e-3", "5e-4") for n in ("2", "4", "6") for s in (0, 1)
    }
    assert [r.name for r in expand([], [3])] == ["seed=3"]


@pytest.mark.parametrize(
    "bad,needle",
    [(["optim.lr="], "no values"), (["=1,2"], "bad override"), (["optim.lr=1", "optim.lr=2"], "given twice")],
)
def test_bad_grids_are_refused(bad, needle):
    with pytest.raises(JepakitError, match=needle):
        parse_grid(bad)


def test_bad_seeds_are_refused():
    with pytest.raises(JepakitError, match="expected integers"):
        parse_seeds("0,x")
    with pytest.raises(JepakitError, match="repeated"):
        parse_seeds("1,1")


def _fake_run(
    root: Path, name: str, lr: float, seed: int, trained: float | None, steps: int = 10, done: int = 10
) -> Path:
    path = root / name
    (path / "checkpoints").mkdir(parents=True)
    (path / "config.toml").write_text(
        f'variant = "ijepa/ijepa-tiny"\n[optim]\nsteps = {steps}\nlr = {lr}\n[run]\nseed = {seed}\nout = "{path}"\n'
    )
    rows = [{"step": s, "loss": 1.0 / s, "elapsed_s": 0.5 * s} for s in range(1, done + 1)]
    (path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    if trained is not None:
        (path / "eval.json").write_text(
            json.dumps(
                {
                    "metric": "accuracy",
                    "higher_is_better": True,
                    "trained": trained,
                    "random_init": 50.0 + seed,
                    "baseline_raw": 40.0,
                    "metrics": {"linear": {"trained": trained, "random_init": 50.0 + seed, "raw": 40.0}},
                    "collapse": {"feature_std": 0.05, "effective_rank": 9.0, "random_init": {"feature_std": 0.04}},
                }
            )
        )
    return path


def test_statuses_and_grouping_over_seeds(tmp_path):
    _fake_run(tmp_path, "a0", 1e-3, 0, 80.0)
    _fake_run(tmp_path, "a1", 1e-3, 1, 84.0)
    _fake_run(tmp_path, "a2", 1e-3, 2, 82.0)
    _fake_run(tmp_path, "b0", 5e-4, 0, 70.0)
    _fake_run(tmp_path, "b1", 5e-4, 1, None, done=4)  # interrupted: no eval, stopped at step 4
    failed = _fake_run(tmp_path, "b2", 5e-4, 2, None, done=2)
    (failed / "failure.json").write_text(json.dumps({"error": "loss is nan at step 3"}))
    busy = RunDir(_fake_run(tmp_path, "c0", 1e-4, 0, None, done=1))
    busy.lock()
    try:
        statuses = {p.name: run_status(p) for p in sorted(tmp_path.iterdir())}
    finally:
        busy.unlock()
    assert {n: s["status"] for n, s in statuses.items()} == {
        "a0": "finished",
        "a1": "finished",
        "a2": "finished",
        "b0": "finished",
        "b1": "interrupted",
        "b2": "failed",
        "c0": "running",
    }
    assert statuses["b2"]["error"] == "loss is nan at step 3" and statuses["a0"]["seconds"] == 5.0
    assert differing([s["config"] for s in statuses.values()]) == ["optim.lr", "run.seed"]

    groups = group_runs([statuses[n] for n in ("a0", "a1", "a2", "b0", "b1", "b2")])
    assert [g["settings"] for g in groups] == [{"optim.lr": 5e-4}, {"optim.lr": 1e-3}]  # by value, not as text
    b, a = groups
    assert a["seeds"] == [0, 1, 2] and a["trained"] == {"mean": 82.0, "std": 2.0, "n": 3}  # sample std
    assert a["random_init"] == {"mean": 51.0, "std": 1.0, "n": 3}
    assert a["heads"]["linear"]["raw"] == {"mean": 40.0, "std": 0.0, "n": 3}
    assert b["trained"] == {"mean": 70.0, "std": 0.0, "n": 1}  # only finished runs count
    assert b["status"] == {"failed": 1, "finished": 1, "interrupted": 1}


def test_the_comparison_plot_shows_values_baselines_and_a_numeric_order(tmp_path):
    """What a user reads off `compare --plot`: groups top-down by value, trained / random init / raw input with
    their values written out, an axis spanning the values (not from 0), and the format its suffix names."""
    from jepakit.experiments.compare import comparison_figure, plot_comparison

    runs = [
        _fake_run(tmp_path, n, lr, seed, acc)
        for n, lr, seed, acc in [
            ("a0", 1e-3, 0, 80.0),
            ("a1", 1e-3, 1, 84.0),
            ("b0", 5e-4, 0, 70.0),
            ("c0", 1e-2, 0, 75.0),
        ]
    ]
    statuses = [run_status(p) for p in runs]
    groups = group_runs(statuses)
    fig = comparison_figure(groups, statuses)
    ax = fig.axes[1]
    top_down = [
        t.get_text() for _, t in sorted(zip(ax.get_yticks(), ax.get_yticklabels(), strict=True), key=lambda p: -p[0])
    ]
    assert top_down == ["optim.lr=0.0005", "optim.lr=0.001", "optim.lr=0.01"]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["trained", "random init", "raw input"]
    texts = [t.get_text() for t in ax.texts]
    assert "82.00±2.83" in texts and "70.00" in texts and "40.00" in texts
    lo, hi = ax.get_xlim()
    assert 0 < lo < 40 and hi > 84  # spans the values, from raw input's 40 to trained's 84 + std
    assert (tmp_path / "x.svg").exists() is False
    plot_comparison(groups, statuses, tmp_path / "x.svg")
    assert (tmp_path / "x.svg").read_text().lstrip().startswith("<?xml")
    plot_comparison(groups, statuses, tmp_path / "x.jpg")
    assert (tmp_path / "x.jpg").read_bytes()[:3] == b"\xff\xd8\xff"  # JPEG, not PNG bytes under a .jpg name
    with pytest.raises(ValueError, match="unknown figure format"):
        plot_comparison(groups, statuses, tmp_path / "x.bmpx")


def test_scheduler_skips_finished_runs_and_resumes_interrupted_ones(tmp_path):
    """The plan becomes train commands: a finished run is skipped, one with a checkpoint gets --resume."""
    from jepakit.experiments.scheduler import plan_jobs

    plan = expand(parse_grid(["optim.lr=1e-3,5e-4"]), [0])
    _fake_run(tmp_path, plan[0].name, 1e-3, 0, 80.0)  # finished
    half = _fake_run(tmp_path, plan[1].name, 5e-4, 0, None, done=4)  # interrupted after a checkpoint
    (half / "checkpoints" / "step-0000004.json").write_text("{}")
    todo, results = plan_jobs(
        plan, tmp_path, "run.toml", overrides=["optim.steps=10"], threads=3, cli_args=["--plugins-toml", "p.toml"]
    )
    assert results == {plan[0].name: "skipped (finished)"}
    assert [j.name for j in todo] == [plan[1].name] and todo[0].path == half
    cmd = todo[0].cmd
    assert cmd[3:7] == ["--plugins-toml", "p.toml", "train", "run.toml"] and cmd[-1] == "--resume"
    assert [cmd[i + 1] for i, a in enumerate(cmd) if a == "--set"] == [
        "optim.steps=10",
        "optim.lr=5e-4",
        "run.seed=0",
        "run.threads=3",
    ]


def test_scheduler_runs_jobs_in_parallel_and_a_failure_stops_no_other(tmp_path):
    import sys

    from jepakit.experiments.scheduler import SweepJob, run_jobs

    def job(name: str, code: str) -> SweepJob:
        return SweepJob(name, tmp_path / name, [sys.executable, "-c", code])

    events: list[tuple[str, str]] = []
    todo = [
        job("a", "import os; print(os.environ['OMP_NUM_THREADS'])"),
        job("b", "raise SystemExit(3)"),
        job("c", "print('c ran')"),
    ]
    results = run_jobs(todo, jobs=2, threads=2, root=tmp_path, notify=lambda n, e: events.append((n, e)), poll_s=0.01)
    assert results == {"a": "finished", "b": "failed (exit 3)", "c": "finished"}
    assert events[:2] == [("a", "started"), ("b", "started")]  # two at once, the third when one ends
    assert sorted(events) == sorted([(n, "started") for n in "abc"] + [(n, r) for n, r in results.items()])
    assert (tmp_path / "a" / "sweep.log").read_text() == "2\n" and "c ran" in (tmp_path / "c" / "sweep.log").read_text()


def test_summary_ignores_missing_and_non_finite_values():
    assert summary([1.0, None, float("nan"), 3.0]) == {"mean": 2.0, "std": round(math.sqrt(2), 4), "n": 2}
    assert summary([]) == {"mean": None, "std": None, "n": 0}


class _Images(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.srcs: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.srcs.append(dict(attrs)["src"])

    def handle_data(self, data):
        self.text.append(data)


def _parse(html_text: str) -> _Images:
    p = _Images()
    p.feed(html_text)
    for src in p.srcs:
        assert src.startswith("data:image/png;base64,"), src[:40]
        with Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1]))) as im:
            im.verify()
    return p


def test_report_of_a_sweep_folder_embeds_every_image(tmp_path):
    from jepakit.experiments.report import build_report
    from jepakit.library import plots

    run = _fake_run(tmp_path, "a0", 1e-3, 0, 80.0)
    _fake_run(tmp_path, "a1", 1e-3, 1, 84.0)
    _fake_run(tmp_path, "b0", 5e-4, 0, 70.0)
    (run / "plots").mkdir()
    plots.plot_embedding_pca(
        [[0.0, 1.0], [1.0, 0.0], [0.5, 0.5], [0.2, 0.9]], [0, 1, 0, 1], run / "plots" / "embedding_pca.png"
    )
    (run / "run.json").write_text(json.dumps({"seed": 0, "torch": "2.x", "command": ["jepakit", "train"]}))
    p = _parse(build_report(tmp_path))
    text = " ".join(p.text)
    assert "3 runs in 2 settings" in text and "82.00 +- 2.83 (n=2)" in text
    assert "embedding (PCA, coloured by label)" in text and "run metadata" in text
    assert len(p.srcs) == 1 + 3 + 1  # comparison plot, a loss plot per run, one PCA
    single = _parse(build_report(run))
    assert "resolved config" in " ".join(single.text) and len(single.srcs) == 2


def test_a_report_of_a_short_run_shows_one_collapse_measurement_as_a_row_not_a_dot(tmp_path):
    from jepakit.experiments.report import run_section

    run = _fake_run(tmp_path, "short", 1e-3, 0, 80.0, done=2)
    rows = [{"step": 1, "loss": 1.0}, {"step": 2, "loss": 0.5, "feature_std": 0.12, "effective_rank": 7.5}]
    (run / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (run / "run.json").write_text(json.dumps({"command": ["/venv/bin/jepakit", "train", "x"], "plugins_used": ["a"]}))
    html = run_section(run)
    assert 'alt="collapse monitors"' not in html
    assert "<td>2</td><td>0.12</td><td>7.5</td>" in html
    assert "<td>command</td><td>jepakit train x</td>" in html and "<td>plugins used</td><td>a</td>" in html
