"""Percentiles by linear interpolation (numpy's default, SQL quantile_cont) and window statistics."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """The q-quantile (0..1) of already-sorted values, interpolating between closest ranks."""
    if not sorted_values:
        raise ValueError("percentile of no values")
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"q={q} outside [0, 1]")
    position = (len(sorted_values) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(sorted_values) - 1)
    fraction = position - low
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * fraction


@dataclass(frozen=True)
class Stats:
    """Summary of one group of samples: counts, p50/p95/p99 (linear interpolation) and max."""

    count: int
    failure_count: int
    error_count: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float

    @property
    def failure_rate(self) -> float:
        return self.failure_count / self.count if self.count else 0.0

    def breaches(self, slo_ms: float, failure_rate_threshold: float) -> bool:
        return self.p95_ms > slo_ms or self.failure_rate > failure_rate_threshold or self.error_count > 0


def summarise(samples: Iterable) -> Stats:
    """Stats over samples (objects with latency_ms, ok and is_error)."""
    values, failures, errors = [], 0, 0
    for sample in samples:
        values.append(sample.latency_ms)
        failures += not sample.ok
        errors += sample.is_error
    values.sort()
    return Stats(
        len(values),
        failures,
        errors,
        percentile(values, 0.50),
        percentile(values, 0.95),
        percentile(values, 0.99),
        values[-1],
    )
