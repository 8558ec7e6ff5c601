"""The lake settings: configs/observability/lake.yaml (docs/lake.md, "Configuration")."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from observability.config import load_yaml

LAKE_CONFIG = "configs/observability/lake.yaml"


@dataclass(frozen=True)
class StageRule:
    """A run whose id matches ``pattern`` (re.search) has this stage and runner."""

    pattern: re.Pattern[str]
    stage: str
    runner: str | None = None


@dataclass(frozen=True)
class LakeConfig:
    """lake.yaml; every key optional."""

    lake: tuple[str, ...] = ("lake",)
    runs: str = "runs"
    latency_rollup: str = "ops/signal_latency_rollup.csv"
    state_archive: str = "ops/state_archive"
    telemetry: str = "reports/portfolio_samples/router_demo/telemetry.json"
    portfolio_summary: str = "reports/portfolio_summary.json"
    weekly_history: str = "ops/weekly_report_history"
    # Upstream names its parameter-grid sweeps grid_<symbol>_<mode>_<params>_<stamp> (scripts/run_grid):
    # research; every other run is one backtest (docs/lake.md, "Stage and strategy").
    stages: tuple[StageRule, ...] = (StageRule(re.compile("^grid_"), "research", "grid"),)
    default_stage: str = "backtest"
    default_runner: str = "single"
    default_strategy: str | None = None
    retention_days: dict[str, int | None] = field(
        default_factory=lambda: {"backtest": 365, "research": 90, "live": None}
    )
    compact_min_files: int = 2

    def stage_of(self, run_id: str) -> tuple[str, str]:
        """(stage, runner) of a run, by the first matching rule."""
        for rule in self.stages:
            if rule.pattern.search(run_id):
                return rule.stage, rule.runner or self.default_runner
        return self.default_stage, self.default_runner


def load_lake(path: Path | None, *, display: str) -> LakeConfig:
    """Load lake.yaml (schemas/lake_config.schema.json) into a LakeConfig; defaults without a file."""
    data = load_yaml(path, "lake_config", display=display) if path is not None else {}
    base = LakeConfig()
    sources = data.get("sources", {})
    rules = base.stages
    if "stages" in data:
        rules = tuple(
            StageRule(_regex(r["pattern"], f"{display}: stages[{i}].pattern"), r["stage"], r.get("runner"))
            for i, r in enumerate(data["stages"])
        )
    return LakeConfig(
        lake=tuple(data.get("lake", base.lake)),
        runs=sources.get("runs", base.runs),
        latency_rollup=sources.get("latency_rollup", base.latency_rollup),
        state_archive=sources.get("state_archive", base.state_archive),
        telemetry=sources.get("telemetry", base.telemetry),
        portfolio_summary=sources.get("portfolio_summary", base.portfolio_summary),
        weekly_history=sources.get("weekly_history", base.weekly_history),
        stages=rules,
        default_stage=data.get("default_stage", base.default_stage),
        default_runner=data.get("default_runner", base.default_runner),
        default_strategy=data.get("default_strategy", base.default_strategy),
        retention_days={**base.retention_days, **data.get("retention_days", {})},
        compact_min_files=int(data.get("compact_min_files", base.compact_min_files)),
    )


def _regex(text: str, where: str) -> re.Pattern[str]:
    from observability.errors import ConfigError

    try:
        return re.compile(text)
    except re.error as exc:
        raise ConfigError(f"{where}: not a regular expression ({exc})") from None
