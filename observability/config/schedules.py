"""When each job should run: configs/observability/schedules.yaml (verify's cadence table).

The one place schedules come from: the caller workflows carry the same crons (tests/test_workflows.py),
``verify`` judges missed runs by them, and every statement of a schedule in the docs and in the
dashboard's README.json is written from them with :func:`refresh` (tests/test_schedule_docs.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from observability.config import load_yaml
from observability.cron import Cron, CronError, describe
from observability.errors import ConfigError


@dataclass(frozen=True)
class Schedule:
    """One cron entry of configs/observability/schedules.yaml: when ``job`` should run, and how late is missed."""

    name: str
    cron: str
    job: str
    workflow: str | None = None
    grace_minutes: int = 60
    datasets: tuple[str, ...] = ()  # dashboard only: the datasets it exports; () for all


SCHEDULES_CONFIG = "configs/observability/schedules.yaml"


def load_schedules(path: Path, *, display: str) -> tuple[Schedule, ...]:
    """Load schedules.yaml (schema ``verify_schedules``); every cron must parse (names file and field)."""
    data = load_yaml(path, "verify_schedules", display=display)
    out = []
    for name, entry in data["schedules"].items():
        try:
            cron = Cron.parse(entry["cron"])
        except CronError as exc:
            raise ConfigError(f"{display}: field schedules.{name}.cron: {exc}") from None
        out.append(
            Schedule(
                name=name,
                cron=cron.expression,
                job=entry["job"],
                workflow=entry.get("workflow"),
                grace_minutes=int(entry.get("grace_minutes", 60)),
                datasets=tuple(entry.get("datasets", ())),
            )
        )
    return tuple(out)


def refresh(schedules: tuple[Schedule, ...], dataset: str, *, job: str = "dashboard") -> str:
    """When ``dataset`` of ``job`` is refreshed, in words: each schedule that exports it, e.g.
    ``hourly, at :17 UTC (dashboard-hourly); daily 00:44 UTC (dashboard-daily)``."""
    parts = [
        f"{describe(s.cron)} UTC ({s.name})"
        for s in schedules
        if s.job == job and (not s.datasets or dataset in s.datasets)
    ]
    return "; ".join(parts) or f"not scheduled (no {job} entry in {SCHEDULES_CONFIG} exports it)"
