"""observability/slo.py: attainment, error budget and burn rate from hourly rollups, by hand-computed cases."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from observability import slo
from observability.clock import UTC, iso
from observability.outputs.rollups import RollupRow

NOW = datetime(2026, 1, 8, 12, 30, tzinfo=UTC)  # the current hour starts 12:00
OBJ = slo.Objective(slo_p95_ms=1000.0, failure_rate_threshold=0.2, target_percent=99.0)


def row(hours_ago: int, p95: float, *, source: str = "feed", failure_rate: float = 0.0) -> RollupRow:
    hour = iso(datetime(2026, 1, 8, 12, tzinfo=UTC) - timedelta(hours=hours_ago))
    return RollupRow(hour, source, 10, int(failure_rate * 10), failure_rate, p95 / 2, p95, p95, p95, False, 0)


def one(rows, **kw) -> slo.SourceSlo:
    (found,) = slo.evaluate(rows, OBJ, NOW, **kw)
    return found


def test_attainment_counts_only_measured_hours_and_gaps_are_never_met():
    # 10 measured hours in the last 7 days: 8 meet, one breaches by p95, one by failure rate; the other 158 are gaps
    rows = [row(h, 500) for h in range(8)] + [row(8, 1500), row(9, 100, failure_rate=0.5)]
    s = one(rows)
    week = s.period(7)
    assert (week.windows, week.measured, week.met, week.breached) == (168, 10, 8, 2)
    assert week.attainment == pytest.approx(0.8)
    assert week.coverage == pytest.approx(10 / 168)
    # budget: 1 % of 10 measured hours = 0.1 hour; 2 spent -> 1 - 2 / 0.1 = -19
    assert week.budget_left(OBJ) == pytest.approx(-19.0)


def test_exactly_at_the_slo_meets_it():
    assert one([row(0, 1000.0, failure_rate=0.2)]).period(7).met == 1


def test_no_rows_is_no_data_not_zero_and_not_met():
    s = one([], sources=["silent"])
    assert s.source == "silent" and s.state == "no_data" and s.latest is None
    week = s.period(7)
    assert (week.measured, week.met, week.attainment, week.budget_left(OBJ)) == (0, 0, None, None)
    assert all(b.rate is None for b in s.burns)


def test_period_boundaries_include_the_current_hour_and_exclude_the_hour_before_the_window():
    rows = [row(0, 500), row(167, 500), row(168, 1500), row(-1, 1500)]  # -1: a later hour (clock skew) is ignored
    s = one(rows)
    assert (s.period(7).measured, s.period(7).breached) == (2, 0)
    assert (s.period(28).measured, s.period(28).breached) == (3, 1)


def test_burn_rate_over_the_last_one_and_six_complete_hours():
    # the current hour (0) is still filling and left out; hours 1-6: 3 measured (1, 3, 5), 1 breaching (1)
    rows = [row(0, 10), row(1, 5000), row(3, 10), row(5, 10), row(7, 5000)]
    burns = {b.hours: b for b in one(rows).burns}
    assert (burns[1].measured, burns[1].breached, burns[1].rate) == (1, 1, pytest.approx(100.0))
    assert (burns[6].measured, burns[6].breached) == (3, 1)
    assert burns[6].rate == pytest.approx((1 / 3) / 0.01)  # 33.3x
    # an empty current hour (the first minutes of an hour) does not make the 1-hour rate "no data"
    burns = {b.hours: b for b in one([row(1, 10)]).burns}
    assert (burns[1].measured, burns[1].rate) == (1, 0.0)
    # the marks give the same figures (the last mark is the hour holding now)
    marks = slo.MET + slo.BREACHED + slo.GAP + slo.MET + slo.GAP + slo.MET + slo.GAP + slo.BREACHED
    _, from_marks = slo.from_marks(marks[::-1], OBJ)
    assert [(b.measured, b.breached) for b in from_marks] == [(1, 1), (3, 1)]


def test_state_now_breaching_meeting_and_stale():
    assert one([row(0, 5000)]).state == "breaching"
    assert one([row(1, 10)]).state == "meeting"  # 11:00 began 1.5 h before 12:30: still current
    assert one([row(2, 10)]).state == "no_data"  # 10:00 began 2.5 h before


def test_the_target_sets_the_budget():
    rows = [row(h, 10) for h in range(99)] + [row(99, 5000)]
    loose = slo.Objective(1000.0, 0.2, 98.0)
    (s,) = slo.evaluate(rows, loose, NOW)
    assert s.period(7).budget_left(loose) == pytest.approx(0.5)  # 2 allowed, 1 spent
    assert s.as_dict()["attainment"]["7d"]["budget_left"] == 0.5


def test_sources_sorted_and_hourly_series_marks_gaps_as_none():
    rows = [row(0, 10, source="b"), row(2, 30, source="b"), row(0, 5, source="a")]
    assert [s.source for s in slo.evaluate(rows, OBJ, NOW)] == ["a", "b"]
    series = slo.hourly_series(slo.by_source(rows)["b"], NOW, 3)
    assert [v for _, v in series] == [30, None, 10]
    assert series[-1][0] == datetime(2026, 1, 8, 12, tzinfo=UTC)
