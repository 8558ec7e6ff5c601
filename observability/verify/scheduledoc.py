"""The schedule table of docs/schedules.md, generated from schedules.yaml (a test keeps them equal).

Regenerate: ``python -m observability.verify.scheduledoc ops-template/configs/observability/schedules.yaml``.
"""

from __future__ import annotations

import sys
from datetime import datetime, timedelta
from itertools import pairwise
from pathlib import Path

from observability.clock import UTC
from observability.config.schedules import Schedule, load_schedules
from observability.cron import Cron
from observability.verify.heartbeats import limit_for

BEGIN = "<!-- schedule-table:begin (generated from schedules.yaml; do not edit by hand) -->"
END = "<!-- schedule-table:end -->"
_DAYS = ("Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat")
# any fixed reference works: only the gaps between firings matter
_REFERENCE = datetime(2026, 1, 5, tzinfo=UTC)


def describe(expression: str) -> str:
    """Plain words for the common shapes; the cron itself otherwise."""
    cron = Cron.parse(expression)
    if cron.days_restricted or len(cron.months) != 12:
        return f"`{expression}`"
    times = ", ".join(f"{h:02d}:{m:02d}" for h in sorted(cron.hours) for m in sorted(cron.minutes))
    if len(cron.hours) == 24:
        minutes = sorted(cron.minutes)
        step = minutes[1] - minutes[0] if len(minutes) > 1 else 60
        every = (
            f"every {step} min"
            if all(b - a == step for a, b in pairwise(minutes)) and 60 - minutes[-1] + minutes[0] == step
            else f"{len(minutes)} times an hour"
        )
        times = f"{every}, at " + ", ".join(f":{m:02d}" for m in minutes)
    if cron.weekdays_restricted:
        return ", ".join(_DAYS[d] for d in sorted(cron.weekdays)) + " " + times
    return times if len(cron.hours) == 24 else f"daily {times}"


def table(schedules: tuple[Schedule, ...], *, max_heartbeat_age_hours: float = 6.0) -> str:
    rows = [
        "| schedule | job | workflow | cron (UTC) | when (UTC) | grace | heartbeat stale after |",
        "| --- | --- | --- | --- | --- | ---: | ---: |",
    ]
    for s in schedules:
        limit = limit_for(s.job, schedules, timedelta(hours=max_heartbeat_age_hours), _REFERENCE)
        rows.append(
            f"| `{s.name}` | `{s.job}` | `{s.workflow or '-'}` | `{s.cron}` | {describe(s.cron)} | "
            f"{s.grace_minutes} min | {limit.total_seconds() / 3600:g} h |"
        )
    return "\n".join([BEGIN, *rows, END])


def rewrite(doc: Path, schedules: tuple[Schedule, ...]) -> None:
    """Replace the table between the markers of ``doc`` (docs/schedules.md) with a fresh one."""
    from observability import fsio

    text = doc.read_text(encoding="utf-8")
    start, end = text.index(BEGIN), text.index(END) + len(END)
    fsio.atomic_write_text(doc, text[:start] + table(schedules) + text[end:])


if __name__ == "__main__":  # python -m observability.verify.scheduledoc [schedules.yaml [docs/schedules.md]]
    source = Path(sys.argv[1] if len(sys.argv) > 1 else "ops-template/configs/observability/schedules.yaml")
    rewrite(
        Path(sys.argv[2] if len(sys.argv) > 2 else "docs/schedules.md"), load_schedules(source, display=str(source))
    )
