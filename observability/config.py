"""Job configuration: YAML files validated against schemas/, loaded once into frozen dataclasses.

Errors name the file, the line and the field, and suggest the nearest known key for a typo.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from observability import schemas
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
    node = schema
    for part in parts:
        node = node.get("properties", {}).get(part) if not isinstance(part, int) else node.get("items", {})
        if node is None:
            return ""
    known = list(node.get("properties", {}))
    bad = message.split("'")[1] if "'" in message else ""
    close = difflib.get_close_matches(bad, known, n=1)
    return f" (did you mean {close[0]!r}?)" if close else f" (known keys: {', '.join(sorted(known))})"


def load_yaml(path: Path, schema_name: str, *, display: str) -> dict[str, Any]:
    """Parse and validate one YAML config; raise ConfigError naming file, line and field."""
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{display}: config file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{display}: cannot read config ({exc})") from None
    try:
        tree = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{display}{where}: not valid YAML ({problem})") from None
    if data is None:
        data = {}
    problems = schemas.errors(schema_name, data)
    if problems:
        parts, message = problems[0]
        line = _line_of(tree, parts)
        where = f":{line}" if line else ""
        hint = _hint(schemas.load_schema(schema_name), parts, message)
        more = f" (+{len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
        raise ConfigError(f"{display}{where}: field {schemas.json_path(parts)}: {message}{hint}{more}")
    return data


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
        if slo <= 0:
            raise ConfigError(f"LATENCY_SLO_MS: {env_slo!r} must be greater than 0")
        slo_source = "env"
    if slo_ms is not None:
        slo, slo_source = float(slo_ms), "flag"
    if data.get("critical_threshold", 3) < data.get("warning_threshold", 2):
        raise ConfigError(f"{display}: field critical_threshold: must be >= warning_threshold")
    return LatencyConfig(
        slo_p95_ms=slo,
        slo_source=slo_source,
        warning_threshold=int(data.get("warning_threshold", 2)),
        critical_threshold=int(data.get("critical_threshold", 3)),
        failure_rate_threshold=float(data.get("failure_rate_threshold", 0.2)),
        window_minutes=int(data.get("window_minutes", 15)),
        no_data_after_minutes=int(data.get("no_data_after_minutes", 60)),
        cadence_minutes=int(data.get("cadence_minutes", 15)),
        owner=str(data.get("owner", "observability-oncall")),
        runbook=str(data.get("runbook", "docs/runbook.md#latency")),
        sources=tuple(data.get("sources", ())),
        inputs=tuple(InputSpec(i["path"], i.get("source")) for i in data.get("inputs", ())),
        probes=tuple(probes),
    )
