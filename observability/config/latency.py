"""The latency job's settings: configs/observability/latency_alert.yaml, then flags and env."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

from observability.config import load_yaml, yaml_line
from observability.errors import ConfigError


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
    slo_target_percent: float = 99.0  # share of hourly windows that must meet the SLO (observability/slo.py)

    def stale_after(self, source: str) -> int:
        """Hours of silence after which ``source`` is ``stale`` (its own limit, else the default)."""
        return dict(self.source_stale_after_hours).get(source, self.stale_after_hours)


LATENCY_CONFIG = "configs/observability/latency_alert.yaml"


def target_percent(path: Path | None, *, display: str) -> float:
    """``slo_target_percent`` alone, for the weekly report: the file is checked against its schema, but
    its probes are not resolved (their ``url_env`` secrets are the latency job's, not the weekly job's)."""
    data = load_yaml(path, "latency_config", display=display) if path is not None else {}
    return float(data.get("slo_target_percent", 99.0))


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
                raise ConfigError(
                    f"{display}: field probes[{index}].url_env: environment variable {env_name} is not set"
                )
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
        raise ConfigError(
            f"{display}: field critical_threshold: must be >= warning_threshold",
            file=display,
            line=yaml_line(path, ["critical_threshold"]) if path is not None else None,
        )
    no_data = int(data.get("no_data_after_minutes", 60))
    stale_limits = {
        "stale_after_hours": int(data.get("stale_after_hours", 168)),
        **{f"source_stale_after_hours.{k}": int(v) for k, v in data.get("source_stale_after_hours", {}).items()},
    }
    for key, hours in stale_limits.items():
        # stale follows no_data: a limit inside the no_data window would skip no_data altogether.
        if hours * 60 <= no_data:
            raise ConfigError(
                f"{display}: field {key}: {hours} h must be longer than no_data_after_minutes ({no_data} min)"
            )
    return LatencyConfig(
        slo_p95_ms=slo,
        slo_source=slo_source,
        warning_threshold=int(data.get("warning_threshold", 2)),
        critical_threshold=int(data.get("critical_threshold", 3)),
        failure_rate_threshold=float(data.get("failure_rate_threshold", 0.2)),
        window_minutes=int(data.get("window_minutes", 15)),
        no_data_after_minutes=no_data,
        stale_after_hours=stale_limits["stale_after_hours"],
        source_stale_after_hours=tuple(
            sorted((k, int(v)) for k, v in data.get("source_stale_after_hours", {}).items())
        ),
        drop_stale_after_days=int(data.get("drop_stale_after_days", 30)),
        slo_target_percent=float(data.get("slo_target_percent", 99.0)),
        cadence_minutes=int(data.get("cadence_minutes", 15)),
        owner=str(data.get("owner", "observability-oncall")),
        runbook=str(data.get("runbook", "docs/runbook.md#latency")),
        sources=tuple(data.get("sources", ())),
        inputs=tuple(InputSpec(i["path"], i.get("source")) for i in data.get("inputs", ())),
        probes=tuple(probes),
    )
