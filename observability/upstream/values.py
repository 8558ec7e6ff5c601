"""The one rule for bad upstream values, shared by every job that reads an upstream file.

A value that is not a finite number, or is outside its range (rates in [0, 1], counts whole and
>= 0), makes the row (or JSON entry) holding it unusable: the row is skipped with a warning naming
the file, the line (or entry) and the field, counted, and never published. It never fails the
whole report. Every job builds the warning with :func:`skip_warning`, so the same bad file gives
the same text wherever it is read.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from observability import fsio


class BadValue(ValueError):
    """One field of one upstream row is unusable; the row is skipped."""

    def __init__(self, field_name: str, reason: str):
        super().__init__(f"field {field_name}: {reason}")
        self.field = field_name
        self.reason = reason


def _shown(value: Any) -> str:
    text = repr(value.strip() if isinstance(value, str) else value)
    return text if len(text) <= 60 else text[:57] + "..."


def number(
    value: Any, field_name: str, *, lo: float | None = None, hi: float | None = None, text: bool = False
) -> float | None:
    """``value`` as a finite float; None when absent (or, for CSV ``text``, empty).

    Raises BadValue for text that is not a number, a bool or string where JSON should hold a number,
    NaN/infinity, or a value outside ``[lo, hi]``.
    """
    if value is None:
        return None
    if text and isinstance(value, str):
        stripped = value.strip()
        if not stripped:
            return None
        try:
            parsed = float(stripped)
        except ValueError:
            raise BadValue(field_name, f"{_shown(value)} is not a number") from None
        if not math.isfinite(parsed):
            raise BadValue(field_name, f"{_shown(value)} is not a finite number")
    elif isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BadValue(field_name, f"{_shown(value)} is not a number")
    else:
        parsed = float(value)
        if not math.isfinite(parsed):
            raise BadValue(field_name, f"{parsed} is not a finite number")
    if (lo is not None and parsed < lo) or (hi is not None and parsed > hi):
        if lo is not None and hi is not None:
            raise BadValue(field_name, f"{_fmt(parsed)} is outside [{_fmt(lo)}, {_fmt(hi)}]")
        if lo is not None and parsed < lo:
            bound = f"below {_fmt(lo)}"
        else:
            assert hi is not None  # outside the range and not below lo: above hi
            bound = f"above {_fmt(hi)}"
        raise BadValue(field_name, f"{_fmt(parsed)} is {bound}")
    return parsed


def rate(value: Any, field_name: str, *, text: bool = False) -> float | None:
    """A fraction in [0, 1] (win rate, reject rate)."""
    return number(value, field_name, lo=0.0, hi=1.0, text=text)


def count(value: Any, field_name: str, *, text: bool = False) -> int | None:
    """A whole number >= 0 (``3`` and upstream's ``3.0`` alike); None when empty."""
    try:
        parsed = number(value, field_name, text=text)
    except BadValue as exc:
        if "not a finite" in exc.reason:
            raise
        raise BadValue(field_name, f"{_shown(value)} is not a count (a whole number >= 0)") from None
    if parsed is None:
        return None
    if parsed < 0 or parsed != int(parsed):
        raise BadValue(field_name, f"{_shown(value)} is not a count (a whole number >= 0)")
    return int(parsed)


def non_negative(value: Any, field_name: str, *, text: bool = False) -> float | None:
    """A finite number >= 0 (percentages, basis points of budget)."""
    return number(value, field_name, lo=0.0, text=text)


def json_object(data: bytes) -> dict:
    """Parse an upstream file's bytes as one JSON object (ValueError, with the reason, otherwise)."""
    try:
        doc = fsio.parse_json(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"not valid JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise ValueError("not a JSON object")
    return doc


def _fmt(value: float) -> str:
    value = float(value)
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)


def skip_warning(file: str, where: str, problem: str | BaseException, what: str = "row") -> str:
    """``<file>: <where>: <problem>; <what> skipped`` -- the one warning text every job shows."""
    return f"{file}: {where}: {problem}; {what} skipped"


@dataclass
class Skips:
    """Warnings (without the file name, so a content-keyed cache can hold them) and how many rows went."""

    warnings: list[str] = field(default_factory=list)

    def add(self, where: str, problem: str | BaseException, what: str = "row") -> None:
        self.warnings.append(f"{where}: {problem}; {what} skipped")

    def for_file(self, file: str) -> list[str]:
        return [f"{file}: {w}" for w in self.warnings]

    @property
    def count(self) -> int:
        return len(self.warnings)
