"""When each job should run: configs/observability/schedules.yaml (verify's cadence table)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from observability.config import load_yaml
from observability.cron import Cron, CronError
from observability.errors import ConfigError


@dataclass(frozen=True)
class Schedule:
    """One cron entry of configs/observability/schedules.yaml: when ``job`` should run, and how late is missed."""

    name: str
    cron: str
    job: str
    workflow: str | None = None
    grace_minutes: int = 60


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
            )
        )
    return tuple(out)
