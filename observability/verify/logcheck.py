"""Check the automation log line by line: schema, size, torn lines, sequence gaps and duplicates.

Only the window asked for is read: the rotated segments whose time range reaches it (whole, so
sequence gaps are seen at the window's edge) and the live log. Gaps and overlaps between all
retained segments are checked from their names, which carry their sequence ranges.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from observability import clock, fsio, runlog, schemas
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
    out: list[str] = []
    start: int | None = None
    prev: int | None = None
    for n in [*numbers, None]:
        if start is not None and prev is not None and (n is None or n != prev + 1):
            out.append(str(start) if start == prev else f"{start}-{prev}")
            start = None
        if n is not None and start is None:
            start = n
        prev = n
    return out


def scan(workspace: Workspace, since: datetime | None = None) -> LogScan:
    """Read the log from ``since`` (all of it when None); a bad line or a damaged segment is a
    finding, never an exception. An unreadable live log: InputError."""
    shown = workspace.rel(workspace.run_log)
    result = LogScan()
    problems: list[tuple[str, str]] = []
    every = runlog.segments(workspace, problems)
    seen: dict[int, list[str]] = {}
    held: set[bytes] = set()

    def bad(where: str, line: int, reason: str) -> None:
        result.findings.append(
            Finding("log_invalid_line", SOURCE, f"{where}:{line}: {reason}", evidence={"path": where, "line": line})
        )

    for line in runlog.iter_lines(workspace, since=since, problems=problems):
        chunk, number = line.data, line.number
        if line.torn:
            result.lines += 1
            bad(
                line.source,
                number,
                f"torn last line ({len(chunk)} bytes, no newline): a writer was killed "
                "mid-line; the next append drops it",
            )
            continue
        if line.source == shown and chunk in held:
            continue  # in a segment and still in the live log: a rotation was killed before the cut
        if line.source != shown:
            held.add(chunk)
        result.lines += 1
        if len(chunk) + 1 >= MAX_LINE_BYTES:
            bad(line.source, number, f"{len(chunk) + 1} bytes, over the {MAX_LINE_BYTES}-byte line limit")
        try:
            record = fsio.parse_json(chunk)
        except (UnicodeDecodeError, ValueError) as exc:
            bad(line.source, number, f"not JSON ({exc})" if chunk.strip() else "empty line")
            continue
        if not isinstance(record, dict):
            bad(line.source, number, f"a JSON {type(record).__name__}, not an object")
            continue
        sequence = record.get("sequence")
        where = str(number) if line.source == shown else f"{line.source}:{number}"
        if isinstance(sequence, int) and not isinstance(sequence, bool):
            seen.setdefault(sequence, []).append(where)
        problems_found = schemas.errors("automation_run", record)
        if problems_found:
            parts, message = problems_found[0]
            more = f" (+{len(problems_found) - 1} more)" if len(problems_found) > 1 else ""
            bad(line.source, number, f"field {schemas.json_path(parts)}: {message}{more}")
            continue
        result.records.append({**record, "_line": number, "_source": line.source})
    for path, message in problems:
        result.findings.append(Finding("log_segment_damaged", SOURCE, message, evidence={"path": path}))
    if seen:
        numbers = sorted(seen)
        result.first_sequence, result.last_sequence = numbers[0], numbers[-1]
        missing = sorted(set(range(numbers[0], numbers[-1] + 1)) - set(numbers))
        if missing:
            result.findings.append(
                Finding(
                    "log_sequence_gap",
                    SOURCE,
                    f"{shown}: sequence numbers {', '.join(_ranges(missing)[:20])} are missing "
                    f"({len(missing)} line(s) lost between {numbers[0]} and {numbers[-1]})",
                    evidence={"path": shown, "missing": _ranges(missing)[:50], "missing_count": len(missing)},
                )
            )
        for sequence, places in sorted(seen.items()):
            if len(places) > 1:
                lines = [int(w) if w.isdigit() else w for w in places]
                result.findings.append(
                    Finding(
                        "log_sequence_duplicate",
                        SOURCE,
                        f"{shown}: sequence {sequence} appears on lines {', '.join(places)}",
                        evidence={"path": shown, "sequence": sequence, "lines": lines},
                    )
                )
    result.findings += _segment_ranges(workspace, every, result.first_sequence)
    end = max(filter(None, (result.last_sequence, every[-1].last_sequence if every else None)), default=None)
    for record in result.records:
        lost = (record.get("diagnostics") or {}).get("log_lost")
        if isinstance(lost, dict) and not (runlog.lost_numbers(record) and runlog.lost_numbers(record) <= set(seen)):
            result.findings.append(
                Finding(
                    "log_missing",
                    SOURCE,
                    f"{shown} was missing when {record.get('job_id')} ran (line {record.get('sequence')}): "
                    f"line(s) {lost.get('missing')} were lost with it (restore them with `observability state pull`, else `observability log rebuild`)",
                    evidence={
                        "path": shown,
                        "missing": [str(lost.get("missing"))],
                        "missing_count": lost.get("count"),
                        "job_id": record.get("job_id"),
                    },
                )
            )
    counter = _sequence_file(workspace)
    if end is None:
        missing_log = _missing_log(workspace, counter, every)
        if missing_log:
            result.findings.append(missing_log)
    if counter is not None and end is not None and counter > end:
        lost = list(range(end + 1, counter + 1))
        result.findings.append(
            Finding(
                "log_sequence_gap",
                SOURCE,
                f"{workspace.rel(workspace.run_sequence)} is at {counter} but the log ends at {end}: "
                f"line(s) {', '.join(_ranges(lost))} were lost from the end",
                evidence={"path": shown, "missing": _ranges(lost), "missing_count": len(lost)},
            )
        )
    return result


def _segment_ranges(workspace: Workspace, every: list[runlog.Segment], read_from: int | None) -> list[Finding]:
    """Gaps and overlaps between the segments before the lines read (from their names alone)."""
    ranges = [
        (s.first_sequence, s.last_sequence, workspace.rel(s.path))
        for s in every
        if read_from is None or s.last_sequence < read_from
    ]
    if read_from is not None:
        ranges.append((read_from, read_from, f"the lines read from sequence {read_from}"))
    findings = []
    for (_, last, a), (first, next_last, b) in itertools.pairwise(ranges):
        if first > last + 1:
            missing = [str(last + 1) if first == last + 2 else f"{last + 1}-{first - 1}"]
            findings.append(
                Finding(
                    "log_sequence_gap",
                    SOURCE,
                    f"{a} ends at sequence {last} but {b} starts at {first}: sequence numbers {missing[0]} are missing",
                    evidence={"path": a, "missing": missing, "missing_count": first - last - 1},
                )
            )
        elif first <= last:
            findings.append(
                Finding(
                    "log_sequence_duplicate",
                    SOURCE,
                    f"{a} and {b} overlap in sequences {first}-{min(last, next_last)}",
                    evidence={"path": a, "sequence": first, "lines": []},
                )
            )
    return findings


def _missing_log(workspace: Workspace, counter: int | None, every: list[runlog.Segment]) -> Finding | None:
    """No line at all, although the workspace shows jobs ran: the log was deleted or emptied."""
    shown = workspace.rel(workspace.run_log)
    if every or (workspace.run_log.exists() and workspace.run_log.stat().st_size):
        return None
    evidence: list[str] = []
    if counter:
        evidence.append(f"{workspace.rel(workspace.run_sequence)} says {counter} line(s) were written")
    beats = sorted(p.name for p in workspace.ops.glob("*_heartbeat.json")) if workspace.ops.is_dir() else []
    if beats:
        evidence.append(f"heartbeat(s) {', '.join(beats[:3])} show jobs ran")
    pulled = workspace.ops / ".state_pulled.json"
    try:
        if "automation_runs.log" in pulled.read_text(encoding="utf-8", errors="replace"):
            evidence.append(f"{workspace.rel(pulled)} lists the log as pulled from the state store")
    except OSError:
        pass
    if not evidence:
        return None
    state = "is empty" if workspace.run_log.exists() else "is missing"
    return Finding(
        "log_missing",
        SOURCE,
        f"{shown} {state} but {'; '.join(evidence)}: the automation log was deleted or lost "
        "(restore it with `observability state pull`, else `observability log rebuild`)",
        evidence={"path": shown, "sequence": counter, "heartbeats": beats},
    )


def _sequence_file(workspace: Workspace) -> int | None:
    try:
        return int(workspace.run_sequence.read_text(encoding="ascii").strip())
    except (OSError, ValueError):
        return None


def started_at(record: dict[str, Any]):
    """The record's ``started_at`` as a datetime (records reaching here passed the schema)."""
    return clock.parse_iso(record["started_at"])
