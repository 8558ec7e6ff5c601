"""The one reader of the router telemetry: its ``execution_health`` (per-strategy execution figures) and its time.

An entry with a bad value (reject rate outside [0, 1], NaN or infinite slippage, a string where a
number belongs, a negative fill count) is skipped by the rule in :mod:`observability.upstream.values`;
so is a time stamp that is not ISO-8601 (the file is then read as undated).
"""

from __future__ import annotations

from typing import Any

from observability.clock import iso, parse_iso
from observability.upstream import values
from observability.upstream.values import BadValue, Skips


def _whole(value: Any, field_name: str) -> int | None:
    parsed = values.non_negative(value, field_name)
    if parsed is None:
        return None
    if parsed != int(parsed):
        raise BadValue(field_name, f"{parsed!r} is not a whole number")
    return int(parsed)


def execution_health(doc: dict) -> tuple[list[dict], Skips]:
    """``[{"strategy", "slippage_bps", "reject_rate", "fill_count", "window_days"}]`` sorted by strategy.

    ValueError when ``execution_health`` is missing or not an object (the file as a whole is unusable).
    """
    health = doc.get("execution_health")
    if not isinstance(health, dict):
        raise ValueError("field execution_health: missing or not an object")
    default_window = doc.get("window_days")
    rows, skips = [], Skips()
    for strategy in sorted(health):
        entry = health[strategy]
        where = f"execution_health.{strategy}"
        if not isinstance(entry, dict):
            skips.add(where, "not an object", "entry")
            continue
        try:
            rows.append(
                {
                    "strategy": strategy,
                    "slippage_bps": values.number(entry.get("slippage_bps"), "slippage_bps"),
                    "reject_rate": values.rate(entry.get("reject_rate"), "reject_rate"),
                    "fill_count": _whole(entry.get("fill_count", entry.get("fills")), "fill_count"),
                    "window_days": values.non_negative(entry.get("window_days", default_window), "window_days"),
                }
            )
        except BadValue as exc:
            skips.add(where, exc, "entry")
    return rows, skips


STAMP_KEYS = ("generated_at", "as_of", "timestamp")


def generated_at(doc: dict) -> tuple[str | None, str | None, Skips]:
    """(key, ISO-8601 UTC time) from the first of ``STAMP_KEYS`` holding a non-empty string, or (None, None).

    A stamp that does not parse is skipped with a warning (``<key>: '...' is not an ISO-8601 timestamp;
    value skipped``) and the file is read as undated, in every job.
    """
    skips = Skips()
    for key in STAMP_KEYS:
        value = doc.get(key)
        if isinstance(value, str) and value:
            try:
                return key, iso(parse_iso(value)), skips
            except ValueError:
                skips.add(key, f"{values._shown(value)} is not an ISO-8601 timestamp", "value")
                return None, None, skips
    return None, None, skips
