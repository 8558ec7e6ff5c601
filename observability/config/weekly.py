"""The weekly report's settings: configs/observability/weekly_report.yaml (docs/weekly.md)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from observability.config import load_yaml
from observability.errors import ConfigError


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
        ("dashboard_manifest", 48),
        ("latency_rollup", 48),
        ("portfolio_summary", 192),
        ("runs_index", 672),
        ("telemetry", 48),
    )

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
        **{
            k: str(inputs.get(k, getattr(defaults, k)))
            for k in (
                "runs_index",
                "portfolio_summary",
                "telemetry",
                "latency_rollup",
                "latency_alerts_dir",
                "dashboard_manifest",
            )
        },
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
        max_age_hours=tuple(
            sorted({**dict(defaults.max_age_hours), **data.get("freshness", {}).get("max_age_hours", {})}.items())
        ),
    )
    try:
        re.compile(cfg.baseline_pattern)
    except re.error as exc:
        raise ConfigError(f"{display}: field cohorts.baseline_pattern: not a regular expression ({exc})") from None
    if cfg.budget_breach_ratio < cfg.budget_warning_ratio:
        raise ConfigError(f"{display}: field budget.breach_ratio: must be >= budget.warning_ratio")
    return cfg
