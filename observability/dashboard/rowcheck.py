"""Fast row validation for the dataset row schemas, with jsonschema as the final word.

Checking tens of thousands of rows one by one with jsonschema costs seconds. The row schemas use a
small set of keywords, so each is compiled once into plain Python checks; a row that passes them is
valid, and a row that fails is handed to jsonschema for the exact error message. A schema using a
keyword the compiler does not know is validated with jsonschema only, so the fast path can never
accept what jsonschema would reject.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import datetime
from functools import cache
from typing import Any

from observability import schemas

_KNOWN = {
    "type",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "enum",
    "pattern",
    "minLength",
    "format",
    "description",
    "title",
    "const",
}
_TYPES: dict[str, Callable[[Any], bool]] = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: (isinstance(v, int) and not isinstance(v, bool)) or (isinstance(v, float) and v.is_integer()),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


def _date_time(value: str) -> bool:
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _property_code(key: str, spec: dict[str, Any], consts: dict[str, Any]) -> str | None:
    """A Python expression, true when ``v`` satisfies ``spec``; None for an unsupported keyword."""
    if set(spec) - _KNOWN or spec.get("format", "date-time") != "date-time":
        return None
    types = spec.get("type")
    types = [types] if isinstance(types, str) else list(types or [])
    if any(t not in _TYPES for t in types):
        return None
    n = len(consts)
    alternatives = {
        "string": "type(v) is str",
        "number": "type(v) is int or type(v) is float",
        "integer": "type(v) is int or (type(v) is float and v.is_integer())",
        "boolean": "type(v) is bool",
        "null": "v is None",
    }
    parts = ["(" + " or ".join(f"({alternatives[t]})" for t in types) + ")"] if types else ["True"]
    numeric = []
    for keyword, op in (("minimum", ">="), ("maximum", "<="), ("exclusiveMinimum", ">"), ("exclusiveMaximum", "<")):
        if keyword in spec:
            consts[f"c{n}_{keyword}"] = spec[keyword]
            numeric.append(f"v {op} c{n}_{keyword}")
    if numeric or "number" in types or "integer" in types:
        numeric.insert(0, "(type(v) is not float or isfinite(v))")
        parts.append("(not (type(v) is int or type(v) is float) or (" + " and ".join(numeric) + "))")
    text = []
    if "minLength" in spec:
        text.append(f"len(v) >= {int(spec['minLength'])}")
    if "pattern" in spec:
        consts[f"c{n}_pattern"] = re.compile(spec["pattern"]).search
        text.append(f"c{n}_pattern(v)")
    if spec.get("format") == "date-time":
        text.append("date_time(v)")
    if text:
        parts.append("(type(v) is not str or (" + " and ".join(text) + "))")
    if "enum" in spec:
        consts[f"c{n}_enum"] = list(spec["enum"])
        parts.append(f"v in c{n}_enum")
    if "const" in spec:
        consts[f"c{n}_const"] = spec["const"]
        parts.append(f"v == c{n}_const")
    return " and ".join(parts)


@cache
def _compiled(name: str) -> Callable[[dict], bool] | None:
    """The schema as one generated function, or None when it uses anything the generator does not know."""
    schema = schemas.load_schema(name)
    if (
        schema.get("type") != "object"
        or schema.get("additionalProperties") is not False
        or set(schema)
        - {"$schema", "$id", "title", "description", "type", "required", "properties", "additionalProperties"}
    ):
        return None
    properties = schema.get("properties", {})
    required = set(schema.get("required", ()))
    if not required <= set(properties):
        return None
    consts: dict[str, Any] = {
        "isfinite": math.isfinite,
        "date_time": _date_time,
        "REQUIRED": frozenset(required),
        "ALLOWED": frozenset(properties),
    }
    lines = [
        "def check(row):",
        "    if type(row) is not dict:",
        "        return False",
        "    keys = row.keys()",
        "    if not (REQUIRED <= keys and keys <= ALLOWED):",
        "        return False",
    ]
    for key, spec in properties.items():
        code = _property_code(key, spec, consts)
        if code is None:
            return None
        getter = f"row[{key!r}]" if key in required else f"row.get({key!r}, _MISSING)"
        lines += [f"    v = {getter}"]
        if key not in required:
            lines += ["    if v is not _MISSING and not (" + code + "):", "        return False"]
        else:
            lines += [f"    if not ({code}):", "        return False"]
    lines.append("    return True")
    consts["_MISSING"] = object()
    namespace = dict(consts)
    exec(compile("\n".join(lines), f"<rowcheck {name}>", "exec"), namespace)  # noqa: S102 - generated from our own schema
    return namespace["check"]


def first_error(name: str, row: Any) -> tuple[list, str] | None:
    """None when ``row`` is valid against schemas/<name>.schema.json, else jsonschema's first error."""
    fast = _compiled(name)
    if fast is not None and fast(row):
        return None
    problems = schemas.errors(name, row)
    return problems[0] if problems else None
