"""Per-source hourly SLO marks over the last 28 days, kept in the latency state for the step summary.

The step summary shows SLO attainment over 7 and 28 days (observability.slo). Reading 28 days of
rollup day files every 15 minutes would cost more than the cycle itself with 1,000s of sources, so
the state keeps, per source, one mark per hour (met ``+``, breached ``x``, gap ``.``) for the last
28 x 24 hours, run-length encoded (``"671+1x"``), with the hour of its last mark. Each cycle marks the
hours whose rollup rows it recomputed, with the same rows it writes, so the marks follow the rollups
(late data, rebuilt day files). The marks are rebuilt from the rollup day files when the state has
none (first run, an older state) or when the SLO or failure-rate threshold changed (today's rule
applies to the past, as on the status site), or when they are damaged.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime

from observability import slo
from observability.clock import iso, parse_iso
from observability.outputs.rollups import HOUR as HOUR_RE, RollupRow

KEY = "slo_tally"
VERSION = 1
HOURS = max(slo.PERIOD_DAYS) * 24
# A run is at most HOURS (672) long: three digits. A longer count in a hand-edited state (``"99999999999+"``)
# would decode to gigabytes.
_RUNS = re.compile(r"(?:[1-9][0-9]{0,2}[+x.])*")
_RUN = re.compile(r"([0-9]+)([+x.])")
# The latest hour a mark may have at ``now``: samples up to an hour ahead are accepted
# (observability.upstream.signal_log.MAX_FUTURE), so their rollup hour may be the next one.
AHEAD = 1
_SAME = re.compile(r"([+x.])\1*")


def encode(marks: str) -> str:
    return _SAME.sub(lambda m: f"{len(m.group())}{m.group(1)}", marks)


def decode(text: str) -> str:
    return "".join(mark * int(n) for n, mark in _RUN.findall(text))


def _rule(objective: slo.Objective) -> list[float]:
    return [objective.slo_p95_ms, objective.failure_rate_threshold]


def first_hour(now: datetime) -> str:
    """The earliest hour the marks cover at ``now``: rollup rows from there on rebuild them."""
    return iso(slo.hour_floor(now) - (HOURS - 1) * slo.HOUR)


def usable(state: dict, objective: slo.Objective, now: datetime) -> bool:
    """The state holds marks for today's rule, every entry well formed (see :func:`_well_formed`)."""
    tally = state.get(KEY)
    if not isinstance(tally, dict) or tally.get("version") != VERSION or tally.get("rule") != _rule(objective):
        return False
    sources = tally.get("sources")
    if not isinstance(sources, dict):
        return False
    latest = iso(slo.hour_floor(now) + AHEAD * slo.HOUR)
    return all(_well_formed(entry, latest) for entry in sources.values())


def _well_formed(entry: object, latest: str = "9999") -> bool:
    """``[end hour, runs]``: a real hour no later than ``latest`` (a far-future one would hide every new
    mark until then), runs of at most HOURS marks in all."""
    if not (
        isinstance(entry, list)
        and len(entry) == 2
        and isinstance(entry[0], str)
        and isinstance(entry[1], str)
        and HOUR_RE.fullmatch(entry[0])
        and entry[0] <= latest
        and len(entry[1]) <= 2 * HOURS  # "1+" for every hour is the longest honest text: never scan more
        and _RUNS.fullmatch(entry[1])
    ):
        return False
    try:
        parse_iso(entry[0])  # the pattern lets "2026-99-99T99:00:00Z" through
    except ValueError:
        return False
    return sum(int(n) for n, _ in _RUN.findall(entry[1])) <= HOURS


def _hours(earlier: str, later: str) -> int:
    return int((parse_iso(later) - parse_iso(earlier)) // slo.HOUR)


def _gaps(earlier: str, later: str) -> str:
    """Gap marks for the hours after ``earlier`` up to ``later``; never more than HOURS (an end hour years
    back would otherwise build a string of millions of marks per source)."""
    return slo.GAP * min(_hours(earlier, later), HOURS)


def apply(state: dict, rows: Iterable[RollupRow], objective: slo.Objective, now: datetime) -> None:
    """Mark the hours of ``rows`` (recomputed rollup rows) and drop sources silent for 28 days."""
    sources: dict[str, list[str]] = state[KEY]["sources"]
    grouped: dict[str, list[RollupRow]] = {}
    for row in rows:
        grouped.setdefault(row.source, []).append(row)
    for source, found in grouped.items():
        entry = sources.get(source)
        latest = max(r.hour_utc for r in found)
        if entry is None:
            end, marks = latest, [slo.GAP] * HOURS
        else:
            end = max(entry[0], latest)
            held = decode(entry[1]) + _gaps(entry[0], end)
            marks = list((slo.GAP * HOURS + held)[-HOURS:])
        for row in found:
            at = HOURS - 1 - _hours(row.hour_utc, end)
            if at >= 0:
                marks[at] = slo.MET if objective.meets(row) else slo.BREACHED
        sources[source] = [end, encode("".join(marks))]
    oldest = first_hour(now)
    for source in [s for s, entry in sources.items() if entry[0] < oldest]:
        del sources[source]


def rebuild(state: dict, hours: Iterable[tuple[str, str, bool]], objective: slo.Objective, now: datetime) -> None:
    """New marks from (hour_utc, source, met) of the rollup rows, streamed (1,000s of sources x 672 hours:
    no row object is kept); hours outside the 28 x 24 ending with the hour holding ``now`` are left out."""
    last = slo.hour_floor(now)
    index = {iso(last - i * slo.HOUR): HOURS - 1 - i for i in range(HOURS)}
    marks: dict[str, list[str]] = {}
    for hour, source, met in hours:
        at = index.get(hour)
        if at is not None:
            found = marks.get(source)
            if found is None:
                found = marks[source] = [slo.GAP] * HOURS
            found[at] = slo.MET if met else slo.BREACHED
    sources = {}
    for source, found in marks.items():
        text = "".join(found).rstrip(slo.GAP)
        sources[source] = [iso(last - (HOURS - len(text)) * slo.HOUR), encode(text)]
    state[KEY] = {"version": VERSION, "rule": _rule(objective), "sources": sources}


def marks_at(state: dict, source: str, now: datetime) -> str:
    """The source's marks for the 28 x 24 hours ending with the hour that holds ``now`` (all gaps when
    the state has none, or a damaged entry): later hours are left out, hours after its last mark are gaps."""
    entry = (state.get(KEY) or {}).get("sources", {}).get(source)
    last = iso(slo.hour_floor(now))
    if not _well_formed(entry):  # a later end hour is read as it is: the hours after now are left out
        return slo.GAP * HOURS
    marks = decode(entry[1])
    ahead = _hours(entry[0], last)
    marks = marks + _gaps(entry[0], last) if ahead >= 0 else marks[:ahead]
    return (slo.GAP * HOURS + marks)[-HOURS:]
