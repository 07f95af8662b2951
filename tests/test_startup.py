"""Start-up stays torch-free: `--help`, `--version`, `list` and `plugins list` in a fresh interpreter.

Importing torch costs seconds; a CLI that pays it for `--help` feels broken. Each case runs `main()` in a new
Python process and reports whether `torch` ended up in sys.modules.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

PROBE = """
import json, sys
from jepakit.cli.app import main
sys.argv = ["jepakit", *json.loads(sys.argv[1])]
code = 0
try:
    main()
except SystemExit as exc:
    code = exc.code or 0
sys.stderr.write("\\nPROBE " + json.dumps({"code": code, "torch": "torch" in sys.modules}) + "\\n")
"""


def run_cli(args: list[str], cwd) -> tuple[dict, subprocess.CompletedProcess]:
    env = {k: v for k, v in os.environ.items() if k not in ("JEPAKIT_PLUGINS_TOML", "JEPAKIT_DEBUG")}
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(args)], capture_output=True, text=True, cwd=cwd, env=env, timeout=120
    )
    line = [ln for ln in proc.stderr.splitlines() if ln.startswith("PROBE ")]
    assert line, proc.stderr
    return json.loads(line[-1][len("PROBE ") :]), proc


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["--version"],
        ["list"],
        ["list", "variants", "--json"],
        ["plugins", "list"],
        ["plugins", "list", "--json"],
        ["show", "core/vit"],
        ["plugins", "--help"],
        ["train", "--help"],
    ],
)
def test_no_torch_at_startup(tmp_path, args):
    probe, proc = run_cli(args, tmp_path)
    assert probe["code"] == 0, proc.stderr
    assert probe["torch"] is False, f"jepakit {' '.join(args)} imported torch"


def test_every_cli_module_imports_without_torch(tmp_path):
    code = (
        "import sys, pkgutil, importlib, jepakit.cli as c\n"
        "for m in pkgutil.iter_modules(c.__path__): importlib.import_module('jepakit.cli.' + m.name)\n"
        "print('torch' in sys.modules)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "False"


def test_validate_stays_torch_free(tmp_path):
    (tmp_path / "run.toml").write_text('variant = "ijepa/ijepa-tiny"\n', encoding="utf-8")
    probe, proc = run_cli(["validate", "run.toml"], tmp_path)
    assert probe["code"] == 0, proc.stderr
    assert "OK: ijepa/ijepa-tiny" in proc.stdout
    assert probe["torch"] is False


def test_bad_input_exits_2_without_traceback(tmp_path):
    probe, proc = run_cli(["validate", "missing.toml"], tmp_path)
    assert probe["code"] == 2
    assert "Error: config file not found" in proc.stderr and "Traceback" not in proc.stderr
