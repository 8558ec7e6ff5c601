"""Missed and late scheduled runs: the cron slots of schedules.yaml against the log's started_at values.

A slot is judged once its grace has passed, and only when that moment falls in the window, so
consecutive nightly windows judge every slot exactly once, weekly ones included. Each logged run
(any status: a skipped run still fired) covers at most one slot: the latest slot it can belong to
within grace. A run after the grace but before the next slot makes the slot late; no run, missed.
Slots before the log's first line are not judged (nothing was deployed yet).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from observability import clock
from observability.config.schedules import Schedule
from observability.cron import Cron
from observability.verify.findings import Finding


@dataclass(frozen=True)
class Run:
    started: datetime
    job_id: str
    cron: str | None = None  # github.schedule when the run says which cron fired it


@dataclass
class _Slot:
    schedule: Schedule
    at: datetime
    next_at: datetime | None
    run: Run | None = None
    late: bool = False

    @property
    def deadline(self) -> datetime:
        return self.at + timedelta(minutes=self.schedule.grace_minutes)


@dataclass
class ScheduleReport:
    schedule: Schedule
    judged: int = 0
    on_time: int = 0
    late: int = 0
    missed: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        s = self.schedule
        return {
            "schedule": s.name,
            "job": s.job,
            "cron": s.cron,
            "grace_minutes": s.grace_minutes,
            "judged": self.judged,
            "on_time": self.on_time,
            "late": self.late,
            "missed": len(self.missed),
        }


def runs_from(records: list[dict[str, Any]]) -> dict[str, list[Run]]:
    """Runs per job from log records, oldest first (unreadable timestamps are left out)."""
    out: dict[str, list[Run]] = {}
    for record in records:
        try:
            started = clock.parse_iso(record["started_at"])
        except (KeyError, TypeError, ValueError):
            continue
        cron = (record.get("github") or {}).get("schedule")
        out.setdefault(record["job"], []).append(
            Run(started, record["job_id"], " ".join(cron.split()) if cron else None)
        )
    for runs in out.values():
        runs.sort(key=lambda r: r.started)
    return out


def check(
    runs: dict[str, list[Run]],
    schedules: tuple[Schedule, ...],
    *,
    now: datetime,
    since: datetime,
    log_start: datetime | None,
) -> tuple[list[ScheduleReport], list[Finding]]:
    reports = {s.name: ScheduleReport(s) for s in schedules}
    findings: list[Finding] = []
    if log_start is None:
        return list(reports.values()), findings
    for job in sorted({s.job for s in schedules}):
        mine = [s for s in schedules if s.job == job]
        slots: list[_Slot] = []
        for schedule in mine:
            grace = timedelta(minutes=schedule.grace_minutes)
            # look back a day before the window so runs are matched to the slots they belong to
            start = max(since - grace - timedelta(days=1), log_start)
            fired = list(Cron.parse(schedule.cron).times(start, now - grace + timedelta(seconds=1)))
            following = Cron.parse(schedule.cron).times(now - grace + timedelta(seconds=1), now + timedelta(days=400))
            upcoming = next(following, None)
            for index, at in enumerate(fired):
                slots.append(_Slot(schedule, at, fired[index + 1] if index + 1 < len(fired) else upcoming))
        earliest = min((slot.at for slot in slots), default=now)
        job_runs = [r for r in runs.get(job, []) if earliest <= r.started <= now]  # older runs match no slot
        used: set[int] = set()
        for index, run in enumerate(job_runs):
            candidates = [
                s
                for s in slots
                if s.run is None
                and s.at <= run.started <= s.deadline
                and (run.cron is None or run.cron == s.schedule.cron)
            ]
            if candidates:
                best = max(candidates, key=lambda s: (s.at, s.schedule.name))
                best.run = run
                used.add(index)
        for slot in sorted(slots, key=lambda s: s.at):
            if slot.run is not None:
                continue
            end = slot.next_at or now
            for index, run in enumerate(job_runs):
                if (
                    index not in used
                    and slot.deadline < run.started < end
                    and (run.cron is None or run.cron == slot.schedule.cron)
                ):
                    slot.run, slot.late = run, True
                    used.add(index)
                    break
        ran_in_window = any(since <= r.started <= now for r in runs.get(job, []))
        for slot in sorted(slots, key=lambda s: s.at):
            if not (slot.deadline > since and slot.at >= log_start):
                continue
            report = reports[slot.schedule.name]
            report.judged += 1
            schedule = slot.schedule
            evidence = {
                "schedule": schedule.name,
                "cron": schedule.cron,
                "slot": clock.iso(slot.at),
                "grace_minutes": schedule.grace_minutes,
                "workflow": schedule.workflow,
            }
            if slot.run is not None and not slot.late:
                report.on_time += 1
            elif slot.run is not None:
                report.late += 1
                late = int((slot.run.started - slot.at).total_seconds() // 60)
                findings.append(
                    Finding(
                        "missed_run",
                        job,
                        f"{schedule.name} ({schedule.cron}): the {clock.iso(slot.at)} run started {late} min late "
                        f"({slot.run.job_id}; grace {schedule.grace_minutes} min)",
                        at=slot.at,
                        evidence={**evidence, "late_minutes": late, "run_job_id": slot.run.job_id},
                    )
                )
            else:
                report.missed.append(clock.iso(slot.at))
                findings.append(
                    Finding(
                        "missed_run",
                        job,
                        f"{schedule.name} ({schedule.cron}): no run for the {clock.iso(slot.at)} slot "
                        f"within {schedule.grace_minutes} min",
                        at=slot.at,
                        evidence=evidence,
                        severity=None if ran_in_window else "critical",
                    )
                )
    return list(reports.values()), findings
