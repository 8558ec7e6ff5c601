"""A strict reader for the plain YAML our config files are written in, so a job need not import
PyYAML (~9 ms of every run's start-up, plus its parse) to read them.

It reads only block mappings and block sequences of plain ASCII keys and values: integers, simple
decimals, true/false, null, words and single- or double-quoted strings without escapes, ``[]`` and
``{}``, comments. It never guesses: on anything else (flow collections, anchors, tags, block
scalars, multi-line values, tabs, yes/no/on/off, octal or hex or sexagesimal numbers, a colon in a
plain value, duplicate keys, non-ASCII text, ...) :func:`load` returns :data:`DECLINED` and the
caller parses the text with PyYAML, which also produces every error message (with its line).
Wherever it does answer, the answer equals ``yaml.safe_load`` (tests/test_plainyaml.py checks
that on the repository's configs and on generated documents).
"""

from __future__ import annotations

import re

DECLINED = object()

_KEY = re.compile(r"([A-Za-z_][A-Za-z0-9_-]*):(?: +(.*))?$")
_INT = re.compile(r"[-+]?(?:0|[1-9][0-9]*)$")
_FLOAT = re.compile(r"[-+]?(?:0|[1-9][0-9]*)\.[0-9]+$")
_WORD = re.compile(r"[A-Za-z_/][A-Za-z0-9_./@+-]*(?: [A-Za-z0-9_./@+()-]+)*$")
_QUOTED = re.compile(r"""(?:"([^"\\]*)"|'([^']*)')$""")
# Words PyYAML (YAML 1.1) resolves to something other than a string, in any case: declined unless
# they are exactly one of the spellings answered below.
_SPECIAL = {"yes", "no", "on", "off", "y", "n", "true", "false", "null", "~"}
_EXACT = {
    "true": True,
    "True": True,
    "TRUE": True,
    "false": False,
    "False": False,
    "FALSE": False,
    "null": None,
    "Null": None,
    "NULL": None,
    "~": None,
}
_MAX_DEPTH = 16


class _Decline(Exception):
    pass


def load(text: str):
    """The document in ``text`` as ``yaml.safe_load`` would give it, or :data:`DECLINED`."""
    if not text.isascii() or "\t" in text or "\r" in text:
        return DECLINED
    lines: list[tuple[int, str]] = []
    for raw in text.split("\n"):
        stripped = raw.lstrip(" ")
        if not stripped or stripped.startswith("#"):
            continue
        if not raw.isprintable():
            return DECLINED
        lines.append((len(raw) - len(stripped), stripped.rstrip(" ")))
    if not lines:
        return None
    try:
        value, end = _block(lines, 0, lines[0][0], 0)
    except _Decline:
        return DECLINED
    return value if end == len(lines) and lines[0][0] == 0 else DECLINED


def _block(lines, i, indent, depth):
    if depth > _MAX_DEPTH:
        raise _Decline
    if lines[i][1] == "-" or lines[i][1].startswith("- "):
        return _sequence(lines, i, indent, depth)
    return _mapping(lines, i, indent, depth)


def _mapping(lines, i, indent, depth, first: str | None = None):
    out: dict = {}
    while i < len(lines):
        at, body = lines[i]
        if first is not None:  # the first key of a mapping that starts on a "- " line
            body, first = first, None
        elif at != indent:
            if at > indent:
                raise _Decline  # a continuation line or a stray indent
            break
        match = _KEY.match(body)
        if match is None:
            raise _Decline
        key, rest = match.group(1), match.group(2)
        if key in out or key.lower() in _SPECIAL or key == "<<":
            raise _Decline
        i += 1
        if rest is None or rest.startswith("#"):
            nxt = lines[i] if i < len(lines) else None
            if nxt is not None and (nxt[0] > indent or nxt[0] == indent and (nxt[1] == "-" or nxt[1].startswith("- "))):
                out[key], i = _block(lines, i, nxt[0], depth + 1)
            else:
                out[key] = None
        else:
            out[key] = _scalar(rest)
    return out, i


def _sequence(lines, i, indent, depth):
    out: list = []
    while i < len(lines):
        at, body = lines[i]
        if at != indent:
            if at > indent:
                raise _Decline
            break
        if not body.startswith("- "):
            if body == "-" or not _KEY.match(body):
                raise _Decline
            break  # the parent mapping's next key (a sequence at its key's indent)
        item = body[2:].lstrip(" ")
        inner = indent + (len(body) - len(item))
        if item.startswith("#") or item.startswith("-"):
            raise _Decline
        if _KEY.match(item):
            value, i = _mapping(lines, i, inner, depth + 1, first=item)
        else:
            value, i = _scalar(item), i + 1
        out.append(value)
    return out, i


def _scalar(text: str):
    cut = text.find(" #")
    if cut >= 0:
        text = text[:cut].rstrip(" ")
    if "#" in text and not _QUOTED.match(text):
        raise _Decline
    if text in _EXACT:
        return _EXACT[text]
    if text.lower() in _SPECIAL:
        raise _Decline
    if text == "[]":
        return []
    if text == "{}":
        return {}
    if _INT.match(text):
        return int(text)
    if _FLOAT.match(text):
        return float(text)
    quoted = _QUOTED.match(text)
    if quoted:
        return quoted.group(1) if quoted.group(1) is not None else quoted.group(2)
    if _WORD.match(text):
        return text
    raise _Decline
