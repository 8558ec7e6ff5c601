"""Slack incoming webhook: a short text plus blocks linking the issue and the run.

429 is honoured (Retry-After, capped by the shared retry policy, a couple of times); nothing else is
retried, above all not a timeout: Slack has no idempotency key, so a retry after a lost answer posts twice.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from observability.alerts.inbox import Event
from observability.outbound.retry import RetryPolicy

_EMOJI = {
    "opened": ":rotating_light:",
    "reopened": ":rotating_light:",
    "escalated": ":fire:",
    "resolved": ":white_check_mark:",
    "failing": ":x:",
    "recovered": ":white_check_mark:",
}
_VERB = {
    "opened": "firing",
    "reopened": "firing again",
    "escalated": "escalated",
    "resolved": "resolved",
    "failing": "failing",
    "recovered": "recovered",
}


# Three attempts, the later two only after a 429; its Retry-After honoured up to a minute.
RETRY = RetryPolicy(max_attempts=3, retry_after_cap_seconds=60.0, jitter=False)


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def payload(event: Event) -> dict:
    drill = "[DRILL] " if event.drill else ""
    severity = f" ({event.severity})" if event.severity and event.kind not in ("resolved", "recovered") else ""
    text = f"{drill}{_VERB.get(event.kind, event.kind)}{severity}: {event.title}"
    links = []
    if event.issue_url:
        links.append(f"<{event.issue_url}|issue>")
    if event.run_url:
        links.append(f"<{event.run_url}|run>")
    blocks: list[dict[str, Any]] = [
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": f"{_EMOJI.get(event.kind, '')} *{escape(text)}*\n{escape(event.message)[:2500]}",
            },
        },
    ]
    if links:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": " · ".join(links)}]})
    # The fallback text is mrkdwn too (what the notification shows): escaped like the blocks, so a
    # title from an alert file or --title never pings <!channel> nor makes a link.
    return {"text": escape(text)[:3000], "blocks": blocks}


def send(
    url: str, body: dict, *, timeout: float, sleep: Callable[[float], None] = time.sleep, policy: RetryPolicy = RETRY
) -> tuple[bool, str]:
    """POST once (more only after a 429); returns (delivered, detail without the URL)."""
    import requests

    max_waits = policy.max_attempts - 1
    for attempt in range(max_waits + 1):
        try:
            response = requests.post(url, json=body, timeout=timeout, allow_redirects=False)
        except requests.exceptions.Timeout:
            return False, "timeout; not retried (Slack has no idempotency key, a retry could post twice)"
        except requests.exceptions.RequestException as exc:
            return False, f"network error ({type(exc).__name__}); not retried"
        status = response.status_code
        retry_after = response.headers.get("Retry-After", "")
        response.close()
        if 200 <= status < 300:
            return True, f"HTTP {status}"
        if status == 429 and attempt < max_waits:
            try:
                wait = policy.retry_after(float(retry_after))
            except ValueError:
                wait = 1.0
            sleep(max(0.0, wait))
            continue
        return False, f"HTTP {status}"
    return False, "HTTP 429 (rate limited)"
