"""Crash-safe file primitives: atomic rewrites, whole-line appends, canonical JSON."""

from __future__ import annotations

import errno
import json
import os
import re
import stat
import time
from pathlib import Path
from typing import Any

from observability import recovery
from observability.errors import InputError, MissingInputError, WorkspaceError

# Bound once: a test that patches os.replace to kill one job's rename must not reach these writes.
_os_replace = os.replace


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


# --- confinement: no write leaves the workspace through a symlink ---------------------------------

_CONFINED: Path | None = None


def confine(root: Path | None) -> None:
    """From now on refuse writes that a symlink would lead out of ``root`` (the runtime sets it per job)."""
    global _CONFINED
    _CONFINED = Path(os.path.realpath(root)) if root is not None else None


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def guard(path: Path) -> Path:
    """The real path to write for ``path``, or WorkspaceError when a symlink leads it out of the workspace.

    Only paths inside the confined workspace are checked: a path given explicitly outside it
    (an absolute ``--output-dir``) is the operator's choice. A symlink whose target stays inside
    the workspace is followed (the returned path is its target); one leading outside is refused,
    whichever component of the path it is.
    """
    path = Path(path)
    root = _CONFINED
    absolute = os.path.abspath(path)
    real = os.path.realpath(absolute)
    if root is None or not _inside(absolute, str(root)) or _inside(real, str(root)):
        return Path(real)
    current = str(root)
    culprit, target = absolute, real
    for part in Path(absolute).relative_to(root).parts:
        current = os.path.join(current, part)
        if os.path.islink(current):
            resolved = os.path.realpath(current)
            if not _inside(resolved, str(root)):
                culprit, target = current, resolved
                break
    shown = os.path.relpath(culprit, root)
    raise WorkspaceError(
        f"{path}: refusing to write through {shown}, a symlink to {target} outside the workspace {root}; "
        f"replace {shown} with a regular file or directory",
        path=str(path),
    )


def _open_dir(directory: Path) -> int:
    """A descriptor of ``directory`` (its last component must not be a symlink): a write through it stays there."""
    return os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)


# --- temp files of atomic writes --------------------------------------------------------------------

TEMP_RE = re.compile(r"^\..+\.[a-z0-9_]{8}\.tmp$")
# A writer holds its temp file for the time one write takes (milliseconds to seconds); one an hour old
# was left by a killed writer. Sweeping only older ones never takes a concurrent writer's live temp.
TEMP_MAX_AGE_S = 3600.0


def temp_name(name: str) -> str:
    """``.<name>.<8 random chars>.tmp``: what every atomic write (and the file store) names its temp file."""
    return f".{name}.{os.urandom(4).hex()}.tmp"  # os.urandom: what secrets.token_hex uses, minus its imports


def is_temp(name: str) -> bool:
    return bool(TEMP_RE.match(name))


def sweep_temps(directories, *, max_age_s: float = TEMP_MAX_AGE_S, now: float | None = None) -> list[Path]:
    """Delete the temp files of killed atomic writes older than ``max_age_s`` under ``directories``.

    Symlinked directories are not entered (``directories`` themselves included); a temp that
    vanishes or cannot be removed is left alone.
    Returns the paths removed.
    """
    now = time.time() if now is None else now
    removed: list[Path] = []
    for directory in directories:
        if os.path.islink(directory):
            continue  # os.walk would follow it: a symlinked ops/ or out/ may lead out of the workspace
        for parent, _dirs, names in os.walk(directory):
            for name in names:
                if not is_temp(name):
                    continue
                path = Path(parent) / name
                try:
                    st = os.lstat(path)
                    if now - st.st_mtime < max_age_s or not stat.S_ISREG(st.st_mode):
                        continue
                    os.unlink(path)
                except OSError:
                    continue
                removed.append(path)
    return removed


def create_temp(directory: Path, name: str, data: bytes, *, dir_fd: int | None = None, mode: int | None = None) -> str:
    """Write ``data`` to a new temp file in ``directory`` (fsynced); returns its name within ``directory``."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    for _ in range(100):
        tmp = temp_name(name)
        try:
            fd = os.open(tmp if dir_fd is not None else Path(directory) / tmp, flags, 0o600, dir_fd=dir_fd)
            break
        except FileExistsError:
            continue
    else:
        raise FileExistsError(f"{directory}: no free temp file name for {name}")
    try:
        # Created 0600 so nobody reads it half-written; it gets the mode a plain open() would
        # (0666 less the umask), so published bundles and datasets stay readable.
        os.fchmod(fd, _FILE_MODE if mode is None else mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        try:
            if dir_fd is not None:
                os.unlink(tmp, dir_fd=dir_fd)
            else:
                os.unlink(Path(directory) / tmp)
        except OSError:
            pass
        raise
    return tmp


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` so that readers see the old or the new file, never a torn one.

    The temp file is created and renamed through a descriptor of the directory, so a directory
    swapped for a symlink after the check cannot redirect the write.
    """
    path = Path(path)
    target = guard(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        guard(path)  # mkdir may have run into a link planted meanwhile
        dir_fd = _open_dir(target.parent)
    except WorkspaceError:
        raise
    except OSError as exc:
        raise WorkspaceError(f"{path}: cannot write ({_why(exc, target.parent)})") from None
    try:
        tmp = create_temp(target.parent, target.name, data, dir_fd=dir_fd)
        try:
            _os_replace(tmp, target.name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        except OSError:
            try:
                os.unlink(tmp, dir_fd=dir_fd)
            except OSError:
                pass
            raise
        try:
            os.fsync(dir_fd)
        except OSError:
            pass
    except OSError as exc:
        raise WorkspaceError(f"{path}: cannot write ({exc.strerror or exc})") from None
    finally:
        os.close(dir_fd)


def _why(exc: OSError, directory: Path) -> str:
    if exc.errno == errno.ELOOP:
        return f"{directory} became a symlink while writing"
    return str(exc.strerror or exc)


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


def _open_nofollow(path: Path, flags: int) -> int:
    """Open ``path`` (already guarded) refusing a symlink as its last component (ELOOP), and, inside the
    confined workspace, a file with more than one hard link: writing to it in place (an append, a
    truncate) would change its other names too, which may be outside the workspace."""
    fd = os.open(path, flags | os.O_NOFOLLOW | os.O_CLOEXEC, 0o666)
    root = _CONFINED
    if root is not None and _inside(os.path.abspath(path), str(root)):
        links = os.fstat(fd).st_nlink
        if links > 1:
            os.close(fd)
            shown = os.path.relpath(path, root)
            raise WorkspaceError(
                f"{shown}: refusing to write to a file with {links} hard links (its other names, perhaps outside "
                f"the workspace {root}, would change too); replace it with a copy of its own: "
                f"cp {shown} {shown}.copy && mv {shown}.copy {shown}",
                path=str(path),
            )
    return fd


def append_bytes(path: Path, data: bytes) -> int:
    """Append whole lines and fsync; returns the file size afterwards.

    A torn last line left by a killed writer is removed first, so appended lines never
    glue onto it.
    """
    path = Path(path)
    target = guard(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        guard(path)
        fd = _open_nofollow(target, os.O_RDWR | os.O_CREAT | os.O_APPEND)
        with os.fdopen(fd, "a+b") as handle:
            _drop_torn_tail(handle)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
            return handle.tell()
    except OSError as exc:
        raise WorkspaceError(f"{path}: cannot append ({_why(exc, target)})") from None


def truncate(path: Path, size: int) -> None:
    target = guard(path)
    try:
        fd = _open_nofollow(target, os.O_RDWR)
        with os.fdopen(fd, "r+b") as handle:
            handle.truncate(size)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as exc:
        raise WorkspaceError(f"{path}: cannot truncate ({_why(exc, target)})") from None


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
            values = item.values() if type(item) is dict_ else item
            kinds = set(map(type, values))  # C speed: most containers hold only scalars (a state's windows)
            if dict_ in kinds or list_ in kinds:
                for value in values:
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
        if isinstance(data, (bytes, bytearray)):
            opens = data.count(b"[") + data.count(b"{")
        else:
            opens = data.count("[") + data.count("{")
        too_deep = opens > MAX_JSON_DEPTH and nested_too_deep(doc)
    if too_deep:
        text = data.decode("utf-8", "replace") if isinstance(data, (bytes, bytearray)) else data
        raise json.JSONDecodeError(
            f"nested deeper than {MAX_JSON_DEPTH} levels", text, _depth_position(text, MAX_JSON_DEPTH)
        )
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
        raise InputError(recovery.explain(f"{name}: cannot read {what} ({exc.strerror or exc})", path)) from None
    try:
        return parse_json(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        line = getattr(exc, "lineno", None)
        where = f" line {line}" if line else ""
        message = f"{name}:{where} {what} is not valid JSON ({exc.msg if hasattr(exc, 'msg') else exc})"
        raise InputError(recovery.explain(message, path)) from None


def file_size(path: Path) -> int:
    try:
        return Path(path).stat().st_size
    except FileNotFoundError:
        return 0
