"""Reader for the router demo telemetry (``execution_health`` per strategy)."""

from __future__ import annotations

from pathlib import Path

from observability.dashboard.cache import ContentCache
from observability.dashboard.sources import SourceData, finite_number, json_object, read_required
from observability.errors import InputError
from observability.workspace import Workspace


def _opt(value, field: str, *, lo: float | None = None, hi: float | None = None, integer: bool = False):
    if value is None:
        return None
    value = finite_number(value, field)
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise ValueError(f"{field}: {value} outside {lo}..{hi if hi is not None else ''}")
    if integer:
        if value != int(value):
            raise ValueError(f"{field}: {value} is not a whole number")
        return int(value)
    return float(value)


def parse(data: bytes) -> dict:
    """``{"generated_at", "window_days", "strategies": [...], "errors": [...]}``."""
    doc = json_object(data)
    health = doc.get("execution_health")
    if not isinstance(health, dict):
        raise ValueError("field execution_health: missing or not an object")
    generated_at = None
    for key in ("generated_at", "as_of", "timestamp"):
        if isinstance(doc.get(key), str):
            from observability.clock import iso, parse_iso

            try:
                generated_at = iso(parse_iso(doc[key]))
            except ValueError:
                raise ValueError(f"field {key}: {doc[key]!r} is not an ISO-8601 timestamp") from None
            break
    default_window = doc.get("window_days")
    rows, errors = [], []
    for strategy in sorted(health):
        entry = health[strategy]
        where = f"execution_health.{strategy}"
        if not isinstance(entry, dict):
            errors.append(f"{where}: not an object; skipped")
            continue
        try:
            fills = entry.get("fill_count", entry.get("fills"))
            rows.append({
                "strategy": strategy,
                "slippage_bps": _opt(entry.get("slippage_bps"), f"{where}.slippage_bps"),
                "reject_rate": _opt(entry.get("reject_rate"), f"{where}.reject_rate", lo=0, hi=1),
                "fill_count": _opt(fills, f"{where}.fill_count", lo=0, integer=True),
                "window_days": _opt(entry.get("window_days", default_window), f"{where}.window_days", lo=0),
            })
        except ValueError as exc:
            errors.append(f"{exc}; skipped")
    return {"generated_at": generated_at, "rows": rows, "errors": errors}


def read(ws: Workspace, path: Path, cache: ContentCache) -> SourceData:
    rel = ws.rel(path)
    digest, parsed = read_required(rel, path, "router telemetry", cache, parse)
    out = SourceData(value=parsed, inputs=[(rel, digest)])
    out.warnings.extend(f"{rel}: {e}" for e in parsed["errors"])
    out.skipped = len(parsed["errors"])
    if not parsed["rows"]:
        raise InputError(f"{rel}: execution_health has no usable strategy entry"
                         + (f" ({parsed['errors'][0]})" if parsed["errors"] else ""))
    return out
