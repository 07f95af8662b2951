"""The public surface: plugins import only `jepakit`, `jepakit.hookspecs`, `jepakit.interfaces`, `jepakit.api`
and `jepakit.testing`, and every name `jepakit.api` promises exists and is documented in docs/hooks.md."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import jepakit.api as api

ROOT = Path(__file__).resolve().parents[1]
PUBLIC = {"jepakit", "jepakit.api", "jepakit.interfaces", "jepakit.hookspecs", "jepakit.testing"}


def _private_imports(path: Path) -> list[str]:
    """`jepakit.*` modules a file imports that are not public (absolute imports and `from jepakit import mod`)."""
    bad = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        mods: list[str] = []
        if isinstance(node, ast.Import):
            mods = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            mods = [node.module]
            if node.module == "jepakit":  # `from jepakit import engine` reaches a private package
                mods += [
                    f"jepakit.{a.name}"
                    for a in node.names
                    if (ROOT / "core" / a.name).exists() or (ROOT / "core" / f"{a.name}.py").exists()
                ]
        for mod in mods:
            if (mod == "jepakit" or mod.startswith("jepakit.")) and mod not in PUBLIC:
                bad.append(f"{path.relative_to(ROOT)}:{node.lineno} imports {mod}")
    return bad


def test_bundled_plugins_import_only_the_public_api():
    files = [p for p in ROOT.glob("plugins/*/jepakit_*/**/*.py")]
    assert len(files) > 20, "the plugin sources were not found"
    bad = [line for f in files for line in _private_imports(f)]
    assert bad == [], "plugins must import jepakit's public modules only:\n" + "\n".join(bad)


def test_the_import_rule_catches_a_private_import(tmp_path):
    f = tmp_path / "mod.py"
    f.write_text("from jepakit.engine.train import train\nfrom jepakit import engine\nimport jepakit.api\n")
    f = f.rename(ROOT / "tests" / "_tmp_private_import.py")
    try:
        assert len(_private_imports(f)) == 2
    finally:
        f.unlink()


def test_every_api_name_exists_and_is_documented():
    text = (ROOT / "docs" / "hooks.md").read_text(encoding="utf-8")
    section = text.split("## The public API", 1)
    assert len(section) == 2, "docs/hooks.md has no '## The public API' section"
    documented = set(re.findall(r"^\| `([A-Za-z_]\w*)` \|", section[1], flags=re.M))
    missing = [name for name in api.__all__ if not hasattr(api, name)]
    assert missing == [], f"jepakit.api.__all__ names what it does not define: {missing}"
    assert set(api.__all__) - documented == set(), f"undocumented: {sorted(set(api.__all__) - documented)}"
    assert documented - set(api.__all__) == set(), f"documented, not exported: {sorted(documented - set(api.__all__))}"


def test_jepakit_and_interfaces_import_without_torch():
    code = "import sys, jepakit, jepakit.interfaces, jepakit.hookspecs; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "False"
