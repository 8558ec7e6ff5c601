"""A growing log fetched by byte range from the position the latency job has consumed.

The read position is not a second cursor: it is the latency job's own cursor for the same
workspace path (``ops/latency_state.json``: offset plus the SHA-256 of the first
``min(offset, 1024)`` bytes), which that job commits atomically with the samples it stored. So a
pull whose rows were never sampled (the job failed, the runner died) is fetched again next time,
and nothing is read twice.

On a fresh runner the local copy is rebuilt so that cursor applies to it unchanged: the remote's
first 1024 bytes (the fingerprinted prefix), a sparse hole up to the cursor, then the bytes after
it (``Range: bytes=<offset>-``, pinned to the prefix's ETag with ``If-Match``). A remote that is
shorter than the cursor or whose prefix changed was rotated or truncated: it is fetched whole and
the latency job starts it over. ``ops/inputs_state.json`` keeps the ETag, length and prefix seen, so
an unchanged log costs one conditional request (``If-None-Match`` → 304) and no bytes.
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from observability.inputs.errors import InputUnavailable

# Must equal observability.upstream.signal_log.FINGERPRINT_BYTES (a test keeps them equal).
PREFIX_BYTES = 1024


@dataclass
class RangeAnswer:
    status: int  # 200 (whole body), 206 (the range), 304 (unchanged), 412 (changed meanwhile), 416 (empty)
    body: bytes = b""
    etag: str | None = None
    total: int | None = None  # the remote length, from Content-Range (or the body of a 200)
    identity: dict | None = None  # etag, version_id, last_modified as the source reports them


class RangeReader(Protocol):
    display: str

    def get_range(
        self, start: int, end: int | None, *, if_match: str | None = None, if_none_match: str | None = None
    ) -> RangeAnswer: ...


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class LogPull:
    start: int  # first byte fetched after the hole (0: the whole log)
    total: int  # remote length seen
    bytes_fetched: int
    identity: dict
    sha256: str  # of the remote bytes [start, total) written (the whole log when start == 0)
    saved: dict  # for ops/inputs_state.json
    rotated: bool
    requests: int


def pull(
    reader: RangeReader, cursor: dict | None, saved: dict | None, staged: Path, *, what: str, attempts: int = 2
) -> LogPull:
    """Fetch what the latency cursor has not consumed and write the rebuilt local copy to ``staged``."""
    for _ in range(attempts):
        done = _pull_once(reader, cursor or {}, saved or {}, staged, what=what)
        if done is not None:
            return done
    raise InputUnavailable(f"{what}: the remote log kept changing between requests ({reader.display}); try again")


def _pull_once(reader: RangeReader, cursor: dict, saved: dict, staged: Path, *, what: str) -> LogPull | None:
    offset = int(cursor.get("offset") or 0)
    prefix_len = int(cursor.get("prefix_len") or 0)
    requests = 0
    if offset <= PREFIX_BYTES:
        answer = reader.get_range(0, None)
        requests += 1
        return _whole(answer, staged, requests, rotated=bool(offset) and not _continues(answer.body, cursor))
    conditional = saved.get("etag") if saved.get("end") == offset and saved.get("prefix_b64") else None
    head = reader.get_range(0, PREFIX_BYTES - 1, if_none_match=conditional)
    requests += 1
    if head.status == 304:
        prefix = base64.b64decode(saved["prefix_b64"])
        _write_sparse(staged, prefix, offset, b"")
        return LogPull(
            offset,
            offset,
            0,
            dict(saved.get("identity") or {"etag": saved.get("etag")}),
            _sha(b""),
            dict(saved),
            False,
            requests,
        )
    if head.status == 416:  # an empty remote: truncated to nothing
        return _whole(RangeAnswer(200, b"", head.etag, 0, head.identity), staged, requests, rotated=True)
    if head.status == 200:  # the server ignores Range: it sent everything
        body = head.body
        if len(body) < offset or _sha(body[:prefix_len]) != cursor.get("prefix_sha256"):
            return _whole(head, staged, requests, rotated=True)
        prefix, tail, total = body[:PREFIX_BYTES], body[offset:], len(body)
        fetched, identity, etag = len(body), head.identity or {}, head.etag
    else:
        total = head.total if head.total is not None else len(head.body)
        prefix = head.body[:PREFIX_BYTES]
        if total < offset or _sha(prefix[:prefix_len]) != cursor.get("prefix_sha256"):
            whole = reader.get_range(0, None)
            requests += 1
            return _whole(whole, staged, requests, rotated=True)
        fetched, identity, etag, tail = len(head.body), head.identity or {}, head.etag, b""
        if total > offset:
            rest = reader.get_range(offset, None, if_match=head.etag)
            requests += 1
            if rest.status == 412:
                return None  # replaced between the two requests: start over
            if rest.status == 416:
                return None
            if rest.status == 200:  # Range ignored on the second request only: take the bytes after offset
                rest = RangeAnswer(206, rest.body[offset:], rest.etag, len(rest.body), rest.identity)
                fetched += len(rest.body) + offset
            else:
                fetched += len(rest.body)
            tail = rest.body
            identity = rest.identity or identity
            etag = rest.etag or etag
            total = offset + len(tail)
    _write_sparse(staged, prefix, offset, tail)
    saved_out = {
        "etag": etag,
        "end": total,
        "prefix_b64": base64.b64encode(prefix).decode("ascii"),
        "identity": identity,
    }
    return LogPull(offset, total, fetched, identity, _sha(tail), saved_out, False, requests)


def _continues(body: bytes, cursor: dict) -> bool:
    offset = int(cursor.get("offset") or 0)
    return len(body) >= offset and _sha(body[: int(cursor.get("prefix_len") or 0)]) == cursor.get("prefix_sha256")


def _whole(answer: RangeAnswer, staged: Path, requests: int, *, rotated: bool) -> LogPull:
    if answer.status not in (200, 206, 416):
        raise InputUnavailable(f"unexpected HTTP status {answer.status}")
    body = answer.body if answer.status != 416 else b""
    _write_sparse(staged, body, len(body), b"")
    saved = {
        "etag": answer.etag,
        "end": len(body),
        "prefix_b64": base64.b64encode(body[:PREFIX_BYTES]).decode("ascii"),
        "identity": answer.identity or {},
    }
    return LogPull(0, len(body), len(body), answer.identity or {}, _sha(body), saved, rotated, requests)


def _write_sparse(path: Path, prefix: bytes, offset: int, tail: bytes) -> None:
    """``prefix``, a hole up to ``offset`` (no disk used on file systems with sparse files), ``tail``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:
        handle.write(prefix[:offset])
        if offset > len(prefix):
            handle.seek(offset)
        handle.write(tail)
        handle.truncate(offset + len(tail))
        handle.flush()
        os.fsync(handle.fileno())
