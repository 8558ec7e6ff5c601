"""The one retry policy: how many attempts, how long between them, how far a Retry-After is honoured.

The weekly webhook, the alert mirrors' webhook, the GitHub REST client and shared-storage sync all
wait by it: exponential from ``base_wait_seconds``, capped at ``max_wait_seconds``, with equal
jitter unless ``jitter`` is off (then the waits are exact, as the GitHub client and sync want).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


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
