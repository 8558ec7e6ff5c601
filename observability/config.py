"""Job configuration: YAML files validated against schemas/, loaded once into frozen dataclasses.

Errors name the file, the line and the field, and suggest the nearest known key for a typo.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from observability import fsio, plainyaml, schemas
from observability.errors import ConfigError


def _line_of(root, parts: list) -> int | None:
    """1-based line of the YAML node at ``parts`` (deepest node found)."""
    import yaml

    node, line = root, (root.start_mark.line + 1 if root is not None else None)
    for part in parts:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if getattr(k, "value", None) == part), None)
            if match is None:
                break
            node = match
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            break
        line = node.start_mark.line + 1
    return line


def _hint(schema: dict, parts: list, message: str) -> str:
    if "Additional properties are not allowed" not in message:
        return ""
    def deref(node: dict) -> dict:
        while isinstance(node, dict) and str(node.get("$ref", "")).startswith("#/$defs/"):
            node = schema.get("$defs", {}).get(node["$ref"].split("/", 2)[2], {})
        return node

    node = deref(schema)
    for part in parts:
        node = node.get("properties", {}).get(part) if not isinstance(part, int) else node.get("items", {})
        if node is None:
            return ""
        node = deref(node)
    known = list(node.get("properties", {}))
    bad = message.split("'")[1] if "'" in message else ""
    import difflib  # only on this error path

    close = difflib.get_close_matches(bad, known, n=1)
    return f" (did you mean {close[0]!r}?)" if close else f" (known keys: {', '.join(sorted(known))})"


def _non_finite(node, parts: list):
    """Paths of every nan or infinite float in a parsed document (YAML's .nan and .inf); a nan
    compares false to every bound, so a schema's minimum or maximum never catches it."""
    if isinstance(node, float) and not math.isfinite(node):
        yield parts
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _non_finite(value, [*parts, key])
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _non_finite(value, [*parts, index])


def _compose(text: str):
    """The node tree of a document already loaded (for line numbers); None if it cannot be built."""
    import yaml  # only on an error path

    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except (yaml.YAMLError, RecursionError):
        return None


def _safe_load(text: str, display: str):
    """``yaml.safe_load`` of ``text`` and whether it nests too deep; ConfigError if not YAML."""
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{display}{where}: not valid YAML ({problem})") from None
    except RecursionError:  # the YAML composer recurses once per level
        return None, True
    return data, fsio.nested_too_deep(data)


def load_yaml(path: Path, schema_name: str, *, display: str) -> dict[str, Any]:
    """Parse and validate one YAML config; raise ConfigError naming file, line and field."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{display}: config file not found") from None
    except IsADirectoryError:
        raise ConfigError(f"{display}: is a directory, expected a config file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{display}: cannot read config ({exc})") from None
    # Plain configs (ours are) are read without importing PyYAML; anything else, and every error
    # message, is PyYAML's (observability/plainyaml.py answers only where it equals safe_load).
    # The node tree (for line numbers) is composed only when an error needs a line.
    data = plainyaml.load(text)
    if data is not plainyaml.DECLINED:
        too_deep = fsio.nested_too_deep(data)
    else:
        data, too_deep = _safe_load(text, display)
    if too_deep:
        raise ConfigError(f"{display}: not valid YAML (nested deeper than {fsio.MAX_JSON_DEPTH} levels)")
    if data is None:
        data = {}
    for parts in _non_finite(data, []):
        line = _line_of(_compose(text), parts)
        raise ConfigError(f"{display}{f':{line}' if line else ''}: field {schemas.json_path(parts)}: "
                          "not a finite number (.nan and .inf are refused)")
    problems = schemas.errors(schema_name, data)
    if problems:
        # A misspelt key also leaves a required one missing: name the misspelling (it gets a hint).
        problems.sort(key=lambda item: (schemas.json_path(item[0]), "Additional properties" not in item[1]))
        parts, message = problems[0]
        line = _line_of(_compose(text), parts)
        where = f":{line}" if line else ""
        hint = _hint(schemas.load_schema(schema_name), parts, message)
        more = f" (+{len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
        raise ConfigError(f"{display}{where}: field {schemas.json_path(parts)}: {message}{hint}{more}")
    return data


def resolve(workspace, given: str | None, default: str) -> tuple[Path | None, str]:
    """The config file a job reads: the one given (which must exist), else the workspace default
    when present, else none (built-in defaults). Returns (path or None, how to name it in errors)."""
    if given:
        path = workspace.path(given)
        return path, workspace.rel(path)
    path = workspace.path(default)
    return (path, workspace.rel(path)) if path.exists() else (None, "(defaults)")


@dataclass(frozen=True)
class InputSpec:
    """One upstream signal log read incrementally."""

    path: str
    source: str | None = None  # default source for rows that carry none (legacy format)


@dataclass(frozen=True)
class ProbeSpec:
    """One HTTP health probe; the URL may come from an environment variable (a secret)."""

    name: str
    url: str = field(repr=False)
    timeout_seconds: float = 10.0


@dataclass(frozen=True)
class LatencyConfig:
    """The latency job's settings: configs/observability/latency_alert.yaml, then flags and env."""

    slo_p95_ms: float = 120000.0
    warning_threshold: int = 2
    critical_threshold: int = 3
    failure_rate_threshold: float = 0.2
    window_minutes: int = 15
    no_data_after_minutes: int = 60
    cadence_minutes: int = 15
    owner: str = "observability-oncall"
    runbook: str = "docs/runbook.md#latency"
    sources: tuple[str, ...] = ()
    inputs: tuple[InputSpec, ...] = ()
    probes: tuple[ProbeSpec, ...] = ()
    slo_source: str = "default"
    stale_after_hours: int = 168
    source_stale_after_hours: tuple[tuple[str, int], ...] = ()
    drop_stale_after_days: int = 30

    def stale_after(self, source: str) -> int:
        """Hours of silence after which ``source`` is ``stale`` (its own limit, else the default)."""
        return dict(self.source_stale_after_hours).get(source, self.stale_after_hours)


LATENCY_CONFIG = "configs/observability/latency_alert.yaml"


def load_latency(path: Path | None, *, display: str, slo_ms: float | None, environ=os.environ) -> LatencyConfig:
    """Load latency_alert.yaml (upstream keys kept) and apply the SLO precedence.

    SLO precedence: ``--slo-ms`` > env LATENCY_SLO_MS > config ``slo_p95_ms`` > 120000.
    """
    data = load_yaml(path, "latency_config", display=display) if path is not None else {}
    probes = []
    for index, probe in enumerate(data.get("probes", [])):
        url = probe.get("url")
        if url is None:
            env_name = probe["url_env"]
            from observability import secrets

            secret = secrets.from_env(env_name, environ=environ)
            if secret is None:
                raise ConfigError(f"{display}: field probes[{index}].url_env: environment variable {env_name} is not set")
            url = secret.value
        probes.append(ProbeSpec(probe["name"], url, float(probe.get("timeout_seconds", 10))))
    slo, slo_source = float(data.get("slo_p95_ms", 120000)), "config" if "slo_p95_ms" in data else "default"
    env_slo = environ.get("LATENCY_SLO_MS", "").strip()
    if env_slo:
        try:
            slo = float(env_slo)
        except ValueError:
            raise ConfigError(f"LATENCY_SLO_MS: {env_slo!r} is not a number") from None
        if not math.isfinite(slo) or slo <= 0:
            raise ConfigError(f"LATENCY_SLO_MS: {env_slo!r} must be a finite number greater than 0")
        slo_source = "env"
    if slo_ms is not None:
        slo, slo_source = float(slo_ms), "flag"
    if data.get("critical_threshold", 3) < data.get("warning_threshold", 2):
        raise ConfigError(f"{display}: field critical_threshold: must be >= warning_threshold")
    no_data = int(data.get("no_data_after_minutes", 60))
    stale_limits = {"stale_after_hours": int(data.get("stale_after_hours", 168)),
                    **{f"source_stale_after_hours.{k}": int(v) for k, v in data.get("source_stale_after_hours", {}).items()}}
    for key, hours in stale_limits.items():
        # stale follows no_data: a limit inside the no_data window would skip no_data altogether.
        if hours * 60 <= no_data:
            raise ConfigError(f"{display}: field {key}: {hours} h must be longer than no_data_after_minutes "
                              f"({no_data} min)")
    return LatencyConfig(
        slo_p95_ms=slo,
        slo_source=slo_source,
        warning_threshold=int(data.get("warning_threshold", 2)),
        critical_threshold=int(data.get("critical_threshold", 3)),
        failure_rate_threshold=float(data.get("failure_rate_threshold", 0.2)),
        window_minutes=int(data.get("window_minutes", 15)),
        no_data_after_minutes=no_data,
        stale_after_hours=stale_limits["stale_after_hours"],
        source_stale_after_hours=tuple(sorted((k, int(v)) for k, v in data.get("source_stale_after_hours", {}).items())),
        drop_stale_after_days=int(data.get("drop_stale_after_days", 30)),
        cadence_minutes=int(data.get("cadence_minutes", 15)),
        owner=str(data.get("owner", "observability-oncall")),
        runbook=str(data.get("runbook", "docs/runbook.md#latency")),
        sources=tuple(data.get("sources", ())),
        inputs=tuple(InputSpec(i["path"], i.get("source")) for i in data.get("inputs", ())),
        probes=tuple(probes),
    )


@dataclass(frozen=True)
class WeeklyConfig:
    """configs/observability/weekly_report.yaml; docs/weekly.md defines each setting."""

    runs_index: str = "runs/index.csv"
    portfolio_summary: str = "reports/portfolio_summary.json"
    telemetry: str = "reports/portfolio_samples/router_demo/telemetry.json"
    latency_rollup: str = "ops/signal_latency_rollup.csv"
    latency_alerts_dir: str = "out/latency_alerts"
    dashboard_manifest: str = "out/dashboard/manifest.json"
    baseline_pattern: str = "(?!grid_)"
    baseline_limit: int = 10
    rolling_window_days: int = 28
    rolling_limit: int = 20
    ev_trend_days: int = 7
    win_rate_confidence: float = 0.95
    budget_warning_ratio: float = 0.8
    budget_breach_ratio: float = 1.0
    max_slippage_bps: float = 5.0
    max_reject_rate: float = 0.05
    latency_critical_streak: int = 3
    owner: str = "research-ops"
    runbook: str = "docs/weekly.md#runbook"
    attachments_base_uri: str | None = None
    timeout_seconds: float = 30.0
    max_wait_seconds: float = 900.0
    retry_after_cap_seconds: float = 600.0
    # Hours after which an input is `stale` (docs/weekly.md, "Freshness"); no entry: age shown, never stale.
    max_age_hours: tuple[tuple[str, int], ...] = (
        ("dashboard_manifest", 48), ("latency_rollup", 48), ("portfolio_summary", 192), ("runs_index", 672),
        ("telemetry", 48))

    def max_age(self, name: str) -> int | None:
        return dict(self.max_age_hours).get(name)


WEEKLY_CONFIG = "configs/observability/weekly_report.yaml"


def load_weekly(path: Path | None, *, display: str) -> WeeklyConfig:
    """Load weekly_report.yaml (every key optional) into a WeeklyConfig."""
    import re

    data = load_yaml(path, "weekly_config", display=display) if path is not None else {}
    inputs, cohorts, budget = data.get("inputs", {}), data.get("cohorts", {}), data.get("budget", {})
    execution, delivery = data.get("execution", {}), data.get("delivery", {})
    defaults = WeeklyConfig()
    cfg = WeeklyConfig(
        **{k: str(inputs.get(k, getattr(defaults, k))) for k in
           ("runs_index", "portfolio_summary", "telemetry", "latency_rollup", "latency_alerts_dir",
            "dashboard_manifest")},
        baseline_pattern=str(cohorts.get("baseline_pattern", defaults.baseline_pattern)),
        baseline_limit=int(cohorts.get("baseline_limit", defaults.baseline_limit)),
        rolling_window_days=int(cohorts.get("rolling_window_days", defaults.rolling_window_days)),
        rolling_limit=int(cohorts.get("rolling_limit", defaults.rolling_limit)),
        ev_trend_days=int(data.get("ev", {}).get("trend_days", defaults.ev_trend_days)),
        win_rate_confidence=float(data.get("win_rate_lcb", {}).get("confidence", defaults.win_rate_confidence)),
        budget_warning_ratio=float(budget.get("warning_ratio", defaults.budget_warning_ratio)),
        budget_breach_ratio=float(budget.get("breach_ratio", defaults.budget_breach_ratio)),
        max_slippage_bps=float(execution.get("max_slippage_bps", defaults.max_slippage_bps)),
        max_reject_rate=float(execution.get("max_reject_rate", defaults.max_reject_rate)),
        latency_critical_streak=int(data.get("latency", {}).get("critical_streak", defaults.latency_critical_streak)),
        owner=str(data.get("owner", defaults.owner)),
        runbook=str(data.get("runbook", defaults.runbook)),
        attachments_base_uri=data.get("attachments_base_uri", defaults.attachments_base_uri),
        timeout_seconds=float(delivery.get("timeout_seconds", defaults.timeout_seconds)),
        max_wait_seconds=float(delivery.get("max_wait_seconds", defaults.max_wait_seconds)),
        retry_after_cap_seconds=float(delivery.get("retry_after_cap_seconds", defaults.retry_after_cap_seconds)),
        max_age_hours=tuple(sorted({**dict(defaults.max_age_hours),
                                    **data.get("freshness", {}).get("max_age_hours", {})}.items())),
    )
    try:
        re.compile(cfg.baseline_pattern)
    except re.error as exc:
        raise ConfigError(f"{display}: field cohorts.baseline_pattern: not a regular expression ({exc})") from None
    if cfg.budget_breach_ratio < cfg.budget_warning_ratio:
        raise ConfigError(f"{display}: field budget.breach_ratio: must be >= budget.warning_ratio")
    return cfg


@dataclass(frozen=True)
class AlertsConfig:
    """configs/observability/alerts.yaml; docs/alerts.md defines each setting."""

    repeat_interval_hours: float = 24.0
    owner: str = "observability-oncall"
    runbook: str = "docs/alerts.md"
    failure_labels: tuple[str, ...] = ()
    sources: tuple[tuple[str, str], ...] = ()  # (name, path) alert files
    slack_webhook_env: str = "OBS_ALERTS_SLACK_WEBHOOK"
    pagerduty_routing_key_env: str = "OBS_PAGERDUTY_ROUTING_KEY"
    webhook_url_env: str = "OBS_WEEKLY_WEBHOOK_URL"
    webhook_secret_env: str = "OBS_WEBHOOK_SECRET"
    mirror_timeout_seconds: float = 10.0
    github_timeout_seconds: float = 30.0
    github_max_attempts: int = 4
    max_rate_limit_wait_seconds: float = 300.0


ALERTS_CONFIG = "configs/observability/alerts.yaml"


def load_alerts(path: Path | None, *, display: str) -> AlertsConfig:
    """Load alerts.yaml (every key optional) into an AlertsConfig."""
    data = load_yaml(path, "alert_inbox_config", display=display) if path is not None else {}
    d = AlertsConfig()
    mirrors, github = data.get("mirrors", {}), data.get("github", {})
    names = [s["name"] for s in data.get("sources", [])]
    if len(set(names)) != len(names):
        raise ConfigError(f"{display}: field sources: each name must appear once")
    return AlertsConfig(
        repeat_interval_hours=float(data.get("repeat_interval_hours", d.repeat_interval_hours)),
        owner=str(data.get("owner", d.owner)), runbook=str(data.get("runbook", d.runbook)),
        failure_labels=tuple(data.get("failure_labels", ())),
        sources=tuple((s["name"], s["path"]) for s in data.get("sources", [])),
        slack_webhook_env=mirrors.get("slack_webhook_env", d.slack_webhook_env),
        pagerduty_routing_key_env=mirrors.get("pagerduty_routing_key_env", d.pagerduty_routing_key_env),
        webhook_url_env=mirrors.get("webhook_url_env", d.webhook_url_env),
        webhook_secret_env=mirrors.get("webhook_secret_env", d.webhook_secret_env),
        mirror_timeout_seconds=float(mirrors.get("timeout_seconds", d.mirror_timeout_seconds)),
        github_timeout_seconds=float(github.get("timeout_seconds", d.github_timeout_seconds)),
        github_max_attempts=int(github.get("max_attempts", d.github_max_attempts)),
        max_rate_limit_wait_seconds=float(github.get("max_rate_limit_wait_seconds", d.max_rate_limit_wait_seconds)),
    )


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
    from observability.verify.cron import Cron, CronError

    data = load_yaml(path, "verify_schedules", display=display)
    out = []
    for name, entry in data["schedules"].items():
        try:
            cron = Cron.parse(entry["cron"])
        except CronError as exc:
            raise ConfigError(f"{display}: field schedules.{name}.cron: {exc}") from None
        out.append(Schedule(name=name, cron=cron.expression, job=entry["job"], workflow=entry.get("workflow"),
                            grace_minutes=int(entry.get("grace_minutes", 60))))
    return tuple(out)
