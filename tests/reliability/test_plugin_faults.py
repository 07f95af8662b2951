"""Misbehaving plugins are reported one by one while everything else keeps working: a hook that raises, a
non-string target, a misspelled hook, an import error, another major plugin API, a part that fails to build,
and a plugin that imports slowly."""

from __future__ import annotations

import json

import pytest
from helpers import FIXTURES, write_plugins_toml
from typer.testing import CliRunner

from jepakit.cli.app import app
from jepakit.engine.jepa import build
from jepakit.errors import JepakitError
from jepakit.framework.compose import resolve_run
from jepakit.framework.plugins import load_plugins

BROKEN = {
    "broken_hook": "hook",
    "bad_target": "target",
    "misspelled": "misspelled",
    "broken_import": "import",
    "old_api": "api",
}


def _toml(tmp_path, *files):
    paths = ", ".join(f'"{FIXTURES / "plugins" / f}"' for f in files)
    return write_plugins_toml(tmp_path, f"[plugins]\npaths = [{paths}]\n")


def test_each_broken_plugin_is_reported_and_the_rest_keep_working(tmp_path, figures):
    toml = _toml(tmp_path, *(f"{n}.py" for n in BROKEN), "good_local.py")
    state = load_plugins(toml)
    status = {r.name: r for r in state.records}
    for name in BROKEN:
        assert status[name].status == "broken" and status[name].error, name
    assert status["good_local"].status == "ok" and status["ijepa"].status == "ok"
    resolve_run({"variant": "ijepa/ijepa-tiny"}, state)  # the bundled variant still resolves
    listed = CliRunner().invoke(app, ["--plugins-toml", str(toml), "plugins", "list", "--json"])
    assert listed.exit_code == 0
    assert {p["name"]: p["status"] for p in json.loads(listed.stdout)}["broken_hook"] == "broken"
    figures["plugin faults reported while the rest loaded"] += len(BROKEN)


def test_a_part_that_fails_to_build_is_a_clear_error_naming_its_plugin(tmp_path, figures):
    state = load_plugins(_toml(tmp_path, "bad_build.py"))
    run = resolve_run({"variant": "ijepa/ijepa-tiny", "encoder": {"use": "bad_build/explodes"}}, state)
    with pytest.raises(JepakitError) as info:
        build(run)
    assert 'plugin "bad_build"' in info.value.message and "kaboom" in info.value.message
    assert "encoder:" in info.value.message
    figures["plugin faults reported while the rest loaded"] += 1


def test_a_slow_plugin_loads_and_doctor_names_it(tmp_path, figures):
    toml = _toml(tmp_path, "slow_import.py")
    state = load_plugins(toml)
    rec = {r.name: r for r in state.records}["slow_import"]
    assert rec.status == "ok" and rec.import_ms >= 350
    doctor = CliRunner().invoke(app, ["--plugins-toml", str(toml), "plugins", "doctor", "--json"])
    report = json.loads(doctor.stdout)
    assert any("slow_import" in n and "ms to import" in n for n in report["notes"])
    figures["plugin faults reported while the rest loaded"] += 1
