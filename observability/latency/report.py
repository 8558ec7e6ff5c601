"""What the latency job shows people: the per-source block and the step summary."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from observability import slo
from observability.clock import parse_iso
from observability.config.latency import LatencyConfig
from observability.freshness import age_seconds, age_text
from observability.latency.rollup import ChartPoint, RollupRow
from observability.latency.slo import Window, breached, decode_windows, latest_breach, latest_window, max_gap, streak_at
from observability.markdown import cell, details, xychart


def source_block(state: dict, firing: dict, cfg: LatencyConfig, now: datetime) -> list[dict]:
    """One entry per known source: last sample and its age, p95 of its latest window, status and streak.

    Read off each source's stored windows without decoding them (1,000s of sources): the latest window
    is the string's tail, and a streak is counted only for a source whose latest window breached.
    """
    by_pair = {(a.get("rule"), a.get("source")): a for a in firing.values()}
    gap = max_gap(cfg)
    out = []
    for source, entry in sorted(state.get("sources", {}).items()):
        windows = entry.get("windows") or ""
        latest = latest_window(windows)
        alert = by_pair.get(("latency_slo", source))
        status = "ok"
        if ("no_data", source) in by_pair:
            status = "no_data"
        if ("stale", source) in by_pair:
            status = "stale"
        if alert is not None:
            status = alert["severity"]
            streak = alert.get("breach_streak", 0)
        elif latest is not None and breached(latest[1]):
            streak = streak_at(decode_windows(windows), max_gap=gap)[0]
        else:
            streak = 0
        last = entry.get("last_sample_at")
        out.append(
            {
                "source": source,
                "timestamp_utc": last,
                "age_seconds": age_seconds(parse_iso(last), now) if last else None,
                "stale_after_hours": cfg.stale_after(source),
                "latency_ms": entry.get("last_latency_ms"),
                "p95_latency_ms": Window.unpack(latest[1]).p95_ms if latest else None,
                "status": status,
                "breach_streak": streak,
            }
        )
    return out


def last_breach(state: dict) -> str | None:
    """Start of the latest breaching window of any source still held in the state."""
    found = (latest_breach(entry.get("windows") or "") for entry in state.get("sources", {}).values())
    return max((k for k in found if k), default=None)


# The step summary lists at most this many sources (and charts only those): a table or chart of 1,000s
# of sources is unreadable, and building it cost more than the cycle's work. Every source stays in
# the run's JSON figures (``sources``).
MAX_LISTED = 25
_ATTENTION = {"critical": 0, "warning": 1, "stale": 2, "no_data": 3}


def listed(sources: list[dict]) -> list[dict]:
    """The sources the step summary shows, in name order: all of them up to MAX_LISTED, else those
    needing attention (alert severity, then stale, then silent) and then the highest latest-window p95."""
    if len(sources) <= MAX_LISTED:
        return sources
    ranked = sorted(sources, key=lambda s: (_ATTENTION.get(s["status"], 4), -(s["p95_latency_ms"] or 0.0), s["source"]))
    return sorted(ranked[:MAX_LISTED], key=lambda s: s["source"])


def charted(sources: list[dict]) -> set[str] | None:
    """Sources whose rollups the chart draws: the listed ones when the list is cut, else all (None)."""
    return None if len(sources) <= MAX_LISTED else {s["source"] for s in listed(sources)}


_ICON = {"ok": "🟢", "warning": "🟠", "critical": "🔴", "no_data": "⚪", "stale": "🟤"}


def step_summary(
    job_id: str,
    status: str,
    figures: dict,
    alerts: list[dict],
    rows: Sequence[RollupRow | ChartPoint],
    cfg: LatencyConfig,
    marks: dict[str, str] | None = None,
) -> str:
    """The run's Markdown; ``marks``: hourly SLO marks (observability.latency.tally) of the listed sources,
    None when the state holds none (the attainment table is then left out, saying so)."""
    lines = [
        f"## Signal latency — {status}",
        "",
        f"SLO p95 ≤ {cfg.slo_p95_ms:,.0f} ms ({figures['slo_source']}), failure rate ≤ "
        f"{cfg.failure_rate_threshold:.0%}, {cfg.window_minutes}-min windows · job `{job_id}`",
        "",
        f"**{figures['samples_written']}** new sample(s), **{figures['rejected_rows']}** rejected, "
        f"**{figures['pending_alerts']}** alert(s) firing",
        "",
        "| | source | last sample (UTC) | age | stale after | latency ms | window p95 ms | streak |",
        "|---|---|---|---:|---:|---:|---:|---:|",
    ]
    shown = listed(figures["sources"])
    for s in shown:
        latency = "" if s["latency_ms"] is None else f"{s['latency_ms']:,.0f}"
        p95 = "" if s["p95_latency_ms"] is None else f"{s['p95_latency_ms']:,.0f}"
        lines.append(
            f"| {_ICON.get(s['status'], '')} {s['status']} | {cell(s['source'])} | "
            f"{s['timestamp_utc'] or 'never'} | {age_text(s['age_seconds']) if s['timestamp_utc'] else '–'} | "
            f"{s['stale_after_hours']} h | {latency} | {p95} | {s['breach_streak']} |"
        )
    if len(shown) < len(figures["sources"]):
        lines += [
            "",
            f"_{len(shown)} of {len(figures['sources'])} sources shown (those needing attention, then the "
            f"highest window p95); every source is in the run's JSON `sources`._",
        ]
    lines += slo_table(shown, cfg, marks)
    if alerts:
        lines += ["", "### Alerts", "", "| severity | status | source | message |", "|---|---|---|---|"]
        for a in alerts:
            lines.append(
                f"| {a['severity']} | {a['status']} ({a['transition']}) | {cell(a['source'])} | {cell(a['message'])} |"
            )
    hours = sorted({r.hour_utc for r in rows})
    if hours:
        series: dict[str, dict[str, float | None]] = {}
        for r in rows:
            series.setdefault(r.source, {})[r.hour_utc] = r.p95_ms
        lines += ["", "### p95 latency, last 24 h (ms)", ""]
        lines += xychart(
            [h[11:13] for h in hours],
            {src: [vals.get(h) for h in hours] for src, vals in sorted(series.items())},
            y_label="p95 ms",
            threshold=cfg.slo_p95_ms,
        )
        table = [
            "| hour (UTC) | " + " | ".join(cell(s) for s in sorted(series)) + " |",
            "|---|" + "---:|" * len(series),
        ]
        for h in hours:
            table.append(
                f"| {h[:13]} | "
                + " | ".join("" if series[s].get(h) is None else f"{series[s][h]:,.0f}" for s in sorted(series))
                + " |"
            )
        lines += ["", *details("Hourly p95 table", table)]
    return "\n".join(lines) + "\n"


def _share(value: float | None, digits: int = 2) -> str:
    return "no data" if value is None else f"{value * 100:.{digits}f} %"


def _attained(period: slo.Period) -> str:
    if not period.measured:
        return f"no data (0 of {period.windows} h)"
    return f"{_share(period.attainment)} ({period.measured} of {period.windows} h)"


def slo_table(shown: list[dict], cfg: LatencyConfig, marks: dict[str, str] | None) -> list[str]:
    """SLO attainment over 7 and 28 days, error budget left over 28 days and burn rates, per listed source."""
    lines = ["", "### SLO attainment", ""]
    if marks is None:
        return lines + ["_Not available this run: the hourly rollups could not be read (see the warnings)._"]
    objective = slo.Objective(cfg.slo_p95_ms, cfg.failure_rate_threshold, cfg.slo_target_percent)
    lines += [
        f"An hour meets the SLO when its p95 ≤ {cfg.slo_p95_ms:,.0f} ms and its failure rate ≤ "
        f"{cfg.failure_rate_threshold:.0%}; an hour without data is a gap, neither met nor breached; target "
        f"{objective.target_percent:g} % of the measured hours; the periods end with the current hour, the burn "
        'rates with the last complete one (docs/site.md, "SLO definitions").',
        "",
        "| source | attainment 7 d (hours measured) | attainment 28 d (hours measured) | error budget left 28 d "
        "| burn rate 1 h | burn rate 6 h |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for s in shown:
        periods, burns = slo.from_marks(marks.get(s["source"], ""), objective)
        week, month = periods
        burn = ["no data" if b.rate is None else f"{b.rate:.1f}×" for b in burns]
        lines.append(
            f"| {cell(s['source'])} | {_attained(week)} | {_attained(month)} | "
            f"{month.budget_text(objective)} | {burn[0]} | {burn[1]} |"
        )
    return lines
