"""``observability weekly report|replay``: build, validate, sign, deliver and keep the weekly payload."""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import NamedTuple

from observability import (
    alertitem,
    clock,
    config,
    fsio,
    kpi,
    otel,
    provenance,
    runner,
    schemas,
    secrets,
    weekly_review as summary,
)
from observability.config import latency as latency_config, weekly as weekly_config
from observability.errors import ConfigError, InputError, ObservabilityError
from observability.outbound import delivery, signing
from observability.outbound.retry import RetryPolicy
from observability.outputs import weekly as weekly_outputs
from observability.outputs.weekly import DELIVERY_RULE, DELIVERY_SUBJECT, delivery_alert_id
from observability.runtime import JobContext, JobResult, derive_status
from observability.weekly import payload as payload_mod
from observability.weekly.history import History
from observability.weekly.inputs import Reader

MAX_INPUT_WARNINGS = 20  # more are counted, not listed (as the dashboard export does)


@dataclass(frozen=True)
class WeeklyOptions:
    config: str | None = None
    payload_schema: str | None = None
    webhook_url_env: str = "OBS_WEEKLY_WEBHOOK_URL"
    webhook_secret_env: str = "OBS_WEBHOOK_SECRET"
    max_retries: int = 5
    retry_wait_seconds: float = 60.0
    request_timeout: float | None = None
    out_dir: str = "ops/weekly_report_history"
    dry_run_webhook: bool = False
    partial: bool = False
    week_start: str | None = None
    # Injected by tests and library callers; the CLI keeps the real ones.
    sleep: Callable[[float], None] = time.sleep
    wall_clock: Callable[[], float] = time.time
    rng: random.Random | None = None
    environ: Mapping[str, str] | None = None  # where the webhook URL and secret are read (None: os.environ)


@dataclass(frozen=True)
class _Target:
    url: str
    keys: signing.SigningKeys


def _load_config(ctx: JobContext, opts: WeeklyOptions) -> weekly_config.WeeklyConfig:
    path, display = config.resolve(ctx.workspace, opts.config, weekly_config.WEEKLY_CONFIG)
    return weekly_config.load_weekly(path, display=display)


def parse_week(text: str | None, now: datetime) -> payload_mod.Week:
    """``--week-start``: a Monday not in the future; default the last complete ISO week."""
    if text is None:
        return payload_mod.Week.last_complete(now)
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"--week-start {text!r}: expected YYYY-MM-DD") from None
    if day.weekday() != 0:
        raise ConfigError(
            f"--week-start {text}: is a {day.strftime('%A')}; weeks start on Monday "
            f"(the Monday before is {date.fromordinal(day.toordinal() - day.weekday())})"
        )
    week = payload_mod.Week(day)
    if week.start_at > now:
        raise ConfigError(f"--week-start {text}: is in the future (now {clock.iso(now)})")
    return week


def _target(opts: WeeklyOptions) -> _Target:
    """URL and keys from the environment; a missing one is a configuration error (exit 2)."""
    environ = os.environ if opts.environ is None else opts.environ
    url = secrets.from_env(opts.webhook_url_env, environ=environ)
    secret = secrets.from_env(opts.webhook_secret_env, environ=environ)
    or_dry_run = " or pass --dry-run to send nothing"
    if url is None:
        raise ConfigError(f"{opts.webhook_url_env} is not set: set the webhook URL (a repository secret){or_dry_run}")
    if not url.value.strip().lower().startswith(("http://", "https://")):
        raise ConfigError(f"{opts.webhook_url_env}: not an http(s) URL")
    secrets.register_url(url.value.strip())
    if secret is None:
        raise ConfigError(
            f"{opts.webhook_secret_env} is not set: the payload must be signed; set the webhook "
            "secret or pass --dry-run"
        )
    return _Target(url.value.strip(), signing.keys_from(secret))


def _policy(opts: WeeklyOptions, cfg: weekly_config.WeeklyConfig) -> RetryPolicy:
    return RetryPolicy(
        max_attempts=opts.max_retries,
        base_wait_seconds=opts.retry_wait_seconds,
        max_wait_seconds=cfg.max_wait_seconds,
        retry_after_cap_seconds=cfg.retry_after_cap_seconds,
        timeout_seconds=opts.request_timeout or cfg.timeout_seconds,
    )


def webhook_id(week_start: str, payload_checksum: str) -> str:
    """Stable per payload: the same across retries and replays, so receivers can deduplicate."""
    return f"msg_obsweekly_{week_start.replace('-', '')}_{payload_checksum[:24]}"


def _delivery_alert(
    ctx: JobContext,
    week: str,
    result: delivery.DeliveryResult,
    pending: str,
    cfg: weekly_config.WeeklyConfig,
    resolved: bool = False,
) -> dict:
    last = result.attempts[-1] if result.attempts else None
    return alertitem.item(
        id=delivery_alert_id(),
        rule=DELIVERY_RULE,
        source=DELIVERY_SUBJECT,
        severity="info" if resolved else "critical",
        status="resolved" if resolved else "firing",
        transition="resolved" if resolved else "opened",
        message=(
            f"weekly report for {week} delivered after an earlier failure"
            if resolved
            else f"weekly report for {week} not delivered after {len(result.attempts)} attempt(s): "
            f"{last.error if last else 'no attempt'}"
        ),
        owner=cfg.owner,
        next_action=f"observability weekly replay --week-start {week} (see {cfg.runbook})",
        started_at=clock.iso(ctx.now),
        last_breach_at=None if resolved else clock.iso(ctx.now),
        breach_streak=0,
        breach_count=0 if resolved else 1,
        evidence={
            "week_start": week,
            "attempts": len(result.attempts),
            "last_status_code": result.last_status_code,
            "pending_payload": pending,
            "webhook_id": result.webhook_id,
        },
    )


def _write_alerts(ctx: JobContext, alerts: list[dict]) -> None:
    path = ctx.workspace.out / "weekly_alerts" / f"{ctx.job_id}.json"
    fsio.atomic_write_json(path, {"job_id": ctx.job_id, "alerts": alerts, **ctx.provenance()})
    ctx.artefact(path)


def _send(
    ctx: JobContext, target: _Target, body: bytes, doc: dict, opts: WeeklyOptions, cfg: weekly_config.WeeklyConfig
) -> delivery.DeliveryResult:
    checksum = doc[payload_mod.CHECKSUM_FIELD]

    def log(a: delivery.Attempt) -> None:
        outcome = f"HTTP {a.status_code}" if a.status_code is not None and not a.error else (a.error or "")
        wait = f"; retrying in {a.wait_seconds:.1f} s" if a.wait_seconds is not None else ""
        ctx.note(f"delivery attempt {a.attempt}/{opts.max_retries}: {outcome} in {a.response_ms} ms{wait}")

    with otel.span("delivery", kind="webhook"):
        return delivery.deliver(
            target.url,
            body,
            target.keys,
            webhook_id=webhook_id(doc["week_start"], checksum),
            checksum=checksum,
            policy=_policy(opts, cfg),
            sleep=opts.sleep,
            rng=opts.rng,
            wall_clock=opts.wall_clock,
            on_attempt=log,
        )


def _attempt_log(result: delivery.DeliveryResult) -> list[dict]:
    return [a.as_dict() for a in result.attempts]


def _finish_delivery(
    ctx: JobContext,
    history: History,
    week: str,
    body: bytes,
    doc: dict,
    result: delivery.DeliveryResult,
    cfg: weekly_config.WeeklyConfig,
    figures: dict,
    diagnostics: dict,
    previous: dict,
) -> tuple[list[dict], dict]:
    """Shared by report and replay: history on success, alert and pending copy on failure (the run failed
    when ``result.delivered`` is false; ``diagnostics`` then say why)."""
    ws = ctx.workspace
    alerts: list[dict] = []
    heartbeat = {
        "week_start": week,
        "payload_checksum_sha256": doc[payload_mod.CHECKSUM_FIELD],
        "webhook_id": result.webhook_id,
    }
    if result.last_status_code is not None:
        heartbeat["last_webhook_status_code"] = result.last_status_code
    figures.update(
        webhook_status_code=result.last_status_code,
        webhook_id=result.webhook_id,
        delivery_attempts=_attempt_log(result),
    )
    diagnostics["delivery_attempts"] = [{k: v for k, v in a.items() if k != "retryable"} for a in _attempt_log(result)]
    if result.delivered:
        for path in history.record_success(week, body, result.signature):
            ctx.artefact(path)
        heartbeat["last_delivery_at"] = clock.iso(ctx.now)
        alerts = _settle_waiting(ctx, history, week, heartbeat, previous, cfg, result)
        return alerts, heartbeat
    pending = ws.rel(history.pending(week)) if history.pending(week).exists() else ws.rel(history.delivered(week))
    alerts.append(_delivery_alert(ctx, week, result, pending, cfg))
    _write_alerts(ctx, alerts)
    heartbeat["pending_replay"] = week
    diagnostics.update(
        error_code="webhook_delivery_failed",
        error_message=(
            f"not delivered after {len(result.attempts)} attempt(s) (last: "
            f"{result.last_error}); payload kept at {pending} for "
            f"`observability weekly replay --week-start {week}`"
        ),
        pending_payload=pending,
    )
    return alerts, heartbeat


def _settle_waiting(
    ctx: JobContext,
    history: History,
    week: str,
    heartbeat: dict,
    previous: dict,
    cfg: weekly_config.WeeklyConfig,
    result: delivery.DeliveryResult | None = None,
) -> list[dict]:
    """``pending_replay`` from what the history holds, and the alert resolved once no week waits.

    Read from the files, not carried over from the last heartbeat: a run killed after recording a
    delivery but before its heartbeat would otherwise leave the alert firing for good."""
    waiting = history.waiting()
    heartbeat["pending_replay"] = waiting[0] if waiting else None
    if previous.get("pending_replay") and not waiting:
        alerts = [_delivery_alert(ctx, week, result or delivery.DeliveryResult(True), "", cfg, resolved=True)]
        _write_alerts(ctx, alerts)
        return alerts
    return []


def _complete_records(ctx: JobContext, history: History, keys: signing.SigningKeys) -> list[str]:
    """Finish every half-recorded week (delivered, but its ``.sig`` or the pending cleanup cut short)."""
    done = []
    for week in history.unfinished_records():
        try:
            written = history.complete_record(
                week, lambda body: signing.obs_signature(keys.newest, body), ctx.workspace.rel
            )
        except InputError as exc:  # one damaged file must not stop every later week's delivery
            ctx.warn(f"{exc.message}; restore it from the state store (docs/runbook.md, weekly history)")
            continue
        for path in written:
            ctx.artefact(path)
        ctx.note(
            f"week {week}: completed a delivery record cut short ({ctx.workspace.rel(history.delivered(week))} "
            f"was delivered; its .sig written from the stored bytes, nothing resent)"
        )
        done.append(week)
    return done


def _send_partial(
    ctx: JobContext,
    target: _Target,
    body: bytes,
    doc: dict,
    opts: WeeklyOptions,
    cfg: weekly_config.WeeklyConfig,
    figures: dict,
    diagnostics: dict,
) -> _Sent:
    """``--partial``: send the week so far; keep it in out/ only, never in the history or the heartbeat."""
    kept = ctx.workspace.out / "weekly_report" / f"{ctx.job_id}.json"
    fsio.atomic_write_bytes(kept, body)
    ctx.artefact(kept)
    result = _send(ctx, target, body, doc, opts, cfg)
    figures.update(
        webhook_status_code=result.last_status_code,
        webhook_id=result.webhook_id,
        delivery_attempts=_attempt_log(result),
    )
    diagnostics.update(
        partial=True,
        kept=ctx.workspace.rel(kept),
        delivery_attempts=[{k: v for k, v in a.items() if k != "retryable"} for a in _attempt_log(result)],
    )
    attempts = len(result.attempts)
    if result.delivered:
        label = f"partial week delivered (HTTP {result.last_status_code}, {attempts} attempt(s)); not recorded"
        return _Sent(False, attempts, {"state": "delivered", "label": label}, figures["delivery_attempts"], [], {})
    diagnostics.update(
        error_code="webhook_delivery_failed",
        error_message=(
            f"partial report not delivered after {attempts} attempt(s) (last: "
            f"{result.last_error}); kept at {ctx.workspace.rel(kept)}, nothing queued "
            "for replay (the full week is reported once it has ended)"
        ),
    )
    return _Sent(
        True,
        attempts,
        {"state": "error", "label": f"FAILED after {attempts} attempt(s): {result.last_error}"},
        figures["delivery_attempts"],
        [],
        {},
    )


def _payload_figures(doc: dict) -> dict:
    """The summary's figures read from the payload itself (the one sent, when a pending copy is resent)."""
    return {
        "payload_checksum_sha256": doc[payload_mod.CHECKSUM_FIELD],
        "budget_status": weekly_outputs.budget_status(doc),
        "latency_p95_ms": doc["latency"]["p95_ms"],
        "alerts_in_payload": len(doc["alerts"]),
        "stale_inputs": doc["freshness"]["stale_count"],
    }


def _previous_heartbeat(ctx: JobContext) -> dict:
    return ctx.previous_heartbeat(ctx.workspace.heartbeat("weekly"))


class _Sent(NamedTuple):
    """How one report's payload went out (or did not)."""

    failed: bool
    attempts: int
    state: dict  # the summary's delivery line
    attempt_rows: list[dict]
    alerts: list[dict]
    heartbeat: dict


@dataclass(frozen=True)
class _Plan:
    """What a report run works on, checked before anything is built."""

    opts: WeeklyOptions
    history: History
    cfg: weekly_config.WeeklyConfig
    week: payload_mod.Week
    schema_file: Path | None
    target: _Target | None  # None for --dry-run-webhook
    unfinished: bool  # the week has not ended yet (--partial or a dry run)
    md_path: Path


def report(ctx: JobContext, opts: WeeklyOptions) -> JobResult:
    plan = _plan(ctx, opts)
    reader = Reader(ctx.workspace)
    try:
        with otel.span("compute"):  # reads its inputs as it aggregates them: one step
            doc = _build(ctx, plan, reader)
    except InputError as exc:
        return _build_failed(ctx, plan, exc)
    figures: dict = {
        "week_start": doc["week_start"],
        "week_end": doc["week_end"],
        "skipped_rows": reader.skipped,
        **_payload_figures(doc),
        "dry_run": opts.dry_run_webhook,
        "partial": plan.unfinished,
    }
    problems = payload_mod.validation_errors(doc, plan.schema_file)
    if problems:
        return _invalid(ctx, plan, doc, figures, problems)
    body = payload_mod.body_bytes(doc)
    figures["payload_size_bytes"] = len(body)
    diagnostics: dict = {"payload_checksum_sha256": doc[payload_mod.CHECKSUM_FIELD], "payload_size_bytes": len(body)}
    history = plan.history
    heartbeat: dict = {"week_start": doc["week_start"], "payload_checksum_sha256": doc[payload_mod.CHECKSUM_FIELD]}
    if opts.dry_run_webhook:
        return _conclude(ctx, plan, doc, reader, _dry_run(ctx, body, heartbeat), figures, diagnostics)
    assert plan.target is not None  # only a dry run has no webhook target
    if plan.unfinished:
        sent = _send_partial(ctx, plan.target, body, doc, opts, plan.cfg, figures, diagnostics)
    else:
        previous = _previous_heartbeat(ctx)
        # Records cut short by a killed run (this week's or another's), before anything is decided on them.
        repaired = _complete_records(ctx, history, plan.target.keys)
        if history.delivered(doc["week_start"]).exists():
            return _already_delivered(ctx, plan, doc, figures, diagnostics, previous, repaired)
        sent, doc = _deliver(ctx, plan, body, doc, figures, diagnostics, previous)
    return _conclude(ctx, plan, doc, reader, sent, figures, diagnostics)


def _plan(ctx: JobContext, opts: WeeklyOptions) -> _Plan:
    """The options checked, the config loaded and the week chosen: every usage error before anything is built."""
    ws = ctx.workspace
    ws.output_dir(opts.out_dir, "--out-dir")  # a file there is a usage error, before anything is built
    cfg = _load_config(ctx, opts)
    week = parse_week(opts.week_start, ctx.now)
    schema_file = ws.path(opts.payload_schema) if opts.payload_schema else None
    if schema_file is not None:
        payload_mod.load_schema_file(schema_file)  # a bad schema is a configuration error, found early
    target = None if opts.dry_run_webhook else _target(opts)
    if opts.dry_run_webhook:
        secrets.from_env(opts.webhook_secret_env)  # registered so it is scrubbed even though unused
        secrets.from_env(opts.webhook_url_env)
    unfinished = week.end_at > ctx.now
    if opts.partial and not unfinished:
        raise ConfigError(
            f"--partial: the week of {week.start} is complete (ended {clock.iso(week.end_at)}); "
            "report it without --partial"
        )
    if unfinished and not (opts.partial or opts.dry_run_webhook):
        # Delivered, it would be recorded as the week and block the full week's scheduled report.
        raise ConfigError(
            f"--week-start {week.start}: the week is not complete until {clock.iso(week.end_at)}; "
            "pass --partial to send it so far (never recorded as the week), --dry-run to "
            "preview it, or report it once it has ended"
        )
    if unfinished:
        ctx.note(
            f"week {week.start} is not complete yet (ends {clock.iso(week.end_at)}); reporting it so far "
            f"(period.end {clock.iso(ctx.now)}), not recorded as the week"
        )
    return _Plan(
        opts,
        History(ws.path(opts.out_dir)),
        cfg,
        week,
        schema_file,
        target,
        unfinished,
        ws.out / "weekly_report" / f"{ctx.job_id}.md",
    )


def _slo_target(ws) -> float:
    """latency_alert.yaml's ``slo_target_percent`` (99 without the file); an invalid file is a config error."""
    path, display = config.resolve(ws, None, latency_config.LATENCY_CONFIG)
    return latency_config.target_percent(path, display=display)


def _build(ctx: JobContext, plan: _Plan, reader: Reader) -> dict:
    """The payload from the upstream inputs; the reader's warnings (skipped rows) logged."""
    ws = ctx.workspace
    doc = payload_mod.build(
        reader,
        plan.cfg,
        plan.week,
        ctx.now,
        payload_mod.Provenance(
            ctx.job_id, provenance.commit_sha(ws.root), provenance.source_command(), tuple(provenance.pulled(ws.root))
        ),
        _slo_target(ws),
    )
    if plan.unfinished:
        # The payload says how far it goes: period.end is the clock, not the end of the week.
        doc["period"]["end"] = payload_mod.iso(ctx.now)
        doc = payload_mod.with_checksum(doc)
    for message in reader.warnings[:MAX_INPUT_WARNINGS]:
        ctx.warn(message)
    if len(reader.warnings) > MAX_INPUT_WARNINGS:
        ctx.warn(f"{len(reader.warnings) - MAX_INPUT_WARNINGS} more input warnings not shown")
    return doc


def _build_failed(ctx: JobContext, plan: _Plan, exc: InputError) -> JobResult:
    markdown = summary.render_failure(f"week of {plan.week.start}", exc.error_code, secrets.redact(exc.message), [])
    fsio.atomic_write_text(plan.md_path, markdown)
    ctx.artefact(plan.md_path)
    return JobResult(
        failed=True,
        summary_markdown=markdown,
        attempts=0,
        diagnostics={
            "error_code": exc.error_code,
            "error_message": secrets.redact(exc.message),
            **{k: v for k, v in exc.details.items() if v is not None},
        },
    )


def _invalid(ctx: JobContext, plan: _Plan, doc: dict, figures: dict, problems: list[dict]) -> JobResult:
    """The payload fails its schema: every error kept in one file, nothing sent."""
    ws = ctx.workspace
    invalid = plan.md_path.parent / f"{ctx.job_id}_invalid.json"
    fsio.atomic_write_json(
        invalid,
        {
            "job_id": ctx.job_id,
            "week_start": doc["week_start"],
            "schema": ws.rel(plan.schema_file)
            if plan.schema_file
            else f"schemas/{payload_mod.SCHEMA_NAME}.schema.json",
            "error_count": len(problems),
            "errors": problems,
            "payload": doc,
            **ctx.provenance(),
        },
    )
    ctx.artefact(invalid)
    for p in problems[:20]:
        ctx.note(f"schema: {p['path']}: {p['message']}")
    first = problems[0]
    message = (
        f"payload fails the schema with {len(problems)} error(s), first {first['path']}: "
        f"{first['message']}; every error is in {ws.rel(invalid)}"
    )
    markdown = summary.render_failure(
        f"week of {plan.week.start}", "schema_validation_failed", message, [ws.rel(invalid)]
    )
    fsio.atomic_write_text(plan.md_path, markdown)
    ctx.artefact(plan.md_path)
    return JobResult(
        failed=True,
        figures=figures,
        summary_markdown=markdown,
        attempts=0,
        diagnostics={
            "error_code": "schema_validation_failed",
            "error_message": message,
            "invalid_payload": ws.rel(invalid),
        },
    )


def _dry_run(ctx: JobContext, body: bytes, heartbeat: dict) -> _Sent:
    dry = ctx.workspace.out / "weekly_report" / f"{ctx.job_id}.json"
    fsio.atomic_write_bytes(dry, body)
    ctx.artefact(dry)
    return _Sent(False, 0, {"state": "dry_run", "label": "dry run: not sent"}, [], [], heartbeat)


def _already_delivered(
    ctx: JobContext, plan: _Plan, doc: dict, figures: dict, diagnostics: dict, previous: dict, repaired: list[str]
) -> JobResult:
    """The week's delivered bytes are the audit record: never rebuilt over. Sending again is a replay."""
    ws, week, history = ctx.workspace, doc["week_start"], plan.history
    delivered = {**diagnostics, "delivered": ws.rel(history.delivered(week))}
    ctx.note(
        f"week {week} was already delivered ({ws.rel(history.delivered(week))}); "
        f"nothing sent. To send it again: observability weekly replay --week-start {week}"
    )
    stale = previous.get("pending_replay") not in (None, *history.waiting())
    # Killed after the .json, before the heartbeat: the heartbeat is missing or names an older week.
    behind = str(previous.get("week_start") or "") < week
    if not (repaired or stale or behind):
        return JobResult(
            skipped="already_delivered", figures=figures, diagnostics={**delivered, "reason": "already_delivered"}
        )
    # A run killed after the delivery, before its record or heartbeat was complete: complete them.
    heartbeat = {"week_start": week}
    try:
        heartbeat["payload_checksum_sha256"] = history.stored(week, ws.rel)[2][payload_mod.CHECKSUM_FIELD]
    except InputError as exc:  # damaged: already warned by _complete_records when it was cut short
        ctx.warn(f"{exc.message}; restore it from the state store (docs/runbook.md, weekly history)")
    alerts = _settle_waiting(ctx, history, week, heartbeat, previous, plan.cfg)
    return JobResult(
        figures=figures,
        alerts=alerts,
        heartbeat=heartbeat,
        diagnostics={**delivered, "reason": "record_completed", "completed_weeks": repaired},
    )


def _deliver(
    ctx: JobContext, plan: _Plan, body: bytes, doc: dict, figures: dict, diagnostics: dict, previous: dict
) -> tuple[_Sent, dict]:
    """Send the week (the pending bytes of an earlier run that could not deliver it, if any) and record it;
    the payload sent is returned, for the summary to describe."""
    ws, history = ctx.workspace, plan.history
    if history.pending(doc["week_start"]).exists():
        # An earlier run built this week and could not deliver it: send those bytes, as a replay
        # would, so what is finally delivered is what was first built and logged.
        _, body, doc = history.stored(doc["week_start"], ws.rel)
        diagnostics.update(
            payload_checksum_sha256=doc[payload_mod.CHECKSUM_FIELD], payload_size_bytes=len(body), resent_pending=True
        )
        figures.update(_payload_figures(doc), payload_size_bytes=len(body))  # what is sent, not what was rebuilt
        ctx.note(f"delivering the pending payload of week {doc['week_start']} built by an earlier run")
    pending = history.keep_pending(doc["week_start"], body)
    assert plan.target is not None  # only a dry run has no webhook target
    result = _send(ctx, plan.target, body, doc, plan.opts, plan.cfg)
    attempts = len(result.attempts)
    alerts, heartbeat = _finish_delivery(
        ctx, history, doc["week_start"], body, doc, result, plan.cfg, figures, diagnostics, previous
    )
    if pending.exists():
        ctx.artefact(pending)
    label = (
        f"delivered (HTTP {result.last_status_code}, {attempts} attempt(s))"
        if result.delivered
        else f"FAILED after {attempts} attempt(s): {result.last_error}"
    )
    state = {"state": "delivered" if result.delivered else "error", "label": label}
    return _Sent(not result.delivered, attempts, state, figures["delivery_attempts"], alerts, heartbeat), doc


def _operations(ctx: JobContext, doc: dict) -> str | None:
    """The week's operations KPIs from the automation log (seed 002 §8 M4), as a Markdown table; a log
    that cannot be read costs this table only (named in a warning), never the report."""
    try:
        start = clock.parse_iso(doc["period"]["start"])
        report = kpi.report(ctx.workspace, "week", since=start, until=kpi.next_start(start, "week"))
    except (ObservabilityError, OSError, ValueError, KeyError) as exc:
        ctx.warn(f"operations KPIs left out of the review: {getattr(exc, 'message', exc)}")
        return None
    return kpi.markdown(report, title="Operations KPIs this week")


def _conclude(
    ctx: JobContext, plan: _Plan, doc: dict, reader: Reader, sent: _Sent, figures: dict, diagnostics: dict
) -> JobResult:
    """The summary and result of a report that was sent, previewed or failed to send. Delivered from inputs
    older than their freshness limit or without some upstream rows (each named in the warnings) is never
    plain ok: ``stale_inputs`` and ``rows_skipped`` are findings."""
    ws = ctx.workspace
    figures["attempts"] = sent.attempts
    for alert in doc["alerts"]:
        if alert.get("rule") == "stale_input":  # why the run ends `warning`: said in the log, not only the payload
            ctx.warn(alert["message"])
    findings = [
        kind for kind, seen in (("stale_inputs", figures["stale_inputs"]), ("rows_skipped", reader.warnings)) if seen
    ]
    dry_run = plan.target is None
    status = derive_status(failed=sent.failed, dry_run=dry_run, findings=findings)
    ctx.artefact(plan.md_path)
    gh = runner.run_context()
    markdown = summary.render(
        doc,
        status=status,
        delivery=sent.state,
        artefacts=list(ctx.artefacts),
        attempts=sent.attempt_rows,
        run_url=gh.get("run_url") if gh else None,
        skipped=reader.warnings,
        operations=_operations(ctx, doc),
    )
    fsio.atomic_write_text(plan.md_path, secrets.redact(markdown))
    return JobResult(
        failed=sent.failed,
        dry_run=dry_run,
        findings=findings,
        figures=figures,
        alerts=sent.alerts,
        heartbeat=sent.heartbeat,
        summary_markdown=markdown,
        diagnostics=diagnostics,
        attempts=sent.attempts,
        outputs={
            "week-start": doc["week_start"],
            "payload-checksum": doc[payload_mod.CHECKSUM_FIELD],
            "summary-path": ws.rel(plan.md_path),
        },
    )


def _replay_dry_run(ctx: JobContext, history: History, opts: WeeklyOptions) -> JobResult:
    """What a replay would send (the stored bytes, their webhook-id and the variable naming the URL),
    sending nothing and changing nothing; the webhook URL and secret need not be set."""
    assert opts.week_start is not None
    path, body, doc = history.stored(opts.week_start, ctx.workspace.rel)
    checksum = doc[payload_mod.CHECKSUM_FIELD]
    message_id = webhook_id(opts.week_start, checksum)
    ctx.note(
        f"dry run: would re-deliver {ctx.workspace.rel(path)} ({len(body)} bytes) to the URL in "
        f"{opts.webhook_url_env} with webhook-id {message_id}; nothing was sent"
    )
    return JobResult(
        dry_run=True,
        figures={
            "week_start": opts.week_start,
            "replayed_from": ctx.workspace.rel(path),
            "payload_checksum_sha256": checksum,
            "payload_size_bytes": len(body),
            "webhook_id": message_id,
            "attempts": 0,
        },
        diagnostics={"mode": "replay", "replayed_from": ctx.workspace.rel(path)},
        outputs={"week-start": opts.week_start, "payload-checksum": checksum},
    )


def replay(ctx: JobContext, opts: WeeklyOptions) -> JobResult:
    """Re-deliver the stored bytes of one week: freshly signed per attempt, the same webhook-id."""
    ws = ctx.workspace
    if opts.week_start is None:
        raise ConfigError("--week-start is required: which week's stored payload to re-deliver")
    ws.output_dir(opts.out_dir, "--out-dir")
    cfg = _load_config(ctx, opts)
    history = History(ws.path(opts.out_dir))
    if opts.dry_run_webhook:
        return _replay_dry_run(ctx, history, opts)
    target = _target(opts)
    _complete_records(ctx, history, target.keys)
    path, body, doc = history.stored(opts.week_start, ws.rel)
    ctx.note(f"replaying {ws.rel(path)} ({len(body)} bytes, checksum {doc[payload_mod.CHECKSUM_FIELD][:12]}…)")
    previous = _previous_heartbeat(ctx)
    result = _send(ctx, target, body, doc, opts, cfg)
    figures: dict = {
        "week_start": opts.week_start,
        "replayed_from": ws.rel(path),
        "payload_checksum_sha256": doc[payload_mod.CHECKSUM_FIELD],
        "payload_size_bytes": len(body),
        "attempts": len(result.attempts),
    }
    diagnostics: dict = {"mode": "replay", "replayed_from": ws.rel(path)}
    alerts, heartbeat = _finish_delivery(
        ctx, history, opts.week_start, body, doc, result, cfg, figures, diagnostics, previous
    )
    status = derive_status(failed=not result.delivered)
    md_path = ws.out / "weekly_report" / f"{ctx.job_id}.md"
    ctx.artefact(md_path)
    label = (
        f"replayed (HTTP {result.last_status_code}, {len(result.attempts)} attempt(s))"
        if result.delivered
        else f"replay FAILED after {len(result.attempts)} attempt(s): {result.last_error}"
    )
    gh = runner.run_context()
    shown = {"state": "delivered" if result.delivered else "error", "label": label}
    # An edited payload whose checksum was recomputed (a checksum is not a signature) is re-sent as stored
    # like any other; its review would raise on the missing or mistyped fields after the delivery.
    invalid = None if weekly_outputs.is_legacy(doc) else schemas.errors(weekly_outputs.SCHEMA_NAME, doc)
    odd = None if weekly_outputs.is_legacy(doc) else weekly_outputs.odd_number(doc)
    if weekly_outputs.is_legacy(doc):  # a legacy script's payload: its bytes resent, its own (smaller) shape shown
        figures["legacy_payload"] = True
        markdown = summary.render_legacy(doc, status=f"replay, {status}", delivery=shown)
    elif invalid or odd:
        where = f"{schemas.json_path(invalid[0][0])}: {invalid[0][1]}" if invalid else odd
        problem = f"{ws.rel(path)}: field {where}"
        ctx.warn(f"{problem}; re-sent as stored, its figures are not shown")
        markdown = summary.render_invalid(doc, status=f"replay, {status}", delivery=shown, problem=problem)
    else:
        markdown = summary.render(
            doc,
            status=f"replay, {status}",
            delivery=shown,
            artefacts=list(ctx.artefacts),
            attempts=figures["delivery_attempts"],
            run_url=gh.get("run_url") if gh else None,
        )
    fsio.atomic_write_text(md_path, secrets.redact(markdown))
    return JobResult(
        failed=not result.delivered,
        figures=figures,
        alerts=alerts,
        heartbeat=heartbeat,
        summary_markdown=markdown,
        diagnostics=diagnostics,
        attempts=len(result.attempts),
        outputs={"week-start": opts.week_start, "payload-checksum": doc[payload_mod.CHECKSUM_FIELD]},
    )
