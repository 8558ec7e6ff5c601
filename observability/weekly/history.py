"""The delivered and pending payloads of each week, kept byte for byte for audit and replay.

``<out_dir>/<week_start>.json`` + ``.sig`` once delivered; ``<out_dir>/pending/<week_start>.json``
from just before the first attempt until a delivery succeeds, so a failed or interrupted run
can be replayed without recomputing anything.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from observability import fsio
from observability.errors import ConfigError, InputError, MissingInputError
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
        """Write the delivered bytes and their signature, then drop the pending copy."""
        fsio.atomic_write_bytes(self.delivered(week_start), body)
        fsio.atomic_write_bytes(self.signature(week_start), signature_hex.encode("ascii"))
        try:
            os.unlink(self.pending(week_start))
        except FileNotFoundError:
            pass
        return [self.delivered(week_start), self.signature(week_start)]

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
            try:
                doc = fsio.parse_json(body)
            except (UnicodeDecodeError, json.JSONDecodeError):
                raise InputError(f"{display(path)}: stored payload is not valid JSON; it cannot be replayed",
                                 input=display(path)) from None
            if not isinstance(doc, dict) or doc.get(payload_mod.CHECKSUM_FIELD) != payload_mod.checksum(doc):
                raise InputError(f"{display(path)}: payload_checksum_sha256 does not match the stored body; "
                                 "it was edited or damaged and will not be replayed", input=display(path))
            if doc.get("week_start") != week_start:
                raise InputError(f"{display(path)}: holds week_start {doc.get('week_start')!r}, not {week_start}",
                                 input=display(path))
            return path, body, doc
        raise MissingInputError(f"{display(self.pending(week_start))} and {display(self.delivered(week_start))}: "
                                f"no stored payload for week {week_start}", input=display(self.delivered(week_start)))
