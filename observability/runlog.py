"""The automation log: one schema-checked JSON line per job event, with a gap-detectable sequence."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from observability import fsio, schemas, secrets
from observability.workspace import Workspace

MAX_LINE_BYTES = 4096
LOCK_TIMEOUT_SECONDS = 60


def _last_sequence_in_log(path: Path) -> int:
    """Sequence of the last whole line of the log (0 when empty or unreadable)."""
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 3 * MAX_LINE_BYTES))
            tail = handle.read()
    except FileNotFoundError:
        return 0
    for line in reversed(tail.split(b"\n")):
        if not line.strip():
            continue
        try:
            value = json.loads(line).get("sequence")
        except (ValueError, AttributeError):
            continue
        if isinstance(value, int):
            return value
    return 0


def _read_sequence(path: Path) -> int:
    try:
        return int(path.read_text(encoding="ascii").strip() or 0)
    except (FileNotFoundError, ValueError):
        return 0


def _shrink(record: dict[str, Any]) -> bytes:
    """Encode ``record`` as one line under 4 KB, cutting diagnostics, alerts and artefacts if needed."""
    line = (fsio.canonical_json(record) + "\n").encode("utf-8")
    if len(line) < MAX_LINE_BYTES:
        return line
    record = dict(record)
    diagnostics = dict(record.get("diagnostics") or {})
    for key, value in list(diagnostics.items()):
        if isinstance(value, str) and len(value) > 300:
            diagnostics[key] = value[:300] + "…"
        elif isinstance(value, (list, dict)) and len(json.dumps(value)) > 300:
            diagnostics[key] = f"<{type(value).__name__} of {len(value)} cut>"
    diagnostics["truncated"] = True
    record["diagnostics"] = diagnostics
    for key, value in list(record.items()):  # e.g. a source_command with very long paths
        if isinstance(value, str) and len(value) > 300:
            record[key] = value[:300] + "…"
    record["alerts"] = [{k: a[k] for k in ("id", "severity", "status") if k in a} for a in record.get("alerts", [])]
    for cut in (True, False):
        line = (fsio.canonical_json(record) + "\n").encode("utf-8")
        if len(line) < MAX_LINE_BYTES:
            return line
        if cut:
            diagnostics["alerts_omitted"] = max(0, len(record["alerts"]) - 5)
            record["alerts"] = record["alerts"][:5]
            diagnostics["artefacts_omitted"] = max(0, len(record.get("artefacts", [])) - 10)
            record["artefacts"] = record.get("artefacts", [])[:10]
    record["alerts"], record["artefacts"] = [], []
    record["diagnostics"] = {k: diagnostics[k] for k in ("error_code", "truncated") if k in diagnostics}
    return (fsio.canonical_json(record) + "\n").encode("utf-8")


def append(workspace: Workspace, record: dict[str, Any]) -> int:
    """Validate and append ``record``; returns the sequence number it was given.

    The sequence is max(sequence file, last logged line) + 1, so a run killed between
    the append and the sequence update never reuses a number.
    """
    from filelock import FileLock

    workspace.ops.mkdir(parents=True, exist_ok=True)
    with FileLock(str(workspace.ops / ".automation_runs.lock"), timeout=LOCK_TIMEOUT_SECONDS):
        sequence = max(_read_sequence(workspace.run_sequence), _last_sequence_in_log(workspace.run_log)) + 1
        record = {**record, "sequence": sequence}
        # Scrubbed here as well as by each producer: the log travels to the state store and artifacts.
        line = secrets.redact(_shrink(record).decode("utf-8")).encode("utf-8")
        schemas.validate("automation_run", json.loads(line), what=f"{workspace.rel(workspace.run_log)} record")
        fsio.append_bytes(workspace.run_log, line)
        fsio.atomic_write_text(workspace.run_sequence, f"{sequence}\n")
    return sequence


def read(workspace: Workspace) -> list[dict[str, Any]]:
    """Every parseable line of the log (torn or foreign lines are skipped)."""
    out = []
    try:
        with open(workspace.run_log, "rb") as handle:
            for raw in handle:
                try:
                    out.append(json.loads(raw))
                except ValueError:
                    continue
    except FileNotFoundError:
        pass
    return out
