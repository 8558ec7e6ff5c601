"""POST a signed webhook body with retries: network errors, 5xx and 429 retried, everything else final.

Waits follow the shared policy (``outbound.retry``: exponential with jitter from ``base_wait_seconds``);
a ``Retry-After`` (seconds or HTTP date) is honoured up to a cap. Redirects are never followed (a 3xx
is a permanent failure: the body would otherwise go to a URL nobody configured). Waits, randomness and
the wall clock are injectable so tests run instantly.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from observability import __version__, otel, secrets
from observability.outbound import signing
from observability.outbound.retry import RetryPolicy, retry_after_seconds

__all__ = ["Attempt", "DeliveryResult", "RetryPolicy", "deliver", "retry_after_seconds"]

BODY_EXCERPT = 200


@dataclass
class Attempt:
    """One POST, as logged: never the URL, never a secret, the response body cut short."""

    attempt: int
    status_code: int | None
    response_ms: int
    error: str | None
    payload_checksum_sha256: str
    retryable: bool
    wait_seconds: float | None = None
    retry_after: str | None = None
    response_body: str | None = None

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v is not None or k in ("status_code", "error")}


@dataclass
class DeliveryResult:
    delivered: bool
    attempts: list[Attempt] = field(default_factory=list)
    webhook_id: str = ""
    signature: str = ""  # X-OBS-Signature (newest secret) of the body, for the .sig file

    @property
    def last_status_code(self) -> int | None:
        return self.attempts[-1].status_code if self.attempts else None

    @property
    def last_error(self) -> str | None:
        return self.attempts[-1].error if self.attempts else None


def _excerpt(text: str) -> str:
    text = secrets.redact(text.replace("\r", " ").replace("\n", " "))
    return text[:BODY_EXCERPT] + ("…" if len(text) > BODY_EXCERPT else "")


def _error_name(exc: BaseException) -> str:
    """A class-level description: exception messages from requests embed the URL, which is secret."""
    import requests

    if isinstance(exc, requests.exceptions.Timeout):
        return f"timeout: {type(exc).__name__}"
    root = exc
    while (outer := root.__cause__ or root.__context__) is not None:
        root = outer
        if isinstance(root, (ConnectionResetError, ConnectionRefusedError, BrokenPipeError)):
            break
    return (
        f"network: {type(exc).__name__} ({type(root).__name__})"
        if root is not exc
        else f"network: {type(exc).__name__}"
    )


def deliver(
    url: str,
    body: bytes,
    keys: signing.SigningKeys,
    *,
    webhook_id: str,
    checksum: str,
    policy: RetryPolicy,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
    wall_clock: Callable[[], float] = time.time,
    on_attempt: Callable[[Attempt], None] | None = None,
) -> DeliveryResult:
    """Deliver ``body`` to ``url``; each attempt is signed afresh with its own timestamp."""
    import requests

    rng = rng or random.Random()
    result = DeliveryResult(False, webhook_id=webhook_id, signature=signing.obs_signature(keys.newest, body))
    with requests.Session() as session:
        for number in range(1, policy.max_attempts + 1):
            stamp = int(wall_clock())
            headers = {
                "Content-Type": "application/json",
                "User-Agent": f"observability/{__version__}",
                **signing.headers(keys, webhook_id, stamp, body),
            }
            t0 = time.perf_counter()
            status = None
            error = None
            retry_after = None
            excerpt = None
            try:
                response = session.post(
                    url, data=body, headers=headers, timeout=policy.timeout_seconds, allow_redirects=False
                )
                status = response.status_code
                excerpt = _excerpt(response.text) if response.content else None
                retry_after = response.headers.get("Retry-After")
                response.close()
            except requests.exceptions.RequestException as exc:
                error = _error_name(exc)
            elapsed = int((time.perf_counter() - t0) * 1000)
            otel.count(otel.WEBHOOK_ATTEMPTS, outcome=otel.attempt_outcome(status))
            if status is not None and 200 <= status < 300:
                attempt = Attempt(number, status, elapsed, None, checksum, False, response_body=excerpt)
                result.attempts.append(attempt)
                result.delivered = True
                if on_attempt:
                    on_attempt(attempt)
                return result
            if status is not None:
                if 300 <= status < 400:
                    error = f"HTTP {status}: redirect not followed; point the webhook URL at the final address"
                else:
                    error = f"HTTP {status}"
            retryable = status is None or status == 429 or status >= 500
            attempt = Attempt(
                number,
                status,
                elapsed,
                error,
                checksum,
                retryable,
                retry_after=secrets.redact(retry_after[:64]) if retry_after else None,
                response_body=excerpt,
            )
            result.attempts.append(attempt)
            if not retryable or number == policy.max_attempts:
                if on_attempt:
                    on_attempt(attempt)
                return result
            wait = policy.backoff(number, rng)
            asked = retry_after_seconds(retry_after, datetime.fromtimestamp(wall_clock(), UTC))
            if asked is not None:
                wait = policy.retry_after(asked)
            attempt.wait_seconds = round(wait, 3)
            if on_attempt:
                on_attempt(attempt)
            sleep(wait)
    return result
