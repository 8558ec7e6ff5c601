"""The schedule tables of docs/schedules.md and docs/dashboard.md, generated from schedules.yaml
(tests/test_verify_docs.py and tests/test_schedule_docs.py keep them equal).

Regenerate both: ``python -m observability.verify.scheduledoc ops-template/configs/observability/schedules.yaml``.
"""

from __future__ import annotations

import sys
from datetime import datetime, timedelta
from pathlib import Path

from observability import schemas
from observability.clock import UTC
from observability.config.schedules import Schedule, load_schedules, refresh
from observability.cron import describe
from observability.verify.heartbeats import limit_for

BEGIN = "<!-- schedule-table:begin (generated from schedules.yaml; do not edit by hand) -->"
END = "<!-- schedule-table:end -->"
REFRESH_BEGIN = "<!-- refresh-table:begin (generated from schedules.yaml; do not edit by hand) -->"
REFRESH_END = "<!-- refresh-table:end -->"
# any fixed reference works: only the gaps between firings matter
_REFERENCE = datetime(2026, 1, 5, tzinfo=UTC)


def table(schedules: tuple[Schedule, ...], *, max_heartbeat_age_hours: float = 6.0) -> str:
    rows = [
        "| schedule | job | workflow | cron (UTC) | when (UTC) | datasets | grace | heartbeat stale after |",
        "| --- | --- | --- | --- | --- | --- | ---: | ---: |",
    ]
    for s in schedules:
        limit = limit_for(s.job, schedules, timedelta(hours=max_heartbeat_age_hours), _REFERENCE)
        rows.append(
            f"| `{s.name}` | `{s.job}` | `{s.workflow or '-'}` | `{s.cron}` | {describe(s.cron)} | "
            f"{_datasets(s)} | {s.grace_minutes} min | {limit.total_seconds() / 3600:g} h |"
        )
    return "\n".join([BEGIN, *rows, END])


def _datasets(schedule: Schedule) -> str:
    if schedule.job != "dashboard":
        return "-"
    return ", ".join(f"`{d}`" for d in schedule.datasets) if schedule.datasets else "all"


def dashboard_datasets() -> tuple[str, ...]:
    """The dataset names schedules.yaml accepts (its schema's enum; a test keeps it equal to the dashboard's)."""
    entry = schemas.load_schema("verify_schedules")["properties"]["schedules"]["additionalProperties"]
    return tuple(entry["properties"]["datasets"]["items"]["enum"])


def refresh_table(schedules: tuple[Schedule, ...]) -> str:
    """docs/dashboard.md's table: when each dataset is refreshed (the same words README.json uses)."""
    rows = ["| dataset | refreshed (UTC; schedule in schedules.yaml) |", "| --- | --- |"]
    rows += [f"| `{name}` | {refresh(schedules, name)} |" for name in dashboard_datasets()]
    return "\n".join([REFRESH_BEGIN, *rows, REFRESH_END])


def _replace(doc: Path, begin: str, end_marker: str, block: str) -> None:
    from observability import fsio

    text = doc.read_text(encoding="utf-8")
    start, end = text.index(begin), text.index(end_marker) + len(end_marker)
    fsio.atomic_write_text(doc, text[:start] + block + text[end:])


def rewrite(doc: Path, schedules: tuple[Schedule, ...]) -> None:
    """Replace the table between the markers of ``doc`` (docs/schedules.md) with a fresh one."""
    _replace(doc, BEGIN, END, table(schedules))


def rewrite_refresh(doc: Path, schedules: tuple[Schedule, ...]) -> None:
    """Replace the refresh table of ``doc`` (docs/dashboard.md) with a fresh one."""
    _replace(doc, REFRESH_BEGIN, REFRESH_END, refresh_table(schedules))


if __name__ == "__main__":  # python -m observability.verify.scheduledoc [schedules.yaml [docs/]]
    source = Path(sys.argv[1] if len(sys.argv) > 1 else "ops-template/configs/observability/schedules.yaml")
    docs = Path(sys.argv[2] if len(sys.argv) > 2 else "docs")
    loaded = load_schedules(source, display=str(source))
    rewrite(docs / "schedules.md", loaded)
    rewrite_refresh(docs / "dashboard.md", loaded)
