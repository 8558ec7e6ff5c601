"""What the status site reads of ``ci health``: the latest CI health snapshot it keeps in the state
(``ops/ci/``, the ``ci`` scope), its page as Markdown and as data (``schemas/ci_health.schema.json``)."""

from __future__ import annotations

from typing import Any

from observability import fsio, schemas
from observability.errors import InputError
from observability.outputs import weekly
from observability.workspace import Workspace

SNAPSHOT_MD = "ops/ci/ci_health.md"
SNAPSHOT_JSON = "ops/ci/ci_health.json"
SCHEMA = "ci_health"
MAX_PAGE_BYTES = 1 << 20  # `ci health` writes tens of KiB; a larger page is not its


def read_snapshot(ws: Workspace) -> tuple[dict[str, Any], str | None] | None:
    """The latest snapshot (data, page Markdown or None when the page is missing); None when ``ci
    health`` never ran here. A damaged or invalid snapshot is an InputError naming the file and field."""
    doc = fsio.read_json(ws.path(SNAPSHOT_JSON), default=None, what="CI health snapshot", display=SNAPSHOT_JSON)
    if doc is None:
        return None
    problems = schemas.errors(SCHEMA, doc)
    if problems:
        path, message = problems[0]
        raise InputError(f"{SNAPSHOT_JSON}: field {schemas.json_path(path)}: {message}")
    # JSON's NaN and Infinity are numbers to the schema (NaN passes its minimum and maximum too): the CI
    # page's chart scale raised on them, and the whole site build failed.
    odd = weekly.odd_number(doc)
    if odd:
        raise InputError(f"{SNAPSHOT_JSON}: field {odd}")
    page = ws.path(SNAPSHOT_MD)
    if not page.is_file():
        return doc, None
    if page.stat().st_size > MAX_PAGE_BYTES:
        raise InputError(f"{SNAPSHOT_MD}: larger than {MAX_PAGE_BYTES >> 20} MiB: not a page `ci health` wrote")
    return doc, page.read_text(encoding="utf-8", errors="replace")
