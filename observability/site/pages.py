"""The site's files as text: HTML pages (one shared stylesheet, relative links), status.json, badges."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from html import escape
from typing import Any
from urllib.parse import quote

from observability import clock, fsio, slo, svgchart
from observability.freshness import age_seconds, age_text
from observability.site import mdhtml
from observability.site.gather import CHART_HOURS, Site, parse_time

SCHEMA = "site_status"
STATUS_VERSION = "1.1.0"  # 1.1.0: `ci`
CSS = """:root{color-scheme:light dark;--bg:#ffffff;--fg:#1f2328;--muted:#57606a;--line:#d0d7de;--link:#0b5cad;
--ok:#116329;--warn:#7d4e00;--bad:#b3161c;--card:#f6f8fa}
@media (prefers-color-scheme: dark){:root{--bg:#0d1117;--fg:#e6edf3;--muted:#9198a1;--line:#30363d;--link:#6cb6ff;
--ok:#3fb950;--warn:#d29922;--bad:#ff7b72;--card:#161b22}}
body{background:var(--bg);color:var(--fg);font:15px/1.5 system-ui,sans-serif;margin:0 auto;max-width:1100px;padding:1rem}
a{color:var(--link)}nav{display:flex;gap:1rem;flex-wrap:wrap;border-bottom:1px solid var(--line);padding-bottom:.5rem}
table{border-collapse:collapse;margin:.5rem 0 1rem;width:100%}th,td{border-bottom:1px solid var(--line);padding:.3rem .5rem;
text-align:left;vertical-align:top}th{color:var(--muted);font-weight:600}td.num{text-align:right;font-variant-numeric:tabular-nums}
.ok{color:var(--ok)}.warning,.no_data,.dry_run,.skipped{color:var(--warn)}.error,.breaching,.critical,.missed{color:var(--bad)}
.meeting{color:var(--ok)}.muted{color:var(--muted)}.box{overflow-x:auto;background:var(--card);border:1px solid var(--line);border-radius:6px;padding:.5rem 1rem}
svg.chart{max-width:100%;height:auto}pre{white-space:pre-wrap;background:var(--card);padding:.5rem;border-radius:6px}
"""
PAGES = (
    ("index.html", "Status"),
    ("alerts.html", "Alerts"),
    ("jobs.html", "Jobs"),
    ("weekly.html", "Weekly"),
    ("datasets.html", "Datasets"),
    ("ci.html", "CI"),
    ("status.json", "status.json"),
)


def _e(value: Any) -> str:
    return escape("" if value is None else str(value))


def _percent(share: float | None, digits: int = 2) -> str:
    return "no data" if share is None else f"{share * 100:.{digits}f} %"


def _ms(value: float | None) -> str:
    if value is None:
        return "no data"
    if 0 < value < 1:  # a sub-millisecond p95 (the legacy notifier's ack times) is not "0 ms", which reads as none
        return f"{value:.2g} ms"
    return f"{value:,.0f} ms"


def _rate(value: float | None) -> str:
    return "no data" if value is None else f"{value:.2f}\u00d7"


def page(title: str, body: list[str], *, depth: int = 0, generated: str) -> str:
    """A whole HTML5 page; ``depth`` is how many directories below the site root it sits (for relative links)."""
    up = "../" * depth
    nav = "".join(f'<a href="{up}{href}">{_e(name)}</a>' for href, name in PAGES)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="color-scheme" content="light dark">\n'
        '<link rel="icon" href="data:,">\n'
        f"<title>{_e(title)} \u2014 observability status</title>\n"
        f'<link rel="stylesheet" href="{up}style.css">\n</head>\n<body>\n'
        f'<header><nav aria-label="Site">{nav}</nav></header>\n<main>\n<h1>{_e(title)}</h1>\n'
        + "\n".join(body)
        + f'\n</main>\n<footer><p class="muted">Generated {_e(generated)} from the workspace by '
        "<code>observability site build</code>.</p></footer>\n</body>\n</html>\n"
    )


def _table(head: list[str], rows: list[list[str]], *, numeric: tuple[int, ...] = ()) -> str:
    if not rows:
        return '<p class="muted">No data.</p>'
    cells = "".join(f'<th scope="col">{_e(h)}</th>' for h in head)
    num = ' class="num"'
    body = "".join(
        "<tr>" + "".join(f"<td{num if i in numeric else ''}>{c}</td>" for i, c in enumerate(r)) + "</tr>" for r in rows
    )
    return f"<table><thead><tr>{cells}</tr></thead><tbody>{body}</tbody></table>"


def _problems(site: Site) -> list[str]:
    if not site.problems:
        return []
    items = "".join(f"<li>{_e(p)}</li>" for p in site.problems[:50])
    more = f"<li>\u2026 {len(site.problems) - 50} more</li>" if len(site.problems) > 50 else ""
    return [f'<section class="box"><h2>Inputs that could not be read</h2><ul>{items}{more}</ul></section>']


def _latest_p95(site: Site, latest: Any, *, current: bool) -> str:
    """The latest hour's p95; for a source silent for 2 h or more, which hour last had data and how long ago
    (a bare "no data" reads as "never measured")."""
    if latest is None:
        return "no data"
    if current:
        return f'{_ms(latest.p95_ms)} <span class="muted">({_e(latest.hour_utc)})</span>'
    age = age_text(age_seconds(clock.parse_iso(latest.hour_utc), site.now))
    return (
        f'no data since {_e(latest.hour_utc)} <span class="muted">({_e(age)} ago; last p95 {_ms(latest.p95_ms)})</span>'
    )


def _budget(left: float | None) -> str:
    text = _percent(left, 0)
    return f'{text} <span class="missed">(overspent)</span>' if left is not None and left < 0 else text


def _slo_rows(site: Site) -> list[list[str]]:
    rows = []
    for s in site.sources:
        p7, p28 = s.period(7), s.period(28)
        latest = s.latest
        rows.append(
            [
                _e(s.source),
                f'<span class="{s.state}">{_e(s.state.replace("_", " "))}</span>',
                _latest_p95(site, latest, current=s.current),
                f'{_percent(p7.attainment)} <span class="muted">({p7.measured}/{p7.windows} h)</span>',
                f'{_percent(p28.attainment)} <span class="muted">({p28.measured}/{p28.windows} h)</span>',
                _budget(p28.budget_left(site.objective)),
                " / ".join(_rate(b.rate) for b in s.burns),
            ]
        )
    return rows


def index(site: Site) -> str:
    o = site.objective
    status, _ = overall(site)
    reasons = overall_text(site)[len(status) + 2 :]
    body = [
        f'<p class="overall">Overall status: <strong class="{status}">{status}</strong>: {_e(reasons)}.</p>',
        f"<p>SLO: an hour meets it when its p95 latency is at most <strong>{o.slo_p95_ms:,.0f} ms</strong> and at "
        f"most {o.failure_rate_threshold * 100:g} % of its samples failed; target <strong>{o.target_percent:g} %"
        "</strong> of measured hours. Hours without data are gaps: neither met nor breached "
        '(<a href="#definitions">definitions</a>).</p>',
        "<h2>Latency sources</h2>",
        _table(
            [
                "Source",
                "Now",
                "p95 (latest hour)",
                "Attainment 7 d",
                "Attainment 28 d",
                "Budget left 28 d",
                "Burn rate " + " / ".join(f"{h} h" for h in slo.BURN_HOURS),
            ],
            _slo_rows(site),
        ),
    ]
    body += charts(site)
    firing = len(site.alerts)
    overdue = [r for r in site.runs if r["overdue_since"]]
    failed = [r for r in site.runs if r["status"] == "error"]
    body.append("<h2>At a glance</h2><ul>")
    body.append(f'<li><a href="alerts.html">Open alerts</a>: {firing}</li>')
    body.append(
        f'<li><a href="jobs.html">Jobs</a>: {len(site.runs)} shown, {len(failed)} failed last run, '
        f"{len(overdue)} with a missed run</li>"
    )
    body.append(f'<li><a href="weekly.html">Weekly reports</a>: {len(site.weeks)}</li>')
    body.append(f'<li><a href="datasets.html">Dashboard datasets</a>: {len(site.datasets)}</li>')
    body.append(f'<li><a href="ci.html">CI health</a>: {_ci_line(site)}</li>')
    body.append(
        '<li><a href="status.json">status.json</a> and badges: '
        + ", ".join(f'<a href="badges/{n}.json">{_e(n)}</a>' for n in badge_names(site))
        + "</li></ul>"
    )
    body += _problems(site)
    body.append(
        '<h2 id="definitions">Definitions</h2><dl><dt>Attainment</dt><dd>Share of the measured hourly windows '
        "of the period (the last 7 or 28 \u00d7 24 hours, the current hour included) that met the SLO.</dd>"
        "<dt>Budget left</dt><dd>1 \u2212 breached hours / ((1 \u2212 target) \u00d7 measured hours): 100 % untouched, "
        "0 % spent, negative overspent.</dd><dt>Burn rate</dt><dd>Breached share of the measured hours in the last "
        "1 or 6 complete hours (the current hour, still filling, is left out) divided by (1 \u2212 target): "
        "1\u00d7 spends the budget exactly over the period.</dd></dl>"
    )
    return page("Status", body, generated=clock.iso(site.now))


def charts(site: Site) -> list[str]:
    """p95 per hour over the last 7 days, at most six sources per chart."""
    grouped = slo.by_source(site.rows)
    names = [s.source for s in site.sources if s.source in grouped]
    if not names:
        return ['<p class="muted">No latency rollups yet: no chart.</p>']
    out = ["<h2>p95 latency, last 7 days (hourly)</h2>"]
    for start in range(0, len(names), svgchart.MAX_SERIES):
        group = names[start : start + svgchart.MAX_SERIES]
        out.append(
            _p95_figure(site, grouped, group, site.now, f"p95-{start // svgchart.MAX_SERIES}", f"of {', '.join(group)}")
        )
    return out


def alerts(site: Site) -> str:
    rows = []
    for a in site.alerts:
        issue = (
            f'<a href="{_e(a["url"])}">#{_e(a["issue"])}</a>'
            if a["url"]
            else f"#{_e(a['issue'])}"
            if a["issue"]
            else '<span class="muted">no issue yet</span>'
        )
        rows.append(
            [
                f'<span class="{_e(a["severity"])}">{_e(a["severity"] or "-")}</span>',
                _e(a["title"]),
                _e(a["since"] or "-"),
                issue,
            ]
        )
    body = [_table(["Severity", "Alert", "Since", "Issue"], rows)] if rows else ['<p class="ok">No open alerts.</p>']
    return page("Open alerts", body + _problems(site), generated=clock.iso(site.now))


def jobs_page(site: Site) -> str:
    rows = []
    for r in site.runs:
        status = r["status"] or "never run"
        run = f'<a href="{_e(r["run_url"])}">{_e(r["job_id"])}</a>' if r["run_url"] else _e(r["job_id"] or "-")
        missed = (
            f'<span class="missed">missed: slot {_e(r["overdue_since"])} has no run</span>'
            if r["overdue_since"]
            else '<span class="ok">on schedule</span>'
            if r["scheduled"]
            else '<span class="muted">not scheduled</span>'
        )
        rows.append(
            [
                _e(r["job"]),
                f'<span class="{_e(r["status"] or "no_data")}">{_e(status)}</span>'
                + (f' <span class="muted">({_e(r["error_code"])})</span>' if r["error_code"] else ""),
                age_text(r["age_seconds"]) if r["age_seconds"] is not None else "-",
                run,
                missed,
            ]
        )
    body = [
        "<p>The last run of every job in the automation log (ops/automation_runs.log). A missed run: a slot of "
        "configs/observability/schedules.yaml whose grace has passed with no run since; "
        "<code>observability verify</code> reports every missed slot.</p>",
        _table(["Job", "Last status", "Age", "Run", "Schedule"], rows),
    ]
    return page("Jobs", body + _problems(site), generated=clock.iso(site.now))


def weekly_index(site: Site) -> str:
    rows = []
    for w in site.weeks:
        href = f"weekly/{w['week_start']}.html"
        rows.append(
            [
                f'<a href="{href}">{_e(w["week_start"])}</a>',
                "delivered" if w["delivered"] else '<span class="dry_run">generated, not delivered</span>',
                _e(w["payload"].get("generated_at")),
            ]
        )
    body = [_table(["Week", "Delivery", "Generated"], rows)] if rows else ['<p class="muted">No weekly report yet.</p>']
    return page("Weekly reports", body + _problems(site), generated=clock.iso(site.now))


def weekly_page(site: Site, week: dict[str, Any]) -> str:
    payload = week["payload"]
    body = [f'<p><a href="../weekly.html">All weeks</a> \u00b7 from <code>{_e(week["file"])}</code></p>']
    body += _week_chart(site, week["week_start"])
    if week.get("review"):
        body.append(f'<section class="box">{mdhtml.to_html(week["review"])}</section>')
    for key in (
        () if week.get("review") else ("latency", "alerts", "runs", "portfolio", "execution_health", "utilisation")
    ):
        if key in payload:
            body.append(f"<h2>{_e(key.replace('_', ' ').capitalize())}</h2>{_value(payload[key])}")
    return page(f"Week of {week['week_start']}", body, depth=1, generated=clock.iso(site.now))


def _week_chart(site: Site, week_start: str) -> list[str]:
    """p95 per hour of the week (Monday 00:00 UTC, 7 days) for the sources with rows in it."""
    try:
        start = clock.parse_iso(week_start + "T00:00:00Z")
    except ValueError:
        return []
    end = start + timedelta(days=7) - timedelta(hours=1)
    grouped = slo.by_source(r for r in site.rows if clock.iso(start) <= r.hour_utc <= clock.iso(end))
    names = sorted(grouped)[: svgchart.MAX_SERIES]
    if not names:
        return []
    more = len(grouped) - len(names)
    note = f"week of {week_start}" + (f" ({more} more sources on the status page)" if more else "")
    return [_p95_figure(site, grouped, names, end, f"week-{week_start}", note, _rule_changed(site, grouped))]


def _rule_changed(site: Site, grouped: dict) -> str:
    """A sentence when some of the week's hours were flagged under another rule than today's: the chart
    draws today's SLO, the review counts the hours as the latency job flagged them when it wrote them."""
    o = site.objective
    differ = sorted((r.hour_utc, r.source) for h in grouped.values() for r in h.values() if r.breach_flag == o.meets(r))
    if not differ:
        return ""
    return (
        f" The dashed red line is today's SLO ({o.slo_p95_ms:,.0f} ms; failure rate at most "
        f"{o.failure_rate_threshold * 100:g} %). {len(differ)} hour(s) of this week (the first: {differ[0][1]} at "
        f"{differ[0][0]}) were "
        "judged otherwise under the rule in force when the latency job wrote them: the review below counts them "
        "as flagged then, the status page by today's rule."
    )


def _p95_figure(
    site: Site, grouped: dict, names: list[str], last: datetime, chart_id: str, what: str, note: str = ""
) -> str:
    """A figure: p95 per hour of ``names`` over the 7 days ending with the hour holding ``last``."""
    series = [svgchart.Series(n, slo.hourly_series(grouped[n], last, CHART_HOURS)) for n in names]
    chart = svgchart.line_chart(
        series, chart_id=chart_id, title=f"p95 latency per hour, {what}", threshold=site.objective.slo_p95_ms
    )
    caption = f"p95 latency per hour, {_e(what)}; gaps are hours without data.{_e(note)}"
    return f"<figure>{chart}<figcaption>{caption}</figcaption></figure>"


def _value(value: Any, depth: int = 0) -> str:
    """A JSON value as nested tables (depth-limited: deeper values as compact JSON)."""
    if isinstance(value, dict) and depth < 3:
        if not value:
            return '<span class="muted">none</span>'
        return (
            "<table><tbody>"
            + "".join(f'<tr><th scope="row">{_e(k)}</th><td>{_value(v, depth + 1)}</td></tr>' for k, v in value.items())
            + "</tbody></table>"
        )
    if isinstance(value, list) and depth < 3:
        if not value:
            return '<span class="muted">none</span>'
        return "<ol>" + "".join(f"<li>{_value(v, depth + 1)}</li>" for v in value[:100]) + "</ol>"
    if isinstance(value, (dict, list)):
        return f"<code>{_e(json.dumps(value, sort_keys=True)[:500])}</code>"
    return _e(value)


def datasets_page(site: Site) -> str:
    rows = []
    for d in site.datasets:
        link = (
            f'<a href="data/{_e(quote(d["name"]))}">{_e(d["name"])}</a>' if d["file"] else _e(d["name"]) + " (missing)"
        )
        rows.append(
            [
                _e(d["dataset"]),
                f'<span class="{_e(d["status"])}">{_e(d["status"])}</span>',
                _e(d["rows"]),
                age_text(d["age_seconds"]) + f' <span class="muted">({_e(d["refreshed_at"])})</span>',
                link,
            ]
        )
    manifest = site.manifest
    body = []
    if manifest is not None:
        body.append(
            f"<p>Manifest sequence {_e(manifest.get('sequence'))}, job {_e(manifest.get('job_id'))}: "
            '<a href="data/manifest.json">manifest.json</a>.</p>'
        )
    body.append(_table(["Dataset", "Status", "Rows", "Freshness", "Download"], rows, numeric=(2,)))
    return page("Dashboard datasets", body + _problems(site), generated=clock.iso(site.now))


# -- status.json and badges ------------------------------------------------------------------------------
def _ci_line(site: Site) -> str:
    """The CI's latest conclusion and coverage, as HTML (the index's line and the CI page's first)."""
    doc = site.ci
    if doc is None:
        return '<span class="muted">no CI health snapshot</span>'
    latest, coverage = doc["latest"], doc["coverage"]
    if latest is None:
        said = '<span class="muted">no CI run recorded</span>'
    else:
        css = {"success": "ok", "failure": "error", "timed_out": "error"}.get(latest["conclusion"], "warning")
        said = f'latest run <strong class="{css}">{_e(latest["conclusion"])}</strong>'
        said += f" on {_e(latest['branch'])}" if latest["branch"] else ""
        said += f" ({_e(latest['recorded_at'])})"
    if coverage["latest_pct"] is not None:
        said += f", line coverage {coverage['latest_pct']:.2f} %"
        if coverage["baseline_pct"] is not None:
            said += f" (baseline {coverage['baseline_pct']:.2f} %)"
    return said + f", {len(doc['flaky']['tests'])} flaky test(s)"


def ci_page(site: Site) -> str:
    """The latest CI health snapshot: its coverage trend as an SVG chart, then its page."""
    if site.ci is None:
        body = [
            '<p class="muted">No CI health snapshot in the workspace (ops/ci/ci_health.json). '
            "<code>observability ci health</code> writes it after each CI run (docs/ci.md).</p>"
        ]
        return page("CI health", body + _problems(site), generated=clock.iso(site.now))
    doc = site.ci
    body = [f"<p>{_ci_line(site)}. Snapshot of {_e(doc['generated_at'])}.</p>"]
    points = [(at, t) for t in doc["coverage"]["trend"] if (at := parse_time(t["recorded_at"])) is not None]
    if points:
        series = [
            svgchart.Series("line coverage", [(at, t["line_pct"]) for at, t in points]),
            svgchart.Series("branch coverage", [(at, t["branch_pct"]) for at, t in points]),
        ]
        series = [s for s in series if s.values()]
        if series:
            baseline, drop = doc["coverage"]["baseline_pct"], doc["coverage"]["threshold_pct"]
            floor = baseline - drop if baseline is not None else None
            chart = svgchart.line_chart(
                series,
                chart_id="ci-coverage",
                title="Coverage per CI run",
                threshold=floor,
                threshold_label="alert below",
                unit="%",
            )
            body.append(
                f"<figure>{chart}<figcaption>Coverage per recorded CI run, oldest first; gaps are runs without a "
                "coverage report. The dashed line is the baseline less the alert threshold.</figcaption></figure>"
            )
    if site.ci_page:
        body.append(f'<section class="box">{mdhtml.to_html(site.ci_page)}</section>')
    return page("CI health", body + _problems(site), generated=clock.iso(site.now))


def _ci_status(site: Site) -> dict[str, Any] | None:
    doc = site.ci
    if doc is None:
        return None
    latest = doc["latest"] or {}
    return {
        "generated_at": doc["generated_at"],
        "conclusion": latest.get("conclusion"),
        # status.json is read by other tools that link it: a snapshot's run URL only when it is https
        "run_url": mdhtml.https_url(latest.get("run_url")),
        "branch": latest.get("branch"),
        "recorded_at": latest.get("recorded_at"),
        "coverage_pct": doc["coverage"]["latest_pct"],
        "coverage_baseline_pct": doc["coverage"]["baseline_pct"],
        "flaky_tests": len(doc["flaky"]["tests"]),
    }


def overall(site: Site) -> tuple[str, list[str]]:
    """The site's overall status and why: ``critical`` when a source breaches now or a critical alert is
    open; ``warning`` when another alert is open, a job's last run failed or missed its schedule, or a
    source has no current data; ``ok`` otherwise."""

    def names(items: list[str]) -> str:
        return ", ".join(items)

    critical, warning = [], []
    breaching = [s.source for s in site.sources if s.state == "breaching"]
    if breaching:
        critical.append(f"breaching the SLO now: {names(breaching)}")
    n_critical = sum(a["severity"] == "critical" for a in site.alerts)
    if n_critical:
        critical.append(f"{n_critical} critical alert{'s' if n_critical > 1 else ''} open")
    n_other = len(site.alerts) - n_critical
    if n_other:
        warning.append(f"{n_other} {'other ' if n_critical else ''}alert{'s' if n_other > 1 else ''} open")
    failed = [r["job"] for r in site.runs if r["status"] == "error"]
    if failed:
        warning.append(f"last run failed: {names(failed)}")
    missed = [r["job"] for r in site.runs if r["overdue_since"]]
    if missed:
        warning.append(f"last scheduled run missed: {names(missed)}")
    silent = [s.source for s in site.sources if s.state == "no_data"]
    if silent:
        warning.append(f"no current data: {names(silent)}")
    status = "critical" if critical else "warning" if warning else "ok"
    return status, critical + warning


def overall_text(site: Site) -> str:
    """``critical: reason; reason`` (plain text; the reasons name sources and jobs, escape for HTML)."""
    status, reasons = overall(site)
    return f"{status}: {'; '.join(reasons)}" if reasons else f"{status}: every source meets the SLO, nothing open"


def status_doc(site: Site, provenance: dict[str, Any]) -> dict[str, Any]:
    overall_status = overall(site)[0]
    return {
        "schema_version": STATUS_VERSION,
        **provenance,
        "status": overall_status,
        "slo": {
            "p95_ms": site.objective.slo_p95_ms,
            "failure_rate_threshold": site.objective.failure_rate_threshold,
            "target_percent": site.objective.target_percent,
            "source": site.slo_source,
        },
        "sources": [s.as_dict() for s in site.sources],
        "alerts": [{k: a[k] for k in ("id", "title", "severity", "since", "issue", "url")} for a in site.alerts],
        "jobs": site.runs,
        "weeks": [{"week_start": w["week_start"], "delivered": w["delivered"]} for w in site.weeks],
        "datasets": [
            {k: d[k] for k in ("dataset", "rows", "status", "refreshed_at", "age_seconds")} for d in site.datasets
        ],
        "ci": _ci_status(site),
        "problems": site.problems,
    }


def badge_name(source: str) -> str:
    """The badge file name of a source's SLO badge (``slo-<source>``, ``:`` made ``_``)."""
    return "slo-" + re.sub(r"[^A-Za-z0-9_.-]", "_", source)


def badge_names(site: Site) -> list[str]:
    return ["status", "alerts"] + [badge_name(s.source) for s in site.sources]


def badges(site: Site, status: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """shields.io endpoint badges (schemaVersion 1): overall status, open alerts, 28-day attainment per source."""
    colour = {"ok": "brightgreen", "warning": "yellow", "critical": "red"}
    out = {
        "status": _badge("status", status["status"], colour[status["status"]]),
        "alerts": _badge("open alerts", str(len(site.alerts)), "brightgreen" if not site.alerts else "red"),
    }
    for s in site.sources:
        period = s.period(28)
        share = period.attainment
        if share is None:
            out[badge_name(s.source)] = _badge(f"{s.source} SLO 28d", "no data", "lightgrey")
            continue
        budget = period.budget_left(site.objective)
        tone = "brightgreen" if budget is not None and budget > 0.25 else "yellow" if budget and budget > 0 else "red"
        message = f"{share * 100:.2f}%"
        if s.state == "no_data":  # a silent feed's past hours met: a green "100.00%" hid the silence
            message, tone = f"{message}, no data now", "lightgrey" if tone == "brightgreen" else tone
        out[badge_name(s.source)] = _badge(f"{s.source} SLO 28d", message, tone)
    return out


def _badge(label: str, message: str, color: str) -> dict[str, Any]:
    return {"schemaVersion": 1, "label": label, "message": message, "color": color}


def json_text(doc: Any) -> str:
    return fsio.canonical_json(doc, indent=2)
