"""Which part of ops/ each job reads and writes: the scope of ``state pull --for JOB``.

A scope has two lists of path patterns (``*`` within one path component, ``**`` across
components). ``reads`` is what a pull brings onto the runner; ``writes`` is what the job may add
without reading it first (new archives, new log segments), so a push also sends those. Every
other file of the snapshot is carried unchanged from the store by the push, never downloaded,
never re-uploaded and never deleted because it is absent locally.

Every run appends to the automation log and bumps its sequence, and writes its own heartbeat, so
those are in every scope. Old log segments (``ops/automation_runs/``) are written, never read.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache

from observability import jobs
from observability.errors import ConfigError

LOG = ("ops/automation_runs.log", "ops/automation_runs.sequence")
LOG_SEGMENTS = ("ops/automation_runs/**",)
ALERTS = ("ops/alert_inbox.json", "ops/alerts_heartbeat.json")
EVERYTHING = "all"


@dataclass(frozen=True)
class Scope:
    """One job's view of ops/: the patterns it reads (pulled) and the ones it only writes."""

    name: str
    reads: tuple[str, ...]
    writes: tuple[str, ...] = ()

    @property
    def everything(self) -> bool:
        return self.name == EVERYTHING

    def pulls(self, path: str) -> bool:
        """True when a pull brings ``path`` (and a push may change or delete it)."""
        return _matches(self.reads, path)

    def covers(self, path: str) -> bool:
        """True when a push considers a local ``path`` at all (read or write patterns)."""
        return _matches(self.reads, path) or _matches(self.writes, path)

    def as_dict(self) -> dict:
        return {"name": self.name, "reads": list(self.reads), "writes": list(self.writes)}


def _scope(name: str, reads: Iterable[str], writes: Iterable[str] = ()) -> Scope:
    beat = (f"ops/{jobs.heartbeat_name(name)}",)
    return Scope(name, tuple(dict.fromkeys((*reads, *LOG, *beat))), tuple(dict.fromkeys((*writes, *LOG_SEGMENTS))))


LATENCY_READS = (
    "ops/latency_state.json",
    "ops/signal_latency.csv",
    "ops/signal_latency_rollup.csv",
    "ops/signal_latency_rollup/**",
    "ops/signal_latency_rejects.csv",
    "ops/signal_latency_archive/manifest.jsonl",
)

# The registry. A workflow's cycle also syncs the alert inbox, so each job that feeds it carries
# the inbox cache (ops/alert_inbox.json) and the alerts heartbeat.
SCOPES: Mapping[str, Scope] = {
    scope.name: scope
    for scope in (
        _scope("latency", (*LATENCY_READS, *ALERTS), ("ops/signal_latency_archive/**",)),
        _scope(
            "weekly",
            ("ops/signal_latency_rollup.csv", "ops/signal_latency_rollup/**", "ops/weekly_report_history/**", *ALERTS),
        ),
        _scope(
            "dashboard",
            (
                "ops/signal_latency_rollup.csv",
                "ops/signal_latency_rollup/**",
                "ops/dashboard_export_history/**",
                "ops/dashboard_export_archive_manifest.jsonl",
                "ops/dashboard_export.sequence",
                *ALERTS,
            ),
        ),
        _scope(
            "alerts",
            (
                "ops/latency_state.json",
                "ops/verify_alerts.json",
                "ops/weekly_report_heartbeat.json",
                "ops/dashboard_export_heartbeat.json",
                "ops/*_alerts.json",
                *ALERTS,
            ),
        ),
        _scope(
            "sync",
            (
                "ops/weekly_report_history/**",
                "ops/dashboard_export_history/**",
                "ops/dashboard_export_archive_manifest.jsonl",
                "ops/sync_prune_log.jsonl",
                *ALERTS,
            ),
        ),
        _scope("inputs", ("ops/inputs_state.json",)),
        # CI telemetry: its history under ops/ci/, its alert file (which the alerts scope reads too).
        _scope("ci", ("ops/ci/**", "ops/ci_alerts.json", *ALERTS)),
        # verify traces every artefact a run listed (archives included) and reads every heartbeat.
        Scope("verify", ("ops/**",)),
        Scope(EVERYTHING, ("ops/**",)),
    )
}


def get(name: str | None) -> Scope:
    """The scope of job ``name`` (None: everything), or of several joined by ``+`` (a cycle's steps,
    e.g. ``dashboard+inputs+sync``); an unknown name is a ConfigError (exit 2)."""
    if (
        name is None or name == jobs.job("workflow").workflow
    ):  # the chain runs latency, weekly and dashboard: everything
        return SCOPES[EVERYTHING]
    parts = name.split("+")
    unknown = [part for part in parts if part not in SCOPES]
    if unknown:
        raise ConfigError(
            f"--for {unknown[0]!r}: unknown job (one of {', '.join(sorted(SCOPES))}, or several joined by +)"
        ) from None
    if len(parts) == 1:
        return SCOPES[name]
    if any(SCOPES[part].everything or SCOPES[part].reads == ("ops/**",) for part in parts):
        return SCOPES[EVERYTHING]
    return Scope(
        name,
        tuple(dict.fromkeys(p for part in parts for p in SCOPES[part].reads)),
        tuple(dict.fromkeys(p for part in parts for p in SCOPES[part].writes)),
    )


def from_record(data: object) -> Scope:
    """The scope a pull recorded in ops/.state_pulled.json (absent: everything, as before scopes)."""
    if not isinstance(data, dict):
        return SCOPES[EVERYTHING]
    reads, writes = data.get("reads"), data.get("writes", [])
    if (
        not isinstance(reads, list)
        or not isinstance(writes, list)
        or not all(isinstance(p, str) for p in (*reads, *writes))
    ):
        raise ValueError("scope: reads and writes must be lists of patterns")
    return Scope(str(data.get("name", "")), tuple(reads), tuple(writes))


def _matches(patterns: tuple[str, ...], path: str) -> bool:
    return _union(patterns).fullmatch(path) is not None


@lru_cache(maxsize=64)
def _union(patterns: tuple[str, ...]) -> re.Pattern[str]:
    """One regular expression for all ``patterns`` (a pull tests thousands of paths against them)."""
    return re.compile("|".join(f"(?:{_translate(p)})" for p in patterns) or "(?!)")


def _translate(pattern: str) -> str:
    out = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return "".join(out)
