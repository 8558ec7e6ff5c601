"""The status site built from the demo and from the real upstream fixtures, as a reader sees it in
headless Chromium.

`observability demo` makes a workspace (every job run once on sample data at the demo's clock),
`observability site build` renders it, and tests/_support_browser.py serves it on 127.0.0.1 and loads
every page in the light and the dark colour scheme: no console error, no failed request, every link
and fragment resolves, the HTML validates, and the latency chart is drawn. "Drawn" is measured
against the same site built at a clock with no data in its window (axes, legend and the SLO line
only): the demo's chart must carry clearly more ink than that.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest

from _support_browser import Browser, SiteServer, check_site, require_chromium
from _support_dashboard import FIXTURES
from observability.clock import iso
from observability.demo import SAMPLE_NOW


def _observability(*args: str, now, cwd: Path) -> None:
    env = {**os.environ, "OBS_NOW": iso(now)}
    env.pop("OBS_WORKSPACE", None)
    done = subprocess.run(
        [sys.executable, "-m", "observability", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr


# One worker runs this file (the demo's site and the browser is made once, not once per worker under -n).
pytestmark = pytest.mark.xdist_group("site_browser")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """(the demo's site, the same workspace's site 60 days later: nothing in the chart's window)."""
    root = tmp_path_factory.mktemp("site-browser")
    workspace = root / "demo"
    _observability("demo", "--dir", str(workspace), now=SAMPLE_NOW, cwd=root)
    _observability("site", "build", "--out", str(root / "site"), now=SAMPLE_NOW, cwd=workspace)
    _observability("site", "build", "--out", str(root / "empty"), now=SAMPLE_NOW + timedelta(days=60), cwd=workspace)
    return root / "site", root / "empty"


@pytest.fixture(scope="module")
def browser():
    require_chromium()
    with Browser() as b:
        yield b


def _pages(site: Path) -> list[str]:
    return sorted(p.relative_to(site).as_posix() for p in site.rglob("*.html"))


def test_every_page_loads_cleanly_in_both_colour_schemes(browser, built, tmp_path):
    site, _empty = built
    pages = _pages(site)
    assert {"index.html", "alerts.html", "jobs.html", "weekly.html", "datasets.html"} <= set(pages)
    with SiteServer(site) as server:
        reports, problems = check_site(browser, server, pages, tmp_path / "shots")
        served = list(server.served)
    assert problems == []
    # Every request the server saw succeeded (304: the browser's cache); the pages name an inline icon,
    # so the browser never probes /favicon.ico.
    assert [s for s in served if s[1] not in (200, 304)] == []
    assert len(reports) == 2 * len(pages) and all(r.screenshot and r.screenshot.stat().st_size for r in reports)
    index = [r for r in reports if r.url.endswith("/index.html")]
    assert all(r.charts for r in index), "the status page draws the latency chart"
    internal = {link for r in reports for link in r.links}
    assert any(link.endswith("/status.json") for link in internal), "the status page links status.json"


def test_the_chart_draws_the_series_not_only_its_axes(browser, built):
    site, empty = built
    ink = {}
    for name, directory in (("demo", site), ("empty", empty)):
        with SiteServer(directory) as server:
            reports, _problems = check_site(browser, server, ["index.html"], schemes=("light", "dark"))
        ink[name] = [(r.scheme, c["label"], c["ink"]) for r in reports for c in r.charts]
    assert ink["demo"] and len(ink["demo"]) == len(ink["empty"]), ink
    for (scheme, label, drawn), (_s, _l, axes_only) in zip(ink["demo"], ink["empty"], strict=True):
        assert drawn > axes_only * 1.2, f"{label} [{scheme}]: ink {drawn:.4f} against {axes_only:.4f} with no data"


def test_status_json_and_badges_are_served_as_json(built):
    site, _empty = built
    badges = sorted((site / "badges").glob("*.json"))
    assert badges
    with SiteServer(site) as server:
        for path in ["status.json", *(b.relative_to(site).as_posix() for b in badges)]:
            with urllib.request.urlopen(server.url(path), timeout=10) as answer:  # noqa: S310 - loopback
                assert answer.status == 200 and answer.headers["Content-Type"].startswith("application/json"), path
                body = json.loads(answer.read())
            if path.startswith("badges/"):  # shields.io endpoint badges
                assert body["schemaVersion"] == 1 and body["label"] and body["message"], path


def test_the_site_of_the_real_upstream_fixtures_loads_cleanly(browser, tmp_path):
    """The upstream research stack's own files (latency log, runs, reports), measured and exported
    as the scheduled jobs would, then built and loaded page by page."""
    if not (FIXTURES / "ops" / "signal_latency.csv").is_file():
        pytest.skip(f"upstream fixtures not found at {FIXTURES} (set OBS_TEST_UPSTREAM_FIXTURES)")
    now = SAMPLE_NOW.replace(year=2025, month=10, day=11, hour=12, minute=7)
    workspace = tmp_path / "upstream"
    for part in ("ops", "runs", "reports"):
        shutil.copytree(FIXTURES / part, workspace / part)
    (workspace / "logs").mkdir()
    shutil.move(workspace / "ops" / "signal_latency.csv", workspace / "logs" / "signal_latency.csv")
    _observability("latency", "sample", "--input", "logs/signal_latency.csv", now=now, cwd=workspace)
    _observability("dashboard", "export", "--dry-run", now=now, cwd=workspace)
    _observability("site", "build", "--out", "_site", now=now, cwd=workspace)
    site = workspace / "_site"
    with SiteServer(site) as server:
        reports, problems = check_site(browser, server, _pages(site), tmp_path / "shots")
    assert problems == []
    charts = [c for r in reports if r.url.endswith("/index.html") for c in r.charts]
    assert charts and all(c["ink"] > 0.01 for c in charts), charts
