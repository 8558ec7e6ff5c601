"""The ``state`` job bodies: pull a snapshot into ops/, push ops/ as a new snapshot.

Both run under ``runtime.run_job`` (job ``state``). A pull downloads and verifies everything into a
staging directory before it touches ops/; a push commits only over the generation it pulled (or
re-applies its changes on a newer one when the two runs changed different files).
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from observability import clock, fsio, otel, provenance
from observability.errors import WorkspaceError
from observability.resources import template_dir
from observability.runtime import JobContext, JobResult
from observability.state import merge, scopes, selection
from observability.state.backends import Head, Store, display_url, open_store
from observability.state.errors import SnapshotCorrupt, StateConflict, StoreUnreachable
from observability.state.manifest import Manifest, entry_dict
from observability.state.scopes import Scope
from observability.state.selection import Entry

PULLED = "ops/.state_pulled.json"
MAX_ATTEMPTS = 3
KEEP_GENERATIONS = 48  # at least 6 hours: a latency run pushes twice (its job, then its failure report)
PRUNE_EVERY = 16  # generations between prunes: listing the store costs a few requests
# What a pull from a new (initialised, empty) store starts with: the ops/ skeleton, never sample data.
SKELETON = ("ops/README.md",)


@dataclass(frozen=True)
class StateOptions:
    """What ``state pull|push`` was asked to do."""

    store: str | None
    dry_run: bool = False
    keep_generations: int = KEEP_GENERATIONS
    scope: str | None = None  # pull --for JOB: only that job's files (None: all of ops/)
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ, repr=False)


@dataclass(frozen=True)
class Pulled:
    """The record of the last pull (``ops/.state_pulled.json``, never synced): the base of the next push."""

    store: str
    generation: int
    files: dict[str, Entry]  # the whole snapshot pulled, out-of-scope files included
    scope: Scope = scopes.SCOPES[scopes.EVERYTHING]


def read_pulled(root: Path) -> Pulled | None:
    data = fsio.read_json(root / PULLED, default=None, what="state pull record")
    if not isinstance(data, dict):
        return None
    try:
        files = {p: Entry(e["sha256"], int(e["size"]), e.get("encoding")) for p, e in data["files"].items()}
        return Pulled(str(data["store"]), int(data["generation"]), files, scopes.from_record(data.get("scope")))
    except (KeyError, TypeError, ValueError, AttributeError):
        raise WorkspaceError(f"{PULLED}: malformed pull record; run `observability state pull` again") from None


def _write_pulled(ctx: JobContext, store: str, head: Head, files: Mapping[str, Entry], scope: Scope) -> None:
    record = {
        "store": store,
        "generation": head.generation,
        "token": head.token,
        "job_id": ctx.job_id,
        "pulled_at": clock.iso(clock.now()),
        "files": {p: entry_dict(e) for p, e in sorted(files.items())},
    }
    if not scope.everything:
        record["scope"] = scope.as_dict()
    # Compact: it lists every file of the snapshot (thousands after a year), and json's C encoder
    # is used only without indentation.
    fsio.atomic_write_text(ctx.workspace.path(PULLED), fsio.canonical_json(record) + "\n")


def _fetch(store: Store, path: str, entry: Entry) -> tuple[bytes, int]:
    """A file's verified content from the store, and the bytes transferred for it."""
    stored = store.get_blob(entry.sha256, entry.encoding)
    try:
        data = selection.decode(stored, entry.encoding)
    except ValueError as exc:
        raise SnapshotCorrupt(
            f"{store.display}: {path}: stored blob is {exc}; nothing local was changed", path=path
        ) from None
    return _verified(store.display, path, entry, data), len(stored)


def _verified(display: str, path: str, entry: Entry, data: bytes) -> bytes:
    actual = selection.sha256_bytes(data)
    if actual != entry.sha256 or len(data) != entry.size:
        raise SnapshotCorrupt(
            f"{display}: {path} fails its checksum (expected sha256 {entry.sha256[:16]}… and {entry.size} bytes, "
            f"got {actual[:16]}… and {len(data)} bytes); nothing local was changed",
            path=path,
        )
    return data


def _overlay(snapshot: Mapping[str, Entry], ours: set[str], local: Mapping[str, Entry]) -> dict[str, Entry]:
    """``snapshot`` with this run's changed paths taken from ``local`` (gone locally: removed)."""
    files = dict(snapshot)
    for path in ours:
        if path in local:
            files[path] = local[path]
        else:
            files.pop(path, None)
    return files


def _base(ctx: JobContext, display: str) -> tuple[int, dict[str, Entry], Scope]:
    pulled = read_pulled(ctx.workspace.root)
    if pulled is None:
        return 0, {}, scopes.get(None)
    if pulled.store != display:
        ctx.warn(f"ops/ was pulled from {pulled.store}, not {display}: every local file counts as new")
        return 0, {}, pulled.scope
    return pulled.generation, dict(pulled.files), pulled.scope


def local_changes(
    base: Mapping[str, Entry], local: Mapping[str, Entry], scope: Scope
) -> tuple[set[str], dict[str, Entry]]:
    """The paths this run changed within ``scope``, and the snapshot it would commit over ``base``.

    A pulled file that is gone locally was deleted; a file the scope only writes (never pulled)
    counts only when it is there, so absence never deletes it. Everything else is carried from
    ``base`` unchanged.
    """
    ours = {p for p, e in base.items() if scope.pulls(p) and local.get(p) != e}
    ours |= {p for p, e in local.items() if scope.covers(p) and base.get(p) != e}
    return ours, _overlay(base, ours, local)


def _replace(root: Path, path: str, data: bytes) -> None:
    fsio.atomic_write_bytes(root / path, data)


def _remove(root: Path, path: str) -> None:
    # The link itself may go; a directory on the way that leads out of the workspace may not.
    target = fsio.guard((root / path).parent) / Path(path).name
    try:
        target.unlink()
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise WorkspaceError(f"{path}: cannot remove ({exc.strerror or exc})") from None


# --- init ---------------------------------------------------------------------------------------


def init(ctx: JobContext, options: StateOptions) -> JobResult:
    """Create the store named by ``options.store`` (its marker); an existing store is left as it is."""
    store = open_store(options.store, options.environ)
    try:
        created, generation = store.initialise()
    finally:
        store.close()
    if created:
        ctx.note(f"created the state store {store.display}; pulls start empty (no sample data)")
    else:
        ctx.note(f"{store.display} is already a state store (generation {generation}); nothing changed")
    markdown = (
        f"### observability state init\n\n| store | created | generation |\n| --- | --- | --- |\n"
        f"| `{store.display}` | {'yes' if created else 'no (existed)'} | {generation} |\n"
    )
    return JobResult(
        figures={"store": store.display, "created": created, "generation": generation},
        summary_markdown=markdown,
        outputs={"generation": str(generation)},
    )


# --- pull ---------------------------------------------------------------------------------------


def pull(ctx: JobContext, options: StateOptions) -> JobResult:
    """Make ops/ (the part ``options.scope`` reads) the store's current snapshot."""
    scope = scopes.get(options.scope)
    store = open_store(options.store, options.environ)
    try:
        _sweep_store(ctx, store)
        with otel.span("pull"):
            head = store.head()
            if head.manifest is None:
                return _pull_empty(ctx, store.display, head, scope)
            return _pull_snapshot(ctx, store, head, scope)
    finally:
        store.close()


def _pull_empty(ctx: JobContext, display: str, head: Head, scope: Scope) -> JobResult:
    """An initialised store with no generation yet: add the ops/ skeleton (no sample data), keep local files."""
    root = ctx.workspace.root
    template = template_dir()
    local = selection.scan(root)
    added = []
    for path in SKELETON:
        if path not in local and (template / path).is_file():
            _replace(root, path, (template / path).read_bytes())
            added.append(ctx.artefact(path))
    # Generation 0 with no files as the base: the first push uploads the whole ops/ tree (of the scope).
    _write_pulled(ctx, display, head, {}, scope)
    ctx.note(f"{display} has no generation yet: starting empty ({len(added)} skeleton file(s) added, local files kept)")
    return JobResult(
        figures={
            "store": display,
            "generation": 0,
            "empty_store": True,
            "scope": scope.name,
            "files": 0,
            "files_in_store": 0,
            "files_updated": len(added),
            "files_removed": 0,
            "bytes_downloaded": 0,
            "backed_up": [],
        },
        outputs={"generation": "0"},
    )


def _pull_snapshot(ctx: JobContext, store: Store, head: Head, scope: Scope) -> JobResult:
    root = ctx.workspace.root
    manifest = head.manifest
    assert manifest is not None  # a generation (this is no empty store) has its manifest
    files = manifest.files
    wanted = {p: e for p, e in files.items() if scope.pulls(p)}
    local = selection.scan(root)
    updates = sorted(p for p, e in wanted.items() if local.get(p) != e)
    removals = sorted(p for p in local if scope.pulls(p) and p not in files)
    for stale in ctx.workspace.ops.glob(".state_pull.*"):
        shutil.rmtree(stale, ignore_errors=True)  # left by a pull killed mid-download (runs hold the state lock)
    staging = ctx.workspace.ops / f".state_pull.{ctx.job_id}"
    downloaded = 0
    try:
        # Everything is fetched and verified before ops/ is touched: an outage or a bad blob
        # leaves the workspace as it was.
        # Every target is checked before anything is fetched: a directory linked out of the
        # workspace refuses the whole pull, not half of it.
        targets = {path: fsio.guard(root / path) for path in updates}
        for path in removals:
            fsio.guard((root / path).parent)
        for path in updates:
            data, moved = _fetch(store, path, files[path])
            downloaded += moved
            fsio.atomic_write_bytes(staging / path, data)
        pulled = read_pulled(root)
        base = pulled.files if pulled and pulled.store == store.display else {}
        kept, dissolved = _keep_local_log_lines(root, staging, files, local, updates, removals, base)
        backup_dir = ctx.workspace.ops / ".state_backup" / ctx.job_id
        backed_up = []
        for path in updates + removals:
            if (kept and path in merge.MERGEABLE) or path in dissolved:
                continue
            # A local file that is not what was last pulled holds work the store has never seen.
            if path in local and base.get(path) != local[path]:
                target = fsio.guard(backup_dir / path)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(root / path, target)
                backed_up.append(path)
        # Without a record a half-finished swap cannot be pushed as if it were a clean pull.
        _remove(root, PULLED)
        for path in updates:
            targets[path].parent.mkdir(parents=True, exist_ok=True)
            os.replace(staging / path, fsio.guard(root / path))
            ctx.artefact(path)
        for path in removals:
            _remove(root, path)
        _write_pulled(ctx, store.display, head, files, scope)
    except OSError as exc:
        raise WorkspaceError(
            f"cannot apply the pulled snapshot ({exc.strerror or exc}); run `observability state pull` again"
        ) from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if backed_up:
        ctx.warn(
            f"{len(backed_up)} local file(s) not in the last pull were replaced; copies kept in "
            f"{ctx.workspace.rel(backup_dir)}"
        )
    shown = "" if scope.everything else f" (scope {scope.name}: {len(wanted)} of {len(files)} file(s))"
    ctx.note(
        f"pulled generation {head.generation} from {store.display}{shown}: {len(updates)} file(s) updated, "
        f"{len(removals)} removed, {downloaded} bytes"
    )
    return JobResult(
        findings=["local_files_replaced"] if backed_up else [],
        figures={
            "store": store.display,
            "generation": head.generation,
            "empty_store": False,
            "scope": scope.name,
            "snapshot_job_id": manifest.job_id,
            "files": len(wanted),
            "files_in_store": len(files),
            "files_updated": len(updates),
            "files_removed": len(removals),
            "bytes_downloaded": downloaded,
            "manifest_bytes": head.stored_bytes,
            "backed_up": backed_up,
            "log_lines_kept": kept,
        },
        outputs={"generation": str(head.generation)},
    )


def _keep_local_log_lines(
    root: Path,
    staging: Path,
    files: Mapping[str, Entry],
    local: Mapping[str, Entry],
    updates: list[str],
    removals: list[str],
    base: Mapping[str, Entry],
) -> tuple[int, list[str]]:
    """Stage the pulled log plus the local lines it lacks (renumbered after it); returns how many,
    and the local segments dissolved into those lines.

    A push logs its own line after the snapshot is sent, so a workspace that pushed holds one line
    the store has never seen; the pull keeps it (and the next push sends it) instead of dropping it.
    That append may have rotated the log: a segment the store does not hold is read back into the
    local lines (and removed, not backed up); lines the snapshot holds in its live log or in its
    new segments are not kept twice.
    """
    if merge.LOG not in local or merge.LOG not in updates + removals:
        return 0, []
    dissolved = merge.new_segments(base, files, local)
    our_log = _segment_bytes(root, dissolved) + (root / merge.LOG).read_bytes()
    snapshot_log = (staging / merge.LOG).read_bytes() if merge.LOG in files else b""
    rotated = [
        line
        for path in sorted(p for p in updates if merge.is_segment(p))
        for line in merge.segment_lines((staging / path).read_bytes(), path)
    ]
    log, renumbered = merge.merge_log(
        snapshot_log, our_log, base.get(merge.LOG), their_segments=rotated, floor=merge.top_segment_sequence(files)
    )
    if not renumbered:
        return 0, dissolved
    if merge.SEQUENCE in updates:
        snapshot_sequence: bytes | None = (staging / merge.SEQUENCE).read_bytes()
    else:
        snapshot_sequence = (root / merge.SEQUENCE).read_bytes() if merge.SEQUENCE in files else None
    local_sequence = (root / merge.SEQUENCE).read_bytes() if merge.SEQUENCE in local else None
    fsio.atomic_write_bytes(staging / merge.LOG, log)
    fsio.atomic_write_bytes(staging / merge.SEQUENCE, merge.merged_sequence(log, snapshot_sequence, local_sequence))
    for path in (merge.LOG, merge.SEQUENCE):
        if path in removals:
            removals.remove(path)
        if path not in updates:
            updates.append(path)
    return len(renumbered), dissolved


# --- push ---------------------------------------------------------------------------------------


@dataclass
class _Plan:
    manifest: Manifest
    contents: dict[str, bytes]  # new bytes by sha256 that are not in a local file (merged log)
    write_local: dict[str, bytes]  # files to bring ops/ up to the committed snapshot
    remove_local: list[str]
    renumbered: list[tuple[int | None, int]]


def push(ctx: JobContext, options: StateOptions) -> JobResult:
    """Commit ops/ as generation pulled+1; on a newer store, re-apply when the changes do not overlap."""
    display = display_url(options.store or "")
    store = open_store(options.store, options.environ)
    try:
        _sweep_store(ctx, store)
        base_generation, base, scope = _base(ctx, store.display)
        with otel.span("inputs"):
            local = {p: e for p, e in selection.scan(ctx.workspace.root).items() if scope.covers(p)}
            ours, mine = local_changes(base, local, scope)
        if options.dry_run:
            return _dry_run(ctx, store.display, base_generation, mine, local, ours)
        if not ours and base_generation > 0:
            ctx.note(f"nothing changed since generation {base_generation} was pulled; nothing sent")
            return JobResult(
                figures={
                    "store": store.display,
                    "pushed": False,
                    "generation": base_generation,
                    "base_generation": base_generation,
                    "files_changed": 0,
                    "bytes_uploaded": 0,
                },
                outputs={"generation": str(base_generation)},
            )
        head = store.head()
        for attempt in range(1, MAX_ATTEMPTS + 1):
            plan = _plan(ctx, store, head, base_generation, base, local, mine, ours, scope)
            with otel.span("push", attempt=attempt):
                committed, sent = store.publish(plan.manifest, _source(ctx.workspace.root, local, plan.contents), head)
            if committed:
                result = _pushed(
                    ctx,
                    store.display,
                    plan,
                    base_generation,
                    ours,
                    sent,
                    attempt,
                    scope,
                    getattr(store, "manifest_bytes_sent", 0),
                )
                _prune(ctx, store, plan.manifest.generation, options.keep_generations, result)
                return result
            ctx.note(f"another run committed generation {plan.manifest.generation} first; re-planning")
            head = store.head()
        raise StateConflict(
            f"{display}: lost the race for a new generation {MAX_ATTEMPTS} times; nothing "
            "local was changed. Run `observability state pull` and the job again"
        )
    finally:
        store.close()


def _sweep_store(ctx: JobContext, store: Store) -> None:
    """Temp files of writes killed in a file store (other backends have none)."""
    sweep = getattr(store, "sweep_temps", None)
    swept = sweep() if sweep is not None else []
    if swept:
        ctx.note(f"removed {len(swept)} temp file(s) left by killed writes in {store.display}")


def _prune(ctx: JobContext, store: Store, generation: int, keep: int, result: JobResult) -> None:
    """Every PRUNE_EVERY generations, drop snapshots older than the newest ``keep`` (a failure only warns).

    Each push adds a manifest and the blobs of every changed file (the raw latency store changes
    every run), so without this a store grows by its whole hot set per run.
    """
    prune = getattr(store, "prune", None)  # the git backend keeps one commit: nothing to prune
    if prune is None or keep < 1 or generation % PRUNE_EVERY:
        return
    try:
        removed = prune(keep, now=time.time())
    except StoreUnreachable as exc:
        ctx.warn(f"pruning old generations failed; the next prune retries: {exc.message}")
        return
    result.figures["pruned"] = removed
    if removed["manifests_removed"]:
        ctx.note(
            f"pruned {removed['manifests_removed']} old generation(s) and {removed['blobs_removed']} blob(s), "
            f"keeping the newest {keep}"
        )


def _plan(
    ctx: JobContext,
    store: Store,
    head: Head,
    base_generation: int,
    base: dict[str, Entry],
    local: dict[str, Entry],
    mine: dict[str, Entry],
    ours: set[str],
    scope: Scope,
) -> _Plan:
    def manifest(files: dict[str, Entry], merged: int | None) -> Manifest:
        return Manifest(
            generation=head.generation + 1,
            parent_generation=head.generation,
            created_at=clock.iso(clock.now()),
            job_id=ctx.job_id,
            files=files,
            merged_generation=merged,
            source_command=provenance.source_command(),
            commit_sha=provenance.commit_sha(ctx.workspace.root),
        )

    if head.generation == base_generation:
        return _Plan(manifest(dict(mine), None), {}, {}, [], [])
    if head.generation < base_generation or head.manifest is None:
        raise StateConflict(
            f"{store.display} is at generation {head.generation}, behind the generation "
            f"{base_generation} this workspace pulled: the store was reset or replaced. Check it, "
            "then run `observability state pull` and the job again"
        )
    theirs = head.manifest.files
    theirs_changed = merge.changed(base, theirs)
    local_all = local
    dissolved: list[str] = []
    if {merge.LOG, merge.SEQUENCE} & ours & theirs_changed:
        # Segments only we rotated go back into our lines for the union (the next append rotates
        # again): their lines may have been renumbered by the merge, a segment is never rewritten.
        dissolved = merge.new_segments(base, theirs, local)  # one of the same name holds other lines: theirs wins
        local = {p: e for p, e in local.items() if p not in dissolved}
        ours, mine = local_changes(base, local, scope)
    clash = merge.overlap(base, theirs, mine)
    if clash:
        shown = ", ".join(clash[:10]) + (f" (+{len(clash) - 10} more)" if len(clash) > 10 else "")
        raise StateConflict(
            f"{store.display} moved from generation {base_generation} to {head.generation} (job "
            f"{head.manifest.job_id}) while this run worked, and both changed {shown}. Nothing was pushed and "
            "ops/ is unchanged; run `observability state pull` and the job again",
            generation=head.generation,
            base_generation=base_generation,
            conflicting_files=clash[:50],
        )
    files = _overlay(theirs, ours, local)
    contents: dict[str, bytes] = {}
    write_local: dict[str, bytes] = {}
    renumbered: list[tuple[int | None, int]] = []
    root = ctx.workspace.root

    def fetch(path: str) -> bytes:
        return _fetch(store, path, theirs[path])[0]

    both_logged = {merge.LOG, merge.SEQUENCE} & ours & theirs_changed
    if both_logged:
        their_log = fetch(merge.LOG) if merge.LOG in theirs else b""
        our_log = _segment_bytes(root, dissolved) + ((root / merge.LOG).read_bytes() if merge.LOG in local else b"")
        their_rotated = [
            line
            for path in sorted(p for p in theirs_changed if merge.is_segment(p) and p in theirs)
            for line in _their_segment(store.display, path, fetch(path))
        ]
        log, renumbered = merge.merge_log(
            their_log,
            our_log,
            base.get(merge.LOG),
            their_segments=their_rotated,
            floor=merge.top_segment_sequence(theirs),
        )
        their_seq = fetch(merge.SEQUENCE) if merge.SEQUENCE in theirs else None
        our_seq = (root / merge.SEQUENCE).read_bytes() if merge.SEQUENCE in local else None
        sequence = merge.merged_sequence(log, their_seq, our_seq)
        for path, data in ((merge.LOG, log), (merge.SEQUENCE, sequence)):
            entry = Entry(selection.sha256_bytes(data), len(data), selection.storage_for(path, len(data)))
            files[path] = entry
            contents[entry.sha256] = data
            write_local[path] = data
    # Only what this run's scope pulled is brought up to date locally; the rest stays in the store.
    for path in sorted(p for p in ours & theirs_changed if merge.is_heartbeat(p) or p == merge.INBOX):
        if path in theirs and path in local and theirs[path] != local[path]:
            combine = merge.merge_inbox if path == merge.INBOX else merge.merge_heartbeat
            data = combine(fetch(path), (root / path).read_bytes())
            entry = Entry(selection.sha256_bytes(data), len(data), selection.storage_for(path, len(data)))
            files[path] = entry
            contents[entry.sha256] = data
            write_local[path] = data
    for path in sorted(theirs_changed - ours):
        if path in theirs and scope.pulls(path):
            write_local[path] = fetch(path)
    remove_local = sorted(
        p
        for p in (theirs_changed - ours) | set(dissolved)
        if p not in theirs and p in local_all and (scope.pulls(p) or p in dissolved)
    )
    return _Plan(manifest(files, head.generation), contents, write_local, remove_local, renumbered)


def _segment_bytes(root: Path, paths: list[str]) -> bytes:
    """The lines of our own segments, oldest first, as log bytes."""
    out = []
    for path in paths:
        try:
            out += merge.segment_lines((root / path).read_bytes(), path)
        except (OSError, ValueError) as exc:
            raise WorkspaceError(
                f"{path}: cannot read this run's log segment ({exc}); nothing was pushed. "
                "Restore it or delete it (its lines are then lost) and push again"
            ) from None
    return b"".join(line + b"\n" for line in out)


def _their_segment(display: str, path: str, data: bytes) -> list[bytes]:
    try:
        return merge.segment_lines(data, path)
    except ValueError as exc:
        raise SnapshotCorrupt(f"{display}: {exc}; nothing local was changed", path=path) from None


def _source(root: Path, local: dict[str, Entry], contents: dict[str, bytes]):
    by_sha = {entry.sha256: path for path, entry in local.items()}

    def read(sha256: str) -> bytes:
        if sha256 in contents:
            return contents[sha256]
        path = by_sha[sha256]
        data = (root / path).read_bytes()
        if selection.sha256_bytes(data) != sha256:
            raise WorkspaceError(
                f"{path} changed while it was being pushed; nothing was committed. "
                "Run the push again once no job writes ops/"
            )
        return data

    return read


def _pushed(
    ctx: JobContext,
    display: str,
    plan: _Plan,
    base_generation: int,
    ours: set[str],
    sent: int,
    attempt: int,
    scope: Scope,
    manifest_bytes: int = 0,
) -> JobResult:
    root = ctx.workspace.root
    manifest = plan.manifest
    for path, data in sorted(plan.write_local.items()):
        _replace(root, path, data)
    for path in plan.remove_local:
        _remove(root, path)
    _write_pulled(ctx, display, Head(manifest, str(manifest.generation)), manifest.files, scope)
    if manifest.merged_generation is not None:
        ctx.warn(
            f"the store had moved to generation {manifest.merged_generation}: this run's {len(ours)} changed "
            f"file(s) were re-applied on it ({len(plan.write_local)} file(s) updated locally, "
            f"{len(plan.renumbered)} log line(s) renumbered)"
        )
    ctx.note(f"pushed generation {manifest.generation} to {display}: {len(ours)} file(s) changed, {sent} bytes sent")
    figures = {
        "store": display,
        "pushed": True,
        "generation": manifest.generation,
        "scope": scope.name,
        "base_generation": base_generation,
        "merged_generation": manifest.merged_generation,
        "files": len(manifest.files),
        "files_changed": len(ours),
        "bytes_uploaded": sent,
        "manifest_bytes": manifest_bytes,
        "attempts": attempt,
        "log_lines_renumbered": [{"from": old, "to": new} for old, new in plan.renumbered],
    }
    markdown = (
        f"### observability state push\n\n| store | generation | files changed | bytes sent |\n"
        f"| --- | --- | --- | --- |\n| `{display}` | {manifest.generation} | {len(ours)} | {sent} |\n"
    )
    return JobResult(
        findings=["merged_concurrent_push"] if manifest.merged_generation is not None else [],
        figures=figures,
        summary_markdown=markdown,
        attempts=attempt,
        outputs={"generation": str(manifest.generation)},
    )


def _dry_run(
    ctx: JobContext, display: str, base_generation: int, mine: dict[str, Entry], local: dict[str, Entry], ours: set[str]
) -> JobResult:
    manifest = Manifest(
        generation=base_generation + 1,
        parent_generation=base_generation,
        created_at=clock.iso(clock.now()),
        job_id=ctx.job_id,
        files=dict(mine),
        source_command=provenance.source_command(),
        commit_sha=provenance.commit_sha(ctx.workspace.root),
    )
    upload = sorted(p for p in ours if p in local)
    removed = sorted(p for p in ours if p not in local)
    size = sum(local[p].size for p in upload)
    target = ctx.workspace.out / "state_push" / f"{ctx.job_id}.json"
    fsio.atomic_write_json(
        target,
        {
            "store": display,
            "job_id": ctx.job_id,
            "base_generation": base_generation,
            "would_upload": [{"path": p, "sha256": local[p].sha256, "size": local[p].size} for p in upload],
            "would_remove": removed,
            "would_upload_bytes": size,
            "manifest": manifest.as_dict(),
            "note": "dry run: the store was not contacted; a real push may re-apply on a newer generation",
        },
    )
    ctx.artefact(target)
    ctx.note(f"dry run: would push {len(upload)} file(s) ({size} bytes), remove {len(removed)}; nothing sent")
    return JobResult(
        dry_run=True,
        figures={
            "store": display,
            "pushed": False,
            "base_generation": base_generation,
            "files_changed": len(ours),
            "would_upload_bytes": size,
        },
        outputs={"generation": str(base_generation)},
    )
