"""Fast yes/no validity checks compiled from the JSON Schemas in ``schemas/``, without jsonschema.

Importing jsonschema (and the format checkers it pulls in) is a fifth of a 15-minute job's run, and
every job validates a config and a run record or two, which are almost always valid. So each schema
is compiled once into plain Python closures that answer one question, "is this document valid?";
``schemas.errors`` asks jsonschema only when the answer is no, for its exact messages, and
jsonschema's verdict is final. The schemas in ``schemas/`` stay the contract.

The compiler knows the draft 2020-12 keywords our schemas use, with jsonschema's semantics (types,
``1 == 1.0`` but ``True != 1`` in ``enum``/``const``, keywords ignoring instances of other types, the
``date-time``/``date``/``regex`` formats). A schema using anything else (another keyword, a remote
``$ref``, another format) compiles to ``None`` and is validated by jsonschema alone, so the fast path
can never accept a document jsonschema would reject; tests/test_schemacheck.py checks the two agree
on a corpus of good and bad documents for every bundled schema.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import Any

Check = Callable[[Any], bool]

# Keywords with no effect on validity.
_ANNOTATIONS = frozenset(
    {
        "$schema",
        "$id",
        "$comment",
        "title",
        "description",
        "default",
        "examples",
        "deprecated",
        "readOnly",
        "writeOnly",
        "$defs",
        "definitions",
    }
)


class Unsupported(Exception):
    """The schema uses something this compiler does not implement: validate with jsonschema only."""


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


_TYPES: dict[str, Check] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "number": _is_number,
    "integer": lambda v: (isinstance(v, int) and not isinstance(v, bool)) or (isinstance(v, float) and v.is_integer()),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


def equal(one: Any, two: Any) -> bool:
    """JSON equality as jsonschema applies it: ``1 == 1.0``, but booleans never equal numbers."""
    if one is two:
        return True
    if isinstance(one, str) or isinstance(two, str):
        return one == two
    if isinstance(one, bool) or isinstance(two, bool):
        return isinstance(one, bool) and isinstance(two, bool) and one == two
    if isinstance(one, list) and isinstance(two, list):
        return len(one) == len(two) and all(equal(a, b) for a, b in zip(one, two, strict=True))
    if isinstance(one, dict) and isinstance(two, dict):
        return one.keys() == two.keys() and all(equal(one[k], two[k]) for k in one)
    if isinstance(one, (list, dict)) or isinstance(two, (list, dict)):
        return False
    return one == two


# RFC 3339 date-time, as jsonschema checks it (through rfc3339-validator, on the upper-cased string;
# its ``$`` lets one trailing newline through, and so does this).
_DATE_TIME = re.compile(
    r"^(\d{4})-(0[1-9]|1[0-2])-(\d{2})T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d+)?"
    r"(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)$",
    re.ASCII,
)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)


def _date_time(v: Any) -> bool:
    if not isinstance(v, str):
        return True
    m = _DATE_TIME.match(v.upper())
    if m is None:
        return False
    try:
        date(int(m[1]), int(m[2]), int(m[3]))  # the day exists in that month (leap years included)
    except ValueError:
        return False
    return True


def _date(v: Any) -> bool:
    if not isinstance(v, str):
        return True
    if not _DATE.fullmatch(v):
        return False
    try:
        date.fromisoformat(v)
    except ValueError:
        return False
    return True


def _regex(v: Any) -> bool:
    if not isinstance(v, str):
        return True
    try:
        re.compile(v)
    except re.error:
        return False
    return True


_FORMATS: dict[str, Check] = {"date-time": _date_time, "date": _date, "regex": _regex}


class _Compiler:
    def __init__(self, root: dict[str, Any]):
        self.root = root
        self.refs: dict[str, list[Check]] = {}  # a cell per $ref, filled once compiled (recursion-safe)

    def ref(self, pointer: str) -> Check:
        if not pointer.startswith("#/"):
            raise Unsupported(f"$ref {pointer!r}")
        cell = self.refs.get(pointer)
        if cell is None:
            cell = self.refs[pointer] = []
            target: Any = self.root
            for part in pointer[2:].split("/"):
                part = part.replace("~1", "/").replace("~0", "~")
                if not isinstance(target, dict) or part not in target:
                    raise Unsupported(f"$ref {pointer!r} does not resolve")
                target = target[part]
            cell.append(self.compile(target))
        return lambda v: cell[0](v)

    def compile(self, schema: Any) -> Check:
        if schema is True:
            return lambda v: True
        if schema is False:
            return lambda v: False
        if not isinstance(schema, dict):
            raise Unsupported(f"schema {schema!r}")
        checks: list[Check] = []
        for keyword, value in schema.items():
            if keyword in _ANNOTATIONS:
                continue
            build = getattr(self, "k_" + keyword.replace("$", "dollar_"), None)
            if build is None:
                raise Unsupported(f"keyword {keyword!r}")
            check = build(value, schema)
            if check is not None:
                checks.append(check)
        if not checks:
            return lambda v: True
        if len(checks) == 1:
            return checks[0]
        return lambda v: all(check(v) for check in checks)

    # -- keywords (each returns a check, or None when it adds nothing) --

    def k_dollar_ref(self, value: Any, schema: dict) -> Check:
        if not isinstance(value, str):
            raise Unsupported("$ref")
        return self.ref(value)

    def k_type(self, value: Any, schema: dict) -> Check:
        names = [value] if isinstance(value, str) else value
        if not isinstance(names, list) or not names or any(n not in _TYPES for n in names):
            raise Unsupported(f"type {value!r}")
        tests = [_TYPES[n] for n in names]
        if len(tests) == 1:
            return tests[0]
        return lambda v: any(t(v) for t in tests)

    def k_enum(self, value: Any, schema: dict) -> Check:
        if not isinstance(value, list):
            raise Unsupported("enum")
        options = list(value)
        return lambda v: any(equal(v, o) for o in options)

    def k_const(self, value: Any, schema: dict) -> Check:
        return lambda v: equal(v, value)

    def _number(self, value: Any, name: str) -> Any:
        if not _is_number(value):
            raise Unsupported(name)
        return value

    def k_minimum(self, value: Any, schema: dict) -> Check:
        m = self._number(value, "minimum")
        return lambda v: not _is_number(v) or not v < m  # NaN passes, as in jsonschema

    def k_maximum(self, value: Any, schema: dict) -> Check:
        m = self._number(value, "maximum")
        return lambda v: not _is_number(v) or not v > m

    def k_exclusiveMinimum(self, value: Any, schema: dict) -> Check:
        m = self._number(value, "exclusiveMinimum")
        return lambda v: not _is_number(v) or not v <= m

    def k_exclusiveMaximum(self, value: Any, schema: dict) -> Check:
        m = self._number(value, "exclusiveMaximum")
        return lambda v: not _is_number(v) or not v >= m

    def _count(self, value: Any, name: str) -> int:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0 or value != int(value):
            raise Unsupported(name)
        return int(value)

    def k_minLength(self, value: Any, schema: dict) -> Check:
        n = self._count(value, "minLength")
        return lambda v: not isinstance(v, str) or len(v) >= n

    def k_maxLength(self, value: Any, schema: dict) -> Check:
        n = self._count(value, "maxLength")
        return lambda v: not isinstance(v, str) or len(v) <= n

    def k_pattern(self, value: Any, schema: dict) -> Check:
        if not isinstance(value, str):
            raise Unsupported("pattern")
        search = re.compile(value).search
        return lambda v: not isinstance(v, str) or search(v) is not None

    def k_format(self, value: Any, schema: dict) -> Check:
        check = _FORMATS.get(value)
        if check is None:
            raise Unsupported(f"format {value!r}")
        return check

    def k_minItems(self, value: Any, schema: dict) -> Check:
        n = self._count(value, "minItems")
        return lambda v: not isinstance(v, list) or len(v) >= n

    def k_maxItems(self, value: Any, schema: dict) -> Check:
        n = self._count(value, "maxItems")
        return lambda v: not isinstance(v, list) or len(v) <= n

    def k_uniqueItems(self, value: Any, schema: dict) -> Check | None:
        if value is not True:
            if value is False:
                return None
            raise Unsupported("uniqueItems")

        def unique(v: Any) -> bool:
            if not isinstance(v, list):
                return True
            return not any(equal(v[i], v[j]) for i in range(len(v)) for j in range(i + 1, len(v)))

        return unique

    def k_items(self, value: Any, schema: dict) -> Check:
        if "prefixItems" in schema:
            raise Unsupported("items with prefixItems")
        item = self.compile(value)
        return lambda v: not isinstance(v, list) or all(item(x) for x in v)

    def k_minProperties(self, value: Any, schema: dict) -> Check:
        n = self._count(value, "minProperties")
        return lambda v: not isinstance(v, dict) or len(v) >= n

    def k_maxProperties(self, value: Any, schema: dict) -> Check:
        n = self._count(value, "maxProperties")
        return lambda v: not isinstance(v, dict) or len(v) <= n

    def k_required(self, value: Any, schema: dict) -> Check:
        if not isinstance(value, list) or not all(isinstance(k, str) for k in value):
            raise Unsupported("required")
        names = tuple(value)
        return lambda v: not isinstance(v, dict) or all(k in v for k in names)

    def k_properties(self, value: Any, schema: dict) -> Check:
        if not isinstance(value, dict):
            raise Unsupported("properties")
        props = {k: self.compile(s) for k, s in value.items()}

        def properties(v: Any) -> bool:
            if not isinstance(v, dict):
                return True
            for key, check in props.items():  # noqa: SIM110 (a plain loop: no generator per value)
                if key in v and not check(v[key]):
                    return False
            return True

        return properties

    def k_patternProperties(self, value: Any, schema: dict) -> Check:
        if not isinstance(value, dict):
            raise Unsupported("patternProperties")
        pairs = [(re.compile(pattern).search, self.compile(s)) for pattern, s in value.items()]
        return lambda v: (
            not isinstance(v, dict)
            or all(check(x) for k, x in v.items() for search, check in pairs if search(k) is not None)
        )

    def k_additionalProperties(self, value: Any, schema: dict) -> Check:
        known = frozenset(schema.get("properties", {}))
        patterns = schema.get("patternProperties", {})
        if not isinstance(patterns, dict):
            raise Unsupported("patternProperties")
        searches = [re.compile(p).search for p in patterns]

        def additional(k: str) -> bool:  # jsonschema: neither a property nor matched by a pattern
            return k not in known and not any(search(k) is not None for search in searches)

        if value is False:
            return lambda v: not isinstance(v, dict) or not any(additional(k) for k in v)
        extra = self.compile(value)
        return lambda v: not isinstance(v, dict) or all(extra(x) for k, x in v.items() if additional(k))

    def k_propertyNames(self, value: Any, schema: dict) -> Check:
        name = self.compile(value)
        return lambda v: not isinstance(v, dict) or all(name(k) for k in v)

    def _subschemas(self, value: Any, name: str) -> list[Check]:
        if not isinstance(value, list) or not value:
            raise Unsupported(name)
        return [self.compile(s) for s in value]

    def k_allOf(self, value: Any, schema: dict) -> Check:
        subs = self._subschemas(value, "allOf")
        return lambda v: all(s(v) for s in subs)

    def k_anyOf(self, value: Any, schema: dict) -> Check:
        subs = self._subschemas(value, "anyOf")
        return lambda v: any(s(v) for s in subs)

    def k_oneOf(self, value: Any, schema: dict) -> Check:
        subs = self._subschemas(value, "oneOf")
        return lambda v: sum(1 for s in subs if s(v)) == 1

    def k_not(self, value: Any, schema: dict) -> Check:
        sub = self.compile(value)
        return lambda v: not sub(v)


def compile_schema(schema: dict[str, Any]) -> Check | None:
    """A function telling whether a document is valid against ``schema``; None if not compilable."""
    try:
        return _Compiler(schema).compile(schema)
    except (Unsupported, re.error, TypeError, ValueError):
        return None
