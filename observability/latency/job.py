"""``observability latency sample``: one cycle of ingest, raw store, rollups, SLO evaluation."""

from __future__ import annotations

import functools
import json
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import NamedTuple

from observability import clock, config, fsio, otel, schemas, slo
from observability.config import latency as latency_config
from observability.errors import ConfigError, InputError
from observability.latency import report, tally
from observability.latency.rawstore import RawStore, hour_key
from observability.latency.rollup import RollupStore, hour_label, row_from_stats
from observability.latency.slo import Evaluator
from observability.latency.stats import Stats, summarise
from observability.outputs.rollups import RollupRow
from observability.progress import Progress
from observability.runtime import JobContext, JobResult, derive_status
from observability.upstream.signal_log import SOURCE_RE, Reject, Sample, read_new

# Version 2: a source's SLO windows are one string (observability.latency.slo.encode_windows). Version 1
# states (a JSON object per source's windows) are read and rewritten as version 2; a release that knows only
# version 1 refuses a version-2 state with a clear error instead of misreading it.
STATE_VERSION = 2
READABLE_VERSIONS = (1, 2)
REJECTS_HEADER = b"rejected_at,job_id,input,line,reason,raw\n"


@dataclass(frozen=True)
class LatencyOptions:
    inputs: tuple[str, ...] = ()
    probes: tuple[str, ...] = ()
    alert_config: str | None = None
    rollup_output: str = "ops/signal_latency_rollup.csv"
    raw_output: str = "ops/signal_latency.csv"
    raw_retention_days: int = 14
    rollup_retention_days: int = 90
    max_raw_bytes: int = 10 * 1024 * 1024
    slo_ms: float | None = None
    dry_run_alert: bool = False


@dataclass
class _Paths:
    raw: Path
    archive: Path
    state: Path
    rejects: Path
    rollup: Path
    alerts_dir: Path


def _load_config(ctx: JobContext, opts: LatencyOptions) -> latency_config.LatencyConfig:
    path, display = config.resolve(ctx.workspace, opts.alert_config, latency_config.LATENCY_CONFIG)
    return latency_config.load_latency(path, display=display, slo_ms=opts.slo_ms)


def _inputs(
    ctx: JobContext, opts: LatencyOptions, cfg: latency_config.LatencyConfig, raw: Path
) -> list[tuple[Path, str | None]]:
    seen: set[Path] = set()
    out: list[tuple[Path, str | None]] = []
    for spec in [latency_config.InputSpec(p) for p in opts.inputs] + list(cfg.inputs):
        path = ctx.workspace.path(spec.path)
        key = path.resolve()
        if key == raw.resolve():
            raise ConfigError(
                f"input {spec.path}: is the raw store this job writes; point the notifier log elsewhere "
                "or choose another raw store with --raw-output"
            )
        if key not in seen:
            seen.add(key)
            out.append((path, spec.source or path.stem))
    return out


def _outputs_are_their_own(ws, paths: _Paths) -> None:
    """Refuse a --raw-output / --rollup-output naming a file something else owns: the raw store's
    recovery cuts its file to the committed size, so ``--raw-output ops/automation_runs.log`` cut
    the automation log (and appended samples to it)."""
    import os

    owners = {
        "--raw-output": paths.raw,
        "--rollup-output": paths.rollup,
        "the latency state": paths.state,
        "the rejects file": paths.rejects,
        "the automation log": ws.run_log,
        "the automation log sequence": ws.run_sequence,
        "the job heartbeat": ws.heartbeat("latency"),
    }
    real = {name: os.path.realpath(path) for name, path in owners.items()}
    archive = os.path.realpath(paths.archive)
    for option in ("--raw-output", "--rollup-output"):
        fsio.guard(owners[option])  # a symlink out of the workspace is refused before the file is read
        mine = real[option]
        for name, other in real.items():
            if name != option and other == mine:
                raise ConfigError(
                    f"{option} {ws.rel(owners[option])}: is {name} ({ws.rel(owners[name])}); choose a file of its own"
                )
        if mine.startswith(archive + os.sep):
            raise ConfigError(
                f"{option} {ws.rel(owners[option])}: is inside the raw archive "
                f"{ws.rel(paths.archive)}; choose a file of its own"
            )


def _probes(opts: LatencyOptions, cfg: latency_config.LatencyConfig) -> list[latency_config.ProbeSpec]:
    out = list(cfg.probes)
    for text in opts.probes:
        name, sep, url = text.partition("=")
        from observability import secrets

        # A probe URL may carry a token: keep it (and a malformed flag holding one) out of every output,
        # including this error message, before anything is checked.
        secrets.register(text)
        secrets.register(url)
        if not sep or not name or not url.startswith(("http://", "https://")):
            shown = repr(name) if sep and name else "(no NAME= before the URL)"
            raise ConfigError(f"--probe {shown}: expected NAME=URL with an http(s) URL")
        if not SOURCE_RE.fullmatch(name):  # the name is the samples' source (a CSV field)
            raise ConfigError(
                f"--probe {name[:80]!r}: the name must match {SOURCE_RE.pattern} (it names the samples' source)"
            )
        out.append(latency_config.ProbeSpec(name, url, 10.0))
    names = [p.name for p in out]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise ConfigError(f"probe name {duplicated[0]!r} is used twice")
    return out


def _fresh_state(now) -> dict:
    return {
        "version": STATE_VERSION,
        "created_at": clock.iso(now),
        "cursors": {},
        "raw_size": 0,
        "rejects_size": 0,
        "hour_index": {},
        "archived_before": None,
        "rotation": None,
        "sources": {},
        "alerts": {},
    }


def _load_state(ctx: JobContext, path: Path) -> dict:
    state = fsio.read_json(path, default=None, what="latency state", display=ctx.workspace.rel(path))
    if state is None:
        return {**_fresh_state(ctx.now), "adopt_files": True}
    if not isinstance(state, dict) or state.get("version") not in READABLE_VERSIONS:
        raise InputError(
            f"{ctx.workspace.rel(path)}: not a version-{STATE_VERSION} (or older version-1) latency "
            "state; restore it with `observability state pull` or move it aside to rebuild"
        )
    _check_shape(state, ctx.workspace.rel(path))
    state["version"] = STATE_VERSION  # the windows of a version-1 state are rewritten as strings this cycle
    return state


_TIMES = ("stepped", "last_sample_at", "stale_since")  # a source's times (ISO text, compared as text)


def _check_shape(state: dict, display: str) -> None:
    """Refuse a state whose containers or times are of the wrong type (hand-edited or damaged) as
    invalid_input naming the field, before anything is written; a source's windows are checked when
    they are read (observability.latency.slo)."""

    def bad(field: str, expected: str) -> InputError:
        return InputError(
            f"{display}: field {field}: expected {expected}; restore the state with "
            "`observability state pull` or move it aside to rebuild"
        )

    for key in ("sources", "alerts", "cursors", "hour_index"):
        if state.get(key) is not None and not isinstance(state[key], dict):
            raise bad(key, "an object")
    for fp, alert in (state.get("alerts") or {}).items():
        if not isinstance(alert, dict):
            raise bad(f"alerts.{fp}", "an object")
        for key, expected, ok in _ALERT_FIELDS:
            if not ok(alert.get(key)):
                raise bad(f"alerts.{fp}.{key}", expected)
    created = state.get("created_at")
    if created is not None and not _is_time(created):
        raise bad("created_at", "an ISO-8601 time")
    for source, entry in (state.get("sources") or {}).items():
        if not isinstance(entry, dict):
            raise bad(f"sources.{source}", "an object")
        for key in _TIMES:
            value = entry.get(key)
            if value is not None and not _is_time(value):
                raise bad(f"sources.{source}.{key}", "an ISO-8601 time")


_ALERT_FIELDS = (  # what the evaluator reads of a stored alert
    ("rule", "latency_slo, no_data or stale", lambda v: v in ("latency_slo", "no_data", "stale")),
    ("source", "a source name", lambda v: isinstance(v, str)),
    ("severity", "info, warning or critical", lambda v: v in ("info", "warning", "critical")),
    ("started_at", "an ISO-8601 time", lambda v: _is_time(v)),
    ("last_breach_at", "an ISO-8601 time or null", lambda v: v is None or _is_time(v)),
    ("breach_count", "a whole number", lambda v: v is None or (isinstance(v, int) and not isinstance(v, bool))),
    ("breach_streak", "a whole number", lambda v: v is None or (isinstance(v, int) and not isinstance(v, bool))),
)


def _is_time(value) -> bool:
    if not isinstance(value, str):
        return False
    if len(value) == 20 and value[4] == "-" and value[10] == "T" and value[-1] == "Z":
        return True  # as this code writes them (most of a 1,000-source state): not parsed
    try:
        clock.parse_iso(value)
    except ValueError:
        return False
    return True


def _recover(ctx: JobContext, state: dict, store: RawStore, paths: _Paths) -> None:
    """Finish an interrupted rotation, cut uncommitted tails, rebuild a lost index."""
    if state.get("rotation"):
        journal = state["rotation"]
        store.finish_rotation(journal)
        _apply_rotation(state, journal)
        _write_state(paths.state, state)
        ctx.note(f"finished the rotation into {journal['entry']['path']} left by an interrupted run")
    else:
        for leftover in store.discard_orphans():
            ctx.note(f"removed {leftover}, left by an interrupted rotation (its rows are still in the raw file)")
    if state.pop("adopt_files", False):
        # No state file (first run, or the state was lost): the files on disk are all we have, so adopt
        # their whole lines instead of cutting them to the zero sizes of a fresh state.
        state["hour_index"], state["raw_size"] = store.scan_index()
        state["rejects_size"] = _whole_lines_size(paths.rejects)
    for key, path in (("raw_size", paths.raw), ("rejects_size", paths.rejects)):
        size, committed = fsio.file_size(path), int(state.get(key, 0))
        if size > committed:
            fsio.truncate(path, committed)
            ctx.note(f"cut {size - committed} uncommitted byte(s) from {ctx.workspace.rel(path)} (an interrupted run)")
        elif size < committed:
            ctx.warn(f"{ctx.workspace.rel(path)} is smaller than recorded ({size} < {committed} bytes); re-indexing")
            state[key] = size
            if path == paths.raw:
                state["hour_index"], _ = store.scan_index()
    if fsio.file_size(paths.raw) and not state.get("hour_index"):
        state["hour_index"], state["raw_size"] = store.scan_index()


def _write_state(path: Path, state: dict) -> None:
    """One compact line, keys in insertion order (deterministic: built by this code in a fixed order): the
    state is rewritten every cycle and grows with sources x windows, so no indent and no key sort."""
    fsio.atomic_write_text(path, state_text(state) + "\n")


# Every character a windows string of this code holds (ISO starts, packed figures, separators): none needs
# escaping in JSON, so such a string is written between quotes as it is.
_WINDOW_CHARS = b"0123456789-:TZ=,;.e+naif"


def state_text(state: dict) -> str:
    """``json.dumps(state)`` (compact, insertion order), with each source's windows string spliced in
    as it is instead of being escaped character by character by the encoder (most of a 1,000-source
    state's bytes). Falls back to plain ``json.dumps`` when any windows string is not of that form."""
    dump = functools.partial(json.dumps, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    sources = state.get("sources")
    if not isinstance(sources, dict):
        return dump(state)
    raws, shadow = [], {}
    for name, entry in sources.items():
        windows = entry.get("windows") if isinstance(entry, dict) else None
        if isinstance(windows, str) and windows:
            raws.append(windows)
            shadow[name] = {**entry, "windows": "\x00"}  # a placeholder: the encoder writes it "\u0000"
        else:
            shadow[name] = entry
    if not raws or "".join(raws).encode("ascii", "replace").translate(None, _WINDOW_CHARS):
        return dump(state)
    pieces = dump({**state, "sources": shadow}).split('"\\u0000"')
    if len(pieces) != len(raws) + 1:  # a NUL elsewhere in the state: no splice
        return dump(state)
    out = [pieces[0]]
    for raw, piece in zip(raws, pieces[1:], strict=True):
        out += ('"', raw, '"', piece)
    return "".join(out)


def _whole_lines_size(path: Path) -> int:
    """Bytes of ``path`` up to and including its last newline (0 when missing)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return 0
    return data.rfind(b"\n") + 1


def _apply_rotation(state: dict, journal: dict) -> None:
    state["raw_size"] = journal["raw_size"]
    state["hour_index"] = journal["index"]
    before = state.get("archived_before")
    state["archived_before"] = max(before, journal["cutoff"]) if before else journal["cutoff"]
    state["rotation"] = None


def _run_probes(specs: list[latency_config.ProbeSpec], now, elapsed_ms: Callable[[], int]) -> list[Sample]:
    if not specs:
        return []
    import dataclasses
    from concurrent.futures import ThreadPoolExecutor

    from observability.latency.probe import probe

    def timed(p: latency_config.ProbeSpec) -> Sample:
        done = probe(p.name, p.url, p.timeout_seconds, now)
        return dataclasses.replace(done, ingest_latency_ms=elapsed_ms())  # when its answer (or failure) came

    with ThreadPoolExecutor(max_workers=min(8, len(specs))) as pool:
        return list(pool.map(timed, specs))


def _logged_rejects(path: Path) -> set[tuple[str | None, str | None, str | None]]:
    import csv

    try:
        with open(path, newline="", encoding="utf-8", errors="replace") as handle:
            return {(r.get("input"), r.get("line"), r.get("raw")) for r in csv.DictReader(handle)}
    except (FileNotFoundError, csv.Error):
        # Only used to avoid logging a reject twice after a lost state: a damaged rejects file (the
        # runbook says how to restore it) must not stop ingestion.
        return set()


def _append_rejects(ctx: JobContext, path: Path, rejects: list[Reject]) -> int:
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for r in rejects:
        writer.writerow([clock.iso(ctx.now), ctx.job_id, r.input, r.line, r.reason, r.raw])
    data = buffer.getvalue().encode("utf-8")
    if not fsio.file_size(path):
        data = REJECTS_HEADER + data
    return fsio.append_bytes(path, data)


def sample(ctx: JobContext, opts: LatencyOptions) -> JobResult:
    ws = ctx.workspace
    paths = _Paths(
        raw=ws.output_file(opts.raw_output, "--raw-output"),
        archive=ws.ops / "signal_latency_archive",
        state=ws.ops / "latency_state.json",
        rejects=ws.ops / "signal_latency_rejects.csv",
        rollup=ws.output_file(opts.rollup_output, "--rollup-output"),
        alerts_dir=ws.out / "latency_alerts",
    )
    _outputs_are_their_own(ws, paths)
    cfg = _load_config(ctx, opts)
    inputs = _inputs(ctx, opts, cfg, paths.raw)
    probes = _probes(opts, cfg)
    if not inputs and not probes:
        raise ConfigError(
            f"nothing to sample: give --input or --probe, or list inputs/probes in {latency_config.LATENCY_CONFIG}"
        )
    store = RawStore(paths.raw, paths.archive, ws.rel)
    state = _load_state(ctx, paths.state)
    adopted = bool(state.get("adopt_files"))
    _recover(ctx, state, store, paths)
    cycle = _Cycle(ctx, opts, cfg, paths, inputs, store, state)
    with otel.span("inputs", inputs=len(inputs), probes=len(probes)):
        read = cycle.ingest(probes)
    # A backfill spends longer here than reading (70 % of a 600,000-row run): say so between the steps.
    with otel.span("compute"), Progress("latency sample: store, roll up, evaluate (steps)", 4) as steps:
        held = cycle.stored_for(read.new)
        steps.update(1)
        cycle.append(held.fresh, read.rejects, adopted)
        steps.update(2)
        rollup_rows, rollups_dropped = cycle.update_rollups(held)
        steps.update(3)
        evaluator, breaching_windows = cycle.evaluate(held)
        steps.update(4)
    alerts = evaluator.items()
    for item in alerts:
        schemas.validate("alert_item", item, what=f"alert {item['rule']}/{item['source']}")
    with otel.span("writes"):
        cycle.commit(read.cursors)
        rotated = _rotate(ctx, state, store, paths, opts)  # its own journaled step; a crash here is finished next run
    counts = {
        "samples_read": len(read.new),
        "samples_written": len(held.fresh),
        "duplicates_skipped": len(read.new) - len(held.fresh),
        "rejected_rows": len(read.rejects),
        "rollups_written": len(rollup_rows),
        "rollups_dropped": rollups_dropped,
        "breach_count": breaching_windows,
        "rotated": rotated,
    }
    return cycle.outcome(evaluator, alerts, counts)


class _Read(NamedTuple):
    new: list[Sample]
    rejects: list[Reject]
    cursors: dict


class _Held(NamedTuple):
    stored: list[Sample]  # samples already in the raw store for the hours the new ones touch
    fresh: list[Sample]  # new samples not stored yet, in time order
    rebuild: set[str]  # hours whose day file is missing and that no new sample touches


@dataclass
class _Cycle:
    """One sampling cycle's steps, in the order ``sample`` runs them, over what they share."""

    ctx: JobContext
    opts: LatencyOptions
    cfg: latency_config.LatencyConfig
    paths: _Paths
    inputs: list[tuple[Path, str | None]]
    store: RawStore
    state: dict

    def __post_init__(self) -> None:
        self.rollups = RollupStore(self.paths.rollup, self.ctx.workspace.rel)

    def ingest(self, probes: list[latency_config.ProbeSpec]) -> _Read:
        """1. Ingest (read-only: a missing or unreadable input fails before anything is written)."""
        ctx, ws, now = self.ctx, self.ctx.workspace, self.ctx.now
        new: list[Sample] = []
        rejects: list[Reject] = []
        cursors = dict(self.state.get("cursors", {}))
        for path, default_source in self.inputs:
            rel = ws.rel(path)
            taken = ctx.since_origin_ms()  # the moment this run began reading the input's new rows
            got, bad, cursors[rel], notes = read_new(
                path, cursors.get(rel), rel=rel, default_source=default_source, now=now
            )
            new.extend([Sample(s.timestamp, s.source, s.latency_ms, s.status, s.detail, taken) for s in got])
            rejects.extend(bad)
            for note in notes:
                ctx.warn(note)
        new.extend(_run_probes(probes, now, ctx.since_origin_ms))
        for r in rejects[:5]:
            ctx.note(f"rejected {r.input} line {r.line}: {r.reason}")
        if rejects:
            # Rows the job could not use are monitoring it did not do: the run says so (status warning).
            ctx.warn(
                f"{len(rejects)} input row(s) rejected, e.g. {rejects[0].input} line {rejects[0].line}: "
                f"{rejects[0].reason[:120]}; see {ws.rel(self.paths.rejects)}"
            )
        return _Read(new, rejects, cursors)

    def stored_for(self, new: list[Sample]) -> _Held:
        """2. Samples already stored for the hours touched (late data, or a rerun after a crash)."""
        ws, rollups = self.ctx.workspace, self.rollups
        moved = rollups.migrate()
        if moved:
            self.ctx.note(
                f"split {moved} rollup row(s) of the old single file {ws.rel(self.paths.rollup)} into "
                f"day files under {ws.rel(rollups.dir)}/"
            )
        index: dict[str, int] = self.state.setdefault("hour_index", {})
        touched_hours = {hour_key(s.timestamp) for s in new}
        # A deleted day file (or the whole directory) is rebuilt from the hours the raw store holds; hours
        # without new samples need only their statistics, computed from the raw bytes (no Sample per row).
        missing = rollups.missing_days(index)
        rebuild = {h for h in index if h[:10] in missing} - touched_hours
        offsets = [index[h] for h in touched_hours if h in index]
        stored = [s for s in self.store.read_from(min(offsets))] if offsets else []
        stored = [s for s in stored if hour_key(s.timestamp) in touched_hours]
        known = {s.key for s in stored}
        fresh = sorted((s for s in new if s.key not in known), key=lambda s: (s.timestamp, s.source))
        return _Held(stored, fresh, rebuild)

    def append(self, fresh: list[Sample], rejects: list[Reject], adopted: bool) -> None:
        """3. Append raw samples and rejects; nothing counts until the state commit."""
        paths, state = self.paths, self.state
        state["raw_size"] = self.store.append(fresh, state["hour_index"]) if fresh else fsio.file_size(paths.raw)
        # Without a state file the inputs are read from the start again, so rejects already in an adopted
        # rejects file (left by a first run killed before its commit) must not be written twice.
        if adopted and rejects:
            logged = _logged_rejects(paths.rejects)
            to_write = [r for r in rejects if (r.input, str(r.line), r.raw) not in logged]
        else:
            to_write = rejects
        if to_write:
            state["rejects_size"] = _append_rejects(self.ctx, paths.rejects, to_write)
        if rejects:
            self.ctx.artefact(paths.rejects)

    def _row(self, key: str, source: str, stats: Stats) -> RollupRow:
        return row_from_stats(
            hour_label(key), source, stats, stats.breaches(self.cfg.slo_p95_ms, self.cfg.failure_rate_threshold)
        )

    def update_rollups(self, held: _Held) -> tuple[dict, int]:
        """4. Rollups for the touched hours (hours already archived are frozen)."""
        index = self.state["hour_index"]
        known = {s.key for s in held.stored}
        frozen_before = self.state.get("archived_before")
        groups: dict[tuple[str, str], list[Sample]] = defaultdict(list)
        late_frozen = 0
        for s in held.stored + held.fresh:
            key = hour_key(s.timestamp)
            if frozen_before and hour_label(key) < frozen_before:
                late_frozen += s.key not in known
                continue
            groups[(key, s.source)].append(s)
        if late_frozen:
            self.ctx.warn(
                f"{late_frozen} late sample(s) belong to hours already archived; stored raw, rollups unchanged"
            )
        rollup_rows = {
            (hour_label(key), source): self._row(key, source, summarise(samples))
            for (key, source), samples in groups.items()
        }
        if held.rebuild:
            from observability.latency.recompute import hourly_stats

            recomputed = hourly_stats(self.store.read_bytes_from(min(index[h] for h in held.rebuild)))
            for (key, source), stats in recomputed.items():
                if key in held.rebuild and not (frozen_before and hour_label(key) < frozen_before):
                    rollup_rows[(hour_label(key), source)] = self._row(key, source, stats)
        _, rollups_dropped = self.rollups.update(rollup_rows, self.ctx.now, self.opts.rollup_retention_days)
        self._mark_hours(rollup_rows.values())
        return rollup_rows, rollups_dropped

    def objective(self) -> slo.Objective:
        cfg = self.cfg
        return slo.Objective(cfg.slo_p95_ms, cfg.failure_rate_threshold, cfg.slo_target_percent)

    def _met_hours(self, since: str):
        """(hour_utc, source, met) of every usable rollup row from ``since`` on, day file by day file; a row
        the site would skip is skipped with the same warning (a gap here as there)."""
        objective = self.objective()
        for rows, warnings in self.rollups.parsed_since(since):
            for warning in warnings:
                self.ctx.warn(warning)
            for row in rows:
                yield row.hour_utc, row.source, objective.meets(row)

    def _mark_hours(self, rows) -> None:
        """4b. The step summary's hourly SLO marks (observability.latency.tally), committed with the state."""
        objective, now = self.objective(), self.ctx.now
        if tally.usable(self.state, objective, now):
            tally.apply(self.state, rows, objective, now)
            return
        try:
            # Once (first run, older state, changed rule): 28 days of day files, then kept up to date.
            tally.rebuild(self.state, self._met_hours(tally.first_hour(now)), objective, now)
        except InputError as exc:
            self.state.pop(tally.KEY, None)
            self.ctx.warn(f"SLO attainment not shown: {exc.message}")

    def evaluate(self, held: _Held) -> tuple[Evaluator, int]:
        """5. SLO windows touched by new samples, evaluated in time order."""
        cfg = self.cfg
        evaluator = Evaluator(cfg, self.state, self.ctx.now, where=self.ctx.workspace.rel(self.paths.state))
        touched_windows = {(s.source, clock.floor(s.timestamp, cfg.window_minutes)) for s in held.fresh}
        by_window: dict[tuple, list[Sample]] = defaultdict(list)
        for s in held.stored + held.fresh:
            w = (s.source, clock.floor(s.timestamp, cfg.window_minutes))
            if w in touched_windows:
                by_window[w].append(s)
        breaching_windows = 0
        for (source, start), samples in sorted(by_window.items(), key=lambda kv: (kv[0][1], kv[0][0])):
            stats = summarise(samples)
            breaching_windows += stats.breaches(cfg.slo_p95_ms, cfg.failure_rate_threshold)
            evaluator.record(source, start, stats)
        for s in held.fresh:
            evaluator.saw(s.source, s)
        evaluator.run()
        return evaluator, breaching_windows

    def commit(self, cursors: dict) -> None:
        """6. Commit: cursors, committed sizes, index, windows and alert states, in one atomic write."""
        self.state["cursors"] = cursors
        _write_state(self.paths.state, self.state)
        # The rollups as their directory: a day file a run wrote is deleted by retention 90 days on, and
        # `verify` would then report an old run's artefact missing.
        for path in (self.paths.raw, self.rollups.dir, self.paths.state):
            if path.exists():
                self.ctx.artefact(path)

    def outcome(self, evaluator: Evaluator, alerts: list[dict], counts: dict) -> JobResult:
        """8. Outputs (after 7, rotation): alerts file, figures, heartbeat, step summary. A firing alert or a
        rejected row is a finding (the run ends ``warning``); ``--dry-run-alert`` makes it ``dry_run``."""
        ctx, opts, cfg, paths = self.ctx, self.opts, self.cfg, self.paths
        ws, now = ctx.workspace, ctx.now
        firing = [a for a in alerts if a["status"] == "firing"]
        findings = [
            kind for kind, seen in (("alert_firing", firing), ("rows_rejected", counts["rejected_rows"])) if seen
        ]
        if alerts or opts.dry_run_alert:
            out = paths.alerts_dir / f"{ctx.job_id}.json"
            fsio.atomic_write_json(
                out,
                {
                    "job_id": ctx.job_id,
                    "dry_run": opts.dry_run_alert,
                    "alerts": alerts,
                    **ctx.provenance(sorted(ws.rel(p) for p, _ in self.inputs)),
                },
            )
            ctx.artefact(out)
        sources = report.source_block(self.state, evaluator.alerts, cfg, now)
        raw_size = fsio.file_size(paths.raw)
        streak = max((s["breach_streak"] for s in sources), default=0)
        last_breach = max(
            (
                b
                for b in [
                    *(a.get("last_breach_at") for a in alerts),
                    report.last_breach(self.state),
                    ctx_previous_breach(ctx),
                ]
                if b
            ),
            default=None,
        )
        figures = {
            **counts,
            "breach_streak": streak,
            "raw_bytes": raw_size,
            "next_rotation_bytes": max(0, opts.max_raw_bytes - raw_size),
            "slo_p95_ms": cfg.slo_p95_ms,
            "slo_source": cfg.slo_source,
            "pending_alerts": len(firing),
            "stale_sources": sum(1 for s in sources if s["status"] == "stale"),
            "sources": sources,
        }
        heartbeat = {
            "last_breach_at": last_breach,
            "breach_streak": streak,
            "pending_alerts": len(firing),
            "next_run_at": clock.iso(now + timedelta(minutes=cfg.cadence_minutes)),
        }
        chart_rows = self.rollups.chart_since(
            clock.iso(now - timedelta(hours=24))[:13] + ":00:00Z", report.charted(sources)
        )
        status = derive_status(dry_run=opts.dry_run_alert, findings=findings)
        marks = (
            {s["source"]: tally.marks_at(self.state, s["source"], now) for s in report.listed(sources)}
            if tally.KEY in self.state
            else None
        )
        markdown = report.step_summary(ctx.job_id, status, figures, alerts, chart_rows, cfg, marks)
        diagnostics = {"rejects_file": ws.rel(paths.rejects)} if counts["rejected_rows"] else {}
        return JobResult(
            dry_run=opts.dry_run_alert,
            findings=findings,
            figures=figures,
            alerts=alerts,
            heartbeat=heartbeat,
            summary_markdown=markdown,
            diagnostics=diagnostics,
            outputs={"pending-alerts": str(len(firing)), "breach-streak": str(streak)},
        )


def ctx_previous_breach(ctx: JobContext) -> str | None:
    return ctx.previous_heartbeat(ctx.workspace.heartbeat("latency")).get("last_breach_at")


def _rotate(ctx: JobContext, state: dict, store: RawStore, paths: _Paths, opts: LatencyOptions) -> list[str]:
    plan = store.plan_cutoff(
        state.get("hour_index", {}), fsio.file_size(paths.raw), ctx.now, opts.raw_retention_days, opts.max_raw_bytes
    )
    if plan is None:
        return []
    cutoff, reason = plan
    journal = store.begin_rotation(cutoff, reason, ctx.job_id, ctx.now, ctx.provenance())
    if journal is None:
        return []
    state["rotation"] = journal
    _write_state(paths.state, state)
    store.finish_rotation(journal)
    _apply_rotation(state, journal)
    _write_state(paths.state, state)
    entry = journal["entry"]
    ctx.note(f"rotated {entry['row_count']} row(s) ({reason}) into {entry['path']}")
    ctx.artefact(ctx.workspace.path(entry["path"]))
    ctx.artefact(store.manifest)
    return [entry["path"]]
