"""Ages of inputs and the `stale` rule shared by the jobs: how old, in words, and older than a limit or not."""

from __future__ import annotations

from datetime import datetime


def age_seconds(as_of: datetime | None, reference: datetime) -> int | None:
    """Whole seconds from ``as_of`` to ``reference`` (0 when ``as_of`` is later); None when unknown."""
    if as_of is None:
        return None
    return max(0, int((reference - as_of).total_seconds()))


def is_stale(age: int | None, limit_seconds: int | None) -> bool:
    """Older than the limit (exactly at the limit is still fresh); an unknown age or no limit is not stale."""
    return age is not None and limit_seconds is not None and age > limit_seconds


def age_text(seconds: int | None) -> str:
    """A short human age: ``45 s``, ``12 min``, ``5 h 3 min``, ``394 d 2 h``; ``unknown`` for None."""
    if seconds is None:
        return "unknown"
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"
