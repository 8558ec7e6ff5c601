"""The one reader of a run's trade records, ``runs/<id>/records.csv`` (where upstream keeps them).

Upstream's runner names its columns in more than one way; the first present of each list is used:
time ``timestamp|ts|exit_ts|entry_ts``, ``side`` (required), quantity ``quantity|qty|size|units``,
price ``price|exit_px|entry_px`` and profit ``pnl|pnl_pips``. A row with a bad value (a time that is
not ISO-8601 or ``YYYYMMDD_hhmmss``, a number that is not finite) is skipped by the rule in
:mod:`observability.upstream.values`; a file without a time or side column is unusable (ValueError).
"""

from __future__ import annotations

import csv
import io
from datetime import datetime

from observability.upstream import runs, values
from observability.upstream.values import BadValue, Skips

TIME = ("timestamp", "ts", "exit_ts", "entry_ts")
QUANTITY = ("quantity", "qty", "size", "units")
PRICE = ("price", "exit_px", "entry_px")
PNL = ("pnl", "pnl_pips")


def _first(header: list[str], names: tuple[str, ...]) -> str | None:
    return next((n for n in names if n in header), None)


def parse(data: bytes) -> tuple[list[dict], Skips]:
    """``[{"timestamp", "symbol", "side", "quantity", "price", "pnl"}]`` in file order, and the skips."""
    reader = csv.reader(io.StringIO(runs._text(data), newline=""))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise ValueError("empty file (no header)") from None
    when, side = _first(header, TIME), "side" if "side" in header else None
    if when is None or side is None:
        lacking = " and ".join(
            n for n, c in (("a time column (" + "|".join(TIME) + ")", when), ("side", side)) if c is None
        )
        raise ValueError(f"line 1: header lacks {lacking}")
    qty, price, pnl = _first(header, QUANTITY), _first(header, PRICE), _first(header, PNL)
    rows, skips = [], Skips()
    for cells in reader:
        line = reader.line_num
        if not cells or not any(c.strip() for c in cells):
            continue
        problem = runs.width_problem(len(cells), len(header))
        if problem:
            skips.add(f"line {line}", problem)
            continue
        row = dict(zip(header, cells, strict=False))
        try:
            stamp: datetime = runs.timestamp(row.get(when)) if when == "timestamp" else _time(row.get(when), when)
            rows.append(
                {
                    "timestamp": stamp,
                    "symbol": (row.get("symbol") or "").strip() or None,
                    "side": (row.get(side) or "").strip().lower() or None,
                    "quantity": values.number(row.get(qty), qty, text=True) if qty else None,
                    "price": values.number(row.get(price), price, text=True) if price else None,
                    "pnl": values.number(row.get(pnl), pnl, text=True) if pnl else None,
                }
            )
        except BadValue as exc:
            skips.add(f"line {line}", exc)
    return rows, skips


def _time(value: str | None, column: str) -> datetime:
    try:
        return runs.timestamp(value)
    except BadValue as exc:
        raise BadValue(column, exc.reason) from None
