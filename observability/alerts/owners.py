"""Who an issue is for: the assignees, team and runbook of an alert kind (docs/alerts.md, "Owners").

``owners`` in configs/observability/alerts.yaml is read like an Alertmanager route tree: the most
specific entry that sets a field wins, each field on its own. An alert looks at its rule
(``latency_slo``), then its source (``source:latency``), then ``default``; a failure issue at
``job_failure``, then ``default``. The runbook has two more fallbacks after the configured entries
of the alert itself: the runbook its source wrote on the item, and the top-level ``runbook``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from observability.config import yaml_line
from observability.config.alerts import AlertsConfig, Owner
from observability.errors import ConfigError

FAILURE_KIND = "job_failure"
DEFAULT_KIND = "default"


@dataclass(frozen=True)
class Route:
    """What an issue of one kind carries."""

    assignees: tuple[str, ...] = ()
    team: str | None = None
    runbook: str = "docs/alerts.md"


def check(cfg: AlertsConfig, sources: list[str], path: Path | None, display: str) -> None:
    """A ``source:<name>`` entry must name a source ``alerts sync`` reads (built in or under ``sources``)."""
    for kind, _ in cfg.owners:
        if kind.startswith("source:") and kind[len("source:") :] not in sources:
            line = yaml_line(path, ["owners", kind]) if path is not None else None
            raise ConfigError(
                f"{display}{f':{line}' if line else ''}: field owners.{kind}: no such source "
                f"(known: {', '.join(sorted(sources))})"
            )


def _pick(entries: list[Owner], name: str):
    return next((value for e in entries if (value := getattr(e, name)) is not None), None)


def route(cfg: AlertsConfig, kinds: list[str], own_runbook: str | None = None) -> Route:
    """The route of an issue whose kinds, most specific first, are ``kinds`` (``default`` is added)."""
    table = dict(cfg.owners)
    specific = [table[k] for k in kinds if k in table]
    default = [table[DEFAULT_KIND]] if DEFAULT_KIND in table else []
    runbook = _pick(specific, "runbook") or own_runbook or _pick(default, "runbook") or cfg.runbook
    return Route(
        assignees=tuple(_pick(specific + default, "assignees") or ()),
        team=_pick(specific + default, "team"),
        runbook=runbook,
    )


def for_alert(cfg: AlertsConfig, rule: str, origin: str, own_runbook: str | None) -> Route:
    return route(cfg, [rule, f"source:{origin}"], own_runbook)


def for_failure(cfg: AlertsConfig) -> Route:
    return route(cfg, [FAILURE_KIND])


def missing(route: Route, applied: list[str] | None) -> list[str]:
    """The configured assignees not yet given to the issue (a login added to the config later)."""
    known = {login.lower() for login in applied or ()}
    return [login for login in route.assignees if login.lower() not in known]
