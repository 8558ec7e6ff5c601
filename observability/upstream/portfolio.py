"""The one reader of ``reports/portfolio_summary.json`` (category budgets, exposure, drawdown, equity curve).

A category entry, an equity-curve point or a single figure with a bad value is skipped by the rule of
:mod:`observability.upstream.values` (a warning naming the file, the entry or field, never published);
so is a time stamp that is not ISO-8601. Only a file unusable as a whole (``category_utilisation`` or
``aggregate_equity_curve`` not a list) raises.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from observability.clock import iso, parse_iso
from observability.upstream import values
from observability.upstream.values import BadValue, Skips


@dataclass(frozen=True)
class Category:
    """One ``category_utilisation`` entry; ``budget_pct`` falls back to ``cap_pct``."""

    name: str
    utilisation_pct: float | None
    budget_pct: float | None
    headroom_pct: float | None  # the entry's own, else budget - utilisation when both are known
    upstream_status: str | None


@dataclass
class PortfolioSummary:
    categories: list[Category] = field(default_factory=list)  # sorted by name
    equity_curve: list[tuple[str, float]] = field(default_factory=list)  # (ISO time, equity), in time order
    max_drawdown_pct: float | None = None
    gross_exposure_pct: float | None = None
    gross_exposure_cap_pct: float | None = None
    gross_headroom_pct: float | None = None
    strategies: list[dict] = field(default_factory=list)  # {"manifest_id", "name", "category"} by manifest_id
    generated_at: str | None = None


def _stamp(value: Any, key: str) -> str | None:
    if value in (None, ""):
        return None
    try:
        return iso(parse_iso(str(value)))
    except ValueError:
        raise BadValue(key, f"{values._shown(value)} is not an ISO-8601 timestamp") from None


def _object(doc: dict, key: str) -> dict:
    value = doc.get(key)
    return value if isinstance(value, dict) else {}


def _list(doc: dict, key: str) -> list:
    raw = doc.get(key, [])
    if not isinstance(raw, list):
        raise ValueError(f"field {key}: expected a list")
    return raw


def _categories(doc: dict, skips: Skips) -> list[Category]:
    out = []
    for i, cat in enumerate(_list(doc, "category_utilisation")):
        where = f"category_utilisation[{i}]"
        if not isinstance(cat, dict) or not isinstance(cat.get("category"), str) or not cat["category"]:
            skips.add(where, "field category: expected a non-empty string", "entry")
            continue
        try:
            used = values.non_negative(cat.get("utilisation_pct"), "utilisation_pct")
            budget = values.non_negative(cat.get("budget_pct"), "budget_pct")
            if budget is None:
                budget = values.non_negative(cat.get("cap_pct"), "cap_pct")
            headroom = values.number(cat.get("budget_headroom_pct"), "budget_headroom_pct")
        except BadValue as exc:
            skips.add(f"{where} ({cat['category']})", exc, "entry")
            continue
        if headroom is None and used is not None and budget is not None:
            headroom = budget - used
        upstream = cat.get("budget_status")
        out.append(Category(cat["category"], used, budget, headroom, upstream if isinstance(upstream, str) else None))
    return sorted(out, key=lambda c: c.name)


def _equity_curve(doc: dict, skips: Skips) -> list[tuple[str, float]]:
    points = []
    for i, point in enumerate(_list(doc, "aggregate_equity_curve")):
        where = f"aggregate_equity_curve[{i}]"
        if not isinstance(point, dict):
            skips.add(where, "not an object", "point")
            continue
        try:
            equity = values.number(point.get("equity"), "equity")
            stamp = _stamp(point.get("ts"), "ts")
        except BadValue as exc:
            skips.add(where, exc, "point")
            continue
        if equity is not None and stamp is not None:
            points.append((stamp, float(equity)))
    return sorted(points)


def _scalar(doc: dict, where: str, key: str, skips: Skips, *, lo: float | None = None) -> float | None:
    try:
        return values.number(doc.get(key), key, lo=lo)
    except BadValue as exc:
        skips.add(where, exc, "value")
        return None


def parse(doc: dict) -> tuple[PortfolioSummary, Skips]:
    """The summary's figures and the skip warnings (without the file name: ``Skips.for_file``).

    ValueError when the file is unusable as a whole.
    """
    skips = Skips()
    out = PortfolioSummary(categories=_categories(doc, skips), equity_curve=_equity_curve(doc, skips))
    exposure, aggregate = _object(doc, "gross_exposure"), _object(_object(doc, "drawdowns"), "aggregate")
    out.max_drawdown_pct = _scalar(aggregate, "drawdowns.aggregate", "max_drawdown_pct", skips)
    out.gross_exposure_pct = _scalar(exposure, "gross_exposure", "current_pct", skips, lo=0)
    out.gross_exposure_cap_pct = _scalar(exposure, "gross_exposure", "cap_pct", skips, lo=0)
    out.gross_headroom_pct = _scalar(exposure, "gross_exposure", "headroom_pct", skips)
    for s in doc.get("strategies", []) if isinstance(doc.get("strategies"), list) else []:
        if isinstance(s, dict) and isinstance(s.get("manifest_id"), str):
            out.strategies.append(
                {
                    "manifest_id": s["manifest_id"],
                    "name": s.get("name") if isinstance(s.get("name"), str) else None,
                    "category": s.get("category") if isinstance(s.get("category"), str) else None,
                }
            )
    out.strategies.sort(key=lambda s: s["manifest_id"])
    try:
        out.generated_at = _stamp(doc.get("generated_at"), "generated_at")
    except BadValue as exc:
        skips.add("generated_at", exc.reason, "value")
    return out, skips
