"""The one reader of ``ops/state_archive/**``: EV posterior snapshots, in every layout upstream has used.

Layouts seen in real archives:
  * ``<strategy>/<symbol>/<mode>/<file>.json`` where ``<strategy>`` is ``day_orb_5m.DayORB5m``,
    ``strategies.day_orb_5m.DayORB5m`` or the bare module ``day_orb_5m``;
  * file names ``YYYYMMDD_HHMMSS.json``, ``YYYYMMDD_HHMMSS_state.json`` and
    ``YYYYMMDD_HHMMSS_<SYMBOL>_<mode>_YYYYMMDD_HHMMSS.json`` (the first stamp is the snapshot time in
    UTC, the second the run id, in the runner's local time);
  * flat legacy ``grid_<SYMBOL>_<mode>_<params>_<run stamp>_<snapshot stamp>.json`` at the root.

A file at an unrecognised path, unreadable, or with an unusable posterior (the rule of
:mod:`observability.upstream.values`: alpha or beta missing, not a finite number or not > 0, decay
negative, conf outside (0, 1)) is skipped with a warning naming it; an archive with no usable snapshot
at all is an InputError.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from observability.digest import sha256_hex
from observability.errors import InputError, MissingInputError
from observability.upstream import values
from observability.upstream.values import json_object
from observability.workspace import Workspace

_STAMP = r"(\d{8})_(\d{6})"
_NESTED_NAME = re.compile(rf"^{_STAMP}(?:_state|_[A-Za-z0-9]+_[A-Za-z0-9]+_\d{{8}}_\d{{6}})?\.json$")
_FLAT_GRID = re.compile(rf"^grid_([A-Za-z0-9]+)_([A-Za-z0-9]+)_(.+?_\d{{8}}_\d{{6}})_{_STAMP}\.json$")
STRATEGY_PREFIX = "strategies."


@dataclass(frozen=True)
class SnapshotKey:
    """Where a snapshot file sits, before its content is read."""

    archive_key: str
    symbol: str
    mode: str
    generated_at: str
    variant: str | None = None


def _stamp_iso(day: str, time: str) -> str | None:
    text = f"{day[:4]}-{day[4:6]}-{day[6:]}T{time[:2]}:{time[2:4]}:{time[4:]}Z"
    try:
        from observability.clock import parse_iso

        parse_iso(text)
    except ValueError:
        return None
    return text


def classify(rel_parts: tuple[str, ...]) -> SnapshotKey | None:
    """The snapshot's series and time from its path under the archive root, or None if unrecognised."""
    name = rel_parts[-1]
    if len(rel_parts) == 4:
        match = _NESTED_NAME.match(name)
        if not match:
            return None
        at = _stamp_iso(match.group(1), match.group(2))
        return SnapshotKey(rel_parts[0], rel_parts[1], rel_parts[2], at) if at else None
    if len(rel_parts) == 1:
        match = _FLAT_GRID.match(name)
        if not match:
            return None
        at = _stamp_iso(match.group(4), match.group(5))
        return SnapshotKey("grid", match.group(1), match.group(2), at, variant=match.group(3)) if at else None
    return None


def canonical_strategy(archive_key: str, known: set[str]) -> str:
    """``strategies.day_orb_5m.DayORB5m`` and ``day_orb_5m`` both become ``day_orb_5m.DayORB5m``.

    A bare module name maps to the one qualified key with that module found in the archive;
    when there is none (or several) it is kept as it is.
    """
    key = archive_key.removeprefix(STRATEGY_PREFIX)
    if "." not in key:
        qualified = sorted({k for k in known if k.split(".", 1)[0] == key and "." in k})
        if len(qualified) == 1:
            return qualified[0]
    return key


def _number(value, field: str, *, lo: float | None = None, hi: float | None = None) -> float:
    """A finite number by the shared rule (observability.upstream.values); an unusable one skips the snapshot."""
    parsed = values.number(value, f"ev_global.{field}", lo=lo, hi=hi)
    if parsed is None:
        raise values.BadValue(f"ev_global.{field}", "missing")
    return parsed


def parse_snapshot(data: bytes) -> dict:
    """The EV posterior of one snapshot: alpha, beta, decay, conf (raises ValueError when unusable)."""
    doc = json_object(data)
    ev = doc.get("ev_global")
    if not isinstance(ev, dict):
        raise ValueError("no ev_global object")
    alpha, beta = _number(ev.get("alpha"), "alpha"), _number(ev.get("beta"), "beta")
    if alpha <= 0 or beta <= 0:
        raise ValueError(f"ev_global: alpha and beta must be > 0 (found {alpha}, {beta})")
    decay = ev.get("decay")
    conf = ev.get("conf")
    decay = _number(decay, "decay", lo=0) if decay is not None else None
    conf = _number(conf, "conf") if conf is not None else None
    if conf is not None and not 0 < conf < 1:
        raise values.BadValue("ev_global.conf", f"{conf} is outside (0, 1)")
    meta = found if isinstance(found := doc.get("meta"), dict) else {}
    symbol = meta.get("symbol") if isinstance(meta.get("symbol"), str) else None
    return {"alpha": alpha, "beta": beta, "decay": decay, "conf": conf, "symbol": symbol}


@dataclass
class Archive:
    """What :func:`read` found: ``snapshots`` as (workspace path, key, posterior), every file read as
    (workspace path, sha256), and the skip warnings (file named)."""

    snapshots: list[tuple[str, SnapshotKey, dict]] = field(default_factory=list)
    inputs: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    skipped: int = 0


def _load(rel: str, data: bytes) -> tuple[str, dict]:
    return sha256_hex(data), parse_snapshot(data)


def read(ws: Workspace, root: Path, load: Callable[[str, bytes], tuple[str, dict]] = _load) -> Archive:
    """Every recognisable snapshot under ``root`` (unrecognised or unusable files are warnings).

    ``load(rel, data)`` returns (sha256 of ``data``, :func:`parse_snapshot` of it) and may answer from a
    cache; it raises ValueError for an unusable snapshot.
    """
    if root.exists() and not root.is_dir():
        raise InputError(f"{ws.rel(root)}: state archive is a file, expected a directory")
    if not root.is_dir():
        raise MissingInputError(f"{ws.rel(root)}: state archive not found")
    found: list[tuple[Path, tuple[str, ...]]] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.endswith(".json") and not name.startswith("."):
                path = Path(dirpath) / name
                found.append((path, path.relative_to(root).parts))
    out = Archive()
    for path, parts in found:
        rel = ws.rel(path)
        key = classify(parts)
        if key is None:
            out.warnings.append(f"{rel}: not a recognised state snapshot path; skipped")
            out.skipped += 1
            continue
        try:
            data = path.read_bytes()
        except OSError as exc:
            out.warnings.append(f"{rel}: cannot read ({exc.strerror or exc}); skipped")
            out.skipped += 1
            continue
        try:
            digest, value = load(rel, data)
        except ValueError as exc:
            out.warnings.append(f"{rel}: {exc}; file skipped")
            out.inputs.append((rel, sha256_hex(data)))
            out.skipped += 1
            continue
        out.inputs.append((rel, digest))
        out.snapshots.append((rel, key, value))
    if not out.snapshots:
        raise InputError(
            f"{ws.rel(root)}: no usable state snapshot found"
            + (f" ({out.skipped} skipped: {out.warnings[0]})" if out.warnings else "")
        )
    return out
