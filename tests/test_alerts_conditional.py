"""REST hygiene (issue 17, item 5): API version 2026-03-10, conditional list requests, write pacing, Retry-After."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from observability import secrets
from observability.alerts import cache as cache_mod
from observability.config import alerts as alerts_config
from observability.github import rest
from observability.github.rest import GitHubClient, GitHubError
from tests._support_github import API_VERSION, TOKEN, FakeClock, FakeGitHub, Pages, alerts_cli, github_client as client

T0 = datetime(2026, 1, 8, 10, 0, tzinfo=UTC)
FP = "0123456789abcdef"


@pytest.fixture()
def clock():
    return FakeClock()


@pytest.fixture()
def fake(clock):
    with FakeGitHub(clock=clock) as server:
        yield server
    assert server.violations == []


def firing(ws: Path, fp: str = FP) -> None:
    (ws / "ops").mkdir(parents=True, exist_ok=True)
    alert = {"id": fp, "rule": "missed_run", "source": "latency", "severity": "warning", "message": f"{fp} missed"}
    (ws / "ops" / "verify_alerts.json").write_text(json.dumps({"alerts": [alert]}))


def run(ws: Path, fake: FakeGitHub, at: datetime, *args: str) -> dict:
    result = alerts_cli(ws, *args, now=at.strftime("%Y-%m-%dT%H:%M:%SZ"), fake=fake)
    assert result.exit_code == 0, result
    assert fake.violations == []
    return result.summary


# -- API version ---------------------------------------------------------------------------------
def test_the_client_asks_for_2026_03_10_and_the_fake_refuses_any_other_version(fake, clock):
    assert rest.API_VERSION == API_VERSION == "2026-03-10"
    client(fake, clock).list_labels()
    assert fake.requests[-1]["api_version"] == "2026-03-10"
    url = f"{fake.url}/repos/{fake.repo}/labels"
    for version in ("2022-11-28", "1999-01-01", None):
        headers = {"Authorization": f"Bearer {TOKEN}", "Accept": "application/vnd.github+json"}
        if version:
            headers["X-GitHub-Api-Version"] = version
        answer = requests.get(url, headers=headers, timeout=10)
        assert answer.status_code == 400 and "Unsupported API version" in answer.json()["message"], version


def test_a_field_removed_by_2026_03_10_is_called_out_by_the_fake(fake, clock):
    """GitHub ignores the singular ``assignee`` since 2026-03-10: sent, it would be silently lost."""
    with pytest.raises(GitHubError):  # the fake refuses what it calls out (422)
        client(fake, clock).request("POST", f"/repos/{fake.repo}/issues", json={"title": "t", "assignee": "someone"})
    assert fake.violations == ["POST /repos/{owner}/{repo}/issues: body assignee: not a field of this operation"]
    fake.violations.clear()
    issue = client(fake, clock).create_issue("t", "b", [])
    assert "assignee" not in issue and issue["assignees"] == []


# -- conditional requests -----------------------------------------------------------------------
def test_a_second_list_of_an_unchanged_repository_is_a_304_and_costs_no_rate_limit(clock):
    with FakeGitHub(clock=clock, per_page_max=2) as fake:
        for n in range(5):
            fake.add_issue_by_hand(
                f"i{n}", f"<!-- observability-alert fingerprint=f{n} kind=alert -->", ["observability"]
            )
        store, c = Pages(), client(fake, clock)
        first = c.list_issues(labels="observability", store=store)
        assert [i["number"] for i in first] == [1, 2, 3, 4, 5] and len(store.pages) == 3  # three pages
        spent = fake.remaining
        again = c.list_issues(labels="observability", store=store)
        assert again == first and fake.remaining == spent  # three 304s, no rate limit spent
        assert [r["if_none_match"] is not None for r in fake.requests[-3:]] == [True, True, True]
        assert fake.not_modified == c.not_modified == 3
        # A change: a new issue lands on the last page only. Pages 1-2 stay 304, page 3 is fresh.
        fake.add_issue_by_hand("i5", "<!-- observability-alert fingerprint=f5 kind=alert -->", ["observability"])
        fresh = c.list_issues(labels="observability", store=store)
        assert [i["number"] for i in fresh] == [1, 2, 3, 4, 5, 6]
        assert fake.not_modified == 5 and fake.remaining == spent - 1
        assert fake.violations == []


def test_an_etag_stored_under_another_token_gets_a_200(fake, clock):
    """GitHub's ETags are token specific: a run with a new GITHUB_TOKEN (one per job) pays one list,
    then its own ETag works. A fixed token (a PAT) keeps its 304s from run to run."""
    store = Pages()
    client(fake, clock).list_labels(store=store)
    fake.token = "ghs_nextJobInstallationToken0123456789ab"
    again = client(fake, clock)
    again.list_labels(store=store)
    assert fake.not_modified == 0 and fake.requests[-1]["if_none_match"]
    again.list_labels(store=store)
    assert fake.not_modified == 1


def test_labels_list_is_conditional_and_a_new_label_is_seen(fake, clock):
    store, c = Pages(), client(fake, clock)
    c.create_label("observability", "5319e7", "x")
    assert c.list_labels(store=store) == [{"name": "observability"}]
    spent = fake.remaining
    assert c.list_labels(store=store) == [{"name": "observability"}] and fake.remaining == spent
    c.create_label("drill", "ededed", "y")
    assert [label["name"] for label in c.list_labels(store=store)] == ["drill", "observability"]
    assert fake.not_modified == 1


RECOVERED = ("report-failure", "--workflow", "latency", "--job", "sample", "--recovered")


def test_the_inbox_daily_relist_is_a_304_until_github_changes(tmp_path, clock):
    """End to end through the CLI: the cache keeps the list pages' ETags across runs (and state-store
    pushes). The daily re-list is made by the step every scheduled run ends with (report-failure)."""
    ws = tmp_path
    (ws / "configs" / "observability").mkdir(parents=True)
    (ws / "configs" / "observability" / "alerts.yaml").write_text("repeat_interval_hours: 200\n")
    firing(ws)
    with FakeGitHub(clock=clock) as fake:
        assert run(ws, fake, T0, "sync", "--no-mirrors")["action_counts"] == {"opened": 1}
        day = timedelta(hours=25)
        assert run(ws, fake, T0 + day, *RECOVERED)["api_calls"] == 1  # the re-list: the issue is new to it: 200
        spent, calls = fake.remaining, fake.calls
        summary = run(ws, fake, T0 + 2 * day, *RECOVERED)  # nothing changed on GitHub
        assert summary["api_calls"] == 1 and summary["api_not_modified"] == 1 and fake.calls == calls + 1
        assert fake.requests[-1]["if_none_match"] and fake.not_modified == 1 and fake.remaining == spent
        # A person closes the issue as not planned: the next re-list is a 200 and the cache follows it.
        fake.human_close(1, reason="not_planned")
        run(ws, fake, T0 + 3 * day, *RECOVERED)
        assert fake.not_modified == 1 and fake.remaining == spent - 1
        doc = json.loads((ws / "ops" / "alert_inbox.json").read_text())
        assert doc["issues"][FP]["state"] == "closed"
        (page,) = [p for k, p in doc["pages"].items() if "state=all" in k]
        assert page["etag"].startswith('W/"') and page["items"][0]["state"] == "closed"
        assert set(page["items"][0]) == {*cache_mod.LISTED_FIELDS, "body", "labels", "assignees"}
        assert page["items"][0]["body"] == f"<!-- observability-alert fingerprint={FP} kind=alert -->"


def test_a_cache_written_before_etags_loads_and_pages_stay_bounded(tmp_path):
    from observability.workspace import Workspace

    ws = Workspace(tmp_path)
    old = {"version": 1, "repo": "acme/ops", "labels": None, "stale": False, "updated_at": "2026-01-01T00:00:00Z"}
    (tmp_path / "ops").mkdir()
    (tmp_path / "ops" / "alert_inbox.json").write_text(json.dumps({**old, "issues": {}}))
    cache = cache_mod.Cache.load(ws, cache_mod.DEFAULT_PATH, "acme/ops")
    assert cache.pages == {} and not cache.cold
    for n in range(cache_mod.MAX_PAGES + 5):
        cache.clock_now = T0 + timedelta(minutes=n)
        cache.remember(f"/p?page={n}", f'W/"{n}"', [], None)
    cache.clock_now = T0 + timedelta(hours=1)
    assert cache.page("/p?page=5") is not None  # used now: kept over older ones
    cache.remember("/p?page=new", 'W/"new"', [], None)
    assert len(cache.pages) == cache_mod.MAX_PAGES and "/p?page=5" in cache.pages and "/p?page=6" not in cache.pages
    cache.save(T0)  # validates against the schema (maxProperties holds the bound too)
    again = cache_mod.Cache.load(ws, cache_mod.DEFAULT_PATH, "acme/ops")
    assert again.pages == cache.pages


# -- Retry-After and its report ------------------------------------------------------------------
def test_retry_after_on_a_5xx_is_honoured_and_reported_without_the_token(fake, clock, capsys):
    fake.inject(503, headers={"retry-after": "7"})
    client(fake, clock).list_labels()
    assert clock.sleeps == [7.0] and fake.calls == 2
    err = capsys.readouterr().err
    assert "github: GET /repos/acme/ops/labels: HTTP 503 with retry-after 7 s; waiting 7 s before retrying" in err
    assert TOKEN not in err


def test_retry_after_never_repeats_an_issue_creation(fake, clock):
    fake.inject(503, headers={"retry-after": "7"})
    with pytest.raises(GitHubError):
        client(fake, clock).create_issue("t", "b", [])
    assert clock.sleeps == [] and fake.calls == 1


def test_a_secondary_limit_wait_is_reported_on_stderr(fake, clock, capsys):
    fake.inject(429, headers={"retry-after": "5"})
    client(fake, clock).create_label("x", "ededed", "d")
    assert "github: POST /repos/acme/ops/labels: secondary rate limit (HTTP 429, retry-after 5 s); waiting 5 s" in (
        capsys.readouterr().err
    )


# -- write pacing --------------------------------------------------------------------------------
def test_writes_are_paced_from_the_end_of_the_previous_write_reads_are_not(fake, clock):
    c = client(fake, clock, write_interval_seconds=1.0)
    c.create_label("a", "ededed", "d")
    c.list_labels()  # a read between two writes: never paced
    c.create_label("b", "ededed", "d")
    issue = c.create_issue("t", "b", [])
    c.update_issue(issue["number"], state="closed")
    assert clock.sleeps == [1.0, 1.0, 1.0] and c.paced_seconds == 3.0 and c.waited_seconds == 0


def test_real_pacing_measured_by_the_fake_server(monkeypatch):
    """The one test with real waits (0.2 s x 3): the server sees each write start at least the
    interval after the previous write's answer was written, whatever the reads in between."""
    with FakeGitHub() as fake:
        c = GitHubClient(
            secrets.Secret("GITHUB_TOKEN", fake.token), fake.repo, api_url=fake.url, write_interval_seconds=0.2
        )
        c.create_label("a", "ededed", "d")
        c.list_labels()
        c.create_label("b", "ededed", "d")
        number = c.create_issue("t", "b", [])["number"]
        c.comment(number, "hello")
        writes = [r for r in fake.requests if r["method"] != "GET"]
        gaps = [b["started"] - a["ended"] for a, b in zip(writes, writes[1:], strict=False)]
        assert len(gaps) == 3 and min(gaps) >= 0.2, gaps
        read = next(r for r in fake.requests if r["method"] == "GET")
        assert read["started"] - writes[0]["ended"] < 0.2  # the read went at once
        assert fake.violations == []


def test_write_interval_is_configurable_and_validated(tmp_path, monkeypatch):
    monkeypatch.undo()  # the suite-wide 0 (tests/conftest.py): the real default is 1 s
    assert alerts_config.load_alerts(None, display="x").github_write_interval_seconds == 1.0
    assert rest.GitHubClient(secrets.Secret("T", "t0k3n-value-xyz"), "a/b").write_interval_seconds == 1.0
    cfg = tmp_path / "configs" / "observability" / "alerts.yaml"
    cfg.parent.mkdir(parents=True)
    cfg.write_text("github:\n  write_interval_seconds: 2.5\n")
    assert alerts_config.load_alerts(cfg, display="alerts.yaml").github_write_interval_seconds == 2.5
    cfg.write_text("github:\n  write_interval_seconds: -1\n")
    result = alerts_cli(tmp_path, "sync", "--dry-run", now="2026-01-08T10:00:00Z")
    assert result.exit_code == 2
    assert "configs/observability/alerts.yaml:2: field github.write_interval_seconds" in result.stderr


def test_an_artifact_download_honours_retry_after(fake, clock, tmp_path, capsys):
    artifact = fake.add_artifact("telemetry", b"PK-archive-bytes", run_id=7)
    fake.inject(429, headers={"retry-after": "3"}, match=lambda method, path: path.endswith("/zip"))
    size = client(fake, clock).download_artifact(artifact["id"], tmp_path / "a.zip")
    assert size == len(b"PK-archive-bytes") and clock.sleeps == [3.0]
    assert "HTTP 429 with retry-after; waiting 3 s before retrying" in capsys.readouterr().err
