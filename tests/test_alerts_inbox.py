"""The alert inbox end to end: the real latency job, ``alerts sync`` and the fake GitHub API."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from observability.alerts import render
from tests._support_github import FakeGitHub, alerts_cli
from tests._support_latency import append_log, current_row, iso, ok_run, write_log

T0 = datetime(2026, 1, 8, 10, 0, tzinfo=UTC)
LOG = "logs/signal_notifier.csv"


def window(ws: Path, index: int, latency_ms: float, source: str = "feed_a") -> datetime:
    """Three samples in the index-th 15-minute window from T0; returns a time just after it."""
    start = T0 + timedelta(minutes=15 * index)
    rows = [current_row(start + timedelta(minutes=m), latency_ms, source=source) for m in (1, 5, 9)]
    path = ws / LOG
    if path.exists():
        append_log(path, rows)
    else:
        write_log(path, rows)
    return start + timedelta(minutes=16)


def latency_run(ws: Path, at: datetime) -> dict:
    return ok_run(ws, "--input", LOG, now=at)


def sync(ws: Path, fake: FakeGitHub, at: datetime, *args: str):
    run = alerts_cli(ws, "sync", *args, now=iso(at), fake=fake)
    assert run.exit_code == 0, run
    assert run.summary["status"] in ("ok", "warning"), run
    assert fake.violations == []
    return run.summary


@pytest.fixture()
def fake():
    with FakeGitHub(clock=lambda: T0.timestamp() + 3600) as server:
        yield server


def test_breach_escalate_quiet_recover(tmp_path, fake):
    ws = tmp_path
    # Window 0 breaches: streak 1, no alert yet, and nothing to do on GitHub.
    latency_run(ws, window(ws, 0, 250_000))
    assert sync(ws, fake, T0 + timedelta(minutes=16))["api_calls"] == 1  # cold cache: one list, nothing found
    # Window 1 breaches: streak 2 → warning → one issue.
    at = window(ws, 1, 250_000)
    latency_run(ws, at)
    summary = sync(ws, fake, at)
    assert summary["action_counts"] == {"opened": 1}
    (issue,) = fake.issues.values()
    assert issue["title"] == "Latency SLO breach on feed_a"
    assert sorted(label["name"] for label in issue["labels"]) == ["observability", "severity:warning", "source:latency"]
    body = issue["body"]
    assert render.marker(summary["actions"][0]["fingerprint"], "alert") in body
    for needle in ("p95", "Streak", "Last breach", "observability-oncall", "Next action", "runbook", "Firing since"):
        assert needle in body, needle
    assert {"observability", "severity:warning", "source:latency"} <= set(fake.labels)
    assert fake.labels["severity:warning"]["color"] == "fbca04"  # created by us, not by GitHub's default
    # Window 2 breaches: streak 3 → critical → one comment and a relabel.
    at = window(ws, 2, 250_000)
    latency_run(ws, at)
    before = fake.calls
    summary = sync(ws, fake, at)
    assert summary["action_counts"] == {"escalated": 1}
    assert fake.label_names(1) == ["observability", "severity:critical", "source:latency"]
    comments = fake.comment_bodies(1)
    assert len(comments) == 1 and comments[0].startswith("**Escalated: warning → critical.**")
    assert fake.calls - before == summary["api_calls"] <= 6  # get, body, labels, comment (+ label create)
    assert "| Updated | " in fake.issues[1]["body"] and "3 consecutive breach" in fake.issues[1]["body"]  # rewritten
    # Ten more runs while it keeps breaching: no API call at all.
    for index in range(3, 13):
        at = window(ws, index, 250_000)
        latency_run(ws, at)
        before = fake.calls
        summary = sync(ws, fake, at)
        assert summary["api_calls"] == 0 and fake.calls == before
        assert summary["actions"] == []
    assert len(fake.comment_bodies(1)) == 1
    # Recovery: a good window resolves the alert → a comment with the duration, closed as completed.
    at = window(ws, 13, 1_000)
    latency_run(ws, at)
    summary = sync(ws, fake, at)
    assert summary["action_counts"] == {"resolved": 1}
    assert fake.issues[1]["state"] == "closed" and fake.issues[1]["state_reason"] == "completed"
    last = fake.comment_bodies(1)[-1]
    assert last.startswith("**Resolved** at 2026-01-08T13:15:00Z after 3 h 15 min")
    assert fake.violations == []
    # And the next run is free again.
    assert sync(ws, fake, at + timedelta(minutes=15))["api_calls"] == 0


def test_reminder_only_after_the_repeat_interval(tmp_path, fake):
    ws = tmp_path
    for index in range(2):
        at = window(ws, index, 250_000)
        latency_run(ws, at)
    sync(ws, fake, at)
    assert sync(ws, fake, at + timedelta(hours=23))["api_calls"] == 0
    before = fake.calls
    summary = sync(ws, fake, at + timedelta(hours=24))
    assert summary["action_counts"] == {"reminded": 1}
    assert fake.comment_bodies(1)[-1].startswith("**Still firing** (warning) for 1 d 0 h: feed_a: p95")
    # get (a manual close?), the body rewritten in place with the running figures, the reminder comment
    assert [r["method"] for r in fake.requests[before:]] == ["GET", "PATCH", "POST"]
    body = fake.issues[1]["body"]
    assert "| Updated | 2026-01-09T10:31:00Z" in body and "| Breaches |" in body and "| Firing since |" in body
    assert sync(ws, fake, at + timedelta(hours=25))["api_calls"] == 0


def test_cold_cache_finds_the_existing_issue(tmp_path, fake):
    ws = tmp_path
    for index in range(2):
        at = window(ws, index, 250_000)
        latency_run(ws, at)
    sync(ws, fake, at)
    (ws / "ops" / "alert_inbox.json").unlink()  # a lost cache (or a fresh state store)
    before = fake.calls
    summary = sync(ws, fake, at + timedelta(minutes=1))
    assert summary["listed_issues"] is True and summary["actions"] == []
    listed = fake.requests[before:]
    assert [(r["method"], r["path"]) for r in listed] == [("GET", "/repos/acme/ops/issues")]
    assert listed[0]["query"]["labels"] == "observability" and listed[0]["query"]["state"] == "all"
    assert len(fake.issues) == 1
    # The rebuilt cache knows the issue: escalation comments on it, no second issue.
    at = window(ws, 2, 250_000)
    latency_run(ws, at)
    assert sync(ws, fake, at)["action_counts"] == {"escalated": 1}
    assert len(fake.issues) == 1


def test_cold_cache_pages_through_many_issues(tmp_path):
    with FakeGitHub(per_page_max=2, clock=lambda: T0.timestamp() + 3600) as fake:
        for n in range(5):
            fake.add_issue_by_hand(f"noise {n}", "no marker", ["observability"])
        ws = tmp_path
        for index in range(2):
            at = window(ws, index, 250_000)
            latency_run(ws, at)
        sync(ws, fake, at)
        (ws / "ops" / "alert_inbox.json").unlink()
        before = fake.calls
        summary = sync(ws, fake, at + timedelta(minutes=1))
        assert summary["actions"] == [] and fake.calls - before == 3  # 6 issues, 2 per page
        assert len(fake.issues) == 6


def test_a_lost_run_never_loses_the_resolution(tmp_path, fake):
    ws = tmp_path
    for index in range(2):
        at = window(ws, index, 250_000)
        latency_run(ws, at)
    sync(ws, fake, at)
    # The recovery happens in a run whose sync never ran; a later run still closes the issue.
    at = window(ws, 2, 1_000)
    latency_run(ws, at)
    at = window(ws, 3, 1_000)
    latency_run(ws, at)
    assert sync(ws, fake, at)["action_counts"] == {"resolved": 1}
    assert fake.issues[1]["state"] == "closed"


def test_missing_state_closes_nothing(tmp_path, fake):
    ws = tmp_path
    for index in range(2):
        at = window(ws, index, 250_000)
        latency_run(ws, at)
    sync(ws, fake, at)
    (ws / "ops" / "latency_state.json").unlink()  # e.g. a runner that did not pull the state store
    run = alerts_cli(ws, "sync", now=iso(at), fake=fake)
    assert run.exit_code == 0 and run.summary["actions"] == [], run
    assert "source latency: ops/latency_state.json not found" in run.stderr
    assert fake.issues[1]["state"] == "open"


def test_closed_by_a_person_while_firing_is_reopened_at_the_next_touch(tmp_path, fake):
    ws = tmp_path
    for index in range(2):
        at = window(ws, index, 250_000)
        latency_run(ws, at)
    sync(ws, fake, at)
    fake.human_close(1, "completed")
    assert sync(ws, fake, at + timedelta(minutes=5))["api_calls"] == 0  # not noticed until the next touch
    at = window(ws, 2, 250_000)
    latency_run(ws, at)
    summary = sync(ws, fake, at)
    assert [a["action"] for a in summary["actions"]] == ["reopened_after_manual_close", "escalated"]
    assert fake.issues[1]["state"] == "open"
    assert "@oncall-person closed this issue while the alert is still firing" in fake.comment_bodies(1)[0]


def test_closed_as_not_planned_silences_reminders_until_resolution(tmp_path, fake):
    ws = tmp_path
    for index in range(3):
        at = window(ws, index, 250_000)
        latency_run(ws, at)
    sync(ws, fake, at)  # opened straight at critical
    fake.human_close(1, "not_planned")
    summary = sync(ws, fake, at + timedelta(hours=24))
    assert summary["action_counts"] == {"silenced": 1} and fake.comment_bodies(1) == []
    assert sync(ws, fake, at + timedelta(hours=48))["api_calls"] == 0
    at = window(ws, 3, 1_000)
    latency_run(ws, at)
    assert sync(ws, fake, at + timedelta(hours=49))["action_counts"] == {"resolved": 1}
    assert fake.issues[1]["state_reason"] == "not_planned"  # left as the person closed it
    assert fake.comment_bodies(1)[-1].startswith("**Resolved**")


def test_a_new_episode_reopens_the_same_issue(tmp_path, fake):
    ws = tmp_path
    for index in range(2):
        at = window(ws, index, 250_000)
        latency_run(ws, at)
    sync(ws, fake, at)
    at = window(ws, 2, 1_000)
    latency_run(ws, at)
    sync(ws, fake, at)
    for index in (3, 4):
        at = window(ws, index, 250_000)
        latency_run(ws, at)
    summary = sync(ws, fake, at)
    assert summary["action_counts"] == {"reopened": 1}
    assert len(fake.issues) == 1 and fake.issues[1]["state"] == "open"
    assert fake.comment_bodies(1)[-1].startswith("**Firing again** (warning)")


def test_dry_run_makes_no_call_and_writes_the_plan(tmp_path, fake):
    ws = tmp_path
    for index in range(2):
        at = window(ws, index, 250_000)
        latency_run(ws, at)
    run = alerts_cli(ws, "sync", "--dry-run", now=iso(at), fake=fake)
    assert run.exit_code == 0 and run.summary["status"] == "dry_run", run
    assert fake.calls == 0 and not (ws / "ops" / "alert_inbox.json").exists()
    plan = json.loads((ws / run.summary["artefacts"][0]).read_text())
    assert [(c["method"], c["path"]) for c in plan["calls"]] == [
        ("GET", "/repos/acme/ops/issues"),
        ("GET", "/repos/acme/ops/labels"),
        ("POST", "/repos/acme/ops/labels"),
        ("POST", "/repos/acme/ops/labels"),
        ("POST", "/repos/acme/ops/labels"),
        ("POST", "/repos/acme/ops/issues"),
    ]
    assert plan["calls"][-1]["body"]["title"] == "Latency SLO breach on feed_a"


def test_dry_run_needs_no_token_or_repository(tmp_path):
    run = alerts_cli(tmp_path, "sync", "--dry-run", now="2026-01-08T10:00:00Z")
    assert run.exit_code == 0 and run.summary["status"] == "dry_run", run


def test_other_sources_weekly_dashboard_and_alert_files(tmp_path, fake):
    ws = tmp_path
    (ws / "ops").mkdir()
    (ws / "ops" / "weekly_report_heartbeat.json").write_text(json.dumps({"pending_replay": "2026-01-05"}))
    (ws / "ops" / "dashboard_export_heartbeat.json").write_text(
        json.dumps(
            {
                "datasets": {
                    "slippage": {
                        "status": "failed",
                        "stale": True,
                        "last_failure": {
                            "at": "2026-01-08T09:00:00Z",
                            "error_code": "invalid_input",
                            "error_message": "telemetry.json: bad",
                        },
                    },
                    "turnover": {"status": "ok"},
                }
            }
        )
    )
    (ws / "ops" / "verify_alerts.json").write_text(
        json.dumps(
            {
                "alerts": [
                    {
                        "id": "0123456789abcdef",
                        "rule": "missed_run",
                        "source": "latency",
                        "severity": "warning",
                        "message": "latency: 3 scheduled runs missed",
                        "next_action": "check the schedule",
                        "runbook": "docs/schedules.md#missed-runs",
                    }
                ]
            }
        )
    )
    summary = sync(ws, fake, T0)
    assert summary["action_counts"] == {"opened": 3}
    titles = sorted(i["title"] for i in fake.issues.values())
    assert titles == [
        "Dashboard export failing: slippage",
        "Missed scheduled runs: latency",
        "Weekly report not delivered",
    ]
    verify_issue = next(i for i in fake.issues.values() if i["title"].startswith("Missed"))
    assert "[runbook](https://github.com/acme/ops/blob/HEAD/docs/schedules.md#missed-runs)" in verify_issue["body"]
    # All three recover.
    (ws / "ops" / "weekly_report_heartbeat.json").write_text(json.dumps({"pending_replay": None}))
    (ws / "ops" / "dashboard_export_heartbeat.json").write_text(
        json.dumps({"datasets": {"slippage": {"status": "ok"}}})
    )
    (ws / "ops" / "verify_alerts.json").write_text(json.dumps({"alerts": []}))
    summary = sync(ws, fake, T0 + timedelta(hours=1))
    assert summary["action_counts"] == {"resolved": 3}
    assert all(i["state"] == "closed" for i in fake.issues.values())


def test_bad_alert_file_is_a_warning_naming_the_field(tmp_path, fake):
    (tmp_path / "ops").mkdir()
    (tmp_path / "ops" / "verify_alerts.json").write_text(
        json.dumps({"alerts": [{"id": "x", "severity": "loud", "message": "m"}]})
    )
    (tmp_path / "ops" / "weekly_report_heartbeat.json").write_text(json.dumps({"pending_replay": "2026-01-05"}))
    run = alerts_cli(tmp_path, "sync", now=iso(T0), fake=fake)
    assert run.exit_code == 0 and run.summary["status"] == "warning", run
    assert run.summary["diagnostics"]["warnings"] == [
        "source verify: ops/verify_alerts.json: field alerts[0].severity: one of info, warning, critical"
    ]
    assert run.summary["action_counts"] == {"opened": 1}  # the weekly alert still gets its issue


def test_issue_body_respects_the_limit():
    from observability.alerts.sources import Alert

    alert = Alert(
        "0123456789abcdef", "verify", "x", "y", "warning", "m", "o", "n", evidence={"blob": ["z" * 100] * 2000}
    )
    body = render.alert_body(alert, drill=False, runbook="docs/alerts.md", links=render.Links())
    assert len(body) <= render.BODY_LIMIT
    assert "Evidence cut to respect GitHub's 65,535-character limit" in body
    assert body.startswith(render.marker("0123456789abcdef", "alert"))


def test_issue_links_point_at_docs_of_the_pinned_release_and_at_the_run_artifacts(tmp_path, fake):
    """An automation repository made by `init` has no docs/ and never holds out/: links must not 404."""
    ws = tmp_path
    for index in range(2):
        at = window(ws, index, 250_000)
        latency_run(ws, at)
    docs = "https://github.com/acme/observability/blob/" + "a" * 40
    run_url = "https://github.com/acme/trading-observability/actions/runs/77"
    run = alerts_cli(ws, "sync", "--run-url", run_url, now=iso(at), fake=fake, env={"OBS_DOCS_URL": docs})
    assert run.exit_code == 0, run
    (issue,) = fake.issues.values()
    assert f"[on-call runbook]({docs}/docs/alerts.md)" in issue["body"]
    assert f"[evidence]({run_url}#artifacts)" in issue["body"]
    assert "docs/runbook.md#latency-slo-breach" in issue["body"]  # one anchor, not two
    assert "/blob/HEAD/docs/" not in issue["body"] and "/blob/HEAD/out/" not in issue["body"]


def test_links_without_a_docs_url_or_run_keep_relative_docs_in_the_repository():
    links = render.Links(repo_url="https://github.com/o/r")
    assert (
        render.link("runbook", "docs/alerts.md", links) == "[runbook](https://github.com/o/r/blob/HEAD/docs/alerts.md)"
    )
    assert render.link("evidence", "out/latency_alerts/x.json", links) == "evidence"  # not linkable: no run
    assert render.link("x", "https://example.test/a", links) == "[x](https://example.test/a)"
