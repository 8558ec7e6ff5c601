"""The CI telemetry settings: configs/observability/ci.yaml (docs/ci.md, "Configuration")."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from observability.config import load_yaml

CI_CONFIG = "configs/observability/ci.yaml"


@dataclass(frozen=True)
class CiConfig:
    """configs/observability/ci.yaml; every key optional (docs/ci.md defines each)."""

    default_branch: str = "main"
    coverage_drop_threshold_pct: float = 1.0  # percentage points below the baseline that fire the alert
    baseline_runs: int = 5  # the baseline is the median of this many earlier default-branch entries
    history_limit: int = 500  # entries ops/ci/ci_metrics.json keeps (oldest dropped first)
    trend_runs: int = 20  # default-branch entries the health page charts
    top_flaky: int = 10  # flaky tests the health page lists
    flake_digest: str = "out/ci/flakes.json"
    failure_issue_title: str = "CI failure alerts"  # ci-alerts.yml's `title`: the failure issue that is CI's
    owner: str = "ci-oncall"
    runbook: str = "docs/ci.md#ci-metrics"


def load_ci(path: Path | None, *, display: str) -> CiConfig:
    """Load ci.yaml (schemas/ci_config.schema.json) into a CiConfig; defaults without a file."""
    data = load_yaml(path, "ci_config", display=display) if path is not None else {}
    defaults = CiConfig()
    coverage, health = data.get("coverage", {}), data.get("health", {})
    return CiConfig(
        default_branch=str(data.get("default_branch", defaults.default_branch)),
        coverage_drop_threshold_pct=float(coverage.get("drop_threshold_pct", defaults.coverage_drop_threshold_pct)),
        baseline_runs=int(coverage.get("baseline_runs", defaults.baseline_runs)),
        history_limit=int(data.get("history_limit", defaults.history_limit)),
        trend_runs=int(health.get("trend_runs", defaults.trend_runs)),
        top_flaky=int(health.get("top_flaky", defaults.top_flaky)),
        flake_digest=str(health.get("flake_digest", defaults.flake_digest)),
        failure_issue_title=str(health.get("failure_issue_title", defaults.failure_issue_title)),
        owner=str(data.get("owner", defaults.owner)),
        runbook=str(data.get("runbook", defaults.runbook)),
    )
