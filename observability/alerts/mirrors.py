"""Send this run's transitions to the optional mirrors; each is a no-op when its secret is unset.

Mirrors never fail the run: a failed send is a warning in the summary (the issue is the record).
Under ``--dry-run`` each mirror reports what it would send, without its URL or key.
"""

from __future__ import annotations

import hashlib
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from observability import secrets
from observability.alerts import pagerduty, slack, webhook
from observability.alerts.inbox import Event
from observability.config.alerts import AlertsConfig


@dataclass(frozen=True)
class MirrorSettings:
    cfg: AlertsConfig
    slack_env: str | None = None  # overrides cfg.slack_webhook_env (e.g. SLACK_CI_WEBHOOK for CI failures)
    webhook: bool = True  # the signed latency webhook (alerts sync only)
    pagerduty: bool = True
    dry_run: bool = False
    sleep: Callable[[float], None] = time.sleep
    wall_clock: Callable[[], float] = time.time
    environ: Any = field(default_factory=lambda: os.environ, repr=False)


def _record(name: str, status: str, detail: str, event: Event | None = None, payload: Any = None) -> dict:
    entry = {"mirror": name, "status": status, "detail": secrets.redact(detail)}
    if event is not None:
        entry.update(event=event.kind, fingerprint=event.fingerprint)
    if payload is not None:
        entry["payload"] = payload
    return entry


def dispatch(events: list[Event], s: MirrorSettings, *, repo: str, now: datetime) -> list[dict]:
    results: list[dict] = []
    if not events:
        return results
    results += _slack(events, s)
    if s.pagerduty:
        results += _pagerduty(events, s, repo)
    if s.webhook:
        results += _webhook(events, s, repo, now)
    return results


def _slack(events: list[Event], s: MirrorSettings) -> list[dict]:

    name = s.slack_env or s.cfg.slack_webhook_env
    url = secrets.from_env(name, environ=s.environ)
    if url is None:
        return [_record("slack", "skipped", f"{name} not set")]
    secrets.register_url(url.value.strip())  # the token is the URL's path: scrub its parts too
    out = []
    for event in events:
        body = slack.payload(event)
        if s.dry_run:
            out.append(_record("slack", "dry_run", "would POST", event, body))
            continue
        ok, detail = slack.send(url.value.strip(), body, timeout=s.cfg.mirror_timeout_seconds, sleep=s.sleep)
        out.append(_record("slack", "sent" if ok else "failed", detail, event))
    return out


def _pagerduty(events: list[Event], s: MirrorSettings, repo: str) -> list[dict]:
    wanted = [(e, a) for e in events if (a := pagerduty.wanted(e))]
    if not wanted:
        return []
    name = s.cfg.pagerduty_routing_key_env
    key = secrets.from_env(name, environ=s.environ)
    if key is None:
        return [_record("pagerduty", "skipped", f"{name} not set")]
    url = s.environ.get("OBS_PAGERDUTY_EVENTS_URL", "").strip() or pagerduty.EVENTS_URL
    out = []
    for event, action in wanted:
        body = pagerduty.payload(event, action, key.value.strip(), repo=repo)
        if s.dry_run:
            shown = {k: v for k, v in body.items() if k != "routing_key"}
            out.append(_record("pagerduty", "dry_run", f"would {action}", event, shown))
            continue
        ok, detail = pagerduty.send(url, body, timeout=s.cfg.mirror_timeout_seconds, sleep=s.sleep)
        out.append(_record("pagerduty", "sent" if ok else "failed", f"{action}: {detail}", event))
    return out


def _webhook(events: list[Event], s: MirrorSettings, repo: str, now: datetime) -> list[dict]:
    from observability.outbound import delivery, signing
    from observability.outbound.retry import RetryPolicy

    data = webhook.body(events, owner=s.cfg.owner, repo=repo, now=now)
    if data is None:
        return []
    url = secrets.from_env(s.cfg.webhook_url_env, environ=s.environ)
    secret = secrets.from_env(s.cfg.webhook_secret_env, environ=s.environ)
    if url is None or secret is None:
        missing = s.cfg.webhook_url_env if url is None else s.cfg.webhook_secret_env
        return [_record("webhook", "skipped", f"{missing} not set")]
    secrets.register_url(url.value.strip())
    if s.dry_run:
        import json

        return [_record("webhook", "dry_run", "would POST (signed)", payload=json.loads(data))]
    checksum = hashlib.sha256(data).hexdigest()
    policy = RetryPolicy(
        max_attempts=3,
        base_wait_seconds=5.0,
        max_wait_seconds=60.0,
        retry_after_cap_seconds=60.0,
        timeout_seconds=s.cfg.mirror_timeout_seconds,
    )
    result = delivery.deliver(
        url.value.strip(),
        data,
        signing.keys_from(secret),
        webhook_id=webhook.webhook_id(data),
        checksum=checksum,
        policy=policy,
        sleep=s.sleep,
        rng=random.Random(),
        wall_clock=s.wall_clock,
    )
    detail = f"HTTP {result.last_status_code}" if result.delivered else (result.last_error or "not delivered")
    return [
        _record(
            "webhook", "sent" if result.delivered else "failed", f"{detail} after {len(result.attempts)} attempt(s)"
        )
    ]
