"""Dead-man ping: after a successful run, GET the URL in OBS_HEARTBEAT_PING_URL (healthchecks-style).

Something outside GitHub then notices when GitHub runs nothing at all (dropped schedules, workflows
disabled after 60 days without activity). The URL is a secret: registered so it is scrubbed from
every output, and never put in a message. A failed ping only warns; it never fails the job.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import urlsplit

from observability import secrets

ENV = "OBS_HEARTBEAT_PING_URL"
TIMEOUT_SECONDS = 10.0
SUCCESS_STATUSES = ("ok", "warning", "dry_run")


@dataclass(frozen=True)
class PingResult:
    """What happened: ``sent`` true on a 2xx answer; ``error`` never contains the URL."""

    sent: bool
    status_code: int | None = None
    error: str | None = None


def ping(status: str, *, environ=os.environ, timeout: float = TIMEOUT_SECONDS) -> PingResult | None:
    """Ping after a run that ended ``status``; None when no URL is set or the run did not succeed."""
    secret = secrets.from_env("OBS_HEARTBEAT_PING_URL", environ=environ)
    if secret is None or status not in SUCCESS_STATUSES:
        return None
    secrets.register_url(secret.value)  # healthchecks-style URLs: the path is the credential
    secrets.register(urlsplit(secret.value).path.strip("/"))
    import requests

    try:
        response = requests.get(secret.value, timeout=timeout, headers={"User-Agent": "observability-deadman"})
    except requests.RequestException as exc:
        return PingResult(False, error=f"{type(exc).__name__} (no answer within {timeout:g} s or connection failed)")
    if 200 <= response.status_code < 300:
        return PingResult(True, response.status_code)
    return PingResult(False, response.status_code, f"HTTP {response.status_code}")


def ping_for(ctx, status: str, *, environ=os.environ) -> str:
    """Ping for a job context and warn on failure; returns ``sent``, ``failed`` or ``not_configured``."""
    result = ping(status, environ=environ)
    if result is None:
        return "not_configured" if not environ.get("OBS_HEARTBEAT_PING_URL", "").strip() else "not_sent"
    if not result.sent:
        ctx.warn(f"dead-man ping ({ENV}) failed: {result.error}")
        return "failed"
    return "sent"
