"""The delivered and pending payloads of each week, kept byte for byte for audit and replay.

``<out_dir>/pending/<week_start>.json`` from just before the first attempt until a delivery
succeeds, so a failed or interrupted run can be replayed without recomputing anything. After a
2xx: ``<week_start>.sig`` first, then ``<week_start>.json`` (the commit point: it is written only
after the receiver accepted the bytes, and only once its ``.sig`` is there), then the pending copy
is dropped. A ``.json`` without its ``.sig`` (a run killed by an older version, or a lost ``.sig``)
is a half-recorded week: delivered, so it is completed by re-signing the stored bytes, never resent.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from observability import fsio
from observability.errors import ConfigError, InputError, MissingInputError
from observability.outputs import weekly as weekly_outputs
from observability.weekly import payload as payload_mod

WEEK_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


@dataclass(frozen=True)
class History:
    directory: Path

    def delivered(self, week_start: str) -> Path:
        return self.directory / f"{week_start}.json"

    def signature(self, week_start: str) -> Path:
        return self.directory / f"{week_start}.sig"

    def pending(self, week_start: str) -> Path:
        return self.directory / "pending" / f"{week_start}.json"

    def keep_pending(self, week_start: str, body: bytes) -> Path:
        path = self.pending(week_start)
        fsio.atomic_write_bytes(path, body)
        return path

    def record_success(self, week_start: str, body: bytes, signature_hex: str) -> list[Path]:
        """Record a delivery: the signature, then the bytes (the commit point), then drop the pending copy."""
        fsio.atomic_write_bytes(self.signature(week_start), signature_hex.encode("ascii"))
        fsio.atomic_write_bytes(self.delivered(week_start), body)
        self._drop_pending(week_start)
        return [self.delivered(week_start), self.signature(week_start)]

    def _drop_pending(self, week_start: str) -> None:
        try:
            os.unlink(self.pending(week_start))
        except FileNotFoundError:
            pass

    def _weeks(self, directory: Path) -> list[str]:
        try:
            names = sorted(p.name for p in directory.iterdir() if p.is_file() and not p.is_symlink())
        except (FileNotFoundError, NotADirectoryError):
            return []
        return [n[:-5] for n in names if n.endswith(".json") and WEEK_RE.match(n[:-5])]

    def waiting(self) -> list[str]:
        """Weeks built but not delivered: a pending copy and no delivered ``.json`` (oldest first)."""
        return [w for w in self._weeks(self.directory / "pending") if not self.delivered(w).exists()]

    def unfinished_records(self) -> list[str]:
        """Delivered weeks whose record was cut short: no ``.sig``, or a pending copy left behind."""
        return [w for w in self._weeks(self.directory) if not self.signature(w).exists() or self.pending(w).exists()]

    def complete_record(self, week_start: str, signature_of, display) -> list[Path]:
        """Finish a half-recorded week: verify the delivered bytes, re-sign them, drop the pending copy.

        The ``.json`` is only ever written after the receiver answered 2xx, so nothing is resent;
        ``signature_of(body)`` gives the ``X-OBS-Signature`` hex with today's newest secret.
        """
        path = self.delivered(week_start)
        body = _verified(path, path.read_bytes(), week_start, display)[0]
        written = []
        if not self.signature(week_start).exists():
            fsio.atomic_write_bytes(self.signature(week_start), signature_of(body).encode("ascii"))
            written.append(self.signature(week_start))
        self._drop_pending(week_start)
        return written

    def stored(self, week_start: str, display) -> tuple[Path, bytes, dict]:
        """The bytes to replay: the pending copy when there is one, else the delivered one.

        The body is checked (JSON, checksum field) so a damaged file is never sent.
        """
        if not WEEK_RE.match(week_start):
            raise ConfigError(f"--week-start {week_start!r}: expected YYYY-MM-DD")
        for path in (self.pending(week_start), self.delivered(week_start)):
            try:
                body = path.read_bytes()
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise InputError(f"{display(path)}: cannot read ({exc.strerror or exc})", input=display(path)) from None
            return (path, *_verified(path, body, week_start, display))
        raise MissingInputError(
            f"{display(self.pending(week_start))} and {display(self.delivered(week_start))}: "
            f"no stored payload for week {week_start}",
            input=display(self.delivered(week_start)),
        )


def _verified(path: Path, body: bytes, week_start: str, display) -> tuple[bytes, dict]:
    """``body`` and its document when it is a stored payload of ``week_start`` with a matching checksum."""
    try:
        doc = fsio.parse_json(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise InputError(
            f"{display(path)}: stored payload is not valid JSON; it cannot be replayed", input=display(path)
        ) from None
    if isinstance(doc, dict) and weekly_outputs.is_legacy(doc) and payload_mod.CHECKSUM_FIELD not in doc:
        raise InputError(
            f"{display(path)}: a payload of the legacy scripts (schema_version {doc.get('schema_version')!r}) "
            "without payload_checksum_sha256: its integrity cannot be checked, so it is not replayed; "
            f"rebuild the week with `observability weekly report --week-start {week_start}`",
            input=display(path),
        )
    if not isinstance(doc, dict) or not weekly_outputs.checksum_matches(doc):
        raise InputError(
            f"{display(path)}: payload_checksum_sha256 does not match the stored body; "
            "it was edited or damaged and will not be replayed",
            input=display(path),
        )
    if doc.get("week_start") != week_start:
        raise InputError(
            f"{display(path)}: holds week_start {doc.get('week_start')!r}, not {week_start}", input=display(path)
        )
    return body, doc
