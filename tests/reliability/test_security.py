"""No code runs from a file: pickle payloads are refused and never executed, nothing evaluates config values or
reaches a shell, and plugin names cannot smuggle options or commands into pip."""

from __future__ import annotations

import json
import pickle
import re
from pathlib import Path

import pytest
import toyrun
from typer.testing import CliRunner

from jepakit.cli.app import app
from jepakit.engine.ckpt import latest_checkpoint, read_checkpoint
from jepakit.errors import JepakitError

ROOT = Path(__file__).resolve().parents[2]


class _Payload:
    """Unpickling this writes a marker file: the side effect a malicious checkpoint would have."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


@pytest.mark.parametrize("name", ["step-0000004.pt", "weights.ckpt", "model.pth", "state.pkl", "pytorch_model.bin"])
def test_pickle_files_are_never_loaded_and_their_payload_never_runs(tmp_path, figures, name):
    """The checkpoint loader (resume, `jepakit eval`) reads step-N.json + step-N.safetensors only."""
    marker = tmp_path / "PWNED"
    evil = tmp_path / "checkpoints" / name
    evil.parent.mkdir()
    evil.write_bytes(pickle.dumps(_Payload(marker)))
    assert latest_checkpoint(evil.parent) is None  # a checkpoint folder holding only pickles has nothing to load
    assert not marker.exists()
    figures["pickle payloads refused (side effect never happened)"] += 1


def test_a_pickle_disguised_as_a_checkpoint_is_refused_by_the_loader(tmp_path, figures):
    """Even under a checkpoint's name and with a matching hash, a pickle is parsed as safetensors, never unpickled."""
    import hashlib

    marker, ckpt = tmp_path / "PWNED", tmp_path / "checkpoints"
    ckpt.mkdir()
    blob = pickle.dumps(_Payload(marker))
    (ckpt / "step-0000004.safetensors").write_bytes(blob)
    (ckpt / "step-0000004.json").write_text(json.dumps({"step": 4, "sha256": hashlib.sha256(blob).hexdigest()}))
    with pytest.raises(JepakitError, match="corrupt"):
        read_checkpoint(ckpt, 4)
    assert latest_checkpoint(ckpt) is None and not marker.exists()
    figures["pickle payloads refused (side effect never happened)"] += 1


@pytest.mark.slow
def test_resume_next_to_a_pickle_payload_ignores_it(tmp_path, figures):
    out, marker = tmp_path / "run", tmp_path / "PWNED"
    assert toyrun.run(tmp_path, out, "--no-eval", fault="step@5").returncode < 0
    (out / "checkpoints" / "step-0000099.pt").write_bytes(pickle.dumps(_Payload(marker)))
    (out / "checkpoints" / "step-0000099.json").write_text('{"step": 99, "sha256": "0"}')
    resumed = toyrun.run(tmp_path, out, "--no-eval", resume=True)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "step-0000099" in resumed.stderr and "from step 4" in resumed.stderr
    assert not marker.exists()
    figures["pickle payloads refused (side effect never happened)"] += 1


def _sources() -> list[Path]:
    roots = [ROOT / "core", ROOT / "cli", *sorted((ROOT / "plugins").glob("*/jepakit_*"))]
    return [p for r in roots for p in r.rglob("*.py")]


def test_no_code_path_evaluates_strings_unpickles_or_uses_a_shell(figures):
    """One exemption, and only in its restricted form: the import of published checkpoints (PyTorch pickles) may call
    `torch.load(..., weights_only=True)`, PyTorch's loader that refuses arbitrary objects. Nothing else unpickles;
    even the DataLoader picklability check only serialises (`jepakit.testing.worker_copy`)."""
    banned = re.compile(
        r"(?<![.\w])(eval|exec)\(|shell\s*=\s*True|os\.system\(|os\.popen\(|pickle\.loads?\(|torch\.load\(|"
        r"marshal\.loads?\(|yaml\.load\("
    )
    restricted = re.compile(r"torch\.load\([^)]*weights_only=True")
    allowed = {ROOT / "core" / "engine" / "published.py"}
    offenders = [
        f"{p.relative_to(ROOT)}:{i}"
        for p in _sources()
        for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
        if banned.search(line.split("#")[0]) and not (p in allowed and restricted.search(line))
    ]
    assert offenders == []
    figures["source files scanned for eval/exec/shell/pickle (clean)"] = len(_sources())


@pytest.mark.parametrize(
    "name",
    [
        "foo; rm -rf /",
        "--index-url=http://evil",
        "$(touch /tmp/x)",
        "a b",
        "x|y",
        "../../etc/passwd-not-there",
        "-e",
        "pkg @ http://evil/x.whl",
    ],
)
def test_install_names_cannot_carry_commands_or_options(monkeypatch, figures, name):
    import subprocess

    def no_pip(*args, **kwargs):
        raise AssertionError("pip must not run for a refused name")

    monkeypatch.setattr(subprocess, "run", no_pip)
    result = CliRunner().invoke(app, ["plugins", "install", name])
    assert result.exit_code == 2 and "Error:" in result.output and "Traceback" not in result.output
    figures["malicious plugin names refused before pip"] += 1
