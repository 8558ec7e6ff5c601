"""Check ops/automation_runs.log line by line: schema, size, torn lines, sequence gaps and duplicates."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from observability import clock, schemas
from observability.errors import InputError
from observability.runlog import MAX_LINE_BYTES
from observability.verify.findings import Finding
from observability.workspace import Workspace

SOURCE = "automation_log"


@dataclass
class LogScan:
    """The valid records (with their line numbers) and every problem found."""

    records: list[dict[str, Any]] = field(default_factory=list)
    lines: int = 0
    findings: list[Finding] = field(default_factory=list)
    first_sequence: int | None = None
    last_sequence: int | None = None


def _ranges(numbers: list[int]) -> list[str]:
    out, start, prev = [], None, None
    for n in numbers + [None]:
        if start is not None and (n is None or n != prev + 1):
            out.append(str(start) if start == prev else f"{start}-{prev}")
            start = None
        if n is not None and start is None:
            start = n
        prev = n
    return out


def scan(workspace: Workspace) -> LogScan:
    """Read the whole log; a bad line is a finding, never an exception. Unreadable file: InputError."""
    shown = workspace.rel(workspace.run_log)
    try:
        raw = workspace.run_log.read_bytes()
    except FileNotFoundError:
        return LogScan()
    except OSError as exc:
        raise InputError(f"{shown}: cannot read ({exc.strerror or exc})", input=shown) from None
    result = LogScan()
    chunks = raw.split(b"\n")
    torn = chunks[-1] != b""
    if not torn:
        chunks.pop()
    seen: dict[int, list[int]] = {}

    def bad(number: int, reason: str) -> None:
        result.findings.append(Finding("log_invalid_line", SOURCE, f"{shown}:{number}: {reason}",
                                       evidence={"path": shown, "line": number}))

    for number, chunk in enumerate(chunks, start=1):
        result.lines += 1
        if torn and number == len(chunks):
            bad(number, f"torn last line ({len(chunk)} bytes, no newline): a writer was killed mid-line; "
                        "the next append drops it")
            continue
        if len(chunk) + 1 >= MAX_LINE_BYTES:
            bad(number, f"{len(chunk) + 1} bytes, over the {MAX_LINE_BYTES}-byte line limit")
        try:
            record = json.loads(chunk)
        except (UnicodeDecodeError, ValueError) as exc:
            bad(number, f"not JSON ({exc})" if chunk.strip() else "empty line")
            continue
        if not isinstance(record, dict):
            bad(number, f"a JSON {type(record).__name__}, not an object")
            continue
        sequence = record.get("sequence")
        if isinstance(sequence, int) and not isinstance(sequence, bool):
            seen.setdefault(sequence, []).append(number)
        problems = schemas.errors("automation_run", record)
        if problems:
            parts, message = problems[0]
            more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
            bad(number, f"field {schemas.json_path(parts)}: {message}{more}")
            continue
        result.records.append({**record, "_line": number})
    if seen:
        numbers = sorted(seen)
        result.first_sequence, result.last_sequence = numbers[0], numbers[-1]
        missing = sorted(set(range(numbers[0], numbers[-1] + 1)) - set(numbers))
        if missing:
            result.findings.append(Finding(
                "log_sequence_gap", SOURCE,
                f"{shown}: sequence numbers {', '.join(_ranges(missing)[:20])} are missing "
                f"({len(missing)} line(s) lost between {numbers[0]} and {numbers[-1]})",
                evidence={"path": shown, "missing": _ranges(missing)[:50], "missing_count": len(missing)}))
        for sequence, where in sorted(seen.items()):
            if len(where) > 1:
                result.findings.append(Finding(
                    "log_sequence_duplicate", SOURCE,
                    f"{shown}: sequence {sequence} appears on lines {', '.join(map(str, where))}",
                    evidence={"path": shown, "sequence": sequence, "lines": where}))
    counter = _sequence_file(workspace)
    if counter is not None and result.last_sequence is not None and counter > result.last_sequence:
        lost = list(range(result.last_sequence + 1, counter + 1))
        result.findings.append(Finding(
            "log_sequence_gap", SOURCE,
            f"{workspace.rel(workspace.run_sequence)} is at {counter} but the log ends at {result.last_sequence}: "
            f"line(s) {', '.join(_ranges(lost))} were lost from the end",
            evidence={"path": shown, "missing": _ranges(lost), "missing_count": len(lost)}))
    return result


def _sequence_file(workspace: Workspace) -> int | None:
    try:
        return int(workspace.run_sequence.read_text(encoding="ascii").strip())
    except (OSError, ValueError):
        return None


def started_at(record: dict[str, Any]):
    """The record's ``started_at`` as a datetime (records reaching here passed the schema)."""
    return clock.parse_iso(record["started_at"])
