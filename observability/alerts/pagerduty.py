"""PagerDuty Events API v2 for critical alerts: trigger and resolve with ``dedup_key`` = fingerprint.

The dedup key makes a repeated event harmless, so 429, 5xx and network errors are retried
with backoff (the shared retry policy: three attempts, waits of 2 and 4 s). The events URL can be
changed with OBS_PAGERDUTY_EVENTS_URL (the EU service region, or a test receiver).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from observability.alerts.inbox import Event
from observability.outbound.retry import RetryPolicy

EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"
RETRY = RetryPolicy(max_attempts=3, base_wait_seconds=2.0, max_wait_seconds=60.0, jitter=False)


def wanted(event: Event) -> str | None:
    """``trigger`` (critical alerts only), ``resolve`` (every resolution) or None."""
    if event.kind in ("opened", "reopened", "escalated") and event.severity == "critical":
        return "trigger"
    if event.kind == "resolved":
        # Whatever the last severity: an alert may have paged at critical and been lowered since.
        # PagerDuty ignores a resolve for a dedup key it never saw.
        return "resolve"
    return None


def payload(event: Event, action: str, routing_key: str, *, repo: str) -> dict:
    body: dict = {"routing_key": routing_key, "event_action": action, "dedup_key": event.fingerprint}
    if action == "trigger":
        title = event.title.removeprefix("[drill] ") if event.drill else event.title  # one marker is enough
        summary = ("[DRILL] " if event.drill else "") + f"{title}: {event.message}"
        body["payload"] = {
            "summary": summary[:1024],
            "source": f"github.com/{repo}",
            "severity": "critical",
            "component": event.origin or "observability",
            "group": "observability",
            "class": event.alert.rule if event.alert else "job_failure",  # failure issues carry no alert
            "custom_details": {
                "drill": event.drill,
                "fingerprint": event.fingerprint,
                "message": event.message,
                "started_at": event.started_at,
            },
        }
        links = [{"href": u, "text": t} for u, t in ((event.issue_url, "GitHub issue"), (event.run_url, "run")) if u]
        if links:
            body["links"] = links
    return body


def send(
    url: str, body: dict, *, timeout: float, sleep: Callable[[float], None] = time.sleep, policy: RetryPolicy = RETRY
) -> tuple[bool, str]:
    import requests

    detail = ""
    attempts = policy.max_attempts
    for attempt in range(1, attempts + 1):
        try:
            response = requests.post(url, json=body, timeout=timeout, allow_redirects=False)
            status = response.status_code
            response.close()
        except requests.exceptions.RequestException as exc:
            status, detail = None, f"network error ({type(exc).__name__})"
        if status is not None:
            if 200 <= status < 300:
                return True, f"HTTP {status}"
            detail = f"HTTP {status}"
            if status != 429 and status < 500:
                return False, detail + " (not retried: PagerDuty rejected the event)"
        if attempt < attempts:
            sleep(policy.backoff(attempt))
    return False, f"{detail} after {attempts} attempt(s)"
