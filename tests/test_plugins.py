"""Plugin loading: broken plugins are isolated and reported, strict mode makes them fatal, names never clash."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import FIXTURES, write_plugins_toml

from jepakit.errors import JepakitError
from jepakit.framework.plugins import load_plugins

PLUGINS = FIXTURES / "plugins"


def _state(tmp_path: Path, *files: str, strict: bool = False, extra: str = ""):
    paths = ", ".join(f'"{PLUGINS / f}"' for f in files)
    body = f"[plugins]\npaths = [{paths}]\nstrict = {'true' if strict else 'false'}\n{extra}"
    return load_plugins(write_plugins_toml(tmp_path, body))


def _rec(state, name):
    return next(r for r in state.records if r.name == name)


def test_core_and_bundled_plugins_load(plugin_state):
    names = {r.name: r for r in plugin_state.records}
    assert names["core"].status == "ok"
    assert "encoders" in names["core"].provides and "datasets" in names["core"].provides
    assert names["ijepa"].status == "ok" and names["ijepa"].distribution == "jepakit-ijepa"
    assert ("variants", "ijepa/ijepa-tiny") in plugin_state.registry
    assert plugin_state.registry.get("maskers", "multiblock").name == "ijepa/multiblock"  # unique short name


@pytest.mark.parametrize(
    ("file", "stage"),
    [
        ("broken_import.py", "import: ModuleNotFoundError"),
        ("broken_hook.py", "jepa_register_losses: RuntimeError: boom in hook"),
        ("misspelled.py", 'unknown hook "jepa_register_encoderz"'),
        ("old_api.py", "plugin API 2"),
        ("bad_target.py", "target must be"),
    ],
)
def test_broken_plugin_is_reported_and_the_rest_keeps_working(tmp_path, file, stage):
    state = _state(tmp_path, "good_local.py", file)
    rec = _rec(state, Path(file).stem)
    assert rec.status == "broken"
    assert stage in rec.error
    assert rec.provides == []
    assert _rec(state, "good_local").status == "ok"
    assert ("maskers", "good_local/random") in state.registry
    assert ("variants", "ijepa/ijepa-tiny") in state.registry


def test_a_hook_that_raises_leaves_nothing_registered(tmp_path):
    state = _state(tmp_path, "broken_hook.py")
    assert state.registry.by_plugin("broken_hook") == []


def test_alias_clash_names_both_plugins(tmp_path):
    state = _state(tmp_path, "alias_a.py", "alias_b.py")
    assert _rec(state, "alias_a").status == "ok"
    rec = _rec(state, "alias_b")
    assert rec.status == "broken" and '"alias_a"' in rec.error and '"alias_b"' in rec.error


def test_strict_mode_makes_a_broken_plugin_fatal(tmp_path):
    with pytest.raises(JepakitError, match="broken_hook"):
        _state(tmp_path, "broken_hook.py", strict=True)


def test_disabled_plugins_are_listed_but_not_loaded(tmp_path):
    body = f'[plugins]\npaths = ["{PLUGINS / "good_local.py"}"]\ndisable = ["ijepa", "good_local"]\n'
    state = load_plugins(write_plugins_toml(tmp_path, body))
    assert _rec(state, "ijepa").status == "disabled"
    assert _rec(state, "good_local").status == "disabled"
    assert ("variants", "ijepa/ijepa-tiny") not in state.registry


def test_missing_local_path_is_a_broken_record(tmp_path):
    state = load_plugins(write_plugins_toml(tmp_path, '[plugins]\npaths = ["nope.py"]\n'))
    assert any(r.status == "broken" and "not found" in r.error for r in state.records)


def test_unmet_requirement_is_reported(tmp_path):
    state = load_plugins(write_plugins_toml(tmp_path, '[plugins]\nrequire = ["jepakit-nonexistent>=1"]\n'))
    assert state.problems and "jepakit-nonexistent" in state.problems[0]
    with pytest.raises(JepakitError, match="jepakit-nonexistent"):
        load_plugins(write_plugins_toml(tmp_path, '[plugins]\nrequire = ["jepakit-nonexistent>=1"]\nstrict = true\n'))


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ("[plugin]\n", "unknown table [plugin]"),
        ("[plugins]\nstrcit = true\n", 'plugins.strcit: unknown key "strcit". Did you mean "strict"?'),
        ("[plugins]\nstrict = 1\n", "plugins.strict: expected true or false"),
        ("[plugins\n", "not valid TOML"),
    ],
)
def test_bad_plugins_toml_names_the_key(tmp_path, body, needle):
    with pytest.raises(JepakitError) as info:
        load_plugins(write_plugins_toml(tmp_path, body))
    assert needle in info.value.message


def test_user_variants_from_plugins_toml_are_listed(tmp_path):
    body = '[variants.my-jepa]\nsummary = "mine"\nmodality = "image"\nencoder = { use = "core/vit" }\n'
    state = load_plugins(write_plugins_toml(tmp_path, body))
    spec = state.registry.get("variants", "local/my-jepa")
    assert spec.summary == "mine" and spec.spec["encoder"]["use"] == "core/vit"


@pytest.mark.parametrize("where", ["project", "package", "plugin_file"])
def test_a_scaffold_folder_in_paths_loads_as_one_plugin(tmp_path, where):
    """`[plugins] paths` may name what `jepakit new plugin` made (the project, its package, or its plugin.py):
    it loads as one plugin under its own name, and its lazily imported parts resolve."""
    from jepakit.cli.new_plugin import write

    name = f"pathplug{where.replace('_', '')}"
    write(name, ["masker"], tmp_path / name)
    target = {
        "project": tmp_path / name,
        "package": tmp_path / name / f"jepakit_{name}",
        "plugin_file": tmp_path / name / f"jepakit_{name}" / "plugin.py",
    }[where]
    state = load_plugins(write_plugins_toml(tmp_path, f'[plugins]\npaths = ["{target}"]\n'))
    local = [r for r in state.records if str(tmp_path) in r.distribution]
    assert [(r.name, r.status) for r in local] == [(name, "ok")], [(r.name, r.status, r.error) for r in local]
    assert ("variants", f"{name}/tiny") in state.registry
    spec = state.registry.get("maskers", f"{name}/random")
    assert spec.load().__name__  # the "module:attr" target imports by name


def test_a_folder_without_any_plugin_is_a_broken_record(tmp_path):
    (tmp_path / "empty").mkdir()
    state = load_plugins(write_plugins_toml(tmp_path, '[plugins]\npaths = ["empty"]\n'))
    rec = next(r for r in state.records if r.name == "empty")
    assert rec.status == "broken" and "holds no plugin" in rec.error
