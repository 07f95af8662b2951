"""Run mypy over the `jepakit` package (core/ and cli/) as it is imported: `python tools/typecheck.py [MYPY ARGS]`.

The editable install maps `jepakit` to core/ and `jepakit.cli` to cli/ through an import hook that mypy
cannot follow, and the folders' own names are not the package's. So this builds a throw-away link tree
(TMP/jepakit/<entry> -> core/<entry>, TMP/jepakit/cli -> cli/) and checks `-p jepakit` there with the
repository's pyproject.toml settings. Reported paths are the repository's (core/..., cli/...), so they can be
clicked. Exits with mypy's status.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: a reported path in the link tree, at the start of a line: jepakit/cli/... or jepakit/...
LINKED = re.compile(r"^jepakit/(cli/)?", re.MULTILINE)


def link_tree(into: Path) -> Path:
    """INTO/jepakit: a link to every entry of core/ (caches skipped) and to cli/ as its `cli` sub-package."""
    pkg = into / "jepakit"
    pkg.mkdir()
    for entry in sorted((ROOT / "core").iterdir()):
        if entry.name not in ("__pycache__", "cli"):
            (pkg / entry.name).symlink_to(entry)
    (pkg / "cli").symlink_to(ROOT / "cli")
    return pkg


def repo_paths(text: str) -> str:
    return LINKED.sub(lambda m: "cli/" if m.group(1) else "core/", text)


def main(argv: list[str]) -> int:
    with tempfile.TemporaryDirectory(prefix="jepakit-typecheck-") as tmp:
        link_tree(Path(tmp))
        cmd = [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml")]
        cmd += ["--cache-dir", str(ROOT / ".mypy_cache"), "-p", "jepakit", *argv]
        env = {**os.environ, "MYPYPATH": tmp}
        proc = subprocess.run(cmd, cwd=tmp, env=env, capture_output=True, text=True)
    sys.stdout.write(repo_paths(proc.stdout))
    sys.stderr.write(repo_paths(proc.stderr))
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
