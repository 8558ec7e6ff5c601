"""The ``sync`` job: copy the dashboard bundle and the weekly payloads to shared storage.

Layout on the target (``file:///dir`` or ``s3://bucket/prefix``)::

    dashboard/<YYYY-MM-DD>/<export job_id>/<dataset>.json, README.json, manifest.json
    weekly/<week_start>/<week_start>.json, <week_start>.sig
    index.json                      the latest of each kind and every prefix kept (schema sync_index)

Prefixes are named by what they hold (the export's job id, the week), so a re-run finds its files
already there and sends nothing. Past ``THIN_AFTER_HOURS`` only the last dashboard prefix of each UTC
day is kept, as in the dashboard history (the hourly latency export would otherwise leave 24 full
bundles a day for the whole retention); every removal is logged and listed in the index with its reason. Every upload is verified (S3: ChecksumSHA256 or the ETag, else the
bytes re-read; file: re-hashed), every call is retried with exponential backoff, the index is written
after the objects it names and before anything is pruned, and nothing local is ever changed except
the prune log (``ops/sync_prune_log.jsonl``) and the report (``out/sync/<job_id>.json``).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import PurePosixPath
from typing import Any

from observability import clock, digest, fsio, provenance, schemas
from observability.errors import InputError, SchemaError
from observability.outbound.retry import GaveUp, RetryPolicy, retrying
from observability.outputs import synced
from observability.progress import Progress
from observability.runtime import JOB_ID_RE, JobContext, JobResult, derive_status
from observability.storage import (
    Bucket,
    Location,
    ObjectInfo,
    StorageError,
    StoreUrlError,
    locate,
    open_bucket,
    same_content,
)
from observability.sync.errors import SyncFailed

INDEX_KEY = synced.INDEX_KEY
PRUNE_LOG = "ops/sync_prune_log.jsonl"
BUNDLE_LOCK = "ops/.dashboard_bundle.lock"  # the export's own lock: a bundle is never read mid-write
BUNDLE_LOCK_TIMEOUT_SECONDS = 120
SCHEMA_VERSION = "1.0.0"
MAX_WAIT_SECONDS = 60.0
THIN_AFTER_HOURS = 48  # the dashboard history's (observability/dashboard/history.py): one rule for both copies
RETENTION, THINNED = "retention", "thinned"  # why a prefix was removed (prune log, index, summary)
_WEEK_FILE = re.compile(r"^([0-9]{4}-[0-9]{2}-[0-9]{2})\.json$")
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
SCHEMES = synced.SCHEMES


@dataclass(frozen=True)
class SyncOptions:
    """What ``sync push`` (or ``dashboard export --sync-to``) was asked to do."""

    to: str | None
    bundle_dir: str = "out/dashboard"
    weekly_dir: str = "ops/weekly_report_history"
    dashboard: bool = True
    weekly: bool = True
    retention_weeks: int = 8
    max_retries: int = 5
    retry_wait_seconds: float = 2.0
    dry_run: bool = False
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ, repr=False)
    sleep: Callable[[float], None] | None = field(default=None, repr=False)  # None: time.sleep


@dataclass(frozen=True)
class Item:
    """One local file and the key it goes to."""

    key: str
    local: str
    data: bytes = field(repr=False)
    sha256: str


@dataclass
class Group:
    """One dated prefix: a dashboard export or a week."""

    kind: str
    prefix: str
    date: str
    job_id: str | None
    items: list[Item] = field(default_factory=list)

    def files(self) -> list[dict[str, Any]]:
        return [{"key": i.key, "sha256": i.sha256, "size": len(i.data)} for i in self.items]


@dataclass
class Outcome:
    """What a sync did, for the job summary or the figures of a dashboard export."""

    figures: dict[str, Any]
    markdown: str
    dry_run: bool = False
    findings: list[str] = field(default_factory=list)  # e.g. a stored copy that differed and was repaired

    @property
    def status(self) -> str:
        return derive_status(dry_run=self.dry_run, findings=self.findings)


def _sha(data: bytes) -> str:
    return digest.sha256_hex(data)


def check_url(url: str | None) -> Location:
    """Validate a ``--to`` / ``OBS_SYNC_TO`` URL without opening anything (dry runs contact nothing)."""
    where = locate(url, option="--to", env="OBS_SYNC_TO", what="shared storage", schemes=SCHEMES)
    if where.kind not in ("file", "s3"):
        raise StoreUrlError(
            f"--to {where.display}: shared storage is file:// or s3:// (a git branch would keep every dataset forever)"
        )
    if where.kind == "file" and where.path.exists() and not where.path.is_dir():  # type: ignore[union-attr]
        # Never a directory that is merely unreachable (an unmounted share has no file there): usage.
        raise StoreUrlError(f"--to {where.display}: {where.path} is a file, expected a directory")
    return where


def open_target(url: str | None, environ: Mapping[str, str] = os.environ) -> Bucket:
    """The shared storage for ``url``; a bad URL is StoreUrlError (exit 2), a missing mount an outage."""
    return open_bucket(check_url(url), environ, require_parent=True)


def _date_of(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if _DATE.match(text) else None
    except ValueError:
        return None


# --- what there is to send --------------------------------------------------------------------------


def _bundle(ctx: JobContext, opts: SyncOptions) -> Group | None:
    """The dashboard bundle, read under the export's lock and checked against its own manifest."""
    from filelock import FileLock

    ws = ctx.workspace
    bundle = ws.path(opts.bundle_dir)
    manifest_path = bundle / "manifest.json"
    shown = ws.rel(manifest_path)
    with FileLock(str(ws.path(BUNDLE_LOCK)), timeout=BUNDLE_LOCK_TIMEOUT_SECONDS):
        if not manifest_path.exists():
            ctx.warn(f"{shown}: no dashboard bundle to sync (run `observability dashboard export` first)")
            return None
        raw = manifest_path.read_bytes()
        doc = fsio.read_json(manifest_path, what="dashboard manifest", display=shown)
        try:
            schemas.validate("dashboard_manifest", doc, what=shown)
        except SchemaError as exc:
            raise InputError(
                f"{exc.message}; run `observability dashboard export` again", error_code="bundle_invalid"
            ) from None
        job_id = doc["job_id"]
        if not JOB_ID_RE.match(job_id):
            raise InputError(f"{shown}: field job_id {job_id!r} is not a job id", error_code="bundle_invalid")
        day = clock.parse_iso(doc["generated_at"]).date().isoformat()
        group = Group("dashboard", f"dashboard/{day}/{job_id}/", day, job_id)
        names = [entry["path"] for entry in doc["datasets"]]
        for entry in doc["datasets"]:
            name = entry["path"]
            if PurePosixPath(name).name != name or name.startswith("."):
                raise InputError(
                    f"{shown}: dataset path {name!r} is not a file name in the bundle", error_code="bundle_invalid"
                )
            data = _read(ctx, bundle / name)
            if _sha(data) != entry["checksum_sha256"]:
                raise InputError(
                    f"{ws.rel(bundle / name)}: does not match its checksum in {shown}; nothing was "
                    "uploaded. Run `observability dashboard export` again",
                    error_code="bundle_invalid",
                )
            group.items.append(Item(group.prefix + name, ws.rel(bundle / name), data, entry["checksum_sha256"]))
        if (bundle / "README.json").exists() and "README.json" not in names:
            data = _read(ctx, bundle / "README.json")
            group.items.append(Item(group.prefix + "README.json", ws.rel(bundle / "README.json"), data, _sha(data)))
        # The manifest last: a consumer that finds it finds every file it names.
        group.items.append(Item(group.prefix + "manifest.json", shown, raw, _sha(raw)))
    return group


def _read(ctx: JobContext, path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise InputError(
            f"{ctx.workspace.rel(path)}: named by the bundle's manifest but missing; run "
            "`observability dashboard export` again",
            error_code="bundle_invalid",
        ) from None
    except OSError as exc:
        raise InputError(f"{ctx.workspace.rel(path)}: cannot read ({exc.strerror or exc})") from None


def _weeks(ctx: JobContext, opts: SyncOptions, cutoff: date) -> list[Group]:
    """Delivered weekly payloads (``<week_start>.json`` + ``.sig``) inside the retention."""
    ws = ctx.workspace
    directory = ws.path(opts.weekly_dir)
    if not directory.is_dir():
        ctx.note(f"{ws.rel(directory)}: no weekly payloads yet")
        return []
    groups = []
    old = 0
    for path in sorted(directory.iterdir()):
        found = _WEEK_FILE.match(path.name)
        week = _date_of(found.group(1)) if found else None
        if week is None or not path.is_file():
            continue
        if week < cutoff:
            old += 1
            continue
        sig = path.with_suffix(".sig")
        if not sig.is_file():
            ctx.warn(f"{ws.rel(path)}: no {sig.name} beside it (a delivery cut short?); not synced")
            continue
        assert found is not None  # week was read from it
        name = found.group(1)
        group = Group("weekly", f"weekly/{name}/", name, None)
        for file in (path, sig):
            data = _read(ctx, file)
            group.items.append(Item(group.prefix + file.name, ws.rel(file), data, _sha(data)))
        groups.append(group)
    if old:
        ctx.note(f"{old} weekly payload(s) older than the retention were not synced")
    return groups


# --- the run ----------------------------------------------------------------------------------------


class _Sync:
    def __init__(self, ctx: JobContext, opts: SyncOptions, target: Bucket):
        self.ctx = ctx
        self.opts = opts
        self.target = target
        self.retries = 0
        self.calls = 0  # storage calls made (each once, however many attempts it took)
        self.most_attempts = 1  # the most attempts one call took: the run's `attempts`

    def retry(self, what: str, func: Callable):
        """``func()`` with up to max_retries attempts and exponential backoff on retryable storage failures.

        A failure retrying will not help (access denied, no bucket, no credentials) ends the run at once.
        """
        attempts = max(self.opts.max_retries, 1)
        policy = RetryPolicy(
            max_attempts=attempts,
            base_wait_seconds=self.opts.retry_wait_seconds,
            max_wait_seconds=MAX_WAIT_SECONDS,
            jitter=False,
        )

        def retried(exc: BaseException, attempt: int, wait: float) -> None:
            self.ctx.note(f"{getattr(exc, 'message', exc)}; attempt {attempt}/{attempts}, retrying in {wait:g} s")
            self.retries += 1

        self.calls += 1
        try:
            value, tried = retrying(  # the one retry policy (outbound/retry.py), exact waits
                func,
                policy,
                errors=(StorageError,),
                retryable=lambda exc: bool(getattr(exc, "retryable", False)),
                sleep=self.opts.sleep or time.sleep,
                on_retry=retried,
            )
        except GaveUp as gave:
            self.most_attempts = max(self.most_attempts, gave.attempts)
            message = getattr(gave.error, "message", str(gave.error))
            if not gave.exhausted:
                raise SyncFailed(message, attempts=gave.attempts) from None
            raise SyncFailed(
                f"{message}; gave up after {attempts} attempt(s) to {what}. Nothing local was changed: "
                "run `observability sync push` again when the storage is back, or upload by hand "
                "(docs/sync.md, Runbook)",
                attempts=attempts,
            ) from None
        self.most_attempts = max(self.most_attempts, tried)
        return value

    def same(self, remote: ObjectInfo | None, item: Item) -> bool:
        verdict = same_content(remote, item.data, item.sha256)
        if verdict is None:  # the listing cannot tell (e.g. a multipart ETag): ask for the object's checksum
            remote = self.retry(f"check {item.key}", lambda: self.target.stat(item.key, checksum=True))
            verdict = same_content(remote, item.data, item.sha256)
        if verdict is None:  # still nothing comparable: read it back
            stored = self.retry(f"read {item.key}", lambda: self.target.get(item.key))
            verdict = stored is not None and _sha(stored) == item.sha256
        return bool(verdict)

    def upload(self, item: Item) -> None:
        """Put ``item`` and read its checksum back; a mismatch is re-sent, then fails the run."""
        attempts = max(self.opts.max_retries, 1)
        for attempt in range(1, attempts + 1):
            self.retry(
                f"upload {item.key}",
                lambda: self.target.put(item.key, item.data, sha256=item.sha256, metadata={"sha256": item.sha256}),
            )
            remote = self.retry(f"verify {item.key}", lambda: self.target.stat(item.key, checksum=True))
            if self.same(remote, item):
                return
            self.ctx.note(
                f"{self.target.display}/{item.key}: checksum differs after upload "
                f"(attempt {attempt}/{attempts}); sending it again"
            )
            self.retries += 1
        raise SyncFailed(
            f"{self.target.display}/{item.key}: stored object does not match the local file "
            f"(sha256 {item.sha256[:16]}…) after {attempts} upload(s); nothing local was changed",
            checksum_mismatch=item.key,
        )


def run(ctx: JobContext, opts: SyncOptions) -> Outcome:
    """Sync what ``opts`` selects; raises SyncFailed (outage, bad checksum) or InputError (bad bundle)."""
    if opts.retention_weeks < 1:
        from observability.errors import ConfigError

        raise ConfigError("--retention-weeks: must be at least 1")
    cutoff = ctx.now.date() - timedelta(weeks=opts.retention_weeks)
    check_url(opts.to)  # a bad URL is a usage error before anything is read
    for on, directory, option in (
        (opts.dashboard, opts.bundle_dir, "--bundle-dir"),
        (opts.weekly, opts.weekly_dir, "--weekly-dir"),
    ):
        if on:
            ctx.workspace.output_dir(directory, option)  # read here, but a file there is the same usage error
    groups: list[Group] = []
    if opts.dashboard:
        bundle = _bundle(ctx, opts)
        if bundle is not None:
            groups.append(bundle)
    if opts.weekly:
        groups.extend(_weeks(ctx, opts, cutoff))
    if opts.dry_run:
        where = check_url(opts.to)
        return _dry_run(ctx, opts, where.display, groups, cutoff)
    target = open_target(opts.to, opts.environ)
    swept = target.sweep_temps()
    if swept:
        ctx.note(f"removed {len(swept)} temp file(s) left by killed writes in {target.display}")
    sync = _Sync(ctx, opts, target)
    kinds = [kind for kind, on in (("dashboard", opts.dashboard), ("weekly", opts.weekly)) if on]
    listing: dict[str, ObjectInfo] = {}
    for kind in kinds:
        listing.update(sync.retry(f"list {kind}/", lambda kind=kind: target.list(f"{kind}/")))
    actions: list[dict[str, Any]] = []
    sent = 0
    total = sum(len(item.data) for group in groups for item in group.items)
    progress = Progress(f"sync push: {target.display}", total, unit="B")
    for group in groups:
        for item in group.items:
            remote = listing.get(item.key)
            if remote is not None and sync.same(remote, item):
                actions.append(_action(item, "present"))
                progress.update(advance=len(item.data))
                continue
            if remote is not None:
                ctx.warn(
                    f"{target.display}/{item.key}: stored copy differs from {item.local} (corrupt or "
                    "overwritten); uploading it again"
                )
            sync.upload(item)
            sent += len(item.data)
            actions.append(_action(item, "repaired" if remote is not None else "uploaded"))
            progress.update(advance=len(item.data))
    progress.close()
    doomed = _prunable(listing, groups, kinds, cutoff, ctx.now)
    index_written = _write_index(ctx, opts, sync, groups, kinds, listing, doomed) if kinds else False
    pruned = _prune(ctx, opts, sync, listing, doomed)
    counts = {a: sum(1 for x in actions if x["action"] == a) for a in ("uploaded", "present", "repaired")}
    figures = {
        "target": target.display,
        "dry_run": False,
        "files": len(actions),
        **counts,
        "bytes_uploaded": sent,
        "calls": sync.calls,
        "retries": sync.retries,
        "attempts": sync.most_attempts,
        "retention_weeks": opts.retention_weeks,
        "prefixes": [g.prefix for g in groups],
        "index": INDEX_KEY,
        "index_updated": index_written,
        "pruned": pruned,
    }
    report = _report(ctx, opts, target.display, actions, pruned, dry_run=False)
    figures["report"] = report
    ctx.note(
        f"synced to {target.display}: {counts['uploaded']} uploaded, {counts['present']} already there, "
        f"{counts['repaired']} repaired, {len(pruned)} prefix(es) pruned "
        f"({sum(p['reason'] == THINNED for p in pruned)} thinned), {sent} bytes sent; "
        f"{sync.calls} storage call(s), {sync.retries} retried, at most {sync.most_attempts} attempt(s) per call"
    )
    findings = [kind for kind, seen in (("repaired", counts["repaired"]), ("logged_warnings", ctx.warnings)) if seen]
    return Outcome(figures, _markdown(figures, actions), findings=findings)


def _action(item: Item, action: str) -> dict[str, Any]:
    return {"key": item.key, "local": item.local, "sha256": item.sha256, "size": len(item.data), "action": action}


def _unit(key: str) -> tuple[str, str] | None:
    """The prunable prefix holding ``key`` (``dashboard/<date>/`` or ``weekly/<week>/``) and its date."""
    parts = key.split("/")
    if len(parts) >= 3 and parts[0] in ("dashboard", "weekly") and _date_of(parts[1]):
        return f"{parts[0]}/{parts[1]}/", parts[1]
    return None


def _export_prefix(key: str) -> str | None:
    """The export prefix holding ``key`` (``dashboard/<date>/<job_id>/``), None for anything else."""
    parts = key.split("/")
    if len(parts) >= 4 and parts[0] == "dashboard" and _date_of(parts[1]) and JOB_ID_RE.match(parts[2]):
        return "/".join(parts[:3]) + "/"
    return None


def _export_time(prefix: str) -> datetime | None:
    """When the export of ``dashboard/<date>/<job_id>/`` ran: its job id's time (UTC)."""
    try:
        return datetime.strptime(prefix.split("/")[2][:16], "%Y%m%dT%H%M%SZ").replace(tzinfo=clock.UTC)
    except ValueError:
        return None


@dataclass(frozen=True)
class Doomed:
    """A prefix to remove: every key under it and why (``retention`` or ``thinned``)."""

    keys: list[str]
    reason: str


def _prunable(
    listing: Mapping[str, ObjectInfo], groups: list[Group], kinds: list[str], cutoff: date, now: datetime
) -> dict[str, Doomed]:
    """Dated prefixes older than the retention, and (dashboard, within the retention) every export
    older than THIN_AFTER_HOURS that is not the last of its UTC day; never the newest prefix of a
    kind nor one this run just sent."""
    units: dict[str, list[str]] = {}
    for key in listing:
        unit = _unit(key)
        if unit:
            units.setdefault(unit[0], []).append(key)
    for group in groups:
        units.setdefault(_unit(group.items[0].key)[0], [])  # type: ignore[index]
    keep = {_unit(g.items[0].key)[0] for g in groups}  # type: ignore[index]
    for kind in kinds:
        mine = sorted(u for u in units if u.startswith(kind + "/"))
        if mine:
            keep.add(mine[-1])
    doomed = {
        u: Doomed(sorted(keys), RETENTION)
        for u, keys in sorted(units.items())
        if u not in keep and date.fromisoformat(u.split("/")[1]) < cutoff
    }
    if "dashboard" in kinds:
        doomed.update(_thinned(listing, groups, cutoff, now, doomed))
    return dict(sorted(doomed.items()))


def _thinned(
    listing: Mapping[str, ObjectInfo], groups: list[Group], cutoff: date, now: datetime, doomed: Mapping[str, Doomed]
) -> dict[str, Doomed]:
    """The dashboard history's rule (docs/sync.md, Retention): exports older than THIN_AFTER_HOURS are
    thinned to the last of each UTC day, which holds the day's final bundle, every dataset included."""
    exports: dict[str, list[str]] = {}
    for key in listing:
        prefix = _export_prefix(key)
        if prefix:
            exports.setdefault(prefix, []).append(key)
    if not exports:
        return {}
    sent = {g.prefix for g in groups}
    newest = max(exports, key=lambda p: (p.split("/")[1], _export_time(p) or now, p))
    before = now - timedelta(hours=THIN_AFTER_HOURS)
    by_day: dict[str, list[tuple[datetime, str]]] = {}
    for prefix in exports:
        day, at = prefix.split("/")[1], _export_time(prefix)
        if at is None or at >= before or date.fromisoformat(day) < cutoff or f"dashboard/{day}/" in doomed:
            continue  # too recent, no time to go by, or its whole day goes for the retention
        by_day.setdefault(day, []).append((at, prefix))
    out = {}
    for found in by_day.values():
        found.sort()
        # The last export of the day is kept; so is one this run sent and the newest of all.
        out.update({p: Doomed(sorted(exports[p]), THINNED) for _, p in found[:-1] if p not in sent and p != newest})
    return out


def _prune(
    ctx: JobContext, opts: SyncOptions, sync: _Sync, listing: Mapping[str, ObjectInfo], doomed: dict[str, Doomed]
) -> list[dict[str, Any]]:
    pruned = []
    for unit, gone in doomed.items():
        keys = gone.keys
        sync.retry(f"prune {unit}", lambda keys=keys: sync.target.delete_many(keys))
        line = {
            "schema_version": SCHEMA_VERSION,
            "event": "pruned",
            "pruned_at": clock.iso(ctx.now),
            "job_id": ctx.job_id,
            "target": sync.target.display,
            "kind": unit.split("/")[0],
            "prefix": unit,
            "date": unit.split("/")[1],
            "reason": gone.reason,
            "objects": len(keys),
            "bytes": sum(listing[k].size for k in keys),
            "retention_weeks": opts.retention_weeks,
        }
        schemas.validate("sync_prune", line, what=f"{PRUNE_LOG} line")
        fsio.append_bytes(ctx.workspace.path(PRUNE_LOG), (fsio.canonical_json(line) + "\n").encode("utf-8"))
        ctx.artefact(PRUNE_LOG)
        why = (
            f"older than {opts.retention_weeks} weeks"
            if gone.reason == RETENTION
            else f"thinned: not the last export of {line['date']}, older than {THIN_AFTER_HOURS} h"
        )
        ctx.note(f"pruned {sync.target.display}/{unit} ({len(keys)} object(s), {why})")
        pruned.append(line)
    return pruned


# --- the index --------------------------------------------------------------------------------------


def _entry(group: Group, uploaded_at: str) -> dict[str, Any]:
    return {
        "kind": group.kind,
        "prefix": group.prefix,
        "date": group.date,
        "job_id": group.job_id,
        "uploaded_at": uploaded_at,
        "files": group.files(),
    }


def _previous_index(ctx: JobContext, sync: _Sync) -> dict[str, Any] | None:
    raw = sync.retry(f"read {INDEX_KEY}", lambda: sync.target.get(INDEX_KEY))
    if raw is None:
        return None
    try:
        doc = fsio.parse_json(raw)
        schemas.validate("sync_index", doc, what=f"{sync.target.display}/{INDEX_KEY}")
        return doc
    except (ValueError, SchemaError) as exc:
        ctx.warn(
            f"{sync.target.display}/{INDEX_KEY}: unreadable ({getattr(exc, 'message', exc)}); rebuilt "
            "from this run's uploads"
        )
        return None


def _removed(
    ctx: JobContext, opts: SyncOptions, previous: Mapping[str, Any] | None, doomed: Mapping[str, Doomed]
) -> list[dict[str, Any]]:
    """The index's record of removals, newest first: this run's (written before it deletes) and the
    earlier ones made within the retention, so a consumer looking for a prefix learns why it is gone."""
    since = clock.iso(ctx.now - timedelta(weeks=opts.retention_weeks))
    records = {r["prefix"]: r for r in (previous or {}).get("removed", []) if r["removed_at"] >= since}
    for prefix, gone in doomed.items():
        records.setdefault(
            prefix,
            {
                "kind": prefix.split("/")[0],
                "prefix": prefix,
                "date": prefix.split("/")[1],
                "reason": gone.reason,
                "removed_at": clock.iso(ctx.now),
                "job_id": ctx.job_id,
            },
        )
    return sorted(records.values(), key=lambda r: (r["removed_at"], r["prefix"]), reverse=True)


def _write_index(
    ctx: JobContext,
    opts: SyncOptions,
    sync: _Sync,
    groups: list[Group],
    kinds: list[str],
    listing: Mapping[str, ObjectInfo],
    doomed: Mapping[str, Doomed],
) -> bool:
    """Rewrite index.json when what it lists changed; returns whether it was written."""
    previous = _previous_index(ctx, sync)
    entries: dict[str, dict[str, Any]] = {}
    for kind in ("dashboard", "weekly"):
        for old in (previous or {}).get(kind, []):
            unit = _unit(old["prefix"] + "x")
            if unit is None or unit[0] in doomed or old["prefix"] in doomed:
                continue
            # A listed kind tells what is really there: an entry whose files vanished is dropped.
            if kind in kinds and any(f["key"] not in listing for f in old["files"]):
                continue
            entries[old["prefix"]] = old
    now = clock.iso(ctx.now)
    for group in groups:
        old = entries.get(group.prefix)
        entries[group.prefix] = old if old and old["files"] == group.files() else _entry(group, now)

    def ordered(kind: str) -> list[dict[str, Any]]:
        return sorted(
            (e for e in entries.values() if e["kind"] == kind),
            key=lambda e: (e["date"], e["job_id"] or ""),
            reverse=True,
        )

    body: dict[str, Any] = {"dashboard": ordered("dashboard"), "weekly": ordered("weekly")}
    body["latest"] = {kind: (body[kind][0]["prefix"] if body[kind] else None) for kind in ("dashboard", "weekly")}
    body["removed"] = _removed(ctx, opts, previous, doomed)
    if previous is not None and all(previous.get(k) == v for k, v in body.items()):
        return False
    doc = {
        "schema_version": SCHEMA_VERSION,
        "updated_at": now,
        "job_id": ctx.job_id,
        "retention_weeks": opts.retention_weeks,
        "source_command": provenance.source_command(),
        "commit_sha": provenance.commit_sha(ctx.workspace.root),
        **body,
    }
    schemas.validate("sync_index", doc, what=INDEX_KEY)
    data = fsio.canonical_json(doc, indent=2).encode("utf-8")
    sync.upload(Item(INDEX_KEY, "(index)", data, _sha(data)))
    return True


# --- outputs ----------------------------------------------------------------------------------------


def _report(
    ctx: JobContext,
    opts: SyncOptions,
    display: str,
    actions: list[dict[str, Any]],
    pruned: list[dict[str, Any]],
    *,
    dry_run: bool,
) -> str:
    doc = {
        "schema_version": SCHEMA_VERSION,
        "job_id": ctx.job_id,
        "target": display,
        "dry_run": dry_run,
        "generated_at": clock.iso(ctx.now),
        "retention_weeks": opts.retention_weeks,
        "files": actions,
        "pruned": [
            {"prefix": p["prefix"], "objects": p["objects"], "bytes": p["bytes"], "reason": p["reason"]} for p in pruned
        ],
        **ctx.provenance(),
    }
    if dry_run:
        doc["note"] = (
            "dry run: the target was not contacted, so files already there are listed too and nothing was pruned"
        )
    schemas.validate("sync_report", doc, what="sync report")
    path = ctx.workspace.out / "sync" / f"{ctx.job_id}.json"
    fsio.atomic_write_json(path, doc)
    return ctx.artefact(path)


def _dry_run(ctx: JobContext, opts: SyncOptions, display: str, groups: list[Group], cutoff: date) -> Outcome:
    actions = [_action(item, "would_upload") for group in groups for item in group.items]
    report = _report(ctx, opts, display, actions, [], dry_run=True)
    size = sum(a["size"] for a in actions)
    ctx.note(f"dry run: would upload up to {len(actions)} file(s) ({size} bytes) to {display}; nothing contacted")
    figures = {
        "target": display,
        "dry_run": True,
        "files": len(actions),
        "would_upload_bytes": size,
        "prefixes": [g.prefix for g in groups],
        "retention_weeks": opts.retention_weeks,
        "prune_before": cutoff.isoformat(),
        "report": report,
    }
    return Outcome(figures, _markdown(figures, actions), dry_run=True)


def _markdown(figures: dict[str, Any], actions: list[dict[str, Any]]) -> str:
    lines = [
        "### observability sync",
        "",
        f"Target `{figures['target']}`" + (" (dry run: nothing contacted)" if figures["dry_run"] else ""),
        "",
        "| key | size | action |",
        "| --- | ---: | --- |",
    ]
    lines += [f"| `{a['key']}` | {a['size']} | {a['action']} |" for a in actions[:200]]
    if len(actions) > 200:
        lines.append(f"| … {len(actions) - 200} more | | |")
    for p in figures.get("pruned", []):
        lines.append(f"| `{p['prefix']}` | {p['bytes']} | pruned, {p['reason']} ({p['objects']} object(s)) |")
    if "attempts" in figures:
        lines += [
            "",
            f"{figures['calls']} storage call(s), {figures['retries']} retried; "
            f"most attempts for one call: {figures['attempts']} (of `--max-retries`).",
        ]
    return "\n".join(lines) + "\n"


def push(ctx: JobContext, opts: SyncOptions) -> JobResult:
    """The ``sync push`` job body."""
    outcome = run(ctx, opts)
    outputs = {"report": outcome.figures["report"]}
    if "uploaded" in outcome.figures:
        outputs["uploaded"] = str(outcome.figures["uploaded"])
    return JobResult(
        attempts=int(outcome.figures.get("attempts", 1)),
        dry_run=outcome.dry_run,
        findings=outcome.findings,
        figures=outcome.figures,
        summary_markdown=outcome.markdown,
        outputs=outputs,
    )
