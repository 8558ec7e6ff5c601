"""What the latency job shows people: the per-source block and the step summary."""

from __future__ import annotations

from datetime import datetime

from observability.clock import parse_iso
from observability.config.latency import LatencyConfig
from observability.freshness import age_seconds, age_text
from observability.latency.rollup import ChartPoint, RollupRow
from observability.latency.slo import Window, breached, fingerprint, max_gap, streak_at
from observability.markdown import cell, details, xychart


def source_block(state: dict, firing: dict, cfg: LatencyConfig, now: datetime) -> list[dict]:
    """One entry per known source: last sample and its age, p95 of its latest window, status and streak."""
    out = []
    for source, entry in sorted(state.get("sources", {}).items()):
        windows = entry.get("windows", {})
        latest = max(windows) if windows else None
        alert = firing.get(fingerprint("latency_slo", source))
        status = "ok"
        if fingerprint("no_data", source) in firing:
            status = "no_data"
        if fingerprint("stale", source) in firing:
            status = "stale"
        if alert is not None:
            status = alert["severity"]
        last = entry.get("last_sample_at")
        out.append({
            "source": source,
            "timestamp_utc": last,
            "age_seconds": age_seconds(parse_iso(last), now) if last else None,
            "stale_after_hours": cfg.stale_after(source),
            "latency_ms": entry.get("last_latency_ms"),
            "p95_latency_ms": Window.unpack(windows[latest]).p95_ms if latest else None,
            "status": status,
            "breach_streak": alert.get("breach_streak", 0) if alert else streak_at(windows, max_gap=max_gap(cfg))[0],
        })
    return out


def last_breach(state: dict) -> str | None:
    """Start of the latest breaching window of any source still held in the state."""
    found = [k for entry in state.get("sources", {}).values() for k, v in entry.get("windows", {}).items()
             if breached(v)]  # the packed flag, not a Window per window: 1,000s of sources
    return max(found, default=None)


_ICON = {"ok": "🟢", "warning": "🟠", "critical": "🔴", "no_data": "⚪", "stale": "🟤"}


def step_summary(job_id: str, status: str, figures: dict, alerts: list[dict], rows: list[RollupRow | ChartPoint],
                 cfg: LatencyConfig) -> str:
    lines = [f"## Signal latency — {status}", "",
             f"SLO p95 ≤ {cfg.slo_p95_ms:,.0f} ms ({figures['slo_source']}), failure rate ≤ "
             f"{cfg.failure_rate_threshold:.0%}, {cfg.window_minutes}-min windows · job `{job_id}`", "",
             f"**{figures['samples_written']}** new sample(s), **{figures['rejected_rows']}** rejected, "
             f"**{figures['pending_alerts']}** alert(s) firing", "",
             "| | source | last sample (UTC) | age | stale after | latency ms | window p95 ms | streak |",
             "|---|---|---|---:|---:|---:|---:|---:|"]
    for s in figures["sources"]:
        latency = "" if s["latency_ms"] is None else f"{s['latency_ms']:,.0f}"
        p95 = "" if s["p95_latency_ms"] is None else f"{s['p95_latency_ms']:,.0f}"
        lines.append(f"| {_ICON.get(s['status'], '')} {s['status']} | {cell(s['source'])} | "
                     f"{s['timestamp_utc'] or 'never'} | {age_text(s['age_seconds']) if s['timestamp_utc'] else '–'} | "
                     f"{s['stale_after_hours']} h | {latency} | {p95} | {s['breach_streak']} |")
    if alerts:
        lines += ["", "### Alerts", "", "| severity | status | source | message |", "|---|---|---|---|"]
        for a in alerts:
            lines.append(f"| {a['severity']} | {a['status']} ({a['transition']}) | {cell(a['source'])} | "
                         f"{cell(a['message'])} |")
    hours = sorted({r.hour_utc for r in rows})
    if hours:
        series = {}
        for r in rows:
            series.setdefault(r.source, {})[r.hour_utc] = r.p95_ms
        lines += ["", "### p95 latency, last 24 h (ms)", ""]
        lines += xychart([h[11:13] for h in hours],
                         {src: [vals.get(h) for h in hours] for src, vals in sorted(series.items())},
                         y_label="p95 ms", threshold=cfg.slo_p95_ms)
        table = ["| hour (UTC) | " + " | ".join(cell(s) for s in sorted(series)) + " |",
                 "|---|" + "---:|" * len(series)]
        for h in hours:
            table.append(f"| {h[:13]} | " + " | ".join(
                "" if series[s].get(h) is None else f"{series[s][h]:,.0f}" for s in sorted(series)) + " |")
        lines += ["", *details("Hourly p95 table", table)]
    return "\n".join(lines) + "\n"
