"""The weekly review: the Markdown research ops reads every Monday (the weekly step summary and out/ copy),
and the status site's page of each week, rendered from the stored payload."""

from __future__ import annotations

from observability import slo
from observability.clock import parse_iso
from observability.freshness import age_text
from observability.markdown import cell as _cell, details, xychart
from observability.outputs import weekly as weekly_outputs

_ICON = {
    "ok": "🟢",
    "warning": "🟠",
    "breach": "🔴",
    "critical": "🔴",
    "info": "🔵",
    "dry_run": "⚪",
    "error": "🔴",
    "delivered": "🟢",
    "stale": "🟤",
    "unknown": "⚪",
}
RUN_ROWS = 15


def cell(value) -> str:
    """A payload's text in the review (a table cell or a line): no link or image can form from it, as
    ``[`` and ``]`` are escaped (GitHub and the status site show them as they are; a source name or an
    alert message "[log in](https://…)" put a live link on the public site)."""
    return _cell(value).replace("[", "\\[").replace("]", "\\]")


def code(value) -> str:
    """A payload's text as a code span: a backtick in it, which would end the span early and let the rest
    be read as Markdown, becomes '."""
    return "`" + _cell(value).replace("`", "'") + "`"


def _f(value, digits: int = 2, suffix: str = "") -> str:
    if value is None:
        return "–"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}{suffix}"
    return f"{value:,.{digits}f}{suffix}"


def _pct(value) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"


def _stale(p: dict, name: str) -> dict | None:
    """The freshness entry of input ``name`` when it is stale (payloads before 1.1.0 have none)."""
    for entry in (p.get("freshness") or {}).get("inputs", []):
        if entry["name"] == name and entry["status"] == "stale":
            return entry
    return None


def _budget_cell(p: dict) -> str:
    status = weekly_outputs.budget_status(p) or "unknown"  # a stored legacy payload says `normal` for ok
    stale = _stale(p, "portfolio_summary")
    if stale:  # the budget figure is that old: never shown as a plain `ok`
        return f"{_ICON['stale']} stale ({status} as of {stale['as_of']}, {age_text(stale['age_seconds'])} old)"
    return f"{_ICON.get(status, '')} {status}"


def _kpis(p: dict, delivery: dict) -> list[str]:
    lat, runs, port = p["latency"], p["runs"]["summary"], p["portfolio"]
    firing = sum(1 for a in p["alerts"] if a["status"] == "firing")
    critical = sum(1 for a in p["alerts"] if a["status"] == "firing" and a["severity"] == "critical")
    return [
        "| budget | drawdown | latency p95 | breach hours | alerts firing | runs this week | delivery |",
        "|---|---:|---:|---:|---:|---:|---|",
        f"| {cell(_budget_cell(p))} | {_f(port['drawdown_pct'], 2, '%')} | "
        f"{_f(lat['p95_ms'], 0, ' ms')} | {lat['breach_count']} | {firing} ({critical} critical) | "
        f"{runs['runs_this_week']} of {runs['indexed_runs']} | {_ICON.get(delivery['state'], '')} {cell(delivery['label'])} |",
    ]


def _runs_table(title: str, runs: list[dict]) -> list[str]:
    if not runs:
        return [f"### {title}", "", "_No runs in this cohort._"]
    lines = [
        f"### {title} ({len(runs)})",
        "",
        "| run | mode | started | trades | win rate | win-rate LCB | EV (pips/trade) | EV trend | trades/day |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in runs[:RUN_ROWS]:
        trend = r["ev"]["trend_7d"]
        arrow = "" if trend is None else ("▲ " if trend > 0 else ("▼ " if trend < 0 else ""))
        lines.append(
            f"| {code(r['run_id'])} | {cell(r['mode'] or '')} | {r['timestamp'][:10]} | {r['trades']:,} | "
            f"{_pct(r['win_rate'])} | {_pct(r['win_rate_lcb'])} | {_f(r['ev']['latest'], 3)} | "
            f"{arrow}{_f(trend, 3)} | {_f(r['turnover']['avg_trades_per_day'], 2)} |"
        )
    if len(runs) > RUN_ROWS:
        lines.append(f"\n_{len(runs) - RUN_ROWS} more in the payload._")
    return lines


def _utilisation(p: dict) -> list[str]:
    cats = p["utilisation"]["categories"]
    port = p["portfolio"]
    lines = ["### Utilisation vs budget", ""]
    if not cats:
        return lines + ["_No categories in the portfolio summary._"]
    lines += ["| category | used | budget | headroom | of budget | status |", "|---|---:|---:|---:|---|---|"]
    for c in cats:
        ratio = c["utilisation_ratio"]
        # clamped to the bar's 10 cells: a ratio of -1e9 in a stored payload asked for 10 billion of them
        filled = None if ratio is None else round(min(max(ratio, 0.0), 1.0) * 10)
        bar = "" if filled is None else "█" * filled + "░" * (10 - filled)
        lines.append(
            f"| {cell(c['name'])} | {_f(c['utilisation_pct'], 2, '%')} | {_f(c['budget_pct'], 2, '%')} | "
            f"{_f(c['headroom_pct'], 2, '%')} | `{bar}` {_pct(ratio)} | {_ICON[c['status']]} {c['status']} |"
        )
    lines += [
        "",
        f"Gross exposure {_f(port['gross_exposure_pct'], 2, '%')} of a {_f(port['gross_exposure_cap_pct'], 2, '%')} "
        f"cap · max drawdown {_f(port['max_drawdown_pct'], 3, '%')} · equity "
        f"{_f(port['equity_curve']['last_equity'], 0)} ({_f(port['equity_curve']['change_pct'], 2, '%')} "
        f"over {port['equity_curve']['points']} points)",
    ]
    return lines


def _execution(p: dict) -> list[str]:
    strategies = p["execution_health"]["strategies"]
    lines = ["### Execution health", ""]
    if not strategies:
        return lines + ["_No execution telemetry._"]
    lines += ["| strategy | slippage (bps) | reject rate | status |", "|---|---:|---:|---|"]
    for s in strategies:
        lines.append(
            f"| {cell(s['strategy'])} | {_f(s['slippage_bps'], 2)} | {_pct(s['reject_rate'])} | "
            f"{_ICON[s['status']]} {s['status']} |"
        )
    return lines


def _latency(p: dict) -> list[str]:
    lat = p["latency"]
    lines = ["### Signal latency", ""]
    if not lat["samples"]:
        return lines + ["_No latency rollups for this week._"]
    lines.append(
        f"{lat['samples']:,} samples over {lat['hours']} hour(s): p50 {_f(lat['p50_ms'], 0)} ms, "
        f"p95 {_f(lat['p95_ms'], 0)} ms, p99 {_f(lat['p99_ms'], 0)} ms, max {_f(lat['max_ms'], 0)} ms, "
        f"failure rate {_pct(lat['failure_rate'])}; {lat['breach_count']} breaching hour(s)."
    )
    lines += _slo(p)
    days = sorted({d["date"] for d in lat["daily"]})
    sources = sorted({d["source"] for d in lat["daily"]})
    values = {(d["date"], d["source"]): d["p95_ms"] for d in lat["daily"]}
    lines += ["", "**p95 by day (ms)**", ""]
    lines += xychart(
        [d[5:] for d in days],
        {s: [values.get((d, s)) for d in days] for s in sources},
        y_label="p95 ms",
        x_label="day (UTC)",
    )
    table = ["| day (UTC) | " + " | ".join(cell(s) for s in sources) + " |", "|---|" + "---:|" * len(sources)]
    for d in days:
        table.append(f"| {d} | " + " | ".join(_f(values.get((d, s)), 0) for s in sources) + " |")
    lines += ["", *details("p95 by day, as a table", table)]
    if lat["sources"]:
        src = [
            "| source | samples | p50 | p95 | p99 | max | failure rate | breach hours |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for s in lat["sources"]:
            src.append(
                f"| {cell(s['source'])} | {s['samples']:,} | {_f(s['p50_ms'], 0)} | {_f(s['p95_ms'], 0)} | "
                f"{_f(s['p99_ms'], 0)} | {_f(s['max_ms'], 0)} | {_pct(s['failure_rate'])} | {s['breach_hours']} |"
            )
        lines += ["", *details("Per source", src)]
    return lines


def _slo(p: dict) -> list[str]:
    """The week's SLO attainment and error budget per source (payload 2.1.0 on: ``hours`` and
    ``slo_target_percent``), by the definitions of docs/site.md with the week as the period."""
    lat = p["latency"]
    lines = ["", "**SLO attainment this week**", ""]
    target = lat.get("slo_target_percent")
    if target is None or any("hours" not in s for s in lat["sources"]):
        return lines + [f"_Not in this payload (schema_version {p.get('schema_version')}; added in 2.1.0)._"]
    if not 0 < target < 100:  # NaN passes the schema's bounds (every comparison with it is false)
        return lines + [f"_Not shown: slo_target_percent {target!r} in this payload is not a share in (0, 100)._"]
    objective = slo.Objective(0.0, 0.0, float(target))  # only the target is used: the hours are counted already
    # The hours that start inside the period: a week under way (dry run, --partial) ends mid-hour, and
    # that hour's rollup row is already counted in ``hours``, so it is one of the period's hours too.
    span = parse_iso(p["period"]["end"]) - parse_iso(p["period"]["start"])
    windows = max(0, -(-span // slo.HOUR))
    lines += [
        "An hour is breached when the latency job flagged it (p95 over the SLO or failure rate over the "
        "threshold then in force); an hour without data is a gap, neither met nor breached; target "
        f'{objective.target_percent:g} % of the measured hours (docs/site.md, "SLO definitions").',
        "",
        "| source | attainment (hours measured) | error budget left |",
        "|---|---:|---:|",
    ]
    for s in lat["sources"]:
        measured, breached = s["hours"], s["breach_hours"]
        period = slo.Period(7, windows, measured, measured - breached, breached)
        if not 0 <= breached <= measured <= windows:  # a hand-edited payload: never a figure over 100 % or below 0
            shown = f"not shown: {breached:g} breach hour(s) of {measured:g} measured, {windows} in the week"
            budget = "–"
        elif period.attainment is None:
            shown, budget = f"no data (0 of {windows} h)", "no data"
        else:
            shown = f"{period.attainment * 100:.2f} % ({period.measured} of {windows} h)"
            budget = period.budget_text(objective)
        lines.append(f"| {cell(s['source'])} | {shown} | {budget} |")
    return lines


def _inputs(p: dict) -> list[str]:
    fresh = p.get("freshness")
    if not fresh:
        return []
    lines = ["### Inputs", "", f"Ages at {fresh['reference_at']} (end of the week, or when generated if earlier)."]
    if fresh["stale_count"]:
        lines[-1] += f" **{fresh['stale_count']} input(s) stale**: their figures are out of date."
    lines += ["", "| input | path | as of (UTC) | age | max age | status |", "|---|---|---|---:|---:|---|"]
    for i in fresh["inputs"]:
        limit = "–" if i["max_age_seconds"] is None else age_text(i["max_age_seconds"])
        origin = f" ({i['as_of_from']})" if i["as_of_from"] else ""
        lines.append(
            f"| {cell(i['name'])} | {code(i['path'])} | {i['as_of'] or 'unknown'}{cell(origin)} | "
            f"{age_text(i['age_seconds'])} | {limit} | {_ICON[i['status']]} {i['status']} |"
        )
    return lines


def _alerts(p: dict) -> list[str]:
    lines = ["### Alerts of the week", ""]
    if not p["alerts"]:
        return lines + ["_None._"]
    lines += ["| severity | status | source | message | next action |", "|---|---|---|---|---|"]
    for a in p["alerts"]:
        lines.append(
            f"| {_ICON[a['severity']]} {a['severity']} | {a['status']} | {cell(a['source'])} | "
            f"{cell(a['message'])} | {cell(a['next_action'])} |"
        )
    return lines


def _artefacts(p: dict, artefacts: list[str], attempts: list[dict], run_url: str | None) -> list[str]:
    lines = ["### Artefacts", ""]
    lines += [f"- {code(a)}" for a in artefacts]
    lines += [f"- {cell(a['name'])}: {code(a['uri'])}" for a in p["attachments"]]
    if run_url:
        lines.append(f"- workflow run: {run_url}")
    if attempts:
        rows = ["| attempt | status code | response ms | error | wait s |", "|---:|---:|---:|---|---:|"]
        for a in attempts:
            rows.append(
                f"| {a['attempt']} | {a.get('status_code') or '–'} | {a['response_ms']} | "
                f"{cell(a.get('error') or '')} | {_f(a.get('wait_seconds'), 1)} |"
            )
        lines += ["", *details("Delivery attempts", rows)]
    lines += [
        "",
        f"Payload checksum `{p['payload_checksum_sha256']}` · schema {p['schema_version']} · "
        f"generated {p['generated_at']} · job {code(p['provenance']['job_id'])}",
    ]
    return lines


MAX_SKIPPED_SHOWN = 20


def render(
    p: dict,
    *,
    status: str,
    delivery: dict,
    artefacts: list[str],
    attempts: list[dict],
    run_url: str | None = None,
    skipped: list[str] | tuple[str, ...] = (),
    operations: str | None = None,
) -> str:
    """The whole weekly review for payload ``p``; ``delivery`` is ``{"state", "label"}``;
    ``operations``: the operations KPI table (observability.kpi.markdown) of the week, when given.

    ``skipped``: the input warnings (rows and entries left out by the bad-value rule), listed at the end.
    """
    head = [
        f"## Weekly health report — week of {p['week_start']} ({status})",
        "",
        f"{p['period']['start']} → {p['period']['end']} (UTC)",
        "",
    ]
    blocks = [
        _kpis(p, delivery),
        _runs_table("Baseline runs", p["runs"]["baseline"]),
        _runs_table("Rolling runs", p["runs"]["rolling"]),
        _utilisation(p),
        _execution(p),
        _latency(p),
        _inputs(p),
        _alerts(p),
        *([operations.rstrip("\n").split("\n")] if operations else []),
        _artefacts(p, artefacts, attempts, run_url),
    ]
    if skipped:
        blocks.append(
            [
                f"### Skipped input rows ({len(skipped)})",
                "",
                *(f"- {cell(w)}" for w in list(skipped)[:MAX_SKIPPED_SHOWN]),
                *(
                    [f"- … {len(skipped) - MAX_SKIPPED_SHOWN} more in the job summary's warnings"]
                    if len(skipped) > MAX_SKIPPED_SHOWN
                    else []
                ),
            ]
        )
    lines = head
    for block in blocks:
        if block:
            lines += [*block, ""]
    return "\n".join(lines)


def render_legacy(p: dict, *, status: str, delivery: dict) -> str:
    """The review of a stored payload of the legacy scripts (seeds 001/002, ``runs`` a list), replayed as
    it is: only the figures that shape has, ``budget_status`` in this project's words."""
    found_lat, found_alerts = p.get("latency"), p.get("alerts")
    lat: dict = found_lat if isinstance(found_lat, dict) else {}
    alerts: list = found_alerts if isinstance(found_alerts, list) else []
    budget = weekly_outputs.budget_status(p) or "unknown"
    lines = [
        f"## Weekly health report — week of {cell(str(p.get('week_start')))} ({status})",
        "",
        f"A payload of the legacy scripts (schema_version {cell(str(p.get('schema_version')))}), replayed byte "
        'for byte; docs/weekly.md, "Versions".',
        "",
        "| budget | latency p50 | latency p95 | runs | alerts | delivery |",
        "|---|---:|---:|---:|---:|---|",
        f"| {_ICON.get(budget, '')} {budget} | {_f(lat.get('p50_ms'), 0, ' ms')} | {_f(lat.get('p95_ms'), 0, ' ms')} | "
        f"{len(p['runs'])} | {len(alerts)} | {_ICON.get(delivery['state'], '')} {cell(delivery['label'])} |",
    ]
    return "\n".join(lines) + "\n"


def render_invalid(p: dict, *, status: str, delivery: dict, problem: str) -> str:
    """The review of a stored payload that does not match the payload schema or holds a number no review can
    show (edited, its checksum recomputed): what is wrong and how it was delivered, none of its figures."""
    lines = [
        f"## Weekly health report — week of {cell(str(p.get('week_start')))} ({status})",
        "",
        f"The stored payload cannot be shown as a review ({cell(problem)}): its bytes were sent as they are, "
        "its figures are not shown.",
        "",
        f"Delivery: {_ICON.get(delivery['state'], '')} {cell(delivery['label'])}",
    ]
    return "\n".join(lines) + "\n"


def render_failure(title: str, error_code: str, message: str, artefacts: list[str]) -> str:
    """What the step summary shows when no payload could be built."""
    lines = [f"## Weekly health report — {title}", "", f"🔴 **{error_code}**: {cell(message)}", ""]
    lines += [f"- {code(a)}" for a in artefacts]
    return "\n".join(lines) + "\n"
