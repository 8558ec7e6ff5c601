"""The alert inbox's settings: configs/observability/alerts.yaml (docs/alerts.md)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from observability.config import load_yaml
from observability.errors import ConfigError


@dataclass(frozen=True)
class Owner:
    """One entry of ``owners``: who an issue of that kind is for. None: taken from the next entry."""

    assignees: tuple[str, ...] | None = None
    team: str | None = None
    runbook: str | None = None


@dataclass(frozen=True)
class Escalation:
    """``escalation:``: when a failure issue pages (docs/alerts.md, "A monitor that keeps failing")."""

    after_hours: float | None = 4.0
    after_failures: int | None = 8
    mention: str | None = None
    pagerduty: bool = True


@dataclass(frozen=True)
class AlertsConfig:
    """configs/observability/alerts.yaml; docs/alerts.md defines each setting."""

    repeat_interval_hours: float = 24.0
    owner: str = "observability-oncall"
    runbook: str = "docs/alerts.md"
    owners: tuple[tuple[str, Owner], ...] = ()  # (kind, entry) as written; observability/alerts/owners.py reads it
    failure_labels: tuple[str, ...] = ()
    failure_repeat_interval_hours: float | None = None  # None: repeat_interval_hours
    escalation: Escalation = Escalation()
    sources: tuple[tuple[str, str], ...] = ()  # (name, path) alert files
    slack_webhook_env: str = "OBS_ALERTS_SLACK_WEBHOOK"
    pagerduty_routing_key_env: str = "OBS_PAGERDUTY_ROUTING_KEY"
    webhook_url_env: str = "OBS_WEEKLY_WEBHOOK_URL"
    webhook_secret_env: str = "OBS_WEBHOOK_SECRET"
    mirror_timeout_seconds: float = 10.0
    github_timeout_seconds: float = 30.0
    github_max_attempts: int = 4
    max_rate_limit_wait_seconds: float = 300.0
    github_write_interval_seconds: float = 1.0  # load_alerts fills in DEFAULT_WRITE_INTERVAL_SECONDS

    @property
    def failure_interval_hours(self) -> float:
        """How often a failure issue that keeps failing gets a summary comment."""
        return self.failure_repeat_interval_hours or self.repeat_interval_hours


ALERTS_CONFIG = "configs/observability/alerts.yaml"
# GitHub's secondary-rate-limit guidance: at least a second between mutating calls. Read when the
# file is loaded (not baked into the dataclass) so the test suite can set 0 once (tests/conftest.py).
DEFAULT_WRITE_INTERVAL_SECONDS = 1.0


def _optional(data: dict, key: str, default, kind):
    """A threshold that may be set to null (off); absent means the default."""
    if key not in data:
        return default
    return None if data[key] is None else kind(data[key])


def load_alerts(path: Path | None, *, display: str) -> AlertsConfig:
    """Load alerts.yaml (every key optional) into an AlertsConfig."""
    data = load_yaml(path, "alert_inbox_config", display=display) if path is not None else {}
    d = AlertsConfig()
    mirrors, github, esc = data.get("mirrors", {}), data.get("github", {}), data.get("escalation", {})
    e = d.escalation
    names = [s["name"] for s in data.get("sources", [])]
    if len(set(names)) != len(names):
        raise ConfigError(f"{display}: field sources: each name must appear once")
    owners = data.get("owners", {})  # a source:<name> naming no source: alerts/owners.py check()
    return AlertsConfig(
        repeat_interval_hours=float(data.get("repeat_interval_hours", d.repeat_interval_hours)),
        owner=str(data.get("owner", d.owner)),
        runbook=str(data.get("runbook", d.runbook)),
        owners=tuple(
            (kind, Owner(tuple(o["assignees"]) if "assignees" in o else None, o.get("team"), o.get("runbook")))
            for kind, o in owners.items()
        ),
        failure_labels=tuple(data.get("failure_labels", ())),
        failure_repeat_interval_hours=(
            float(data["failure_repeat_interval_hours"]) if "failure_repeat_interval_hours" in data else None
        ),
        escalation=Escalation(
            after_hours=_optional(esc, "after_hours", e.after_hours, float),
            after_failures=_optional(esc, "after_failures", e.after_failures, int),
            mention=esc.get("mention", e.mention),
            pagerduty=bool(esc.get("pagerduty", e.pagerduty)),
        ),
        sources=tuple((s["name"], s["path"]) for s in data.get("sources", [])),
        slack_webhook_env=mirrors.get("slack_webhook_env", d.slack_webhook_env),
        pagerduty_routing_key_env=mirrors.get("pagerduty_routing_key_env", d.pagerduty_routing_key_env),
        webhook_url_env=mirrors.get("webhook_url_env", d.webhook_url_env),
        webhook_secret_env=mirrors.get("webhook_secret_env", d.webhook_secret_env),
        mirror_timeout_seconds=float(mirrors.get("timeout_seconds", d.mirror_timeout_seconds)),
        github_timeout_seconds=float(github.get("timeout_seconds", d.github_timeout_seconds)),
        github_max_attempts=int(github.get("max_attempts", d.github_max_attempts)),
        max_rate_limit_wait_seconds=float(github.get("max_rate_limit_wait_seconds", d.max_rate_limit_wait_seconds)),
        github_write_interval_seconds=float(github.get("write_interval_seconds", DEFAULT_WRITE_INTERVAL_SECONDS)),
    )
