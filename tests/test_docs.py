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
    declared = {
        name
        for name, obj in vars(hookspecs).items()
        if name.startswith("jepa_") and callable(obj) and hasattr(obj, "jepakit_spec")
    }
    assert declared == set(hookspecs.KINDS), "hookspecs.KINDS and the @hookspec functions disagree"
    assert declared - documented == set(), f"undocumented hooks: {sorted(declared - documented)}"
    assert documented - declared == set(), (
        f"docs/hooks.md names hooks that do not exist: {sorted(documented - declared)}"
    )


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


ROOT = DOCS.parent
#: Where the repository's own text lives: every file here must stand on its own.
SCANNED = ["core", "cli", "plugins", "docs", "benchmarks", "README.md", "plugins.toml"]
TEXT = {".py", ".md", ".toml", ".txt", ".cfg", ".ini", ".yaml", ".yml", ".json", ".rst", ".sh"}
#: Citations of documents outside the repository (a workspace's design notes and reference files).
OUTSIDE = re.compile(r"\.\./shared|variants\.md,?\s+sections?|§|tiny-scale\.md|anchors\.md")


def _outside_citations(text: str) -> list[str]:
    return [m.group(0) for m in OUTSIDE.finditer(text)]


def test_no_file_cites_a_document_outside_the_repository():
    files = [
        p
        for name in SCANNED
        for p in ([ROOT / name] if (ROOT / name).is_file() else (ROOT / name).rglob("*"))
        if p.is_file() and p.suffix in TEXT and "__pycache__" not in p.parts and ".egg-info" not in str(p)
    ]
    assert len(files) > 100, "the repository's files were not found"
    bad = [
        f"{p.relative_to(ROOT)}:{text.count(chr(10), 0, m.start()) + 1}: {m.group(0)}"
        for p in files
        for text in [p.read_text(encoding="utf-8", errors="replace")]
        for m in OUTSIDE.finditer(text)
    ]
    assert bad == [], "cite a file in the repository (docs/recipes.md, docs/variants/*.md) instead of:\n" + "\n".join(
        bad
    )


def test_the_citation_check_catches_each_form():
    planted = (
        "see ../shared/design.md; variants.md section 4; variants.md sections 7 and 18; § 19; "
        "reference/tiny-scale.md; anchors.md"
    )
    assert len(_outside_citations(planted)) == 6
    assert _outside_citations("docs/variants/vjepa.md and docs/recipes.md; --out /shared/runs/ddp") == []
