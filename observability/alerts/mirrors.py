"""Send this run's transitions to the optional mirrors; each is a no-op when its secret is unset.

Mirrors never fail the run: a failed send is a warning in the summary (the issue is the record).
Under ``--dry-run`` each mirror reports what it would send, without its URL or key.
"""

from __future__ import annotations

import hashlib
import json
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
from observability.outputs import alertinbox


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
        # every event is an issue action already made; the webhook says which channels went before it
        so_far = channels([{"fingerprint": e.fingerprint} for e in events], results)
        results += _webhook(events, s, repo, now, so_far)
    return results


def channels(actions: list[dict], results: list[dict]) -> dict[str, list[str]]:
    """Fingerprint -> the channels that actually delivered something about it this run: ``issue`` for
    every issue action, a mirror for each of its sends that was accepted (never a skipped, failed or
    dry-run one)."""
    found: dict[str, set[str]] = {}
    for action in actions:
        if action.get("fingerprint") and action.get("action") not in NOT_NOTIFYING:
            found.setdefault(action["fingerprint"], set()).add("issue")
    for result in results:
        if result["status"] != "sent":
            continue
        for fp in result.get("fingerprints") or ([result["fingerprint"]] if result.get("fingerprint") else []):
            found.setdefault(fp, set()).add(result["mirror"])
    return {fp: [c for c in alertinbox.CHANNELS if c in chosen] for fp, chosen in sorted(found.items())}


# Issue actions that tell nobody anything new: a duplicate closed, a cache entry adopted, a label fixed,
# a body edit (appended), a deleted issue forgotten.
NOT_NOTIFYING = frozenset(
    {"closed_duplicate", "adopted", "skipped_real_issue", "relabelled", "silenced", "appended", "forgotten_gone"}
)


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
    if secrets.from_env(s.cfg.pagerduty_routing_key_env, environ=s.environ) is None:
        return [_record("pagerduty", "skipped", f"{s.cfg.pagerduty_routing_key_env} not set")]
    return [page(event, action, s, repo=repo) for event, action in wanted]


def page(event: Event, action: str, s: MirrorSettings, *, repo: str) -> dict:
    """One PagerDuty event (``trigger`` or ``resolve``); the record says sent, failed, dry_run or skipped."""
    name = s.cfg.pagerduty_routing_key_env
    key = secrets.from_env(name, environ=s.environ)
    if key is None:
        return _record("pagerduty", "skipped", f"{name} not set", event)
    url = s.environ.get("OBS_PAGERDUTY_EVENTS_URL", "").strip() or pagerduty.EVENTS_URL
    body = pagerduty.payload(event, action, key.value.strip(), repo=repo)
    if s.dry_run:
        shown = {k: v for k, v in body.items() if k != "routing_key"}
        return _record("pagerduty", "dry_run", f"would {action}", event, shown)
    ok, detail = pagerduty.send(url, body, timeout=s.cfg.mirror_timeout_seconds, sleep=s.sleep)
    return _record("pagerduty", "sent" if ok else "failed", f"{action}: {detail}", event)


def _webhook(
    events: list[Event], s: MirrorSettings, repo: str, now: datetime, notified: dict[str, list[str]]
) -> list[dict]:
    from observability.outbound import delivery, signing
    from observability.outbound.retry import RetryPolicy

    data = webhook.body(events, owner=s.cfg.owner, repo=repo, now=now, notified=notified)
    if data is None:
        return []
    url = secrets.from_env(s.cfg.webhook_url_env, environ=s.environ)
    secret = secrets.from_env(s.cfg.webhook_secret_env, environ=s.environ)
    if url is None or secret is None:
        missing = s.cfg.webhook_url_env if url is None else s.cfg.webhook_secret_env
        return [_record("webhook", "skipped", f"{missing} not set")]
    secrets.register_url(url.value.strip())
    if s.dry_run:
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
    entry = _record(
        "webhook", "sent" if result.delivered else "failed", f"{detail} after {len(result.attempts)} attempt(s)"
    )
    entry["fingerprints"] = sorted({item["id"] for item in json.loads(data)["alerts"]})
    return [entry]
