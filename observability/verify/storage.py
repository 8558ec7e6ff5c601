"""The nightly check of the shared-storage copies (seed 002 §2): re-read what ``sync push`` stored and
compare it with its index, the bundle's manifest, the weekly ``.sig`` files and the workspace.

Every object the index names is read back in full and hashed; a dashboard prefix's datasets are
checked against that prefix's ``manifest.json``; a weekly payload against its ``.sig`` (HMAC-SHA256
with ``OBS_WEBHOOK_SECRET`` when the run has it, else the workspace's own ``.sig``) and its own
``payload_checksum_sha256``; and the newest stored bundle and the weekly payloads against what the
workspace exported and delivered (a copy that lags is out of date). Each problem is a Finding naming
the object; verify turns them into alerts on the existing path (``ops/verify_alerts.json``).
"""

from __future__ import annotations

import hmac
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from observability import digest, fsio, schemas
from observability.errors import ConfigError, InputError, SchemaError
from observability.outbound import signing
from observability.outbound.retry import GaveUp, RetryPolicy, retrying
from observability.outputs import synced, weekly as weekly_outputs
from observability.secrets import from_env
from observability.storage import Bucket, StorageError, locate, open_bucket
from observability.verify.findings import Finding
from observability.workspace import Workspace

SECRET_ENV = "OBS_WEBHOOK_SECRET"
DASHBOARD_HEARTBEAT = "dashboard"  # the export's heartbeat carries the local manifest sequence
WEEKLY_DIR = "ops/weekly_report_history"
BUNDLE_MANIFEST = "out/dashboard/manifest.json"
DEFAULT_RETENTION_WEEKS = 8


@dataclass(frozen=True)
class StorageCheckOptions:
    """Where the copies are and how hard to try reading them (the sync's own retry defaults)."""

    url: str
    max_attempts: int = 5
    retry_wait_seconds: float = 2.0
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ, repr=False)
    sleep: Callable[[float], None] | None = field(default=None, repr=False)


@dataclass
class StorageCheck:
    """What the check read and found; ``as_dict`` is the verify report's ``checks.storage``."""

    target: str
    findings: list[Finding] = field(default_factory=list)
    objects: int = 0
    bytes_read: int = 0
    signatures: str = "unchecked"  # hmac (the secret), local (the workspace's .sig), unchecked
    attempts: int = 1
    latest_dashboard: str | None = None
    weekly: int = 0
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "objects_read": self.objects,
            "bytes_read": self.bytes_read,
            "signatures": self.signatures,
            "attempts": self.attempts,
            "latest_dashboard": self.latest_dashboard,
            "weekly_prefixes": self.weekly,
            "findings": len(self.findings),
        }


class _Reader:
    """Reads objects with the one retry policy; counts what it read."""

    def __init__(self, bucket: Bucket, opts: StorageCheckOptions, result: StorageCheck):
        self.bucket, self.opts, self.result = bucket, opts, result
        self.policy = RetryPolicy(
            max_attempts=max(opts.max_attempts, 1),
            base_wait_seconds=opts.retry_wait_seconds,
            max_wait_seconds=60.0,
            jitter=False,
        )

    def call(self, func: Callable[[], Any]) -> Any:
        try:
            value, tried = retrying(
                func,
                self.policy,
                errors=(StorageError,),
                retryable=lambda exc: bool(getattr(exc, "retryable", False)),
                sleep=self.opts.sleep or time.sleep,
            )
        except GaveUp as gave:
            self.result.attempts = max(self.result.attempts, gave.attempts)
            raise gave.error from None
        self.result.attempts = max(self.result.attempts, tried)
        return value

    def get(self, key: str) -> bytes | None:
        data = self.call(lambda: self.bucket.get(key))
        if data is not None:
            self.result.objects += 1
            self.result.bytes_read += len(data)
        return data


def check_url(url: str) -> None:
    """A bad ``--sync-to`` is a usage error before anything is read."""
    where = locate(url, option="--sync-to", env=synced.URL_ENV, what="shared storage", schemes=synced.SCHEMES)
    if where.kind not in ("file", "s3"):
        raise ConfigError(f"--sync-to {where.display}: shared storage is file:// or s3://")


def check(ws: Workspace, opts: StorageCheckOptions, *, now: datetime) -> StorageCheck:
    """Re-read the copies at ``opts.url``; an unreachable target is one finding, not an exception."""
    where = locate(opts.url, option="--sync-to", env=synced.URL_ENV, what="shared storage", schemes=synced.SCHEMES)
    result = StorageCheck(where.display)
    try:
        bucket = open_bucket(where, opts.environ, require_parent=True)
        _check(ws, _Reader(bucket, opts, result), result, opts, now)
    except StorageError as exc:
        result.findings.append(
            Finding(
                "sync_unreachable",
                where.display,
                f"{exc.message} (after {result.attempts} attempt(s)); the copies were not checked",
                at=now,
                evidence={"object": where.display},
            )
        )
    return result


def _finding(result: StorageCheck, rule: str, key: str, message: str, now: datetime, **evidence: Any) -> None:
    """One finding naming the object (``<target>/<key>``); grouped into one alert per rule and prefix."""
    prefix = key.rsplit("/", 1)[0] + "/" if "/" in key else key
    result.findings.append(
        Finding(
            rule,
            f"{result.target}/{prefix}",
            f"{result.target}/{key}: {message}",
            at=now,
            evidence={"object": f"{result.target}/{key}", **evidence},
        )
    )


def _sha(data: bytes) -> str:
    return digest.sha256_hex(data)


def _lister(bucket: Bucket, prefix: str) -> Callable[[], Any]:
    return lambda: bucket.list(prefix)


def _check(ws: Workspace, reader: _Reader, result: StorageCheck, opts: StorageCheckOptions, now: datetime) -> None:
    raw = reader.get(synced.INDEX_KEY)
    if raw is None:
        listed = [reader.call(_lister(reader.bucket, f"{kind}/")) for kind in synced.KINDS]
        if any(listed) or _local_weeks(ws, now, DEFAULT_RETENTION_WEEKS):
            _finding(
                result, "sync_object_missing", synced.INDEX_KEY, "missing, although there is something to list", now
            )
        else:
            before = len(result.findings)
            _dashboard_up_to_date(ws, result, None, now)  # an export the target never got (a wrong URL?)
            if len(result.findings) == before:
                result.notes.append(f"{result.target}: nothing synced yet (no {synced.INDEX_KEY})")
        return
    try:
        index = fsio.parse_json(raw)
        schemas.validate(synced.INDEX_SCHEMA, index, what=f"{result.target}/{synced.INDEX_KEY}")
    except (ValueError, SchemaError) as exc:
        _finding(result, "sync_object_changed", synced.INDEX_KEY, f"unreadable ({getattr(exc, 'message', exc)})", now)
        return
    stored: dict[str, bytes] = {}
    removed: dict[str, dict[str, Any]] | None = None  # read again only when an object is missing
    gone: set[str] = set()  # prefixes a sync removed while this check ran
    for kind in synced.KINDS:
        for entry in index[kind]:
            if entry["prefix"] in gone:
                continue
            for item in entry["files"]:
                data = reader.get(item["key"])
                if data is None:
                    if removed is None:
                        removed = _removed_since(reader, index)
                    why = removed.get(entry["prefix"]) or removed.get(synced.day_prefix(entry["prefix"]))
                    if why is not None:
                        # A sync that ran meanwhile removed it (thinned or past the retention), and said
                        # so in the index it wrote before deleting: not damage.
                        gone.add(entry["prefix"])
                        result.notes.append(
                            f"{result.target}/{entry['prefix']}: removed by sync {why['job_id']} "
                            f"({why['reason']}) while the check ran"
                        )
                        break
                    _finding(
                        result, "sync_object_missing", item["key"], f"named by {synced.INDEX_KEY} but missing", now
                    )
                    continue
                stored[item["key"]] = data
                if _sha(data) != item["sha256"]:
                    _finding(
                        result,
                        "sync_object_changed",
                        item["key"],
                        f"bytes changed since the sync (sha256 {_sha(data)[:12]}…, {synced.INDEX_KEY} says "
                        f"{item['sha256'][:12]}…)",
                        now,
                        expected_sha256=item["sha256"],
                        found_sha256=_sha(data),
                    )
    sequences = [_bundle(result, entry, stored, now) for entry in index["dashboard"] if entry["prefix"] not in gone]
    if index["dashboard"]:
        result.latest_dashboard = index["latest"]["dashboard"]
    _dashboard_up_to_date(ws, result, max((s for s in sequences if s is not None), default=None), now)
    keys = _keys(ws, opts)
    for entry in index["weekly"]:
        if entry["prefix"] in gone:
            continue
        result.weekly += 1
        _week(ws, result, entry["date"], stored, keys, now)
    retention = int(index.get("retention_weeks") or DEFAULT_RETENTION_WEEKS)
    indexed = {entry["date"] for entry in index["weekly"]}
    for week in _local_weeks(ws, now, retention):
        if week not in indexed:
            _finding(
                result,
                "sync_object_missing",
                synced.weekly_keys(week)[0],
                f"delivered ({WEEKLY_DIR}/{week}.json) but not on the shared storage",
                now,
            )


def _removed_since(reader: _Reader, index: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The removals the index records (``removed``, by prefix), read again: a sync that thinned or
    pruned a prefix after this check read the index wrote a newer one first (docs/sync.md, Retention)."""
    records = {r["prefix"]: r for r in index.get("removed", [])}
    raw = reader.call(lambda: reader.bucket.get(synced.INDEX_KEY))
    try:
        fresh = fsio.parse_json(raw) if raw is not None else {}
        schemas.validate(synced.INDEX_SCHEMA, fresh, what=synced.INDEX_KEY)
    except (ValueError, SchemaError):
        return records
    records.update({r["prefix"]: r for r in fresh.get("removed", [])})
    return records


def _bundle(result: StorageCheck, entry: dict[str, Any], stored: dict[str, bytes], now: datetime) -> int | None:
    """A dashboard prefix's datasets against its own manifest.json; returns the manifest's sequence."""
    key = entry["prefix"] + synced.MANIFEST
    data = stored.get(key)
    if data is None:
        if not any(f["key"] == key for f in entry["files"]):
            _finding(result, "sync_object_missing", key, "the bundle has no manifest", now)
        return None
    try:
        manifest = fsio.parse_json(data)
        schemas.validate("dashboard_manifest", manifest, what=f"{result.target}/{key}")
    except (ValueError, SchemaError) as exc:
        _finding(result, "sync_object_changed", key, f"unreadable ({getattr(exc, 'message', exc)})", now)
        return None
    for dataset in manifest["datasets"]:
        dkey = entry["prefix"] + dataset["path"]
        got = stored.get(dkey)
        if got is None:
            if not any(f["key"] == dkey for f in entry["files"]):  # (already reported when the index names it)
                _finding(result, "sync_object_missing", dkey, f"named by {key} but not stored", now)
            continue
        if _sha(got) != dataset["checksum_sha256"]:
            _finding(
                result,
                "sync_object_changed",
                dkey,
                f"does not match its checksum in {synced.MANIFEST} ({dataset['checksum_sha256'][:12]}…)",
                now,
                expected_sha256=dataset["checksum_sha256"],
                found_sha256=_sha(got),
            )
    return int(manifest["sequence"])


def _dashboard_up_to_date(ws: Workspace, result: StorageCheck, stored: int | None, now: datetime) -> None:
    """The newest stored bundle against the workspace's export (its heartbeat, else out/dashboard)."""
    local: int | None = None
    for path in (ws.heartbeat(DASHBOARD_HEARTBEAT), ws.path(BUNDLE_MANIFEST)):
        try:
            doc = fsio.read_json(path, default=None)
        except InputError:  # damaged: the heartbeat check and `dashboard verify` report it
            continue
        if isinstance(doc, dict) and isinstance(doc.get("sequence"), int):
            local = max(local or 0, doc["sequence"])
    if local is None or (stored is not None and stored >= local):
        return
    key = (result.latest_dashboard or "dashboard/") + synced.MANIFEST
    _finding(
        result,
        "sync_out_of_date",
        key,
        f"the newest stored bundle is sequence {stored if stored is not None else 'none'}, the workspace exported "
        f"sequence {local}: the latest export was not synced",
        now,
        stored_sequence=stored,
        local_sequence=local,
    )


def _keys(ws: Workspace, opts: StorageCheckOptions) -> tuple[bytes, ...]:
    secret = from_env(SECRET_ENV, environ=opts.environ)
    if secret is None:
        return ()
    return signing.keys_from(secret).keys


def _week(
    ws: Workspace, result: StorageCheck, week: str, stored: dict[str, bytes], keys: tuple[bytes, ...], now: datetime
) -> None:
    """A stored weekly payload against its .sig, its own checksum and the delivered local copy."""
    body_key, sig_key = synced.weekly_keys(week)
    body, sig = stored.get(body_key), stored.get(sig_key)
    if body is None or sig is None:
        return  # reported as missing against the index
    local_body = _read_local(ws, f"{WEEKLY_DIR}/{week}.json")
    local_sig = _read_local(ws, f"{WEEKLY_DIR}/{week}.sig")
    claimed = sig.decode("ascii", "replace").strip().lower()
    if keys:
        result.signatures = "hmac"
        if not any(hmac.compare_digest(signing.obs_signature(key, body), claimed) for key in keys):
            _finding(
                result,
                "sync_signature_mismatch",
                sig_key,
                f"does not sign {body_key.rsplit('/', 1)[1]} under any key in {SECRET_ENV}",
                now,
            )
    elif local_sig is not None:
        if result.signatures == "unchecked":
            result.signatures = "local"
        if local_sig.strip().lower() != sig.strip().lower():
            _finding(result, "sync_signature_mismatch", sig_key, f"differs from {WEEKLY_DIR}/{week}.sig", now)
    if local_body is not None and local_body != body:
        _finding(result, "sync_object_changed", body_key, f"differs from the delivered {WEEKLY_DIR}/{week}.json", now)
    try:
        payload = fsio.parse_json(body)
    except ValueError:
        _finding(result, "sync_object_changed", body_key, "not JSON", now)
        return
    claimed_sum = payload.get(weekly_outputs.CHECKSUM_FIELD) if isinstance(payload, dict) else None
    if isinstance(claimed_sum, str) and weekly_outputs.checksum(payload) != claimed_sum:
        _finding(result, "sync_object_changed", body_key, f"its {weekly_outputs.CHECKSUM_FIELD} does not match", now)


def _read_local(ws: Workspace, rel: str) -> bytes | None:
    try:
        return ws.path(rel).read_bytes()
    except OSError:
        return None


def _local_weeks(ws: Workspace, now: datetime, retention_weeks: int) -> list[str]:
    """Weeks delivered in the workspace (``.json`` with its ``.sig``) that ``sync push`` would keep."""
    directory = ws.path(WEEKLY_DIR)
    if not directory.is_dir():
        return []
    cutoff = now.date() - timedelta(weeks=retention_weeks)
    weeks = []
    for path in sorted(directory.glob("*.json")):
        try:
            week = date.fromisoformat(path.stem)
        except ValueError:
            continue
        if week >= cutoff and path.with_suffix(".sig").is_file():
            weeks.append(path.stem)
    return weeks
