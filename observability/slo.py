"""SLO attainment, error budget and burn rate per latency source, from the hourly rollups.

The windows are the rollup hours (``ops/signal_latency_rollup/``, kept 90 days). An hour *meets* the
SLO when its p95 is at or under the SLO and its failure rate at or under the failure-rate threshold
(the latency job's breach rule, applied with today's settings). An hour without a rollup row is a
*gap*: it neither meets nor breaches, and it is left out of every share (``coverage`` says how many
hours were measured). docs/site.md gives the definitions with a worked example.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from observability.clock import UTC, iso, parse_iso
from observability.outputs.rollups import RollupRow

HOUR = timedelta(hours=1)
PERIOD_DAYS = (7, 28)  # attainment periods
BURN_HOURS = (1, 6)  # burn-rate windows: the shortest the hourly rollups support, and the usual slow one
# Burn rates are over complete hours: the hour holding now is still filling (at the start of an hour it
# has no row yet), so a 1-hour rate over it would say "no data" most of the time.
DEFAULT_TARGET_PERCENT = 99.0  # latency_alert.yaml `slo_target_percent`
CURRENT_WITHIN = timedelta(hours=2)  # the latest hour counts as "now" only when it started this recently


@dataclass(frozen=True)
class Objective:
    """What an hour must meet, and the share of measured hours that must meet it."""

    slo_p95_ms: float
    failure_rate_threshold: float
    target_percent: float = DEFAULT_TARGET_PERCENT

    @property
    def allowed_bad_share(self) -> float:
        return 1.0 - self.target_percent / 100.0

    def meets(self, row: RollupRow) -> bool:
        return row.p95_ms <= self.slo_p95_ms and row.failure_rate <= self.failure_rate_threshold


@dataclass(frozen=True)
class Period:
    """Attainment of one source over the last ``days`` days (``days * 24`` hourly windows)."""

    days: int
    windows: int  # hours in the period
    measured: int  # hours with a rollup row
    met: int
    breached: int

    @property
    def attainment(self) -> float | None:
        """Share of measured hours that met the SLO; None when no hour was measured."""
        return self.met / self.measured if self.measured else None

    @property
    def coverage(self) -> float:
        return self.measured / self.windows if self.windows else 0.0

    def budget_left(self, objective: Objective) -> float | None:
        """Share of the error budget left: 1 - breached / (allowed bad share x measured hours).

        1.0 is untouched, 0.0 spent, below 0 overspent; None when nothing was measured."""
        if not self.measured:
            return None
        allowed = objective.allowed_bad_share * self.measured
        return 1.0 - self.breached / allowed

    def budget_text(self, objective: Objective) -> str:
        """The budget left as the step summaries show it: ``-38.9 % (overspent)``, ``no data``."""
        left = self.budget_left(objective)
        if left is None:
            return "no data"
        return f"{left * 100:.1f} %" + (" (overspent)" if left < 0 else "")

    def as_dict(self, objective: Objective) -> dict[str, Any]:
        return {
            "days": self.days,
            "windows": self.windows,
            "measured": self.measured,
            "met": self.met,
            "breached": self.breached,
            "attainment": _round(self.attainment),
            "coverage": _round(self.coverage),
            "budget_left": _round(self.budget_left(objective)),
        }


@dataclass(frozen=True)
class Burn:
    """Burn rate over the last ``hours`` hours: breached share of measured hours / allowed bad share.

    1.0 spends the budget exactly over the period; 14.4 over an hour is the usual page threshold."""

    hours: int
    measured: int
    breached: int
    rate: float | None

    def as_dict(self) -> dict[str, Any]:
        return {"hours": self.hours, "measured": self.measured, "breached": self.breached, "rate": _round(self.rate)}


@dataclass
class SourceSlo:
    """One source's SLO picture at ``now``."""

    source: str
    objective: Objective
    latest: RollupRow | None  # the latest hour with data (any age)
    current: bool  # the latest hour started within CURRENT_WITHIN of now
    periods: list[Period] = field(default_factory=list)
    burns: list[Burn] = field(default_factory=list)

    @property
    def state(self) -> str:
        """``meeting``, ``breaching`` (the current hour breaches) or ``no_data`` (no current hour)."""
        if self.latest is None or not self.current:
            return "no_data"
        return "meeting" if self.objective.meets(self.latest) else "breaching"

    def period(self, days: int) -> Period:
        return next(p for p in self.periods if p.days == days)

    def as_dict(self) -> dict[str, Any]:
        latest = self.latest
        return {
            "source": self.source,
            "state": self.state,
            "slo_p95_ms": self.objective.slo_p95_ms,
            "target_percent": self.objective.target_percent,
            "latest_hour": latest.hour_utc if latest else None,
            "p95_ms": round(latest.p95_ms, 3) if latest else None,
            "failure_rate": round(latest.failure_rate, 4) if latest else None,
            "attainment": {str(p.days) + "d": p.as_dict(self.objective) for p in self.periods},
            "burn_rate": {str(b.hours) + "h": b.as_dict() for b in self.burns},
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def hour_floor(at: datetime) -> datetime:
    at = at.astimezone(UTC)
    return at.replace(minute=0, second=0, microsecond=0)


def evaluate(
    rows: Iterable[RollupRow],
    objective: Objective,
    now: datetime,
    *,
    sources: Iterable[str] = (),
    periods: tuple[int, ...] = PERIOD_DAYS,
    burn_hours: tuple[int, ...] = BURN_HOURS,
) -> list[SourceSlo]:
    """Every source of ``rows`` (and each of ``sources``, even one with no row) at ``now``, sorted by name.

    A period of N days is the N x 24 hours ending with the hour that holds ``now`` (that hour included):
    hour starts in ``(floor(now) - N days, floor(now)]``. Rows later than that hour are ignored. A burn
    rate over N hours is over the N complete hours before the hour that holds ``now``.
    """
    last = hour_floor(now)
    by_source: dict[str, dict[str, RollupRow]] = {name: {} for name in sources}
    last_key = iso(last)
    for row in rows:
        if row.hour_utc <= last_key:
            by_source.setdefault(row.source, {})[row.hour_utc] = row
    found = []
    for source in sorted(by_source):
        hours = by_source[source]
        latest = hours[max(hours)] if hours else None
        current = latest is not None and last - parse_iso(latest.hour_utc) < CURRENT_WITHIN
        result = SourceSlo(source, objective, latest, current)
        for days in periods:
            result.periods.append(_period(hours, objective, last, days))
        for span in burn_hours:
            p = _count(hours, objective, last - HOUR, span)
            bad_share = p[1] / p[0] if p[0] else None
            rate = None if bad_share is None else bad_share / objective.allowed_bad_share
            result.burns.append(Burn(span, p[0], p[1], rate))
        found.append(result)
    return found


def _count(hours: dict[str, RollupRow], objective: Objective, last: datetime, span_hours: int) -> tuple[int, int]:
    """(measured, breached) over the ``span_hours`` hours ending with ``last``."""
    first = iso(last - (span_hours - 1) * HOUR)
    end = iso(last)
    measured = breached = 0
    for key, row in hours.items():
        if first <= key <= end:
            measured += 1
            breached += not objective.meets(row)
    return measured, breached


def _period(hours: dict[str, RollupRow], objective: Objective, last: datetime, days: int) -> Period:
    measured, breached = _count(hours, objective, last, days * 24)
    return Period(days, days * 24, measured, measured - breached, breached)


# One character per hour in a marks string (observability.latency.tally keeps one per source).
MET, BREACHED, GAP = "+", "x", "."


def from_marks(
    marks: str,
    objective: Objective,
    *,
    periods: tuple[int, ...] = PERIOD_DAYS,
    burn_hours: tuple[int, ...] = BURN_HOURS,
) -> tuple[list[Period], list[Burn]]:
    """The periods and burn rates of one source from its hourly marks (``MET``, ``BREACHED`` or ``GAP``
    per hour), the last character being the hour that holds now: the same figures :func:`evaluate`
    gives from that source's rollup rows, without the rows (burn rates over the complete hours before it)."""
    found_periods = []
    for days in periods:
        tail = marks[-days * 24 :]
        breached = tail.count(BREACHED)
        found_periods.append(Period(days, days * 24, tail.count(MET) + breached, tail.count(MET), breached))
    burns = []
    for span in burn_hours:
        tail = marks[:-1][-span:]
        breached = tail.count(BREACHED)
        measured = tail.count(MET) + breached
        rate = breached / measured / objective.allowed_bad_share if measured else None
        burns.append(Burn(span, measured, breached, rate))
    return found_periods, burns


def by_source(rows: Iterable[RollupRow]) -> dict[str, dict[str, RollupRow]]:
    """Rows grouped by source, then by hour (``hour_utc`` text)."""
    grouped: dict[str, dict[str, RollupRow]] = {}
    for row in rows:
        grouped.setdefault(row.source, {})[row.hour_utc] = row
    return grouped


def hourly_series(hours: dict[str, RollupRow], now: datetime, count: int) -> list[tuple[datetime, float | None]]:
    """p95 per hour over the ``count`` hours ending with the hour holding ``now``, from one source's
    rows by hour (:func:`by_source`); None for a gap."""
    last = hour_floor(now)
    first = last - (count - 1) * HOUR
    out: list[tuple[datetime, float | None]] = []
    for i in range(count):
        at = first + i * HOUR
        row = hours.get(iso(at))
        out.append((at, row.p95_ms if row is not None else None))
    return out
