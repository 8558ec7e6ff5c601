"""Re-applying a push on a newer snapshot: which files each side changed, and the automation-log union.

Two runs that pulled the same generation both append to ``ops/automation_runs.log`` and bump
``ops/automation_runs.sequence``; those two files are merged (their lines, then ours renumbered
after them). A heartbeat (``ops/*_heartbeat.json``) both rewrote (two cycles of different jobs
that each synced the alert inbox) is merged as the later run's, keeping the latest success. The
alert inbox's issue cache (``ops/alert_inbox.json``) both rewrote is merged by fingerprint and
marked stale, so the next sync re-lists the issues (GitHub is the truth; the cache only saves
calls). Any other file changed by both runs (to different contents) is a conflict.

Rotated segments of the log (``ops/automation_runs/YYYY/MM/*.jsonl.gz``) are ordinary,
content-addressed files: two runs that rotate the same lines write the same bytes. When both
sides appended to the log, the segments only our side wrote are dissolved back into our lines
before the union (the next append rotates again), and a line either side already holds in its
live log or in a segment it added is not put back: nothing is lost, nothing is doubled.
"""

from __future__ import annotations

import gzip
import hashlib
import zlib
from collections.abc import Iterable, Mapping
from pathlib import PurePosixPath

from observability import fsio
from observability.state.selection import Entry

LOG = "ops/automation_runs.log"
SEQUENCE = "ops/automation_runs.sequence"
INBOX = "ops/alert_inbox.json"
MERGEABLE = frozenset({LOG, SEQUENCE, INBOX})
SEGMENTS = "ops/automation_runs/"


def is_segment(path: str) -> bool:
    return path.startswith(SEGMENTS) and path.endswith(".jsonl.gz")


def segment_range(path: str) -> tuple[int, int] | None:
    """(first, last) sequence from a segment's name, None for a name that does not carry one."""
    stem = PurePosixPath(path).name.split("_", 1)[0]
    first, _, last = stem.partition("-")
    return (int(first), int(last)) if first.isdigit() and last.isdigit() else None


def new_segments(base: Mapping[str, Entry], theirs: Mapping[str, Entry], ours: Mapping[str, Entry]) -> list[str]:
    """Segments our side wrote since ``base`` that the other side does not hold byte for byte,
    oldest sequence first."""
    found = [p for p in ours if is_segment(p) and p not in base and theirs.get(p) != ours[p]]
    return sorted(found, key=lambda p: (segment_range(p) or (0, 0), p))


def top_segment_sequence(files: Iterable[str]) -> int:
    """The highest sequence any segment among ``files`` holds, from the names."""
    ranges = [segment_range(p) for p in files if is_segment(p)]
    return max((r[1] for r in ranges if r is not None), default=0)


def segment_lines(data: bytes, path: str) -> list[bytes]:
    """The whole lines of a segment's gzip bytes; ValueError naming ``path`` when it is damaged."""
    try:
        return _lines(gzip.decompress(data))
    except (OSError, EOFError, zlib.error) as exc:
        raise ValueError(f"{path}: damaged segment ({exc})") from None


def is_heartbeat(path: str) -> bool:
    return path.startswith("ops/") and path.count("/") == 1 and path.endswith("_heartbeat.json")


def mergeable(path: str) -> bool:
    return path in MERGEABLE or is_heartbeat(path)


def changed(base: Mapping[str, Entry], other: Mapping[str, Entry]) -> set[str]:
    """Paths added, removed or modified from ``base`` to ``other``."""
    return {path for path in set(base) | set(other) if base.get(path) != other.get(path)}


def overlap(base: Mapping[str, Entry], theirs: Mapping[str, Entry], ours: Mapping[str, Entry]) -> list[str]:
    """Paths both sides changed to different results, except the two merged log files."""
    both = changed(base, theirs) & changed(base, ours)
    return sorted(p for p in both if not mergeable(p) and theirs.get(p) != ours.get(p))


def _lines(data: bytes) -> list[bytes]:
    return [line for line in data.split(b"\n") if line.strip()]


def _sequence(line: bytes) -> int | None:
    try:
        value = fsio.parse_json(line).get("sequence")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, int) else None


def merge_log(
    theirs: bytes, ours: bytes, base: Entry | None = None, *, their_segments: Iterable[bytes] = (), floor: int = 0
) -> tuple[bytes, list[tuple[int | None, int]]]:
    """Their log, then our own lines, renumbered after their highest sequence.

    Both logs grew from the same pulled log. When that log (``base``: size and sha256) is still
    the start of ours, everything after it is ours, even a line that happens to equal one of
    theirs (two runs in the same second); otherwise the lines both hold count as the shared
    past, and so do the lines of the segments they rotated (``their_segments``). ``floor``: the
    highest sequence their segments hold. Returns the merged bytes and each (old, new) sequence.
    """
    their_lines = _lines(theirs)
    their_rotated = list(their_segments)
    known = set(their_lines) | set(their_rotated)
    if (
        base is not None
        and len(ours) >= base.size
        and Entry(hashlib.sha256(ours[: base.size]).hexdigest(), base.size) == base
    ):
        ours, known = ours[base.size :], set()
    top = max((s for s in map(_sequence, their_lines + their_rotated) if s is not None), default=0)
    top = max(top, floor)
    merged = [line + b"\n" for line in their_lines]
    renumbered: list[tuple[int | None, int]] = []
    for line in _lines(ours):
        if line in known:
            continue
        known.add(line)  # a line held twice on our side (a rotation killed before the cut) counts once
        try:
            record = fsio.parse_json(line)
        except ValueError:
            continue  # a torn line cut by a killed writer: never a whole record
        if not isinstance(record, dict):
            continue
        top += 1
        renumbered.append((record.get("sequence"), top))
        record["sequence"] = top
        merged.append((fsio.canonical_json(record) + "\n").encode("utf-8"))
    return b"".join(merged), renumbered


def merged_sequence(log: bytes, *values: bytes | None) -> bytes:
    """The sequence file after a merge: the highest of the log's last line and both sequence files."""
    best = max((s for s in map(_sequence, _lines(log)) if s is not None), default=0)
    for value in values:
        try:
            best = max(best, int((value or b"0").decode("ascii").strip() or 0))
        except (UnicodeDecodeError, ValueError):
            continue
    return f"{best}\n".encode("ascii")


def merge_inbox(theirs: bytes, ours: bytes) -> bytes:
    """Two runs' issue caches as one: every fingerprint of both (ours wins where both have one),
    marked ``stale`` so the next ``alerts sync`` rebuilds it from one list of the issues.

    A side that is not a JSON object loses; when neither is, ours is kept (the cache rebuilds
    itself from GitHub when it cannot be read).
    """

    def load(raw: bytes) -> dict | None:
        try:
            value = fsio.parse_json(raw)
        except (UnicodeDecodeError, ValueError):
            return None
        return value if isinstance(value, dict) and isinstance(value.get("issues", {}), dict) else None

    mine, other = load(ours), load(theirs)
    if mine is None or other is None:
        return ours if mine is not None or other is None else theirs
    merged = {**other, **mine, "issues": {**other.get("issues", {}), **mine.get("issues", {})}, "stale": True}
    return fsio.canonical_json(merged, indent=2).encode("utf-8")


def merge_heartbeat(theirs: bytes, ours: bytes) -> bytes:
    """The heartbeat of the later run (job ids start with their UTC start), with the latest success of both.

    A side that is not a JSON object loses; when neither is, ours is kept as it is.
    """

    def load(raw: bytes) -> dict | None:
        try:
            value = fsio.parse_json(raw)
        except (UnicodeDecodeError, ValueError):
            return None
        return value if isinstance(value, dict) else None

    mine, other = load(ours), load(theirs)
    if mine is None or other is None:
        return ours if mine is not None or other is None else theirs
    later, earlier = (mine, other) if str(mine.get("job_id", "")) >= str(other.get("job_id", "")) else (other, mine)
    merged = {**earlier, **later}
    successes = [s for s in (mine.get("last_success_at"), other.get("last_success_at")) if isinstance(s, str)]
    if successes:
        merged["last_success_at"] = max(successes)
    return fsio.canonical_json(merged, indent=2).encode("utf-8")
