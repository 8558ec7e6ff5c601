"""The alert item every job writes and the alert inbox reads: its fingerprint, severity rank and shape.

One fingerprint scheme (the same problem keeps the same id, and issue), one severity order, one
builder for an item (``schemas/alert_item.schema.json`` plus what each job adds) and one for an
entry of the weekly report's ``alerts`` block, which the alert webhook mirror sends too.
"""

from __future__ import annotations

from typing import Any

SEVERITIES = ("info", "warning", "critical")
RANK = {s: i for i, s in enumerate(SEVERITIES)}


def fingerprint(namespace: str, *parts: str) -> str:
    """16 hex digits of SHA-256 over ``namespace|part|...`` (e.g. ``latency|latency_slo|feed``)."""
    from observability.digest import sha256  # built-in SHA-256: loading OpenSSL is ms of start-up

    return sha256("|".join((namespace, *parts)).encode("utf-8")).hexdigest()[:16]


def severity(value: Any, default: str) -> str:
    """``value`` when it is a known severity, else ``default``."""
    return value if value in RANK else default


def item(
    *,
    id: str,
    rule: str,
    source: str,
    severity: str,
    status: str,
    message: str,
    owner: str,
    next_action: str,
    started_at: str | None,
    last_breach_at: str | None,
    breach_streak: int,
    breach_count: int,
    evidence: dict[str, Any],
    **extra: Any,
) -> dict[str, Any]:
    """One alert item: the fields every job writes, then the job's own (``transition``, ``runbook``, ...)."""
    return {
        "id": id,
        "rule": rule,
        "source": source,
        "severity": severity,
        "status": status,
        "message": message,
        "owner": owner,
        "next_action": next_action,
        "started_at": started_at,
        "last_breach_at": last_breach_at,
        "breach_streak": breach_streak,
        "breach_count": breach_count,
        "evidence": evidence,
        **extra,
    }


def report_entry(a: dict[str, Any], evidence_path: str, notified_channels: list[str] | None = None) -> dict[str, Any]:
    """A latency alert item as an entry of the weekly report's ``alerts`` block (missing fields defaulted).

    ``notified_channels``: the channels that actually told someone about it (issue, slack, pagerduty,
    webhook; outputs/alertinbox.py), [] when none did or nobody knows."""
    given = a.get("evidence")
    evidence: dict[str, Any] = {
        **(given if isinstance(given, dict) else {}),
        "breach_count": a.get("breach_count"),
        "breach_streak": a.get("breach_streak"),
        "last_breach_at": a.get("last_breach_at"),
        "started_at": a.get("started_at"),
        "resolved_at": a.get("resolved_at"),
    }
    return {
        "id": str(a["id"]),
        "severity": severity(a.get("severity"), "warning"),
        "message": str(a.get("message") or f"latency alert {a['id']}"),
        "owner": str(a.get("owner") or "observability-oncall"),
        "next_action": str(a.get("next_action") or "docs/runbook.md#latency"),
        "rule": str(a.get("rule") or "latency"),
        "source": str(a.get("source") or "latency"),
        "status": "resolved" if a.get("status") == "resolved" else "firing",
        "evidence": {k: v for k, v in sorted(evidence.items()) if v is not None},
        "evidence_path": a.get("_file") or evidence_path,
        "notified_channels": list(notified_channels or []),
    }


def report_order(entry: dict[str, Any]) -> tuple[int, bool, str]:
    """Sort key of a report's alerts: most severe first, firing before resolved, then by id."""
    return (-RANK[entry["severity"]], entry["status"] != "firing", entry["id"])
