"""A parser for the 5-field cron subset GitHub's ``on.schedule`` uses: numbers, lists, ranges, steps, ``*``.

All times are UTC, as on GitHub. Day-of-month and day-of-week combine as in Vixie cron: when
both are restricted a day matching either runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import pairwise

from observability.clock import UTC

_FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day of month", 1, 31), ("month", 1, 12), ("day of week", 0, 7))


class CronError(ValueError):
    """A cron expression outside the supported subset (says which field and why)."""


def _number(text: str, name: str, low: int, high: int) -> int:
    if not text.isdigit():
        raise CronError(f"{name} field: {text!r} is not a number (names like MON or JAN are not supported)")
    value = int(text)
    if not low <= value <= high:
        raise CronError(f"{name} field: {value} is outside {low}-{high}")
    return value


def _field(text: str, name: str, low: int, high: int) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        if not part:
            raise CronError(f"{name} field: empty list item in {text!r}")
        base, _, step_text = part.partition("/")
        step = 1
        if step_text or part.endswith("/"):
            step = _number(step_text, name, 1, high)
        if base == "*":
            start, end = low, high
        elif "-" in base:
            first, _, last = base.partition("-")
            start, end = _number(first, name, low, high), _number(last, name, low, high)
            if start > end:
                raise CronError(f"{name} field: range {base!r} runs backwards")
        else:
            start = _number(base, name, low, high)
            end = high if step_text else start  # "5/15" means 5-max/15, as in Vixie cron
        values.update(range(start, end + 1, step))
    return frozenset(values)


@dataclass(frozen=True)
class Cron:
    """One parsed expression; ``times(start, end)`` lists the minutes it fires in ``[start, end)``."""

    expression: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday (7 is folded into 0)
    days_restricted: bool
    weekdays_restricted: bool

    @classmethod
    def parse(cls, expression: str) -> Cron:
        parts = expression.split()
        if len(parts) != 5:
            raise CronError(
                f"{expression!r}: expected 5 fields (minute hour day-of-month month day-of-week), got {len(parts)}"
            )
        sets = [_field(text, *spec) for text, spec in zip(parts, _FIELDS, strict=True)]
        weekdays = frozenset(0 if d == 7 else d for d in sets[4])
        return cls(
            " ".join(parts),
            sets[0],
            sets[1],
            sets[2],
            sets[3],
            weekdays,
            not parts[2].startswith("*"),
            not parts[4].startswith("*"),
        )

    def runs_on(self, day: date) -> bool:
        if day.month not in self.months:
            return False
        by_day = day.day in self.days
        by_weekday = (day.isoweekday() % 7) in self.weekdays
        if self.days_restricted and self.weekdays_restricted:
            return by_day or by_weekday
        return by_day and by_weekday

    def times(self, start: datetime, end: datetime) -> Iterator[datetime]:
        """Every firing time in ``[start, end)`` (aware UTC datetimes), in order."""
        start, end = start.astimezone(UTC), end.astimezone(UTC)
        day = start.date()
        hours, minutes = sorted(self.hours), sorted(self.minutes)
        while day <= end.date():
            if self.runs_on(day):
                for hour in hours:
                    for minute in minutes:
                        at = datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)
                        if start <= at < end:
                            yield at
            day += timedelta(days=1)


_DAYS = ("Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat")


def describe(expression: str) -> str:
    """Plain words for the common shapes (``hourly, at :17``, ``daily 00:44``, ``Mon 00:29``); the
    cron itself, in backticks, otherwise. Every statement of a schedule in the docs and in the
    dashboard's README.json is made with this function, so they follow schedules.yaml."""
    cron = Cron.parse(expression)
    if cron.days_restricted or len(cron.months) != 12:
        return f"`{expression}`"
    times = ", ".join(f"{h:02d}:{m:02d}" for h in sorted(cron.hours) for m in sorted(cron.minutes))
    if len(cron.hours) == 24:
        minutes = sorted(cron.minutes)
        step = minutes[1] - minutes[0] if len(minutes) > 1 else 60
        if step == 60:
            every = "hourly"
        elif all(b - a == step for a, b in pairwise(minutes)) and 60 - minutes[-1] + minutes[0] == step:
            every = f"every {step} min"
        else:
            every = f"{len(minutes)} times an hour"
        times = f"{every}, at " + ", ".join(f":{m:02d}" for m in minutes)
    if cron.weekdays_restricted:
        return ", ".join(_DAYS[d] for d in sorted(cron.weekdays)) + " " + times
    return times if len(cron.hours) == 24 else f"daily {times}"
