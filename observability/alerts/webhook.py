"""Latency alerts mirrored to the weekly webhook as the weekly payload's ``alerts`` block.

The items are the weekly report's alerts-block entries (``alertitem.report_entry``, the code the
weekly payload uses) checked against the weekly schema's ``alerts`` definition; the body is signed
and delivered by ``observability.outbound`` (X-OBS-Signature plus Standard Webhooks headers,
retries on 5xx/429/network).
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from observability import alertitem, clock, fsio, schemas
from observability.alerts.inbox import Event
from observability.errors import SchemaError
from observability.outputs import weekly as weekly_outputs

KIND = "observability.alerts"


def _item(event: Event, owner: str) -> dict:
    if event.alert is not None:
        a = event.alert
        return {
            "id": a.fingerprint,
            "severity": a.severity,
            "message": a.message,
            "owner": a.owner,
            "next_action": a.next_action,
            "rule": a.rule,
            "source": a.subject,
            "status": "firing",
            "evidence": a.evidence,
            "breach_count": a.breach_count,
            "breach_streak": a.breach_streak,
            "last_breach_at": a.last_breach_at,
            "started_at": a.started_at,
            "_file": a.evidence_path,
        }
    return {
        "id": event.fingerprint,
        "severity": event.severity or "info",
        "message": f"{event.title}: {event.message}",
        "owner": owner,
        "next_action": "none: resolved",
        "rule": "latency",
        "source": event.origin or "latency",
        "status": "resolved",
        "evidence": {},
        "started_at": event.started_at,
        "resolved_at": event.resolved_at,
    }


def body(
    events: list[Event], *, owner: str, repo: str, now: datetime, notified: dict[str, list[str]] | None = None
) -> bytes | None:
    """Canonical JSON bytes of the latency events of this run, or None when there are none.

    ``notified``: fingerprint -> the channels that already told people this run (the issue, Slack,
    PagerDuty: the webhook goes last), each entry's ``notified_channels``."""
    items = [
        _item(e, owner)
        for e in events
        if e.origin == "latency" and e.kind in ("opened", "reopened", "escalated", "resolved")
    ]
    if not items:
        return None
    block = sorted(
        (alertitem.report_entry(i, "out/latency_alerts", (notified or {}).get(i["id"])) for i in items),
        key=alertitem.report_order,
    )
    _check(block)
    doc = {
        "kind": KIND,
        "schema_version": weekly_outputs.SCHEMA_VERSION,
        "generated_at": clock.iso(now),
        "repository": repo,
        "alerts": block,
    }
    return fsio.canonical_json(doc).encode("utf-8")


def _check(block: list) -> None:
    from jsonschema import Draft202012Validator

    schema = schemas.load_schema(weekly_outputs.SCHEMA_NAME)["properties"]["alerts"]
    errors = sorted(Draft202012Validator(schema).iter_errors(block), key=lambda e: list(e.absolute_path))
    if errors:
        raise SchemaError(
            f"alerts block: field {schemas.json_path(list(errors[0].absolute_path))}: {errors[0].message}"
        )


def webhook_id(data: bytes) -> str:
    """Stable per body, so a receiver deduplicates a repeated delivery."""
    return "msg_obsalerts_" + hashlib.sha256(data).hexdigest()[:24]
