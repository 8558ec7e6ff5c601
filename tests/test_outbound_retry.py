"""The one retry policy (observability.outbound.retry) and the waits each caller gets from it."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from observability.alerts import pagerduty, slack
from observability.github import rest
from observability.outbound.retry import RetryPolicy, retry_after_seconds


def test_without_jitter_the_waits_double_up_to_the_cap():
    policy = RetryPolicy(base_wait_seconds=2.0, max_wait_seconds=60.0, jitter=False)
    assert [policy.backoff(n) for n in range(1, 8)] == [2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0]


def test_the_github_client_waits_2_4_8_seconds_over_4_attempts():
    assert rest.RETRY.max_attempts == 4 and rest.RETRY.timeout_seconds == 30.0
    assert [rest.RETRY.backoff(n) for n in (1, 2, 3)] == [2.0, 4.0, 8.0]


def test_the_mirrors_policies():
    assert pagerduty.RETRY.max_attempts == 3 and [pagerduty.RETRY.backoff(n) for n in (1, 2)] == [2.0, 4.0]
    assert slack.RETRY.max_attempts == 3 and slack.RETRY.retry_after(300.0) == 60.0
    assert slack.RETRY.retry_after(5.0) == 5.0


def test_sync_pushs_loop_is_the_policy_without_jitter():
    # sync push waits min(retry_wait * 2^(attempt-1), 60 s): the same policy, for it to adopt.
    for retry_wait in (0.0, 0.5, 2.0, 45.0):
        policy = RetryPolicy(max_attempts=5, base_wait_seconds=retry_wait, max_wait_seconds=60.0, jitter=False)
        assert [policy.backoff(n) for n in range(1, 6)] == [min(retry_wait * 2 ** (n - 1), 60.0) for n in range(1, 6)]


def test_with_jitter_each_wait_is_between_half_and_all_of_its_ceiling():
    policy = RetryPolicy(base_wait_seconds=60.0, max_wait_seconds=900.0)
    rng = random.Random(7)
    for attempt, ceiling in ((1, 60.0), (2, 120.0), (3, 240.0), (4, 480.0), (5, 900.0), (9, 900.0)):
        waits = [policy.backoff(attempt, rng) for _ in range(200)]
        assert all(ceiling / 2 <= w <= ceiling for w in waits)
        assert max(waits) - min(waits) > ceiling / 4  # jittered, not fixed


def test_retry_after_is_capped_and_read_as_seconds_or_an_http_date():
    policy = RetryPolicy(retry_after_cap_seconds=600.0)
    assert policy.retry_after(30.0) == 30.0 and policy.retry_after(3600.0) == 600.0
    now = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    assert retry_after_seconds("120", now) == 120.0
    assert retry_after_seconds("Mon, 02 Mar 2026 12:01:30 GMT", now) == 90.0
    assert retry_after_seconds("Mon, 02 Mar 2026 11:00:00 GMT", now) == 0.0
    assert retry_after_seconds("soon", now) is None and retry_after_seconds(None, now) is None


def test_retrying_counts_attempts_and_says_why_it_gave_up():
    from observability.outbound.retry import GaveUp, RetryPolicy, retrying

    policy = RetryPolicy(max_attempts=3, base_wait_seconds=2.0, jitter=False)
    waits: list[float] = []
    failures = iter([OSError("reset"), OSError("reset")])

    def flaky():
        error = next(failures, None)
        if error:
            raise error
        return "done"

    assert retrying(flaky, policy, errors=(OSError,), sleep=waits.append) == ("done", 3) and waits == [2.0, 4.0]
    with pytest.raises(GaveUp) as exhausted:
        retrying(lambda: (_ for _ in ()).throw(OSError("down")), policy, errors=(OSError,), sleep=waits.append)
    assert exhausted.value.attempts == 3 and exhausted.value.exhausted
    with pytest.raises(GaveUp) as permanent:
        retrying(
            lambda: (_ for _ in ()).throw(OSError("denied")),
            policy,
            errors=(OSError,),
            retryable=lambda exc: "denied" not in str(exc),
            sleep=waits.append,
        )
    assert permanent.value.attempts == 1 and not permanent.value.exhausted
    with pytest.raises(KeyError):  # not one of `errors`: passes through untouched
        retrying(lambda: {}["x"], policy, errors=(OSError,), sleep=waits.append)
