"""Rebuild a damaged or gapped automation log (ops/automation_runs.log, its segments, its sequence file).

Every valid line stays, byte for byte, in the file it is in. A line that is not valid (torn, not
JSON, against the schema) and a segment that cannot be read are moved, unchanged, under
``ops/log_rebuild/<job_id>/`` before anything is rewritten. Each missing sequence number (a gap
between lines, a damaged segment's range, numbers the sequence file issued past the last line) gets
a rebuilt line: a run a heartbeat, history snapshot or artefact shows (observability.log.evidence)
whose start lies between its neighbours, else a ``lost`` placeholder. Runs newer than the last line
are appended after it. Rebuilt lines carry ``rebuilt: true``.

Writes, under the log lock, in an order a kill cannot turn into loss: the quarantine copies, then
each rewritten or new segment (atomically; a rewritten segment's old file is removed after its
replacement is in place), then the live log (atomically), then the sequence file. A rerun after a
kill finds fewer gaps and finishes the job.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from observability import fsio, runlog, schemas
from observability.errors import InputError
from observability.log import evidence as evidence_mod
from observability.workspace import Workspace

QUARANTINE = "log_rebuild"  # ops/log_rebuild/<job_id>/: what was moved out of the log, unchanged
MAX_MISSING = 100_000  # more missing numbers than a decade of runs: a damaged number, refused


@dataclass
class _Held:
    """A valid line and where it is."""

    sequence: int
    started_at: datetime
    data: bytes
    source: str  # workspace-relative file


@dataclass
class Plan:
    """What a rebuild writes: the lines per file, what it moves aside, and the new sequence value."""

    live: list[bytes] = field(default_factory=list)
    segments: dict[str, list[bytes]] = field(default_factory=dict)  # new segment rel path -> lines
    remove: list[str] = field(default_factory=list)  # segments replaced (rewritten or damaged)
    quarantine: list[tuple[str, bytes]] = field(default_factory=list)  # (name under the folder, bytes)
    sequence: int = 0
    kept: int = 0
    rebuilt: list[dict[str, Any]] = field(default_factory=list)
    unplaced: list[str] = field(default_factory=list)  # runs older than the log with no free number
    invalid: list[str] = field(default_factory=list)  # "file:line: reason"
    invalid_sources: set[str] = field(default_factory=set)  # the files those lines are in
    damaged_segments: list[str] = field(default_factory=list)
    live_changed: bool = False
    where: dict[int, str] = field(default_factory=dict)  # rebuilt sequence -> the file it goes to

    @property
    def changes(self) -> bool:
        return bool(self.rebuilt or self.quarantine or self.remove or self.segments or self.live_changed)

    def figures(self) -> dict[str, Any]:
        placeholders = sum(1 for r in self.rebuilt if r["job"] == "lost")
        return {
            "lines_kept": self.kept,
            "lines_rebuilt": len(self.rebuilt) - placeholders,
            "lines_placeholder": placeholders,
            "lines_invalid": len(self.invalid),
            "segments_damaged": len(self.damaged_segments),
            "segments_written": sorted(self.segments),
            "segments_removed": sorted(self.remove),
            "runs_unplaced": len(self.unplaced),
            "sequence_file": self.sequence,
        }


def _line(record: dict[str, Any], ws: Workspace) -> bytes:
    data = fsio.canonical_json(record).encode("utf-8")
    schemas.validate("automation_run", json.loads(data), what=f"{ws.rel(ws.run_log)} rebuilt line")
    return data


def _read(ws: Workspace, plan: Plan) -> tuple[list[_Held], list[runlog.Segment]]:
    """The valid lines (deduplicated: a rotation killed before the cut leaves a line twice)."""
    problems: list[tuple[str, str]] = []
    every = runlog.segments(ws, problems)
    held: list[_Held] = []
    seen: set[bytes] = set()
    for line in runlog.iter_lines(ws, problems=problems):
        if not line.data.strip():
            continue
        reason = None
        record: Any = None
        if line.torn:
            reason = "torn last line (no newline)"
        else:
            try:
                record = fsio.parse_json(line.data)
            except (UnicodeDecodeError, ValueError) as exc:
                reason = f"not JSON ({exc})"
        if reason is None and not isinstance(record, dict):
            reason = "not a JSON object"
        if reason is None:
            found = schemas.errors("automation_run", record)
            if found:
                reason = f"field {schemas.json_path(found[0][0])}: {found[0][1]}"
        if reason is not None:
            plan.invalid.append(f"{line.source}:{line.number}: {reason}")
            plan.invalid_sources.add(line.source)
            name = line.source.replace("/", "__")
            plan.quarantine.append((f"{name}.line{line.number}", line.data))
            continue
        if line.data in seen:
            continue
        seen.add(line.data)
        started = runlog.line_fields(line.data)[1]
        held.append(_Held(record["sequence"], started, line.data, line.source))  # type: ignore[arg-type]
    for path, _message in problems:
        plan.damaged_segments.append(path)
    return held, every


def plan(ws: Workspace) -> Plan:
    """Work out the rebuild without writing anything."""
    result = Plan()
    held, every = _read(ws, result)
    live_rel = ws.rel(ws.run_log)
    damaged = {s.path: s for s in every if ws.rel(s.path) in result.damaged_segments}
    for path in damaged:
        result.quarantine.append((ws.rel(path).replace("/", "__"), path.read_bytes()))
        result.remove.append(ws.rel(path))
    # Duplicates of one number with different bytes: the later stays where it is, the earlier too;
    # verify reports them. A rebuild never renumbers a valid line.
    by_seq: dict[int, _Held] = {}
    for h in held:
        by_seq.setdefault(h.sequence, h)
    result.kept = len(held)
    known_ids = set()
    for h in held:
        known_ids.add(json.loads(h.data)["job_id"])
    numbers = sorted(by_seq)
    counter = runlog.read_sequence(ws.run_sequence)
    runs = [r for r in evidence_mod.collect(ws) if r.job_id not in known_ids]
    _bounded(ws, numbers, counter, damaged.values())
    missing: set[int] = set()
    if not numbers and not damaged:
        # The whole log was lost: the runs still shown take the last numbers the sequence file issued
        # (the earlier ones read as pruned by retention, not as a gap).
        missing = set(range(max(1, counter - len(runs) + 1), counter + 1))
    if numbers:
        missing |= set(range(numbers[0], numbers[-1] + 1)) - set(numbers)
    for h in held:  # numbers lost with a vanished live log (not pruned): the first line after says which
        missing |= runlog.lost_numbers(json.loads(h.data)) - set(numbers)
    for segment in damaged.values():
        missing |= set(range(segment.first_sequence, segment.last_sequence + 1)) - set(numbers)
    top = max([*numbers, *missing, 0])
    if counter > top and (numbers or damaged):
        missing |= set(range(top + 1, counter + 1))
    # The start of every number held: a missing number lies between its neighbours' starts.
    times = {n: h.started_at for n, h in by_seq.items()}
    for segment in damaged.values():
        times.setdefault(segment.first_sequence - 1, segment.first_at)
        times.setdefault(segment.last_sequence + 1, segment.last_at)
    newest = max(times.values()) if times else None
    records: dict[int, dict[str, Any]] = {}
    placed: set[str] = set()
    for start, end in _runs_of(sorted(missing)):
        low = _time_before(times, start)
        high = _time_after(times, end)
        fits = [
            r
            for r in runs
            if r.job_id not in placed
            and (low is None or r.started_at >= low)
            and (high is None or r.started_at <= high)
        ]
        size = end - start + 1
        fits = fits[-size:] if not numbers and not damaged else fits[:size]
        filler = size - len(fits)
        at = low or (fits[0].started_at if fits else None) or high
        for offset in range(filler):
            if at is None:
                break
            records[start + offset] = evidence_mod.placeholder(start + offset, at)
        for offset, run in enumerate(fits):
            records[start + filler + offset] = evidence_mod.record_for(run, start + filler + offset)
            placed.add(run.job_id)
    last = max([*numbers, *records, counter, 0])
    for run in runs:
        if run.job_id in placed:
            continue
        if newest is None or run.started_at >= newest:
            last += 1
            records[last] = evidence_mod.record_for(run, last)
            placed.add(run.job_id)
        else:
            result.unplaced.append(run.job_id)
    result.rebuilt = [records[n] for n in sorted(records)]
    result.sequence = max(last, counter)
    _assign(ws, result, held, every, damaged, records, live_rel)
    return result


def _bounded(ws: Workspace, numbers: list[int], counter: int, damaged: Iterable[runlog.Segment]) -> None:
    """Refuse, before building anything, a rebuild whose missing numbers are beyond any real gap: a
    sequence file or a line with a huge number would otherwise make millions of placeholders (or
    exhaust memory); that number is damage to repair by hand, not runs to account for."""
    low = numbers[0] if numbers else 1
    spans = [(ws.rel(ws.run_sequence), counter)] + [(ws.rel(s.path), s.last_sequence) for s in damaged]
    if numbers:
        spans.append((f"the line with sequence {numbers[-1]}", numbers[-1]))
    held = len(numbers)
    for where, high in spans:
        gap = high - low + 1 - held
        if gap > MAX_MISSING:
            fix = (
                "remove it (the next run numbers after the log's last line)"
                if where == spans[0][0]
                else "correct it by hand"
            )
            raise InputError(
                f"{where}: sequence {high} would leave {gap} numbers to rebuild (the log holds {held} line(s) "
                f"from {low}), more than {MAX_MISSING}: a damaged number, not lost runs; {fix}",
                input=where,
            )


def _runs_of(numbers: list[int]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for n in numbers:
        if out and n == out[-1][1] + 1:
            out[-1] = (out[-1][0], n)
        else:
            out.append((n, n))
    return out


def _time_before(times: dict[int, datetime], n: int) -> datetime | None:
    before = [k for k in times if k < n]
    return times[max(before)] if before else None


def _time_after(times: dict[int, datetime], n: int) -> datetime | None:
    after = [k for k in times if k > n]
    return times[min(after)] if after else None


def _assign(
    ws: Workspace,
    result: Plan,
    held: list[_Held],
    every: list[runlog.Segment],
    damaged: dict[Path, runlog.Segment],
    records: dict[int, dict[str, Any]],
    live_rel: str,
) -> None:
    """Decide which file each rebuilt line goes to: the segment whose range holds its number (rewritten),
    a new segment between segments, or the live log."""
    readable = [s for s in every if s.path not in damaged]
    live_held = [h for h in held if h.source == live_rel]
    live_first = min((h.sequence for h in live_held), default=None)
    last_segment = max((s.last_sequence for s in every), default=0)
    to_segment: dict[Path, list[int]] = {}
    between: list[int] = []
    to_live: list[int] = []
    for n in sorted(records):
        holder = next((s for s in readable if s.first_sequence <= n <= s.last_sequence), None)
        if holder is not None:
            to_segment.setdefault(holder.path, []).append(n)
        elif n <= last_segment and (live_first is None or n < live_first):
            between.append(n)
        else:
            to_live.append(n)
    for path, added in to_segment.items():
        lines = [h for h in held if h.source == ws.rel(path)]
        merged = sorted(
            [(h.sequence, h.data) for h in lines] + [(n, _line(records[n], ws)) for n in added], key=lambda x: x[0]
        )
        _segment(ws, result, [d for _, d in merged])
        result.remove.append(ws.rel(path))
    for start, end in _runs_of(between):
        _segment(ws, result, [_line(records[n], ws) for n in range(start, end + 1)])
    # A segment whose lines included invalid ones is rewritten without them (they are quarantined).
    for segment in readable:
        rel = ws.rel(segment.path)
        if rel in result.invalid_sources and rel not in result.remove:
            valid = [h.data for h in held if h.source == rel]
            if valid:
                _segment(ws, result, valid)
            result.remove.append(rel)
    live = sorted([(h.sequence, h.data) for h in live_held] + [(n, _line(records[n], ws)) for n in to_live])
    result.live = [d for _, d in live]
    for n in to_live:
        result.where[n] = live_rel
    result.live_changed = bool(to_live) or live_rel in result.invalid_sources


def _segment(ws: Workspace, result: Plan, lines: list[bytes]) -> None:
    fields = [runlog.line_fields(line) for line in lines]
    sequences = [s for s, _ in fields if s is not None]
    times = [t for _, t in fields if t is not None]
    rel = ws.rel(ws.run_segments / runlog.segment_name(min(sequences), max(sequences), min(times), max(times)))
    result.segments[rel] = lines
    for sequence in sequences:
        result.where.setdefault(sequence, rel)


def apply(ws: Workspace, result: Plan, job_id: str) -> list[str]:
    """Write the plan (the caller holds the log lock); returns the workspace-relative files written."""
    written: list[str] = []
    folder = ws.ops / QUARANTINE / job_id
    for name, data in result.quarantine:
        fsio.atomic_write_bytes(folder / name, data)
        written.append(ws.rel(folder / name))
    new = set()
    for rel, lines in sorted(result.segments.items()):
        path = ws.path(rel)
        fsio.atomic_write_bytes(path, runlog.encode_segment(lines))
        new.add(rel)
        written.append(rel)
    for rel in result.remove:
        if rel not in new:
            try:
                ws.path(rel).unlink()
            except FileNotFoundError:
                pass
    if result.live_changed:
        fsio.atomic_write_bytes(ws.run_log, b"".join(line + b"\n" for line in result.live))
        written.append(ws.rel(ws.run_log))
    if result.sequence and runlog.read_sequence(ws.run_sequence) != result.sequence:
        fsio.atomic_write_text(ws.run_sequence, f"{result.sequence}\n")
        written.append(ws.rel(ws.run_sequence))
    return written
