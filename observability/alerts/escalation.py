"""A monitor that keeps failing pages: when a failure issue escalates, and what it says when it does.

A failure issue escalates once per episode, when it has been failing for ``escalation.after_hours``
or for ``escalation.after_failures`` runs in a row (docs/alerts.md, "A monitor that keeps failing").
The PagerDuty ``dedup_key`` is the failure fingerprint: stable across runs, caches and runners, so
a run that lost the cache and escalates again is folded by PagerDuty into the open incident.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from observability import clock
from observability.alerts import render
from observability.config.alerts import Escalation

# (event, "trigger" | "resolve") -> the mirror record ({"mirror": "pagerduty", "status": ...}).
Pager = Callable[..., dict]


def dedup_key(fingerprint: str) -> str:
    """The PagerDuty dedup key of a failure issue: its fingerprint (one incident per failing job)."""
    return fingerprint


def reason(entry: dict, cfg: Escalation, now: datetime) -> str | None:
    """Why this episode escalates now (None: not due, or it already did)."""
    if entry.get("escalated_at"):
        return None
    failures = int(entry.get("failures") or 0)
    if cfg.after_failures is not None and failures >= cfg.after_failures:
        return f"{failures} failed runs in a row (threshold {cfg.after_failures})"
    started = entry.get("started_at")
    if cfg.after_hours is not None and started:
        open_for = now - clock.parse_iso(started)
        if open_for >= timedelta(hours=cfg.after_hours):
            return f"{render.duration(started, clock.iso(now))} of failures, {failures} failed run(s) (threshold {cfg.after_hours:g} h)"
    return None


_NOTES = {
    "trigger": {
        "sent": "PagerDuty incident triggered at critical (dedup_key `{key}`).",
        "failed": "PagerDuty trigger failed ({detail}); retried on the next failure (dedup_key `{key}`).",
        "dry_run": "PagerDuty trigger planned (dry run, dedup_key `{key}`).",
        "skipped": "No PagerDuty page: its routing key is not set.",
        "off": "No PagerDuty page: `escalation.pagerduty` is off.",
    },
    "resolve": {
        "sent": "PagerDuty incident resolved (dedup_key `{key}`).",
        "failed": "PagerDuty resolve failed ({detail}): resolve the incident with dedup_key `{key}` by hand.",
        "dry_run": "PagerDuty resolve planned (dry run, dedup_key `{key}`).",
        "skipped": "PagerDuty incident not resolved: its routing key is not set (dedup_key `{key}`).",
        "off": "PagerDuty incident not resolved: `escalation.pagerduty` is off (dedup_key `{key}`).",
    },
}


def page_note(action: str, status: str | None, key: str, detail: str = "") -> str:
    """One sentence on a page (``trigger`` at escalation, ``resolve`` at recovery) for comments and the body."""
    template = _NOTES[action].get(status or "off", _NOTES[action]["off"])
    return template.format(key=key, detail=detail or "see the run")


def comment(*, why: str, since: str | None, mention: str | None, page: str) -> str:
    lines = [f"**Escalated** after {why}; the first failure was at {since or 'an unknown time'}."]
    if mention:
        lines += ["", f"{mention}: this job is still failing, please take it now."]
    lines += ["", page]
    return "\n".join(lines)
