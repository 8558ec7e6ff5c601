"""The one retry policy: how many attempts, how long between them, how far a Retry-After is honoured.

The weekly webhook, the alert mirrors' webhook, the GitHub REST client and shared-storage sync all
wait by it: exponential from ``base_wait_seconds``, capped at ``max_wait_seconds``, with equal
jitter unless ``jitter`` is off (then the waits are exact, as the GitHub client and sync want).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try one call; the defaults are the weekly webhook's."""

    max_attempts: int = 5
    base_wait_seconds: float = 60.0
    max_wait_seconds: float = 900.0
    retry_after_cap_seconds: float = 600.0
    timeout_seconds: float = 30.0
    jitter: bool = True

    def backoff(self, attempt: int, rng: random.Random | None = None) -> float:
        """Wait after failed attempt ``attempt`` (1-based): base * 2^(attempt-1), capped; with jitter,
        equal jitter over that ceiling (half fixed, half uniform)."""
        ceiling = min(self.max_wait_seconds, self.base_wait_seconds * (2 ** (attempt - 1)))
        if not self.jitter:
            return ceiling
        return ceiling / 2 + (rng or random).uniform(0, ceiling / 2)

    def retry_after(self, seconds: float) -> float:
        """A server's Retry-After wait, honoured up to ``retry_after_cap_seconds``."""
        return min(seconds, self.retry_after_cap_seconds)


class GaveUp(Exception):
    """A call run by :func:`retrying` failed for good: ``error`` is its last failure, ``attempts`` how many
    attempts were made, ``exhausted`` whether they ran out (else the failure was not worth retrying)."""

    def __init__(self, error: BaseException, attempts: int, *, exhausted: bool):
        super().__init__(str(error))
        self.error, self.attempts, self.exhausted = error, attempts, exhausted


def retrying(
    func: Callable[[], T],
    policy: RetryPolicy,
    *,
    errors: tuple[type[BaseException], ...],
    retryable: Callable[[BaseException], bool] = lambda _exc: True,
    sleep: Callable[[float], None] | None = None,
    on_retry: Callable[[BaseException, int, float], None] | None = None,
) -> tuple[T, int]:
    """``func()`` and the number of attempts it took: up to ``policy.max_attempts``, waiting
    ``policy.backoff(attempt)`` after a failure of one of ``errors`` that is ``retryable`` (``on_retry``
    hears of each wait first). A final failure raises :class:`GaveUp`; other exceptions pass through.
    For calls without a Retry-After to honour (shared storage, an upload command); the webhook
    delivery (outbound/delivery.py) runs its own loop over the same policy for that."""
    attempts = max(policy.max_attempts, 1)
    for attempt in range(1, attempts + 1):
        try:
            return func(), attempt
        except errors as exc:
            if not retryable(exc):
                raise GaveUp(exc, attempt, exhausted=False) from exc
            if attempt == attempts:
                raise GaveUp(exc, attempt, exhausted=True) from exc
            wait = policy.backoff(attempt)
            if on_retry is not None:
                on_retry(exc, attempt, wait)
            (sleep or time.sleep)(wait)
    raise AssertionError("unreachable")


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP date), None when absent or unreadable."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())
