"""Load the JSON Schemas in ``schemas/`` and validate documents against them."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from observability.errors import SchemaError
from observability.resources import schema_path


@cache
def load_schema(name: str) -> dict[str, Any]:
    return json.loads(schema_path(name).read_text(encoding="utf-8"))


@cache
def fast_check(name: str):
    """schemas/<name>.schema.json compiled by observability.schemacheck (None: jsonschema only)."""
    from observability.schemacheck import compile_schema

    return compile_schema(load_schema(name))


@cache
def _validator(name: str):
    from jsonschema import Draft202012Validator, FormatChecker

    # The bundled schemas are checked against the metaschema by the tests (test_drift), not on every
    # run: that check costs tens of milliseconds of a 15-minute job's start-up.
    return Draft202012Validator(load_schema(name), format_checker=FormatChecker())


def json_path(parts) -> str:
    """Render a jsonschema error path as ``a.b[2].c`` (``<root>`` when empty)."""
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "<root>"


def errors(name: str, document: Any) -> list[tuple[list, str]]:
    """Every validation error as ``(path parts, message)``, sorted by path for stable output.

    A document the compiled check accepts is valid; any other is walked by jsonschema, whose verdict
    and messages are final (see observability/schemacheck.py).
    """
    check = fast_check(name)
    if check is not None and check(document):
        return []
    found = [(list(e.absolute_path), e.message) for e in _validator(name).iter_errors(document)]
    return sorted(found, key=lambda item: (json_path(item[0]), item[1]))


def validate(name: str, document: Any, *, what: str) -> None:
    """Raise SchemaError naming the first offending field of ``what``."""
    problems = errors(name, document)
    if problems:
        path, message = problems[0]
        more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
        raise SchemaError(f"{what}: field {json_path(path)}: {message}{more}")
