"""`jepakit new plugin`: the scaffold renders, installs with `jepakit plugins install`, passes its own tests, and
its parts compose with another plugin's. The end-to-end test works in a throw-away venv layered over this one,
so installing the scaffold never changes the environment the rest of the suite runs in."""

from __future__ import annotations

import ast
import json
import os
import site
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jepakit.cli.app import app
from jepakit.cli.new_plugin import KINDS, parse_kinds, render
from jepakit.errors import JepakitError

ALL = ",".join(KINDS)


@pytest.mark.parametrize("kinds", ["masker,loss", "loss", ALL, "encoder,dataset", "head"])
def test_every_kind_combination_renders_valid_python(kinds):
    files = render("myjepa", parse_kinds(kinds))
    for path, text in files.items():
        assert "{{" not in text, path
        if path.endswith(".py"):
            ast.parse(text, filename=path)
    plugin = files["jepakit_myjepa/plugin.py"]
    for kind in parse_kinds(kinds):
        assert f'register("{KINDS[kind].short}"' in plugin
    pyproject = files["pyproject.toml"]
    assert 'myjepa = "jepakit_myjepa.plugin"' in pyproject
    assert ("jepakit-ijepa" in pyproject) == ("masker" not in kinds)  # the tiny variant borrows I-JEPA's masker


def test_bad_names_and_kinds_are_refused():
    with pytest.raises(JepakitError, match="not a valid plugin name"):
        render("My JEPA; rm -rf /", ["loss"])
    with pytest.raises(JepakitError, match='unknown kind "lossy"'):
        parse_kinds("masker,lossy")


def test_cli_refuses_to_overwrite_a_folder(tmp_path):
    (tmp_path / "myjepa").mkdir()
    (tmp_path / "myjepa" / "keep.txt").write_text("mine")
    result = CliRunner().invoke(app, ["new", "plugin", "myjepa", "--out", str(tmp_path / "myjepa")])
    assert result.exit_code == 2 and "Error:" in result.output and "Hint:" in result.output
    assert (tmp_path / "myjepa" / "keep.txt").read_text() == "mine"
    assert sorted(p.name for p in (tmp_path / "myjepa").iterdir()) == ["keep.txt"]


def _layered_venv(path: Path) -> Path:
    """A venv without pip whose site-packages chains to this one's: it sees jepakit and every installed plugin,
    but what pip installs into it stays there."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
    (site_dir,) = list((path / "lib").glob("python3*/site-packages"))
    (site_dir / "_parent_env.pth").write_text(f"import site; site.addsitedir({site.getsitepackages()[0]!r})\n")
    return path / "bin" / "python"


@pytest.mark.slow
def test_a_new_user_scaffolds_installs_tests_and_composes_a_plugin(tmp_path):
    py = _layered_venv(tmp_path / "venv")
    (tmp_path / "plugins.toml").write_text("")
    env = {**os.environ, "JEPAKIT_PLUGINS_TOML": str(tmp_path / "plugins.toml"), "PYTHONPATH": ""}

    def jepakit(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(py), "-m", "jepakit.cli", *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
        )

    made = jepakit("new", "plugin", "myjepa", "--kinds", ALL)
    assert made.returncode == 0, made.stderr
    assert jepakit("plugins", "install", "./myjepa").returncode == 0
    listed = json.loads(jepakit("list", "--json").stdout)
    names = {p["name"] for p in listed}
    assert {f"myjepa/{k.short}" for k in KINDS.values()} | {"myjepa/tiny"} <= names
    plugins = {p["name"]: p for p in json.loads(jepakit("plugins", "list", "--json").stdout)}
    assert plugins["myjepa"]["status"] == "ok"

    own_tests = subprocess.run(
        [str(py), "-m", "pytest", "-q", "myjepa/tests"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert own_tests.returncode == 0 and "2 passed" in own_tests.stdout, own_tests.stdout[-2000:]

    # its masker (layout-free) on V-JEPA's video encoder and data: a composition across two plugins
    (tmp_path / "mix.toml").write_text(
        'variant = "vjepa/vjepa-tiny"\n[masker]\nuse = "myjepa/random"\ntarget_ratio = 0.1\n'
    )
    trained = jepakit(
        "train",
        "mix.toml",
        "--out",
        "mix",
        "--json",
        "--set",
        "optim.steps=3",
        "--set",
        "optim.batch_size=16",
        "--set",
        "data.limit=200",
        "--set",
        "data.test_size=100",
        "--set",
        "run.workers=0",
        "--set",
        "encoder.depth=1",
        "--set",
        "predictor.depth=1",
    )
    assert trained.returncode == 0, trained.stderr[-2000:]
    config = (tmp_path / "mix" / "config.toml").read_text()
    assert 'use = "myjepa/random"' in config and 'use = "vjepa/video-vit"' in config
    assert json.loads(trained.stdout)["eval"]["random_init"] is not None

    assert jepakit("plugins", "uninstall", "myjepa", "-y").returncode == 0
    assert "myjepa/random" not in {p["name"] for p in json.loads(jepakit("list", "--json").stdout)}
