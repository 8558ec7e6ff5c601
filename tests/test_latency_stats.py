"""percentile() and summarise() against the statistics module as an independent reference."""

from __future__ import annotations

import math
import random
import statistics
from dataclasses import dataclass

import pytest
from hypothesis import given, settings, strategies as st

from observability.latency.stats import Stats, percentile, summarise

values_st = st.lists(
    st.floats(min_value=0, max_value=1e7, allow_nan=False, allow_infinity=False), min_size=2, max_size=200
)


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-6)


@settings(max_examples=150, deadline=None)
@given(values_st)
def test_percentiles_match_statistics_quantiles_inclusive(data):
    reference = statistics.quantiles(data, n=100, method="inclusive")  # cut points 1..99
    ordered = sorted(data)
    for k in (1, 5, 25, 50, 75, 90, 95, 99):
        assert close(percentile(ordered, k / 100), reference[k - 1]), (
            k,
            percentile(ordered, k / 100),
            reference[k - 1],
        )


@settings(max_examples=150, deadline=None)
@given(values_st)
def test_p50_is_the_median(data):
    assert close(percentile(sorted(data), 0.5), statistics.median(data))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(min_value=0, max_value=1e6, allow_nan=False), min_size=1, max_size=50))
def test_q0_and_q1_are_min_and_max(data):
    ordered = sorted(data)
    assert percentile(ordered, 0.0) == min(data)
    assert percentile(ordered, 1.0) == max(data)


def test_single_value_is_every_percentile():
    for q in (0.0, 0.01, 0.5, 0.95, 0.99, 1.0):
        assert percentile([42.5], q) == 42.5


def test_two_values_interpolate_linearly():
    lo, hi = 100.0, 300.0
    for q in (0.0, 0.25, 0.5, 0.95, 0.99, 1.0):
        assert close(percentile([lo, hi], q), lo + (hi - lo) * q)
    # the same against the reference
    ref = statistics.quantiles([hi, lo], n=100, method="inclusive")
    assert close(percentile([lo, hi], 0.95), ref[94])


def test_invalid_arguments():
    with pytest.raises(ValueError):
        percentile([], 0.5)
    with pytest.raises(ValueError):
        percentile([1.0, 2.0], 1.5)
    with pytest.raises(ValueError):
        percentile([1.0, 2.0], -0.1)


@dataclass
class _S:
    latency_ms: float
    status: str = "success"

    @property
    def ok(self):
        return self.status in ("success", "ok", "stable")

    @property
    def is_error(self):
        return self.status == "error"


def test_summarise_sorts_unsorted_input():
    rng = random.Random(7)
    data = [rng.uniform(0, 5000) for _ in range(97)]
    rng.shuffle(data)
    stats = summarise([_S(v) for v in data])
    ref = statistics.quantiles(data, n=100, method="inclusive")
    assert stats.count == 97
    assert close(stats.p50_ms, statistics.median(data))
    assert close(stats.p95_ms, ref[94])
    assert close(stats.p99_ms, ref[98])
    assert stats.max_ms == max(data)
    assert stats.failure_count == 0 and stats.error_count == 0


def test_summarise_counts_failures_and_errors():
    samples = [
        _S(10, "success"),
        _S(20, "ok"),
        _S(30, "stable"),
        _S(40, "failure"),
        _S(50, "error"),
        _S(60, "timeout"),
        _S(70, "success"),
        _S(80, "success"),
        _S(90, "success"),
        _S(100, "success"),
    ]
    stats = summarise(samples)
    assert stats.count == 10
    assert stats.failure_count == 3  # failure, error, timeout
    assert stats.error_count == 1
    assert close(stats.failure_rate, 3 / 10)


def _stats(p95: float, failures: int = 0, errors: int = 0, count: int = 10) -> Stats:
    return Stats(count, failures, errors, p95 / 2, p95, p95, p95)


def test_failure_rate_of_empty_stats_is_zero():
    assert Stats(0, 0, 0, 0, 0, 0, 0).failure_rate == 0.0


@pytest.mark.parametrize(
    "p95, failures, errors, expected",
    [
        (1000.0, 0, 0, False),  # exactly the SLO is not a breach
        (1000.1, 0, 0, True),  # just above
        (10.0, 2, 0, False),  # 20 % == threshold is not a breach
        (10.0, 3, 0, True),  # 30 % > 20 %
        (10.0, 1, 1, True),  # any error sample breaches
    ],
)
def test_breaches(p95, failures, errors, expected):
    assert _stats(p95, failures, errors).breaches(1000.0, 0.2) is expected
