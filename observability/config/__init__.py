"""Job configuration: YAML files validated against schemas/, loaded once into frozen dataclasses.

This package holds the shared loader (``load_yaml``, ``resolve``); each job's settings live in a
module of their own (``config.latency``, ``config.weekly``, ``config.alerts``, ``config.schedules``),
so a job imports only its own. Errors name the file, the line and the field, and suggest the
nearest known key for a typo.
"""

from __future__ import annotations

import functools
import math
import re
from datetime import date as _date, datetime as _datetime
from pathlib import Path
from typing import Any

from observability import fsio, plainyaml, schemas
from observability.errors import ConfigError


def _line_of(root, parts: list, *, key: bool = False) -> int | None:
    """1-based line of the YAML node at ``parts`` (deepest node found); with ``key``, of the last
    part's key (a key whose value is a block mapping starts a line above its value)."""
    return _position(root, parts, key=key)[0]


def _position(root, parts: list, *, key: bool = False) -> tuple[int | None, int | None]:
    """1-based (line, column) of the YAML node ``_line_of`` finds; (None, None) without a document."""
    import yaml

    if root is None:
        return None, None
    node, mark = root, root.start_mark
    for index, part in enumerate(parts):
        if isinstance(node, yaml.MappingNode):
            pair = next(((k, v) for k, v in node.value if getattr(k, "value", None) == part), None)
            if pair is None:
                break
            if key and index == len(parts) - 1:
                mark = pair[0].start_mark
                break
            node = pair[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            break
        mark = node.start_mark
    return mark.line + 1, mark.column + 1


def _hint(schema: dict, parts: list, message: str) -> str:
    # A regex, a type or a length says little to a person: add what the schema says the field holds.
    pattern = any(text in message for text in (" does not match '", " is not of type ", " is too long"))
    if "Additional properties are not allowed" not in message and not pattern:
        return ""

    def deref(node: dict) -> dict:
        while isinstance(node, dict) and str(node.get("$ref", "")).startswith("#/$defs/"):
            node = schema.get("$defs", {}).get(node["$ref"].split("/", 2)[2], {})
        return node

    node = deref(schema)
    described = ""  # the field's description (a list item's is its list's)
    for part in parts:
        node = node.get("properties", {}).get(part) if not isinstance(part, int) else node.get("items", {})
        if node is None:
            return ""
        described = node.get("description", described if isinstance(part, int) else "")
        node = deref(node)
        described = described or node.get("description", "")
    if pattern:
        return f" (expected: {described})" if described else ""
    known = list(node.get("properties", {}))
    bad = message.split("'")[1] if "'" in message else ""
    import difflib  # only on this error path

    close = difflib.get_close_matches(bad, known, n=1)
    return f" (did you mean {close[0]!r}?)" if close else f" (known keys: {', '.join(sorted(known))})"


def _non_finite(node, parts: list):
    """Paths of every nan or infinite float in a parsed document (YAML's .nan and .inf); a nan
    compares false to every bound, so a schema's minimum or maximum never catches it."""
    if isinstance(node, float) and not math.isfinite(node):
        yield parts
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _non_finite(value, [*parts, key])
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _non_finite(value, [*parts, index])


def _compose(text: str):
    """The node tree of a document already loaded (for line numbers); None if it cannot be built."""
    import yaml  # only on an error path

    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except (yaml.YAMLError, RecursionError):
        return None


@functools.cache
def _unique_keys_loader():
    """PyYAML's SafeLoader refusing a key written twice in one mapping (safe_load keeps the last one
    silently: a second ``repeat_interval_hours:`` further down would quietly win)."""
    import yaml
    from yaml.constructor import ConstructorError

    class UniqueKeysLoader(yaml.SafeLoader):
        def construct_mapping(self, node, deep=False):
            if isinstance(node, yaml.MappingNode):
                seen: dict = {}
                for key_node, _ in node.value:
                    if key_node.tag == "tag:yaml.org,2002:merge":
                        continue  # `<<:` merges may override on purpose
                    key = self.construct_object(key_node, deep=True)
                    try:
                        first = seen.get(key)
                        seen.setdefault(key, key_node.start_mark.line + 1)
                    except TypeError:
                        continue  # an unhashable key: PyYAML's own error follows
                    if first is not None:
                        problem = f"duplicate key {str(key)[:40]!r} (first at line {first})"
                        raise ConstructorError(None, None, problem, key_node.start_mark)
            return super().construct_mapping(node, deep=deep)

    return UniqueKeysLoader


def _safe_load(text: str, display: str):
    """``yaml.safe_load`` of ``text`` and whether it nests too deep; ConfigError if not YAML."""
    import yaml

    try:
        data = yaml.load(text, Loader=_unique_keys_loader())  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(
            f"{display}{where}: not valid YAML ({problem})",
            file=display,
            line=mark.line + 1 if mark else None,
            col=mark.column + 1 if mark else None,
        ) from None
    except RecursionError:  # the YAML composer recurses once per level
        return None, True
    except (ValueError, OverflowError) as exc:  # an unquoted 2026-02-30: YAML's timestamp, no such day
        where, value = _bad_timestamp(text)
        raise ConfigError(
            f"{display}{where}: not valid YAML ({value}not a date: {exc})",
            file=display,
            line=int(where[1:]) if where else None,
        ) from None
    return data, fsio.nested_too_deep(data)


def _bad_timestamp(text: str) -> tuple[str, str]:
    """``(":line", "'value' ")`` of the first timestamp scalar YAML cannot turn into a date, else empty."""
    import yaml

    root = _compose(text)
    stack = [root] if root is not None else []
    while stack:
        node = stack.pop(0)
        if isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:timestamp":
            try:
                yaml.SafeLoader.construct_yaml_timestamp(yaml.SafeLoader(""), node)
            except (ValueError, OverflowError):
                return f":{node.start_mark.line + 1}", f"{node.value[:40]!r} "
        elif isinstance(node, yaml.MappingNode):
            stack.extend(part for pair in node.value for part in pair)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
    return "", ""


def _days_as_text(value: Any) -> Any:
    """An unquoted day (``rotate_by: 2026-03-31``, which YAML reads as a date) as the text written:
    the schemas take days as YYYY-MM-DD strings, and quoting them is easy to forget."""
    if isinstance(value, dict):
        return {k: _days_as_text(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_days_as_text(v) for v in value]
    if isinstance(value, _date) and not isinstance(value, _datetime):
        return value.isoformat()
    return value


_UNMATCHED_KEY = re.compile(r"^'([^']*)' does not match any of the regexes: (.*)$")


def load_yaml(path: Path, schema_name: str, *, display: str) -> dict[str, Any]:
    """Parse and validate one YAML config; raise ConfigError naming file, line and field."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{display}: config file not found") from None
    except IsADirectoryError:
        raise ConfigError(f"{display}: is a directory, expected a config file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{display}: cannot read config ({exc})", file=display) from None
    # Plain configs (ours are) are read without importing PyYAML; anything else, and every error
    # message, is PyYAML's (observability/plainyaml.py answers only where it equals safe_load).
    # The node tree (for line numbers) is composed only when an error needs a line.
    data = plainyaml.load(text)
    if data is not plainyaml.DECLINED:
        too_deep = fsio.nested_too_deep(data)
    else:
        data, too_deep = _safe_load(text, display)
    if too_deep:
        raise ConfigError(f"{display}: not valid YAML (nested deeper than {fsio.MAX_JSON_DEPTH} levels)", file=display)
    if data is None:
        data = {}
    data = _days_as_text(data)
    for parts in _non_finite(data, []):
        line, col = _position(_compose(text), parts)
        raise ConfigError(
            f"{display}{f':{line}' if line else ''}: field {schemas.json_path(parts)}: "
            "not a finite number (.nan and .inf are refused)",
            file=display,
            line=line,
            col=col,
        )
    problems = schemas.errors(schema_name, data)
    if problems:
        # A misspelt key also leaves a required one missing: name the misspelling (it gets a hint).
        problems.sort(key=lambda item: (schemas.json_path(item[0]), "Additional properties" not in item[1]))
        parts, message = problems[0]
        line_parts = parts
        unmatched = _UNMATCHED_KEY.match(message)
        if unmatched:  # additionalProperties beside patternProperties: say it like any unknown key, at its line
            key, patterns = unmatched.groups()
            message = f"Additional properties are not allowed ('{key}' was unexpected; keys may also match {patterns})"
            line_parts = [*parts, key]
        unexpected = re.match(r"Additional properties are not allowed \('([^']*)'", message)
        if unexpected:  # point at the unknown key itself, not at its value or the mapping's first key
            line_parts = [*parts, unexpected.group(1)]
        line, col = _position(_compose(text), line_parts, key=bool(unexpected))
        where = f":{line}" if line else ""
        hint = _hint(schemas.load_schema(schema_name), parts, message)
        more = f" (+{len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
        raise ConfigError(
            f"{display}{where}: field {schemas.json_path(parts)}: {message}{hint}{more}",
            file=display,
            line=line,
            col=col,
        )
    return data


def yaml_line(path: Path, parts: list) -> int | None:
    """1-based line of the node at ``parts`` in a config already loaded (for an error found after
    the schema check); None when the file cannot be read again."""
    try:
        return _line_of(_compose(path.read_text(encoding="utf-8")), parts)
    except (OSError, UnicodeDecodeError):
        return None


def resolve(workspace, given: str | None, default: str) -> tuple[Path | None, str]:
    """The config file a job reads: the one given (which must exist), else the workspace default
    when present, else none (built-in defaults). Returns (path or None, how to name it in errors)."""
    if given:
        path = workspace.path(given)
        return path, workspace.rel(path)
    path = workspace.path(default)
    return (path, workspace.rel(path)) if path.exists() else (None, "(defaults)")
