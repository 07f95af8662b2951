"""The docs are checked against the code they describe: a hook added to hookspecs.py without its reference
section, or a README command that no longer exists, fails here."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

from jepakit import hookspecs

DOCS = Path(__file__).resolve().parents[1] / "docs"


def _hooks_md() -> str:
    return (DOCS / "hooks.md").read_text(encoding="utf-8")


def test_every_hook_has_a_reference_section_and_no_stale_ones():
    documented = set(re.findall(r"^## (jepa_\w+)", _hooks_md(), flags=re.M))
    declared = {name for name, obj in vars(hookspecs).items()
                if name.startswith("jepa_") and callable(obj) and hasattr(obj, "jepakit_spec")}
    assert declared == set(hookspecs.KINDS), "hookspecs.KINDS and the @hookspec functions disagree"
    assert declared - documented == set(), f"undocumented hooks: {sorted(declared - documented)}"
    assert documented - declared == set(), f"docs/hooks.md names hooks that do not exist: {sorted(documented - declared)}"


def test_every_register_keyword_and_kind_is_documented():
    text = _hooks_md()
    for keyword in inspect.signature(hookspecs.RegisterFn.__call__).parameters:
        if keyword != "self":
            assert f"| `{keyword}` |" in text, f"register keyword {keyword!r} missing from docs/hooks.md"
    for hook, kind in hookspecs.KINDS.items():
        assert re.search(rf"^\| {kind} \| `{hook}` \|", text, flags=re.M), f"kind {kind} missing from the table"


def test_docs_link_to_files_that_exist():
    for page in DOCS.rglob("*.md"):
        for target in re.findall(r"\]\(([^)#:]+\.md)\)", page.read_text(encoding="utf-8")):
            assert (page.parent / target).is_file(), f"{page.name} links to missing {target}"
