"""Crash-safe file primitives: atomic rewrites, whole-line appends, canonical JSON."""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from observability.errors import InputError, MissingInputError, WorkspaceError


def canonical_json(data: Any, *, indent: int | None = None) -> str:
    """Serialise deterministically: sorted keys, no NaN, UTF-8 kept readable."""
    if indent is None:
        return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return json.dumps(data, sort_keys=True, indent=indent, ensure_ascii=False, allow_nan=False) + "\n"


def fsync_dir(directory: Path) -> None:
    """Make a rename or unlink in ``directory`` durable (best effort: some filesystems refuse)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _default_file_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


_FILE_MODE = _default_file_mode()


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` so that readers see the old or the new file, never a torn one."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise WorkspaceError(f"{path}: cannot write ({exc.strerror or exc})") from None
    try:
        # mkstemp creates 0600; the file gets the mode a plain open() would (0666 less the umask),
        # so published bundles and datasets stay readable by whoever may read them.
        os.fchmod(fd, _FILE_MODE)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise WorkspaceError(f"{path}: cannot write ({exc.strerror or exc})") from None
    fsync_dir(path.parent)


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: Path, data: Any) -> None:
    atomic_write_text(path, canonical_json(data, indent=2))


def _drop_torn_tail(handle) -> None:
    """A line cut short by a killed writer has no newline: drop it before appending after it."""
    size = handle.seek(0, os.SEEK_END)
    if size == 0:
        return
    handle.seek(size - 1)
    if handle.read(1) == b"\n":
        return
    back = min(size, 1 << 20)
    handle.seek(size - back)
    chunk = handle.read(back)
    cut = chunk.rfind(b"\n")
    handle.truncate(size - back + cut + 1 if cut >= 0 else (0 if back == size else size))
    handle.seek(0, os.SEEK_END)


def append_bytes(path: Path, data: bytes) -> int:
    """Append whole lines and fsync; returns the file size afterwards.

    A torn last line left by a killed writer is removed first, so appended lines never
    glue onto it.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a+b") as handle:
            _drop_torn_tail(handle)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
            return handle.tell()
    except OSError as exc:
        raise WorkspaceError(f"{path}: cannot append ({exc.strerror or exc})") from None


def truncate(path: Path, size: int) -> None:
    try:
        with open(path, "r+b") as handle:
            handle.truncate(size)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as exc:
        raise WorkspaceError(f"{path}: cannot truncate ({exc.strerror or exc})") from None


# Deeper than any document (JSON or YAML) this project reads or writes by far, and shallow enough that nothing
# downstream (the JSON encoder, jsonschema, our own walkers) can run out of stack on it.
MAX_JSON_DEPTH = 64


def nested_too_deep(doc: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether ``doc`` nests containers more than ``limit`` levels (level by level, no recursion)."""
    dict_, list_ = dict, list  # exact types, as json.loads and yaml.safe_load make: the fast path
    level = [doc] if type(doc) in (dict_, list_) else []
    depth = 0
    while level:
        depth += 1
        if depth > limit:
            return True
        below: list = []
        append = below.append
        for item in level:
            for value in (item.values() if type(item) is dict_ else item):
                kind = type(value)
                if kind is dict_ or kind is list_:
                    append(value)
        level = below
    return False


def _depth_position(text: str, limit: int) -> int:
    """Offset of the bracket that opens level ``limit + 1`` (0 when not found): where the error points."""
    depth = 0
    for match in re.finditer(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > limit:
                return match.start()
        elif token in "]}":
            depth -= 1
    return 0


def parse_json(data: bytes | str) -> Any:
    """``json.loads`` for anything read from disk or the network: nesting is bounded.

    A document nested deeper than MAX_JSON_DEPTH raises ``json.JSONDecodeError`` (a ValueError)
    pointing at the bracket that goes too deep, as any other malformed JSON does, so every
    reader's existing "not valid JSON" handling names the file; without this, a deeply nested
    file raised RecursionError and became a traceback (or a crash further down).
    """
    try:
        doc = json.loads(data)
    except RecursionError:
        too_deep = True
    else:
        # Fewer brackets than the bound (counted in C, strings included) cannot nest past it: most
        # documents, every log line, skip the walk.
        opens = data.count(b"[" if isinstance(data, (bytes, bytearray)) else "[") + \
            data.count(b"{" if isinstance(data, (bytes, bytearray)) else "{")
        too_deep = opens > MAX_JSON_DEPTH and nested_too_deep(doc)
    if too_deep:
        text = data.decode("utf-8", "replace") if isinstance(data, (bytes, bytearray)) else data
        raise json.JSONDecodeError(f"nested deeper than {MAX_JSON_DEPTH} levels", text,
                                   _depth_position(text, MAX_JSON_DEPTH))
    return doc


def read_json(path: Path, *, what: str = "file", default: Any = ..., display: str | None = None) -> Any:
    """Read a JSON file; a missing file returns ``default`` when given, else raises MissingInputError."""
    path = Path(path)
    name = display or str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        if default is not ...:
            return default
        raise MissingInputError(f"{name}: {what} not found") from None
    except IsADirectoryError:
        raise InputError(f"{name}: {what} is a directory, expected a file") from None
    except OSError as exc:
        raise InputError(f"{name}: cannot read {what} ({exc.strerror or exc})") from None
    try:
        return parse_json(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        line = getattr(exc, "lineno", None)
        where = f" line {line}" if line else ""
        raise InputError(f"{name}:{where} {what} is not valid JSON ({exc.msg if hasattr(exc, 'msg') else exc})") from None


def file_size(path: Path) -> int:
    try:
        return Path(path).stat().st_size
    except FileNotFoundError:
        return 0
