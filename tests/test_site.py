"""``observability site build``: the site from the demo workspace and the real upstream fixtures, its links,
status.json and badges, the atomic swap, and bad input (never a crash)."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urldefrag

import pytest

from _support_dashboard import FIXTURES
from _support_inprocess import run_cli_in_process
from _support_robust import clean_env, run_cli
from _support_verify import make_demo
from observability import schemas

NOW = "2026-01-08T00:07:00Z"  # the sample workspace's clock
VOID = {"meta", "link", "br", "img", "hr", "input", "source", "wbr"}
SVG_NS = "{http://www.w3.org/2000/svg}"


# One worker runs this file (the demo workspace is made once, not once per worker under -n).
pytestmark = pytest.mark.xdist_group("site")


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    return make_demo(tmp_path_factory.mktemp("site") / "demo")


@pytest.fixture()
def ws(demo, tmp_path) -> Path:
    target = tmp_path / "ws"
    shutil.copytree(demo, target, symlinks=True)
    return target


def build(ws: Path, *extra: str, now: str = NOW, out: str = "_site"):
    done = run_cli_in_process(
        ["site", "build", "--workspace", str(ws), "--out", out, *extra], env=clean_env(OBS_NOW=now)
    )
    summary = json.loads(done.stdout) if done.stdout.strip().startswith("{") else None
    return done, summary


class Page(HTMLParser):
    """Links, ids and tag balance of one page."""

    def __init__(self):
        super().__init__()
        self.links: list[str] = []
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.doctype = None

    def handle_decl(self, decl):
        self.doctype = decl

    def handle_starttag(self, tag, attrs):
        found = dict(attrs)
        for key in ("href", "src"):
            if found.get(key):
                self.links.append(found[key])
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.stack.pop()

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()


def parse(path: Path) -> Page:
    page = Page()
    page.feed(path.read_text(encoding="utf-8"))
    page.close()
    return page


def test_demo_site_pages_links_status_and_badges(ws):
    done, summary = build(ws)
    assert done.returncode == 0, done.stderr
    assert summary["status"] == "ok" and summary["site_status"] == "critical"  # router_demo breaches now
    site = ws / "_site"
    # every internal link of every page resolves, and every page is reachable from the index
    seen, queue = set(), ["index.html"]
    while queue:
        rel = queue.pop()
        if rel in seen:
            continue
        seen.add(rel)
        if not rel.endswith(".html"):
            continue
        page = parse(site / rel)
        assert page.doctype == "DOCTYPE html" and not page.errors and not page.stack, (rel, page.errors, page.stack)
        for link in page.links:
            target, _ = urldefrag(link)
            if target.startswith("https://") or target == "data:," or not target:
                continue  # an issue or run on GitHub; the empty favicon (no request for /favicon.ico)
            assert not target.startswith(("/", "http:")), f"{rel}: {link} is not relative"
            resolved = (site / rel).parent / target
            assert resolved.is_file(), f"{rel}: {link} does not resolve"
            queue.append(resolved.resolve().relative_to(site.resolve()).as_posix())
    pages = {p.relative_to(site).as_posix() for p in site.rglob("*.html")}
    assert pages <= seen, f"not reachable from index.html: {pages - seen}"
    assert {"alerts.html", "jobs.html", "weekly.html", "datasets.html", "weekly/2026-01-05.html"} <= pages
    # status.json matches its schema and the figures
    status = json.loads((site / "status.json").read_text())
    schemas.validate("site_status", status, what="status.json")
    assert {"ops/signal_latency_rollup.csv", "ops/automation_runs.log", "out/dashboard/manifest.json"} <= set(
        status["inputs"]
    )
    by_source = {s["source"]: s for s in status["sources"]}
    assert set(by_source) == {"broker_api", "dukascopy", "notifier", "router_demo"}
    router = by_source["router_demo"]
    assert router["state"] == "breaching" and router["p95_ms"] > 120000
    week = router["attainment"]["7d"]
    assert week["windows"] == 168 and week["measured"] == week["met"] + week["breached"] == 72
    assert [a["severity"] for a in status["alerts"]] == ["critical"] and status["alerts"][0]["issue"] is None
    assert {j["job"] for j in status["jobs"]} >= {"latency", "weekly", "dashboard", "verify"}
    assert {d["dataset"] for d in status["datasets"]} == {"ev_history", "slippage", "turnover", "latency"}
    assert (site / "data" / "latency.json").read_bytes() == (ws / "out" / "dashboard" / "latency.json").read_bytes()
    for name in ("status", "alerts", "slo-router_demo", "slo-notifier"):
        badge = json.loads((site / "badges" / f"{name}.json").read_text())
        assert badge["schemaVersion"] == 1 and set(badge) == {"schemaVersion", "label", "message", "color"}
    assert json.loads((site / "badges" / "status.json").read_text())["color"] == "red"
    # the chart on the index parses as SVG, with its legend and the split/log scale choice
    index = (site / "index.html").read_text()
    svg = ET.fromstring(index[index.index("<svg") : index.index("</svg>") + 6])
    assert svg.get("role") == "img" and svg.get("data-scale") in ("log", "split")
    assert len([g for g in svg.iter(f"{SVG_NS}g") if g.get("class") == "legend-entry"]) == 5
    assert 'class="breaching"' in index and "120,000 ms" in index
    assert "<script" not in index
    # the run is a job like any other: one log line
    log = [json.loads(line) for line in (ws / "ops" / "automation_runs.log").read_text().splitlines()]
    assert log[-1]["job"] == "site" and log[-1]["status"] == "ok"


def test_a_missed_scheduled_run_is_shown(ws):
    done, summary = build(ws, now="2026-01-09T12:00:00Z")  # a day and a half after every demo run
    assert done.returncode == 0, done.stderr
    status = json.loads((ws / "_site" / "status.json").read_text())
    jobs = {j["job"]: j for j in status["jobs"]}
    # latency runs at :07/:22/:37/:52 with 20 min grace: the first slot after the 00:07 run is 00:22
    assert jobs["latency"]["overdue_since"] == "2026-01-08T00:22:00Z"
    assert jobs["weekly"]["overdue_since"] is None  # weekly: Mondays only
    assert jobs["alerts"]["scheduled"] is False and jobs["latency"]["scheduled"] is True
    assert jobs["latency"]["age_seconds"] == 129_180
    assert status["status"] == "critical"  # no current data is a warning, the open critical alert wins
    assert all(s["state"] == "no_data" for s in status["sources"])
    assert "missed: slot 2026-01-08T00:22:00Z has no run" in (ws / "_site" / "jobs.html").read_text()


def test_a_rebuild_swaps_the_site_and_dry_run_writes_nothing(ws):
    assert build(ws)[0].returncode == 0
    (ws / "_site" / "leftover.txt").write_text("from the old build")
    done, summary = build(ws, "--dry-run")
    assert done.returncode == 0 and summary["status"] == "dry_run"
    assert "index.html" in summary["would_write"] and "status.json" in summary["would_write"]
    assert (ws / "_site" / "leftover.txt").exists()
    killed = ws / "_site.20260101T000000Z-site-0badc0de.tmp"  # a build killed before its swap
    killed.mkdir()
    (ws / "_site.mine.tmp").mkdir()  # not this command's
    assert build(ws)[0].returncode == 0
    assert not (ws / "_site" / "leftover.txt").exists()
    assert not killed.exists()
    (ws / "_site.mine.tmp").rmdir()
    assert [p.name for p in ws.iterdir() if p.name.startswith("_site")] == ["_site"]  # no temp dir left


def test_out_must_not_be_someone_elses_directory(ws):
    (ws / "docs").mkdir()
    (ws / "docs" / "keep.md").write_text("mine")
    done, _ = build(ws, out="docs")
    assert done.returncode == 2 and "--out docs" in done.stderr and "choose a new or empty one" in done.stderr
    assert (ws / "docs" / "keep.md").read_text() == "mine"
    done, _ = build(ws, out=".")
    assert done.returncode == 2


def test_an_empty_workspace_builds_pages_that_say_no_data(tmp_path):
    (tmp_path / "ops").mkdir()
    done, summary = build(tmp_path)
    assert done.returncode == 0, done.stderr
    site = tmp_path / "_site"
    status = json.loads((site / "status.json").read_text())
    assert status["sources"] == [] and status["alerts"] == [] and status["problems"] == []
    assert "No latency rollups yet" in (site / "index.html").read_text()
    assert "No weekly report yet" in (site / "weekly.html").read_text()
    assert "No data." in (site / "datasets.html").read_text()


def test_damaged_inputs_are_named_on_the_pages_never_a_crash(ws):
    (ws / "ops" / "alert_inbox.json").write_text("{not json")
    day = sorted((ws / "ops" / "signal_latency_rollup").iterdir())[-1]
    with day.open("a") as handle:
        handle.write("2026-01-07T23:00:00Z,broken,x,0,0,1,2,3,4,false,0\n")
    (ws / "out" / "dashboard" / "manifest.json").write_text("[]")
    hostile = {
        "job": "verify",
        "job_id": "x",
        "status": "weird",
        "started_at": "2026-01-08T00:07:01Z",
        "github": {"run_url": "javascript:alert(1)"},
        "diagnostics": {"error_code": 7},
    }
    with (ws / "ops" / "automation_runs.log").open("a") as handle:
        handle.write(json.dumps(hostile) + "\n")
    done, summary = build(ws)
    assert done.returncode == 0, done.stderr
    assert summary["status"] == "warning"
    status = json.loads((ws / "_site" / "status.json").read_text())
    problems = " | ".join(status["problems"])
    assert "ops/alert_inbox.json" in problems and "not valid JSON" in problems
    assert f"{day.name}: line" in problems  # the bad rollup row is skipped, the rest still counts
    assert "out/dashboard/manifest.json" in problems
    assert {s["source"] for s in status["sources"]} == {"broker_api", "dukascopy", "notifier", "router_demo"}
    assert "ops/alert_inbox.json" in (ws / "_site" / "alerts.html").read_text()
    verify = next(j for j in status["jobs"] if j["job"] == "verify")
    assert (verify["status"], verify["run_url"], verify["error_code"]) == (None, None, None)
    assert "javascript:" not in (ws / "_site" / "jobs.html").read_text()


def test_a_delivered_week_reads_as_its_review_with_the_week_slo(ws):
    # A delivered week (ops/weekly_report_history/) is rendered from its payload as the weekly step
    # summary shows it, SLO attainment included; a stored payload that does not match the schema is
    # named on the pages and its week lists the stored fields instead.
    (generated,) = (ws / "out" / "weekly_report").glob("*.json")
    payload = json.loads(generated.read_text())
    history = ws / "ops" / "weekly_report_history"
    history.mkdir(parents=True)
    (history / "2026-01-05.json").write_text(json.dumps(payload))
    damaged = dict(payload, week_start="2025-12-29")
    del damaged["latency"]
    (history / "2025-12-29.json").write_text(json.dumps(damaged))
    done, _ = build(ws)
    assert done.returncode == 0, done.stderr
    page = (ws / "_site" / "weekly" / "2026-01-05.html").read_text()
    assert "Weekly health report" in page and "(delivered)" in page
    assert "SLO attainment this week" in page
    router = next(s for s in payload["latency"]["sources"] if s["source"] == "router_demo")
    met, start, end = router["hours"] - router["breach_hours"], payload["period"]["start"], payload["period"]["end"]
    # the hours starting inside the period: the demo's week under way ends at 00:07, its 00:00 hour counts
    windows = -(-(datetime.fromisoformat(end) - datetime.fromisoformat(start)) // timedelta(hours=1))
    assert f"{met / router['hours'] * 100:.2f} % ({router['hours']} of {windows} h)" in page
    index = (ws / "_site" / "weekly.html").read_text()
    assert index.count("delivered") >= 2 and "generated, not delivered" not in index
    status = json.loads((ws / "_site" / "status.json").read_text())
    assert any(p.startswith("ops/weekly_report_history/2025-12-29.json: field <root>") for p in status["problems"])
    old = (ws / "_site" / "weekly" / "2025-12-29.html").read_text()
    assert "Weekly health report" not in old and "<h2>Alerts</h2>" in old


def test_the_ci_page_shows_the_latest_ci_health_snapshot_with_its_coverage_chart(ws):
    # Three CI runs recorded by `ci metrics`, then `ci health` (which keeps its snapshot in ops/ci/):
    # the site's CI page draws the coverage trend and shows the page; status.json and the index say it.
    for number, rate in enumerate(("0.9100", "0.9050", "0.8800"), start=1):
        report = ws / f"coverage-{number}.xml"
        covered = round(float(rate) * 1000)
        report.write_text(
            f'<coverage line-rate="{rate}" branch-rate="0.8" lines-valid="1000" lines-covered="{covered}"/>'
        )
        done = run_cli_in_process(
            ["ci", "metrics", "--workspace", str(ws), "--coverage-xml", report.name, "--run-id", str(100 + number)]
            + ["--run-url", f"https://github.com/acme/research/actions/runs/{100 + number}", "--branch", "main"]
            + ["--conclusion", "failure" if number == 3 else "success"],
            env=clean_env(OBS_NOW=f"2026-01-0{number + 4}T10:00:00Z"),
        )
        assert done.returncode == 0, done.stderr
    done = run_cli_in_process(["ci", "health", "--workspace", str(ws)], env=clean_env(OBS_NOW=NOW))
    assert done.returncode == 0, done.stderr
    assert (ws / "ops" / "ci" / "ci_health.json").is_file() and (ws / "ops" / "ci" / "ci_health.md").is_file()
    done, _ = build(ws)
    assert done.returncode == 0, done.stderr
    status = json.loads((ws / "_site" / "status.json").read_text())
    schemas.validate("site_status", status, what="status.json")
    ci = status["ci"]
    assert (ci["conclusion"], ci["branch"], ci["coverage_pct"]) == ("failure", "main", 88.0)
    assert ci["run_url"] == "https://github.com/acme/research/actions/runs/103"
    page = (ws / "_site" / "ci.html").read_text()
    svg = ET.fromstring(page[page.index("<svg") : page.index("</svg>") + 6])
    legend = [g for g in svg.iter(f"{SVG_NS}g") if g.get("class") == "legend-entry"]
    assert len(legend) == 3  # line and branch coverage, the alert floor
    assert '<strong class="error">failure</strong>' in page and "line coverage 88.00 %" in page
    assert "CI health" in page and "Latest pipeline status" in page
    assert 'href="ci.html"' in (ws / "_site" / "index.html").read_text()
    # a tampered snapshot is named and the page says there is none; the rest of the site still builds
    (ws / "ops" / "ci" / "ci_health.json").write_text(json.dumps({"version": 1, "latest": "<script>"}))
    done, summary = build(ws)
    assert done.returncode == 0 and summary["status"] == "warning", done.stderr
    status = json.loads((ws / "_site" / "status.json").read_text())
    assert status["ci"] is None
    assert any(p.startswith("ops/ci/ci_health.json: field") for p in status["problems"])
    assert "No CI health snapshot" in (ws / "_site" / "ci.html").read_text()


def test_a_ci_health_snapshot_with_nan_or_infinity_is_named_and_the_site_still_builds(ws):
    """NaN and Infinity are numbers to ci_health.schema.json (NaN passes minimum 0 and maximum 100): the CI
    page's chart scale raised on them and the whole site build ended in an internal error."""
    report = ws / "coverage.xml"
    report.write_text('<coverage line-rate="0.9" branch-rate="0.8" lines-valid="1000" lines-covered="900"/>')
    for number in (1, 2):
        done = run_cli_in_process(
            ["ci", "metrics", "--workspace", str(ws), "--coverage-xml", report.name, "--run-id", str(number)]
            + ["--branch", "main"],
            env=clean_env(OBS_NOW=f"2026-01-0{number + 4}T10:00:00Z"),
        )
        assert done.returncode == 0, done.stderr
    assert run_cli_in_process(["ci", "health", "--workspace", str(ws)], env=clean_env(OBS_NOW=NOW)).returncode == 0
    snapshot = ws / "ops" / "ci" / "ci_health.json"
    doc = json.loads(snapshot.read_text())
    doc["coverage"]["trend"][0]["line_pct"] = "@NAN@"
    doc["coverage"]["threshold_pct"] = "@INF@"
    doc["latest"]["run_url"] = "javascript:alert(1)"
    valid = json.dumps(doc).replace('"@NAN@"', "1").replace('"@INF@"', "1")
    snapshot.write_text(valid)  # schema-valid: only the run URL is hostile, and status.json drops it
    done, _ = build(ws)
    assert done.returncode == 0, done.stderr
    status = json.loads((ws / "_site" / "status.json").read_text())
    assert status["ci"]["conclusion"] == "unknown" and status["ci"]["run_url"] is None, status["ci"]
    snapshot.write_text(json.dumps(doc).replace('"@NAN@"', "NaN").replace('"@INF@"', "Infinity"))
    done, summary = build(ws)
    assert done.returncode == 0 and summary["status"] == "warning", done.stderr
    status = json.loads((ws / "_site" / "status.json").read_text())
    assert status["ci"] is None
    assert "ops/ci/ci_health.json: field coverage.threshold_pct: inf is not a finite number" in "".join(
        status["problems"]
    )
    assert "No CI health snapshot" in (ws / "_site" / "ci.html").read_text()


def test_a_schema_valid_payload_with_nan_and_infinity_still_renders_its_week(ws):
    """JSON's NaN and Infinity are numbers to the payload schema; the review's chart rounded them
    (ValueError, OverflowError) and the whole site build failed with a traceback. The week's page now
    lists the stored fields and the problem names the first such number."""
    (generated,) = (ws / "out" / "weekly_report").glob("*.json")
    payload = json.loads(generated.read_text())
    payload["latency"]["daily"][0]["p95_ms"] = "@NAN@"
    payload["latency"]["daily"][1]["p95_ms"] = "@INF@"
    history = ws / "ops" / "weekly_report_history"
    history.mkdir(parents=True)
    text = json.dumps(payload).replace('"@NAN@"', "NaN").replace('"@INF@"', "Infinity")
    (history / "2026-01-05.json").write_text(text)
    done, _ = build(ws)
    assert done.returncode == 0, done.stderr
    assert (ws / "_site" / "weekly" / "2026-01-05.html").is_file()
    problems = json.loads((ws / "_site" / "status.json").read_text())["problems"]
    assert "ops/weekly_report_history/2026-01-05.json: field latency.daily[0].p95_ms: nan is not a finite" in (
        "".join(problems)
    )


def test_a_huge_weekly_payload_is_named_not_read(ws):
    """A 145 MB payload in the history took 29 s and 1.9 GB to build and published a 75 MB page; past
    MAX_WEEK_BYTES the week is left off with a problem naming its size, the other weeks stay."""
    from observability.site.gather import MAX_WEEK_BYTES

    (generated,) = (ws / "out" / "weekly_report").glob("*.json")
    history = ws / "ops" / "weekly_report_history"
    history.mkdir(parents=True)
    (history / "2026-01-05.json").write_text(generated.read_text())
    with open(history / "2025-12-29.json", "wb") as handle:
        handle.truncate(MAX_WEEK_BYTES + 1)  # sparse: never read
    done, _ = build(ws)
    assert done.returncode == 0, done.stderr
    status = json.loads((ws / "_site" / "status.json").read_text())
    assert f"ops/weekly_report_history/2025-12-29.json: {MAX_WEEK_BYTES + 1:,} bytes, more than" in "".join(
        status["problems"]
    )
    assert not (ws / "_site" / "weekly" / "2025-12-29.html").exists()
    assert "SLO attainment this week" in (ws / "_site" / "weekly" / "2026-01-05.html").read_text()


@pytest.mark.parametrize(
    ("field", "raw", "problem"),
    [
        ("failure_rate", "1" + "0" * 400, "field latency.failure_rate: a 401-digit number is beyond +/-2^53"),
        ("ratio", "NaN", "field utilisation.categories[0].utilisation_ratio: nan is not a finite number"),
        ("ratio", "-1e6", None),  # a number, only absurd: the bar had 10 million cells (-1e9: 10 billion)
    ],
)
def test_numbers_the_schema_accepts_but_no_review_can_show_never_fail_the_build(ws, field, raw, problem):
    (generated,) = (ws / "out" / "weekly_report").glob("*.json")
    payload = json.loads(generated.read_text())
    if field == "ratio":
        payload["utilisation"]["categories"][0]["utilisation_ratio"] = "@RAW@"
    else:
        payload["latency"][field] = "@RAW@"
    history = ws / "ops" / "weekly_report_history"
    history.mkdir(parents=True)
    (history / "2026-01-05.json").write_text(json.dumps(payload).replace('"@RAW@"', raw))
    done, _ = build(ws)
    assert done.returncode == 0, done.stderr
    problems = json.loads((ws / "_site" / "status.json").read_text())["problems"]
    page = (ws / "_site" / "weekly" / "2026-01-05.html").read_text()
    if problem:
        assert any(p.startswith(f"ops/weekly_report_history/2026-01-05.json: {problem}") for p in problems), problems
    else:
        assert "<code>░░░░░░░░░░</code>" in page and "Weekly health report" in page


def test_a_fifo_in_the_weekly_history_is_named_not_waited_on(ws):
    """A FIFO named like a payload (inside the workspace, so not caught as a symlink out of it) made the
    build wait for a writer forever."""
    import os

    history = ws / "ops" / "weekly_report_history"
    history.mkdir(parents=True)
    os.mkfifo(history / "2025-12-29.json")
    done = run_cli(["site", "build", "--workspace", str(ws), "--out", "_site"], env=clean_env(OBS_NOW=NOW), timeout=60)
    assert done.returncode == 0, done.stderr
    problems = json.loads((ws / "_site" / "status.json").read_text())["problems"]
    assert "ops/weekly_report_history/2025-12-29.json: not a regular file; left off the site" in problems


def test_markdown_in_a_payload_s_text_puts_no_link_on_the_public_site(ws):
    """A source name, an alert message or an attachment's URI is text: "[log in](https://…)" in one became
    a live link on the week's page (and in the step summary); a backtick in the URI ended its code span
    and let the rest be read as Markdown."""
    lure = "[log in](https://evil.example/a)"
    (generated,) = (ws / "out" / "weekly_report").glob("*.json")
    payload = json.loads(generated.read_text())
    payload["alerts"][0]["message"] = f"ack here {lure}"
    payload["latency"]["sources"][0]["source"] = f"feed {lure}"
    uri = f"s3://bucket/key` {lure.replace('/a)', '/b)')} `"
    payload["attachments"] = [{"name": "report", "uri": uri, "checksum_sha256": "0" * 64}]
    history = ws / "ops" / "weekly_report_history"
    history.mkdir(parents=True)
    (history / "2026-01-05.json").write_text(json.dumps(payload))
    done, _ = build(ws)
    assert done.returncode == 0, done.stderr
    page = (ws / "_site" / "weekly" / "2026-01-05.html").read_text()
    assert "SLO attainment this week" in page  # the review, not the stored fields
    assert "evil.example" in page  # shown, as text
    assert 'href="https://evil.example' not in page
    assert "ack here [log in](https://evil.example/a)" in page


def test_an_invalid_latency_config_is_a_config_error(ws):
    (ws / "configs" / "observability" / "latency_alert.yaml").write_text("slo_target_percent: 100\n")
    done, _ = build(ws)
    assert done.returncode == 2 and "slo_target_percent" in done.stderr
    assert not (ws / "_site").exists()


def test_the_slo_target_from_the_config_sets_the_budget(ws):
    config = ws / "configs" / "observability" / "latency_alert.yaml"
    config.write_text(config.read_text().replace("slo_target_percent: 99", "slo_target_percent: 90"))
    assert build(ws)[0].returncode == 0
    status = json.loads((ws / "_site" / "status.json").read_text())
    assert status["slo"]["target_percent"] == 90
    period = next(s for s in status["sources"] if s["source"] == "router_demo")["attainment"]["28d"]
    assert period["budget_left"] == pytest.approx(1 - period["breached"] / (0.1 * period["measured"]), abs=1e-6)


def _row(html: str, source: str) -> str:
    """The text of the index table row of ``source`` (tags dropped)."""
    import re

    row = next(r for r in html.split("<tr>") if f"<td>{source}</td>" in r)
    return re.sub(r"<[^>]+>", "", row.replace("</td><td", "</td>|<td"))


def test_a_source_without_current_data_says_since_when(ws):
    """ "no data" alone reads as "never had data": the row says which hour last had data and how long ago."""
    assert build(ws, now="2026-01-09T12:07:00Z")[0].returncode == 0
    cells = _row((ws / "_site" / "index.html").read_text(), "broker_api").split("|")
    assert cells[1] == "no data"
    assert cells[2] == "no data since 2026-01-07T23:00:00Z (1 d 13 h ago; last p95 2,207 ms)"


def test_a_silent_source_badge_is_not_a_green_100_percent(ws):
    """A README badge said "feed SLO 28d | 100.00%" in green while the feed had sent nothing for a day and a
    half: its past hours had all met. It now says so, and is grey, not green (an overspent one stays red)."""
    config = ws / "configs" / "observability" / "latency_alert.yaml"
    config.write_text(config.read_text().replace("slo_target_percent: 99", "slo_target_percent: 90"))
    assert build(ws)[0].returncode == 0  # at the demo's clock the feed is current
    status = json.loads((ws / "_site" / "status.json").read_text())
    period = next(s for s in status["sources"] if s["source"] == "broker_api")["attainment"]["28d"]
    assert period["budget_left"] > 0.25  # 90 % target: green
    shown = f"{period['attainment'] * 100:.2f}%"
    badge = json.loads((ws / "_site" / "badges" / "slo-broker_api.json").read_text())
    assert (badge["message"], badge["color"]) == (shown, "brightgreen")
    assert build(ws, now="2026-01-09T12:07:00Z")[0].returncode == 0  # silent since 2026-01-07T23:00
    badge = json.loads((ws / "_site" / "badges" / "slo-broker_api.json").read_text())
    assert (badge["message"], badge["color"]) == (f"{shown}, no data now", "lightgrey")


def test_a_sub_millisecond_p95_is_not_shown_as_0_ms(ws):
    """The real upstream legacy log has a p95 of 0.135 ms (ack times): "last p95 0 ms" read as no latency."""
    day = ws / "ops" / "signal_latency_rollup" / "2026-01-07.csv"
    with open(day, "a", encoding="utf-8") as handle:
        handle.write("2026-01-07T22:00:00Z,legacy,1,1,1.0000,0.135,0.135,0.135,0.135,true,1\n")
    assert build(ws, now="2026-01-09T12:07:00Z")[0].returncode == 0
    cells = _row((ws / "_site" / "index.html").read_text(), "legacy").split("|")
    assert cells[2] == "no data since 2026-01-07T22:00:00Z (1 d 14 h ago; last p95 0.14 ms)"


def test_the_index_and_the_step_summary_say_the_overall_status_and_why(ws, tmp_path):
    """status.json's overall status was only in status.json and the badge: the page an on-call engineer opens
    and the run's step summary now say it, with the reasons."""
    step_summary = tmp_path / "summary.md"
    done = run_cli_in_process(
        ["site", "build", "--workspace", str(ws), "--out", "_site"],
        env=clean_env(OBS_NOW="2026-01-09T12:00:00Z", GITHUB_ACTIONS="true", GITHUB_STEP_SUMMARY=str(step_summary)),
    )
    assert done.returncode == 0, done.stderr
    reasons = (
        "1 critical alert open; last scheduled run missed: latency, dashboard, verify; "
        "no current data: broker_api, dukascopy, notifier, router_demo"
    )
    page = (ws / "_site" / "index.html").read_text()
    assert f'Overall status: <strong class="critical">critical</strong>: {reasons}.' in page
    assert f"status **critical**: {reasons}." in step_summary.read_text()
    assert build(ws)[0].returncode == 0  # at the demo's clock: router_demo breaches now
    assert (
        "critical</strong>: breaching the SLO now: router_demo; 1 critical alert open."
        in (ws / "_site" / "index.html").read_text()
    )


def test_a_negative_budget_says_it_is_overspent(ws):
    assert build(ws)[0].returncode == 0
    cells = _row((ws / "_site" / "index.html").read_text(), "router_demo").split("|")
    assert cells[5] == "-39 % (overspent)"


@pytest.mark.skipif(
    not (FIXTURES / "ops" / "signal_latency.csv").is_file(),
    reason=f"upstream fixtures not found at {FIXTURES} (set OBS_TEST_UPSTREAM_FIXTURES)",
)
def test_the_site_builds_from_the_real_upstream_fixtures(tmp_path):
    now = "2025-10-11T12:07:00Z"
    for part in ("ops", "runs", "reports"):
        shutil.copytree(FIXTURES / part, tmp_path / part)
    (tmp_path / "logs").mkdir()
    shutil.move(tmp_path / "ops" / "signal_latency.csv", tmp_path / "logs" / "signal_latency.csv")
    env = clean_env(OBS_NOW=now)
    for args in (
        ["latency", "sample", "--input", "logs/signal_latency.csv"],
        ["dashboard", "export", "--dry-run"],
    ):
        done = run_cli_in_process([*args, "--workspace", str(tmp_path)], env=env)
        assert done.returncode == 0, done.stderr
    done, summary = build(tmp_path, now=now)
    assert done.returncode == 0, done.stderr
    status = json.loads((tmp_path / "_site" / "status.json").read_text())
    schemas.validate("site_status", status, what="status.json")
    assert status["sources"] and status["datasets"]
    assert all(parse(p).errors == [] for p in (tmp_path / "_site").rglob("*.html"))


def test_files_symlinked_out_of_the_workspace_are_never_published(ws, tmp_path):
    """A dataset, the manifest or a weekly review that is a symlink to a file outside the workspace is
    not copied onto the site (it would publish e.g. a key file on GitHub Pages); the page says why."""
    secret = tmp_path / "outside" / "id_rsa"
    secret.parent.mkdir()
    secret.write_text("CANARY-PRIVATE-KEY\n")
    dashboard = ws / "out" / "dashboard"
    manifest = json.loads((dashboard / "manifest.json").read_text())
    name = Path(manifest["datasets"][0]["path"]).name
    (dashboard / name).unlink()
    (dashboard / name).symlink_to(secret)
    weekly = ws / "out" / "weekly_report"
    latest = sorted(p for p in weekly.glob("*.json"))[-1] if weekly.is_dir() else None
    if latest is not None:
        review = latest.with_suffix(".md")
        review.unlink(missing_ok=True)
        review.symlink_to(secret)
    history = ws / "ops" / "weekly_report_history"
    history.mkdir(exist_ok=True)
    (history / "2025-12-29.json").symlink_to(secret.with_name("payload.json"))
    secret.with_name("payload.json").write_text('{"week_start": "2025-12-29", "note": "CANARY-PRIVATE-KEY"}')
    done, _ = build(ws)
    assert done.returncode == 0, done.stderr
    site = ws / "_site"
    leaked = [p for p in site.rglob("*") if p.is_file() and "CANARY-PRIVATE-KEY" in p.read_text(errors="replace")]
    assert leaked == []
    status = json.loads((site / "status.json").read_text())
    assert any(name in p and "outside the workspace" in p for p in status["problems"]), status["problems"]


def test_out_never_writes_through_a_symlink_out_of_the_workspace(tmp_path):
    """As every job's writes (fsio.guard): ``--out pub/site`` where ``pub`` leads out of the workspace
    is refused, and nothing is written there."""
    ws, outside = tmp_path / "ws", tmp_path / "outside"
    (ws / "ops").mkdir(parents=True)
    outside.mkdir()
    (ws / "pub").symlink_to(outside)
    done, summary = build(ws, out="pub/site")
    assert done.returncode != 0 and summary["status"] == "error"
    assert "pub" in done.stderr and "outside the workspace" in done.stderr
    assert list(outside.iterdir()) == []


def test_a_secret_in_workspace_text_never_reaches_the_published_site(ws):
    """The site is public (GitHub Pages) while the workspace is not: a secret value that found its way
    into an alert title, a weekly review or a run's log line is scrubbed from every page and JSON file,
    as from every other output."""
    import secrets as random

    canary = "canary" + random.token_hex(16)
    url = f"https://hooks.example/weekly/{canary}"
    inbox_path = ws / "ops" / "alert_inbox.json"
    inbox = json.loads(inbox_path.read_text()) if inbox_path.exists() else {"issues": {}}
    inbox.setdefault("issues", {})["leak"] = {
        "state": "open",
        "title": f"delivery to {url} failed",
        "severity": "critical",
        "number": 9,
        "html_url": f"https://github.com/acme/ops/issues/9?{canary}",
    }
    inbox_path.write_text(json.dumps(inbox))
    weekly = ws / "out" / "weekly_report"
    for review in weekly.glob("*.md"):
        review.write_text(review.read_text() + f"\n\n[hook]({url})\n")
    with (ws / "ops" / "automation_runs.log").open("a") as handle:
        line = {"job": "verify", "job_id": canary, "status": "ok", "started_at": "2026-01-08T00:07:01Z"}
        handle.write(json.dumps(line) + "\n")
    done = run_cli_in_process(
        ["site", "build", "--workspace", str(ws), "--out", "_site"],
        env=clean_env(OBS_NOW=NOW, OBS_WEEKLY_WEBHOOK_URL=url),
    )
    assert done.returncode == 0, done.stderr
    assert canary not in done.stdout + done.stderr
    leaked = [p.name for p in (ws / "_site").rglob("*") if p.is_file() and canary.encode() in p.read_bytes()]
    assert leaked == []
    assert "delivery to" in (ws / "_site" / "alerts.html").read_text()  # the rest of the text is kept


@pytest.mark.parametrize("mark", ["|", "["])
@pytest.mark.parametrize("where", ["delivered", "generated"])
def test_a_secret_with_a_pipe_or_bracket_in_a_weekly_payload_never_reaches_the_site(ws, where, mark):
    """A review escapes a table cell's "|" as "\\|" and the site's Markdown turns it back: a secret holding a
    "|" (a webhook signature) was scrubbed from neither spelling and reached the page whole."""
    import secrets as random

    canary = "sig" + random.token_hex(8) + mark + random.token_hex(8)
    url = f"https://hooks.example/weekly?sig={canary}"
    (generated,) = (ws / "out" / "weekly_report").glob("*.json")
    payload = json.loads(generated.read_text())
    payload["alerts"][0]["message"] = f"delivery to {url} failed"
    if where == "delivered":
        history = ws / "ops" / "weekly_report_history"
        history.mkdir(parents=True)
        (history / "2026-01-05.json").write_text(json.dumps(payload))
    else:  # the dry run's review, as the weekly job wrote it (cell-escaped), beside its payload
        generated.write_text(json.dumps(payload))
        review = generated.with_suffix(".md")
        escaped = canary.replace("|", "\\|").replace("[", "\\[")
        review.write_text(review.read_text() + f"\n| alert | message |\n|---|---|\n| a | to {escaped} |\n")
    done = run_cli_in_process(
        ["site", "build", "--workspace", str(ws), "--out", "_site"],
        env=clean_env(OBS_NOW=NOW, OBS_WEEKLY_WEBHOOK_URL=url),
    )
    assert done.returncode == 0, done.stderr
    leaked = [p.name for p in (ws / "_site").rglob("*") if p.is_file() and canary.encode() in p.read_bytes()]
    assert leaked == []
    page = (ws / "_site" / "weekly" / "2026-01-05.html").read_text()
    assert ("delivery to *** failed" if where == "delivered" else "to ***") in page


def test_a_dataset_file_name_with_url_characters_gets_a_link_that_resolves(ws):
    dashboard = ws / "out" / "dashboard"
    manifest = json.loads((dashboard / "manifest.json").read_text())
    for name in ("odd #1?.json", "100%.json"):
        (dashboard / name).write_text("[]")
        manifest["datasets"].append({"path": name, "dataset": name, "row_count": 0})
    (dashboard / "manifest.json").write_text(json.dumps(manifest))
    assert build(ws)[0].returncode == 0
    from urllib.parse import unquote

    site = ws / "_site"
    links = [urldefrag(h)[0] for h in parse(site / "datasets.html").links if h.startswith("data/")]
    assert "data/odd%20%231%3F.json" in links and "data/100%25.json" in links
    assert all((site / unquote(h)).is_file() for h in links), links


def test_the_swap_never_leaves_a_moment_without_a_site(ws, monkeypatch):
    """The old site was renamed aside and the new one renamed in: a kill between the two left no site at
    all. The directories are now exchanged in one step (renameat2 RENAME_EXCHANGE on Linux)."""
    import os

    assert build(ws)[0].returncode == 0
    real = os.replace

    def killed_after_first_rename(src, dst):
        real(src, dst)
        if str(dst).endswith(".old.tmp"):
            raise KeyboardInterrupt("SIGKILL stand-in: the build dies between the two renames")

    monkeypatch.setattr(os, "replace", killed_after_first_rename)
    try:
        build(ws)
    except KeyboardInterrupt:
        pass
    monkeypatch.setattr(os, "replace", real)
    assert (ws / "_site" / "index.html").is_file() and (ws / "_site" / ".observability-site").is_file()
    assert build(ws)[0].returncode == 0  # and the next build completes, its leftovers swept
    assert [p.name for p in ws.iterdir() if p.name.startswith("_site")] == ["_site"]


def test_fail_on_never_fails_a_build_during_an_incident(ws):
    """The site shows other jobs' alerts; a workflow-wide OBS_FAIL_ON must not stop it publishing."""
    done, summary = build(ws, "--fail-on", "critical")
    assert done.returncode == 0, done.stderr
    assert summary["site_status"] == "critical" and summary["open_alerts"] == 1
