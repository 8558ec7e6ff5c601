"""Findings and the alert items they become (the alert inbox opens one issue per fingerprint)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from observability import alertitem, clock

OWNER = "observability-oncall"
RUNBOOK = "docs/schedules.md"
# The page a rule's issue links as its runbook, where it is not docs/schedules.md.
RUNBOOKS: dict[str, str] = {
    **dict.fromkeys(
        ("log_invalid_line", "log_sequence_gap", "log_segment_damaged"),
        "docs/automation-log.md#observability-log-rebuild",
    ),
    "secret_rotation_due": "docs/credentials.md",
    **dict.fromkeys(
        (
            "sync_object_missing",
            "sync_object_changed",
            "sync_signature_mismatch",
            "sync_out_of_date",
            "sync_unreachable",
        ),
        "docs/sync.md#nightly-check",
    ),
}

# rule -> (severity, next action for the person on call)
RULES: dict[str, tuple[str, str]] = {
    "missed_run": (
        "warning",
        (
            "Check the workflow's run list (GitHub delays and drops scheduled runs); "
            "dispatch it by hand if the data must be fresh, see docs/schedules.md"
        ),
    ),
    "stale_heartbeat": (
        "warning",
        (
            "Find the job's last run in ops/automation_runs.log and why nothing "
            "ran since; run it by hand, see docs/schedules.md"
        ),
    ),
    "log_invalid_line": (
        "warning",
        (
            "Read the named lines of ops/automation_runs.log; a torn last line is "
            "dropped by the next append, anything else was written by hand or corrupted: "
            "`observability log rebuild` moves them aside and rebuilds the runs they held"
        ),
    ),
    "log_missing": (
        "critical",
        (
            "ops/automation_runs.log is gone although jobs ran: restore it with "
            "`observability state pull` (the store keeps the log; local lines since the "
            "last push are lost; `observability log rebuild` then fills them from heartbeats and "
            "artefacts), see docs/runbook.md#corrupt-or-missing-files"
        ),
    ),
    "log_sequence_gap": (
        "warning",
        (
            "Lines of ops/automation_runs.log were lost (state push/pull or a restore); "
            "compare with the workflow runs of that period, then `observability log rebuild` "
            "fills the gap from heartbeats and artefacts"
        ),
    ),
    "log_sequence_duplicate": (
        "warning",
        ("Two writers used the same sequence: check the state store merge and the concurrency group"),
    ),
    "log_segment_damaged": (
        "warning",
        (
            "A rotated segment under ops/automation_runs/ cannot be read: restore "
            "the named file from the state store (the previous generation holds it), or "
            "`observability log rebuild` moves it aside and rebuilds its range"
        ),
    ),
    "artefact_missing": (
        "critical",
        (
            "Run `observability verify job --job-id ID` for the run named in the "
            "evidence and restore the artefact from the state store or rerun the job"
        ),
    ),
    "checksum_mismatch": (
        "critical",
        (
            "An artefact changed after its run wrote it: treat it as tampered or "
            "damaged, restore it from the state store or rerun the job"
        ),
    ),
    "heartbeat_mismatch": (
        "warning",
        (
            "The heartbeat does not describe the job's latest logged run: a run "
            "died between the two writes or state was restored partly; rerun the job"
        ),
    ),
    "secret_rotation_due": (
        "warning",
        (
            "Rotate each secret named in the evidence in that GitHub environment (docs/credentials.md), "
            "then move its rotate_by date forward in configs/observability/credentials.yaml"
        ),
    ),
    "sync_object_missing": (
        "critical",
        (
            "An object of the shared-storage copy is gone: run `observability sync push --to URL` "
            "(it uploads what is missing and rewrites the index), see docs/sync.md#nightly-check"
        ),
    ),
    "sync_object_changed": (
        "critical",
        (
            "A stored object's bytes no longer match its index, manifest or the delivered copy: "
            "treat it as tampered or damaged; `observability sync push --to URL` replaces it, see docs/sync.md#nightly-check"
        ),
    ),
    "sync_signature_mismatch": (
        "critical",
        (
            "A stored weekly payload does not match its .sig: compare it with ops/weekly_report_history/ "
            "and re-sync, or check the secret rotation, see docs/sync.md#nightly-check"
        ),
    ),
    "sync_out_of_date": (
        "warning",
        (
            "The newest stored dashboard bundle is older than the workspace's export: find why "
            "the sync after the export did not run, then `observability sync push --to URL`"
        ),
    ),
    "sync_unreachable": (
        "warning",
        (
            "The shared storage could not be read: check the storage and the credentials "
            "(docs/credentials.md); the next night checks again"
        ),
    ),
    "job_not_found": (
        "warning",
        ("No line of ops/automation_runs.log has this job id: check the id and the state store"),
    ),
}


def fingerprint(rule: str, source: str) -> str:
    """Stable id of (rule, source): the same problem keeps the same issue across nights."""
    return alertitem.fingerprint("verify", rule, source)


@dataclass
class Finding:
    """One problem found: ``rule`` + ``source`` (a job name, or ``automation_log``) + what and where."""

    rule: str
    source: str
    message: str
    at: datetime | None = None
    evidence: dict[str, Any] = field(default_factory=dict)
    severity: str | None = None
    repeat_interval_hours: float | None = None  # remind about its issue this often, not the inbox's default


def to_alerts(findings: list[Finding], *, now: datetime) -> list[dict[str, Any]]:
    """Group findings by (rule, source) into alert items shaped like schemas/alert_item.schema.json."""
    groups: dict[tuple[str, str], list[Finding]] = {}
    for finding in findings:
        groups.setdefault((finding.rule, finding.source), []).append(finding)
    alerts = []
    for (rule, source), items in sorted(groups.items()):
        default_severity, next_action = RULES[rule]
        severity = max((f.severity or default_severity for f in items), key=alertitem.RANK.__getitem__)
        times = sorted(f.at for f in items if f.at is not None)
        message = items[0].message if len(items) == 1 else f"{items[0].message} (+{len(items) - 1} more)"
        repeat = [f.repeat_interval_hours for f in items if f.repeat_interval_hours]
        extra: dict[str, Any] = {"repeat_interval_hours": min(repeat)} if repeat else {}
        alerts.append(
            alertitem.item(
                id=fingerprint(rule, source),
                rule=rule,
                source=source,
                job="verify",
                severity=severity,
                status="firing",
                breach_count=len(items),
                breach_streak=len(items),
                last_breach_at=clock.iso(times[-1]) if times else None,
                started_at=clock.iso(times[0] if times else now),
                message=message,
                owner=OWNER,
                next_action=next_action,
                runbook=RUNBOOKS.get(rule, RUNBOOK),
                evidence={
                    "items": [
                        {"message": f.message, **({"at": clock.iso(f.at)} if f.at else {}), **f.evidence}
                        for f in items[:50]
                    ],
                    **({"omitted": len(items) - 50} if len(items) > 50 else {}),
                },
                **extra,
            )
        )
    return alerts
