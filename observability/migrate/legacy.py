"""Read a legacy script-based ``ops/`` tree and plan its import into a workspace (docs/migration.md).

Nothing is lost: every legacy file read is kept byte for byte under ``ops/legacy/`` (its path below
the legacy ``ops/`` kept), and what our jobs can use is converted into their files:

- raw samples (legacy ``ops/signal_latency.csv``: the script's ``timestamp_utc,latency_ms,status,
  detail,source`` or the notifier's ``signal_id,ts_emit,ts_ack,status,detail``) into the raw sample
  store (``ops/signal_latency.csv``, ``rawsamples.HEADER``; ``ingest_latency_ms`` left empty), one row per
  sample not already stored;
- rollups (legacy ``ops/signal_latency_rollup.csv``, one row per hour over all sources) into the day
  partitions ``ops/signal_latency_rollup/YYYY-MM-DD.csv`` under one source name, except the hours the
  raw samples cover (the latency job recomputes those per source);
- weekly history (``ops/weekly_report_history/<week>.json`` + ``.sig``) and the state archive
  (``ops/state_archive/**``) copied where the workspace has no such file.

Every file is checked before anything is written: a bad row or document refuses the whole import,
naming the file and the line. A file already imported (its kept copy under ops/legacy/ has the same
bytes) is not converted again, so a second run changes nothing; the kept copies are written last, so
an import killed part-way is finished by the next.
"""

from __future__ import annotations

import csv
import io
import os
import stat
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any

from observability import clock, fsio
from observability.digest import sha256
from observability.errors import ConfigError, InputError
from observability.outputs import rawsamples, rollups
from observability.upstream import signal_log
from observability.workspace import Workspace

KEEP_DIR = "ops/legacy"  # every legacy file, byte for byte
RAW_FILES = ("signal_latency.csv", "signal_latency.legacy.csv")
ROLLUP_FILE = "signal_latency_rollup.csv"
# The legacy script's rollup columns (scripts/analyze_signal_latency.py ROLLUP_FIELDNAMES); `source` optional.
LEGACY_ROLLUP = ("hour_utc", "window_end_utc", *rollups.COLUMNS[2:])  # ours, less source, plus window_end_utc
COPIED = ("weekly_report_history", "state_archive")  # copied where the workspace has no such file
SKIPPED_SUFFIXES = (".lock",)  # lock files hold nothing
DEFAULT_SOURCE = "legacy"


@dataclass
class Action:
    """One file the import writes (or would write), and why."""

    kind: str  # raw_samples | rollups | copy | keep
    source: str  # the legacy file, as LEGACY_DIR/ops/...
    target: str  # workspace-relative
    action: str  # imported | unchanged | conflict | covered
    rows: int | None = None
    data: bytes | None = field(default=None, repr=False)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "source": self.source, "target": self.target, "action": self.action}
        if self.rows is not None:
            out["rows"] = self.rows
        return out


@dataclass
class Plan:
    legacy_ops: Path
    actions: list[Action] = field(default_factory=list)
    samples_new: int = 0
    samples_present: int = 0
    rollup_rows_new: int = 0
    rollup_rows_present: int = 0
    rollup_rows_covered: int = 0
    rollup_rows_conflict: int = 0

    def writes(self) -> list[Action]:
        return [a for a in self.actions if a.data is not None]


def legacy_ops_dir(given: Path) -> Path:
    """The legacy ``ops/`` directory: ``given/ops`` (a legacy checkout) or ``given`` itself."""
    if not given.is_dir():
        raise ConfigError(f"LEGACY_DIR {given}: {'does not exist' if not given.exists() else 'is not a directory'}")
    if (given / "ops").is_dir():
        return given / "ops"
    if given.name == "ops" or any((given / n).exists() for n in (*RAW_FILES, ROLLUP_FILE, *COPIED)):
        return given
    raise ConfigError(
        f"LEGACY_DIR {given}: no legacy ops/ tree (expected {given}/ops/ or a directory holding "
        "signal_latency.csv, signal_latency_rollup.csv, weekly_report_history/ or state_archive/)"
    )


def _not_the_workspace(ws: Workspace, ops: Path) -> None:
    """The workspace's own ops/ (or a folder in it, or above it) is no legacy tree: importing it would
    copy the workspace into ops/legacy/, one level deeper on every run."""
    mine, theirs = ws.ops.resolve(), ops.resolve()
    if theirs == mine or theirs.is_relative_to(mine) or mine.is_relative_to(theirs):
        raise ConfigError(
            f"LEGACY_DIR {ops.as_posix()}: is this workspace's ops/ or holds it; give the legacy checkout's "
            "ops/ tree, outside the workspace's"
        )


def _files(top: Path) -> list[Path]:
    """Every regular file under ``top``; a symlink may point only inside it (one leading out would copy
    a file from elsewhere, a credentials file say, into the committed ops/ tree), and a FIFO or device
    refuses the import (reading one would block or never end)."""
    found = []
    inside = top.resolve()
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames.sort()
        for name in dirnames:
            _utf8_name(Path(dirpath) / name)
            _inside(Path(dirpath) / name, inside)  # a linked directory inside is walked where it really is
        for name in sorted(filenames):
            path = Path(dirpath) / name
            _utf8_name(path)
            if name.endswith(SKIPPED_SUFFIXES):
                continue
            _inside(path, inside)
            if not stat.S_ISREG(_stat(path).st_mode):
                raise InputError(f"{path.as_posix()}: not a regular file (a FIFO, socket or device)", input=str(path))
            found.append(path)
    return found


def _utf8_name(path: Path) -> None:
    """A name that is not UTF-8 cannot go into the report or the log: refused before anything is written."""
    try:
        path.name.encode("utf-8")
    except UnicodeEncodeError:
        shown = os.fsencode(path).decode("utf-8", "backslashreplace")
        raise InputError(f"{shown}: the file name is not UTF-8; rename it", input=shown) from None


def _stat(path: Path) -> os.stat_result:
    try:
        return path.stat()
    except OSError as exc:
        raise InputError(f"{path.as_posix()}: cannot read ({exc.strerror or exc})", input=str(path)) from None


def _inside(path: Path, inside: Path) -> None:
    if path.is_symlink() and not path.resolve().is_relative_to(inside):
        raise InputError(
            f"{path.as_posix()}: a symlink leading outside the legacy tree (to {path.resolve().as_posix()}); "
            "copy the file into the tree if it belongs to it",
            input=str(path),
        )


def _read(path: Path, shown: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"{shown}: cannot read ({exc.strerror or exc})", input=shown) from None


def plan(ws: Workspace, legacy: Path, *, source: str = DEFAULT_SOURCE, now: datetime) -> Plan:
    """Check every legacy file and work out what to write; nothing is written."""
    if not signal_log.SOURCE_RE.match(source):
        raise ConfigError(f"--source {source!r}: must match {signal_log.SOURCE_RE.pattern}")
    ops = legacy_ops_dir(legacy)
    _not_the_workspace(ws, ops)
    result = Plan(ops)

    def shown(path: Path) -> str:
        return path.as_posix()  # as given (LEGACY_DIR/ops/...): never mistaken for the workspace's own file

    raw_hours: set[str] = set()
    fresh_sources: list[Path] = []
    for path in _files(ops):
        rel = PurePosixPath(path.relative_to(ops).as_posix())
        data = _read(path, shown(path))
        kept = ws.path(KEEP_DIR) / rel
        unchanged = _same(kept, data)
        result.actions.append(_keep(ws, shown(path), kept, data))
        if len(rel.parts) == 1 and rel.name in RAW_FILES:
            if not unchanged:
                fresh_sources.append(path)
            else:
                result.actions.append(Action("raw_samples", shown(path), "ops/signal_latency.csv", "unchanged"))
        elif len(rel.parts) == 1 and rel.name == ROLLUP_FILE:
            pass  # after the raw samples: the hours they cover are left to the latency job
        elif rel.parts[0] in COPIED and len(rel.parts) > 1:
            _check_copy(rel, data, shown(path))
            target = ws.ops / rel
            result.actions.append(_copy(ws, shown(path), target, data))
    _raw(ws, result, fresh_sources, shown, source, now, raw_hours)
    rollup = ops / ROLLUP_FILE
    if rollup.is_file() and not _same(ws.path(KEEP_DIR) / ROLLUP_FILE, _read(rollup, shown(rollup))):
        _rollups(ws, result, rollup, shown(rollup), source, raw_hours)
    elif rollup.is_file():
        result.actions.append(Action("rollups", shown(rollup), "ops/signal_latency_rollup/", "unchanged"))
    return result


def _same(path: Path, data: bytes) -> bool:
    try:
        return path.read_bytes() == data
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return False


def _keep(ws: Workspace, source: str, kept: Path, data: bytes) -> Action:
    if _same(kept, data):
        return Action("keep", source, ws.rel(kept), "unchanged")
    if kept.exists():
        # The legacy file changed since it was kept: both versions stay.
        kept = kept.with_name(f"{kept.name}~{sha256(data).hexdigest()[:8]}")
        if _same(kept, data):
            return Action("keep", source, ws.rel(kept), "unchanged")
    return Action("keep", source, ws.rel(kept), "imported", data=data)


def _copy(ws: Workspace, source: str, target: Path, data: bytes) -> Action:
    if _same(target, data):
        return Action("copy", source, ws.rel(target), "unchanged")
    if target.exists():
        return Action("copy", source, ws.rel(target), "conflict")  # ours stays; the legacy bytes are kept
    return Action("copy", source, ws.rel(target), "imported", data=data)


def _check_copy(rel: PurePosixPath, data: bytes, shown: str) -> None:
    """A weekly payload or state snapshot that is not a JSON object refuses the import."""
    if rel.suffix != ".json":
        return
    try:
        doc = fsio.parse_json(data)
    except ValueError as exc:
        raise InputError(f"{shown}: not JSON ({exc})", input=shown) from None
    if not isinstance(doc, dict):
        raise InputError(f"{shown}: line 1: a JSON {type(doc).__name__}, expected an object", input=shown)


def _raw(
    ws: Workspace,
    result: Plan,
    paths: list[Path],
    shown,
    source: str,
    now: datetime,
    hours: set[str],
) -> None:
    target = ws.ops / "signal_latency.csv"
    existing = _read(target, ws.rel(target)) if target.is_file() else b""
    if existing and not existing.startswith(rawsamples.HEADER_BYTES):
        raise InputError(
            f"{ws.rel(target)}: line 1: not the raw sample store's header "
            f"({rawsamples.HEADER.strip()!r}); move it aside or restore it with `observability state pull`",
            input=ws.rel(target),
        )
    stored = rawsamples.parse_rows(existing)
    keys = {s.key for s in stored}
    hours.update(s.timestamp.isoformat()[:13] for s in stored)
    fresh: list[signal_log.Sample] = []
    for path in paths:
        samples, rejects, _cursor, _notes = signal_log.read_new(
            path, None, rel=shown(path), default_source=source, now=now
        )
        _, tail = _torn(_read(path, shown(path)))
        if rejects:
            first = rejects[0]
            more = f" (+{len(rejects) - 1} more bad row(s))" if len(rejects) > 1 else ""
            raise InputError(f"{first.input}: line {first.line}: {first.reason}{more}", input=first.input)
        if tail:
            raise InputError(f"{shown(path)}: its last line has no newline (a writer still running?)")
        added = [s for s in samples if s.key not in keys]
        keys.update(s.key for s in added)
        fresh += added
        result.samples_present += len(samples) - len(added)
        hours.update(s.timestamp.isoformat()[:13] for s in samples)
        result.actions.append(Action("raw_samples", shown(path), ws.rel(target), "imported", rows=len(added)))
    if fresh:
        if (ws.ops / "latency_state.json").exists():
            raise ConfigError(
                f"{ws.rel(ws.ops / 'latency_state.json')} exists: the raw sample store belongs to a latency job "
                f"that has run, and {len(fresh)} legacy sample(s) are not in it; feed them to that job with "
                "`observability latency sample --input <the legacy signal_latency.csv>` instead, or migrate "
                "before the first latency run"
            )
        fresh.sort(key=lambda s: (s.timestamp, s.source))
        body = existing or rawsamples.HEADER_BYTES
        # The last import action carries the whole new file (the others report their rows).
        result.actions[-1].data = body + b"".join(rawsamples.format_rows(fresh))
    result.samples_new = len(fresh)


def _torn(data: bytes) -> tuple[bytes, bytes]:
    cut = data.rfind(b"\n") + 1
    return data[:cut], data[cut:]


def _rollups(ws: Workspace, result: Plan, path: Path, shown: str, source: str, raw_hours: set[str]) -> None:
    data = _read(path, shown)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{shown}: not UTF-8 (byte {exc.start})", input=shown) from None
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        return
    header = [h.strip() for h in rows[0]]
    columns = {name: i for i, name in enumerate(header)}
    wanted = [c for c in LEGACY_ROLLUP if c != "window_end_utc"]
    if not set(wanted) <= columns.keys():
        missing = ", ".join(c for c in wanted if c not in columns)
        raise InputError(f"{shown}: line 1: not a legacy rollup header (missing {missing})", input=shown)
    by_day: dict[str, dict[tuple[str, str], rollups.RollupRow]] = {}
    for number, row in enumerate(rows[1:], start=2):
        if not row or not "".join(row).strip():
            continue
        if len(row) != len(header):
            raise InputError(f"{shown}: line {number}: expected {len(header)} fields, found {len(row)}", input=shown)
        try:
            hour = clock.iso(clock.parse_iso(row[columns["hour_utc"]].strip()))
        except ValueError:
            raise InputError(
                f"{shown}: line {number}: hour_utc {row[columns['hour_utc']][:40]!r} is not a time", input=shown
            ) from None
        name = row[columns["source"]].strip() if "source" in columns else source
        fields = [hour, name or source] + [row[columns[c]].strip().lower() for c in wanted[1:]]
        # The legacy script wrote True/False and floats for counts; the shared rule decides what is usable.
        fields[9] = {"true": "true", "false": "false", "1": "true", "0": "false"}.get(fields[9], fields[9])
        for i in (2, 3, 10):
            if fields[i].endswith(".0"):
                fields[i] = fields[i][:-2]
        try:
            parsed = rollups.parse_row(",".join(fields))
        except ValueError as exc:
            raise InputError(f"{shown}: line {number}: {exc}", input=shown) from None
        if parsed.hour_utc[:13] in raw_hours:
            result.rollup_rows_covered += 1
            continue
        by_day.setdefault(parsed.hour_utc[:10], {})[(parsed.hour_utc, parsed.source)] = parsed
    directory = rollups.partition_dir(ws.ops / ROLLUP_FILE)
    for day, legacy_rows in sorted(by_day.items()):
        target = directory / f"{day}.csv"
        present: dict[tuple[str, str], rollups.RollupRow] = {}
        if target.is_file():
            found, warnings = rollups.parse_parts([(target, _read(target, ws.rel(target)))], ws.rel)
            if warnings:
                raise InputError(f"{warnings[0]} (fix the workspace's rollups before importing)")
            present = {(r.hour_utc, r.source): r for r in found}
        added = {k: v for k, v in legacy_rows.items() if k not in present}
        for key in legacy_rows.keys() & present.keys():
            if legacy_rows[key].line() == present[key].line():
                result.rollup_rows_present += 1
            else:
                result.rollup_rows_conflict += 1  # ours stays; the legacy row is in the kept copy
        result.rollup_rows_new += len(added)
        if not added:
            result.actions.append(Action("rollups", shown, ws.rel(target), "unchanged", rows=0))
            continue
        merged = sorted({**present, **added}.values(), key=lambda r: (r.hour_utc, r.source))
        body = (rollups.HEADER + "".join(r.line() for r in merged)).encode()
        result.actions.append(Action("rollups", shown, ws.rel(target), "imported", rows=len(added), data=body))


def apply(ws: Workspace, result: Plan) -> list[str]:
    """Write the plan: the converted and copied files, then the kept copies (each atomically).

    A kept copy with the legacy bytes is what makes a rerun skip a file, so it is written last: an
    import killed or failing part-way leaves some files unkept, and the rerun converts them again
    (their rows already stored are not added twice).
    """
    written = []
    order = {"copy": 0, "rollups": 1, "raw_samples": 2, "keep": 3}
    # A weekly payload's .sig before its .json: the .json is the commit point of a delivered week.
    for action in sorted(result.writes(), key=lambda a: (order[a.kind], not a.target.endswith(".sig"), a.target)):
        fsio.atomic_write_bytes(ws.path(action.target), action.data or b"")
        written.append(action.target)
    return written
