"""The docs cite only what is in the repository: every relative link and every `*.md` they name
resolves, and the design documents outside it (the seeds, DESIGN.md) are named only as "the
original design", never by a path or number a reader cannot open."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOCS = [REPO / "README.md", REPO / "CONTRIBUTING.md", *sorted((REPO / "docs").glob("*.md"))]
# text an operator reads besides the docs: schema descriptions and the template's comments
TEXTS = [*DOCS, *sorted((REPO / "schemas").glob("*.json")), *sorted((REPO / "ops-template").rglob("*.y*ml"))]
OUTSIDE = re.compile(
    r"\bseeds?\b(?: (?:0\d\d|§)|/|'s\b)|\bDESIGN\.md\b|\.\./shared/seeds|\bseeds? 0\d\d", re.IGNORECASE
)
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")
MENTION = re.compile(r"(?<![\w/.-])((?:docs/)?[A-Za-z0-9_-]+\.md)\b")


def _rel(path: Path) -> str:
    return path.relative_to(REPO).as_posix()


def broken_citations(path: Path, text: str) -> list[str]:
    out = [f"{_rel(path)}: cites {m.group(0)!r} (not in the repository)" for m in OUTSIDE.finditer(text)]
    for m in LINK.finditer(text):
        target = m.group(1)
        if not target.startswith(("http://", "https://", "mailto:")) and not (path.parent / target).exists():
            out.append(f"{_rel(path)}: link to {target} does not resolve")
    mentions = text
    if path.name == "migration.md":  # the first cell of its tables names the legacy scripts' files
        mentions = re.sub(r"(?m)^\|[^|\n]*\|", "|", text)
    for m in MENTION.finditer(mentions):
        name = m.group(1)
        if not any(c.exists() for c in (path.parent / name, REPO / name, REPO / "docs" / name)):
            out.append(f"{_rel(path)}: names {name}, which is not in the repository")
    return out


@pytest.mark.parametrize("path", TEXTS, ids=_rel)
def test_every_citation_resolves_in_the_repository(path):
    assert broken_citations(path, path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize(
    "text",
    [
        "definitions in the latency section of DESIGN.md",
        "as seed 002 says",
        "see ../shared/seeds/000_x.txt",
        "see [the design](design.md)",
        "details in docs/nowhere.md",
    ],
)
def test_a_citation_of_a_missing_document_is_caught(text):
    assert broken_citations(REPO / "docs" / "dashboard.md", text)


def test_the_original_design_is_the_allowed_name():
    assert broken_citations(REPO / "docs" / "weekly.md", "the original design leaves these open") == []
