"""Failure issues that keep failing: the body edited in place, one summary per interval, escalation once.

Every run goes through the real ``alerts report-failure`` (in-process) against the fake GitHub API
(checked against GitHub's OpenAPI description) and, for pages, a loopback PagerDuty receiver. Time
is the OBS_NOW clock: a 15-minute cadence costs nothing.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from observability.alertitem import fingerprint
from observability.clock import iso
from tests._support_github import FakeGitHub, Receiver, alerts_cli

T0 = datetime(2026, 1, 8, 10, 0, tzinfo=UTC)
RUN = "https://github.com/acme/ops/actions/runs/{}"
ROUTING_KEY = "R0UT1NGKEYcanary0123456789abcdef"
FP = fingerprint("failure", "latency", "sample")


@pytest.fixture()
def fake():
    with FakeGitHub(clock=lambda: T0.timestamp()) as server:
        yield server
    assert server.violations == []


@pytest.fixture()
def pd():
    receiver = Receiver(default_status=202)
    yield receiver
    receiver.close()


def configure(ws, text: str) -> None:
    path = ws / "configs" / "observability" / "alerts.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def fail(ws, fake, n: int, *, pd=None, slack=None, recovered=False, at=None, sha="0123456789abcdef"):
    """The n-th run (15 minutes apart from T0) reports its outcome."""
    env = {"GITHUB_SHA": sha}
    if slack is not None:
        env["OBS_ALERTS_SLACK_WEBHOOK"] = slack.url + "/services/T000/B000/XXXXXXXXXXXXXXXXXXXXXXXX"
    if pd is not None:
        env.update(OBS_PAGERDUTY_ROUTING_KEY=ROUTING_KEY, OBS_PAGERDUTY_EVENTS_URL=pd.url + "/v2/enqueue")
    args = ["report-failure", "--workflow", "latency", "--job", "sample", "--run-url", RUN.format(n)]
    when = at or T0 + timedelta(minutes=15 * (n - 1))
    run = alerts_cli(ws, *args, *(["--recovered"] if recovered else []), now=iso(when), fake=fake, env=env)
    assert run.exit_code == 0, run
    return run.summary


def writes(fake, since: int) -> list[tuple[str, str]]:
    return [(r["method"], r["path"]) for r in fake.requests[since:]]


def test_failures_within_an_interval_edit_the_body_and_never_comment(tmp_path, fake):
    configure(tmp_path, "escalation: {after_hours: null, after_failures: null}\n")
    fail(tmp_path, fake, 1)
    for n in range(2, 9):  # 8 failures in 1 h 45 min: well inside the 24 h interval
        before = fake.calls
        s = fail(tmp_path, fake, n, sha=str(n) * 40)
        assert s["action_counts"] == {"appended": 1}
        assert writes(fake, before) == [("PATCH", "/repos/acme/ops/issues/1")]  # one body edit, no comment
        assert s["notified_channels"] == {}  # a silent edit told nobody
    assert len(fake.issues) == 1 and fake.comment_bodies(1) == []
    body = fake.issues[1]["body"]
    assert "8 failed run(s) in a row since 2026-01-08T10:00:00Z, the last at 2026-01-08T11:45:00Z" in body
    assert f"| First failure | 2026-01-08T10:00:00Z: [run]({RUN.format(1)}), commit `0123456789ab` |" in body
    assert f"| Last failure | 2026-01-08T11:45:00Z: [run]({RUN.format(8)}), commit `888888888888` |" in body
    # Recovery: count and duration in the comment, the body says recovered, closed in the same PATCH.
    before = fake.calls
    s = fail(tmp_path, fake, 9, recovered=True)
    assert writes(fake, before) == [
        ("POST", "/repos/acme/ops/issues/1/comments"),
        ("PATCH", "/repos/acme/ops/issues/1"),
    ]
    assert fake.comment_bodies(1) == [
        f"**Recovered** at 2026-01-08T12:00:00Z: run {RUN.format(9)}, commit `0123456789ab` succeeded "
        "after 8 failure(s) over 2 h 00 min. Closing."
    ]
    assert fake.issues[1]["state"] == "closed" and "**Recovered** at 2026-01-08T12:00:00Z" in fake.issues[1]["body"]


def test_crossing_the_interval_comments_exactly_once_with_a_summary(tmp_path, fake):
    configure(tmp_path, "failure_repeat_interval_hours: 1\nescalation: {after_hours: null, after_failures: null}\n")
    slack = Receiver()
    try:
        actions = [next(iter(fail(tmp_path, fake, n, slack=slack)["action_counts"])) for n in range(1, 11)]
        # Slack hears what the issue's watchers hear: the opening and each summary, not every body edit.
        assert [m["json"]["text"].split(":")[0] for m in slack.received] == ["failing (critical)"] * 3
    finally:
        slack.close()
    assert actions == ["opened", *["appended"] * 3, "summarised", *["appended"] * 3, "summarised", "appended"]
    comments = fake.comment_bodies(1)
    assert len(comments) == 2
    assert comments[0].startswith(
        "**Still failing**: 4 more failed run(s) since 2026-01-08T10:00:00Z, 5 in a row since 2026-01-08T10:00:00Z."
    )
    assert comments[1].startswith("**Still failing**: 4 more failed run(s) since 2026-01-08T11:00:00Z, 9 in a row")
    assert "10 failed run(s) in a row" in fake.issues[1]["body"]


def test_escalation_by_count_pages_once_and_recovery_resolves_the_same_dedup_key(tmp_path, fake, pd):
    configure(tmp_path, "escalation: {after_failures: 3, after_hours: null, mention: '@acme/markets-oncall'}\n")
    counts = [fail(tmp_path, fake, n, pd=pd)["action_counts"] for n in range(1, 7)]
    assert counts == [
        {"opened": 1},
        {"appended": 1},
        {"escalated": 1},
        {"appended": 1},
        {"appended": 1},
        {"appended": 1},
    ]
    assert [r["json"]["event_action"] for r in pd.received] == ["trigger"]
    trigger = pd.received[0]["json"]
    assert trigger["dedup_key"] == FP and trigger["payload"]["severity"] == "critical"
    assert trigger["payload"]["class"] == "job_failure" and trigger["routing_key"] == ROUTING_KEY
    (escalated,) = fake.comment_bodies(1)
    assert escalated.startswith(
        "**Escalated** after 3 failed runs in a row (threshold 3); the first failure was at 2026-01-08T10:00:00Z."
    )
    assert "@acme/markets-oncall: this job is still failing, please take it now." in escalated
    assert f"PagerDuty incident triggered at critical (dedup_key `{FP}`)." in escalated
    # It says what to do, not only that it escalated (whoever is paged may not have seen the issue yet).
    assert "**Next action:** open the last run, read the failing step's log" in escalated
    assert "[on-call runbook](https://github.com/acme/ops/blob/HEAD/docs/alerts.md)" in escalated
    assert "| Escalated | 2026-01-08T10:30:00Z: PagerDuty incident triggered" in fake.issues[1]["body"]
    s = fail(tmp_path, fake, 7, pd=pd, recovered=True)
    assert [r["json"]["event_action"] for r in pd.received] == ["trigger", "resolve"]
    assert pd.received[1]["json"] == {"routing_key": ROUTING_KEY, "event_action": "resolve", "dedup_key": FP}
    assert f"PagerDuty incident resolved (dedup_key `{FP}`). Closing." in fake.comment_bodies(1)[-1]
    # The closed issue's body no longer reads as if the page were still open.
    assert (
        f"| Escalated | 2026-01-08T10:30:00Z: PagerDuty incident triggered at critical (dedup_key `{FP}`). "
        f"Then at recovery: PagerDuty incident resolved (dedup_key `{FP}`). |"
    ) in fake.issues[1]["body"]
    assert [m["status"] for m in s["mirrors"] if m["mirror"] == "pagerduty"] == ["sent"]
    assert ROUTING_KEY not in json.dumps(s)
    # A new episode starts afresh: it can escalate again (PagerDuty opens a new incident on the same key).
    for n in range(8, 11):
        fail(tmp_path, fake, n, pd=pd)
    assert [r["json"]["event_action"] for r in pd.received] == ["trigger", "resolve", "trigger"]


def test_escalation_by_time_fires_once_without_pagerduty_and_names_the_mention(tmp_path, fake):
    configure(tmp_path, "escalation: {after_hours: 1, mention: '@oncall-person'}\n")
    fail(tmp_path, fake, 1)
    assert fail(tmp_path, fake, 2, at=T0 + timedelta(minutes=59))["action_counts"] == {"appended": 1}
    s = fail(tmp_path, fake, 3, at=T0 + timedelta(minutes=75))
    assert s["action_counts"] == {"escalated": 1}
    assert [m["status"] for m in s["mirrors"] if m["mirror"] == "pagerduty"] == ["skipped"]
    (comment,) = fake.comment_bodies(1)
    assert comment.startswith("**Escalated** after 1 h 15 min of failures, 3 failed run(s) (threshold 1 h); the first")
    assert "@oncall-person" in comment and "No PagerDuty page: its routing key is not set." in comment
    for minutes in (90, 105, 120):
        assert fail(tmp_path, fake, 4, at=T0 + timedelta(minutes=minutes))["action_counts"] == {"appended": 1}
    assert len(fake.comment_bodies(1)) == 1
    # No page was raised: recovery sends no resolve and says nothing about PagerDuty.
    fail(tmp_path, fake, 5, recovered=True, at=T0 + timedelta(hours=3))
    assert "PagerDuty" not in fake.comment_bodies(1)[-1]


def test_a_lost_cache_neither_pages_nor_comments_twice_and_keeps_the_count(tmp_path, fake, pd):
    configure(tmp_path, "escalation: {after_failures: 2}\n")
    fail(tmp_path, fake, 1, pd=pd)
    fail(tmp_path, fake, 2, pd=pd)  # escalates
    assert len(pd.received) == 1 and len(fake.comment_bodies(1)) == 1
    (tmp_path / "ops" / "alert_inbox.json").unlink()  # a lost state push: the next runner has no cache
    s = fail(tmp_path, fake, 3, pd=pd)
    assert s["listed_issues"] is True and s["action_counts"] == {"appended": 1}
    assert len(pd.received) == 1 and len(fake.comment_bodies(1)) == 1  # restored from the issue body
    body = fake.issues[1]["body"]
    assert "3 failed run(s) in a row since 2026-01-08T10:00:00Z" in body
    assert f"| First failure | 2026-01-08T10:00:00Z: [run]({RUN.format(1)})" in body
    (tmp_path / "ops" / "alert_inbox.json").unlink()
    fail(tmp_path, fake, 4, pd=pd, recovered=True)
    assert pd.received[-1]["json"]["event_action"] == "resolve" and pd.received[-1]["json"]["dedup_key"] == FP
    assert "after 3 failure(s)" in fake.comment_bodies(1)[-1]


def test_a_failed_trigger_is_retried_on_the_next_failure_without_a_second_comment(tmp_path, fake, pd):
    configure(tmp_path, "escalation: {after_failures: 2}\n")
    pd.script = [(500, {})] * 3  # the shared retry policy's three attempts all fail (waits are injected: none)
    fail(tmp_path, fake, 1, pd=pd)
    s = fail(tmp_path, fake, 2, pd=pd)
    assert s["status"] == "warning" and s["action_counts"] == {"escalated": 1}
    assert "PagerDuty trigger failed (trigger: HTTP 500 after 3 attempt(s))" in fake.comment_bodies(1)[0]
    s = fail(tmp_path, fake, 3, pd=pd)
    assert [m["status"] for m in s["mirrors"] if m["mirror"] == "pagerduty"] == ["sent"]
    assert len(fake.comment_bodies(1)) == 1 and len(pd.received) == 4
    assert "PagerDuty incident triggered at critical" in fake.issues[1]["body"]
    fail(tmp_path, fake, 4, pd=pd)
    assert len(pd.received) == 4  # sent: never again this episode


def test_a_cache_from_before_the_running_count_still_loads(tmp_path, fake):
    """ops/alert_inbox.json as the previous release wrote it: no first/last failure, no escalation."""
    fake.add_issue_by_hand(
        "latency/sample failing",
        f"<!-- observability-alert fingerprint={FP} kind=failure -->\n**old body**",
        ["observability", "job-failure", "source:sample"],
    )
    old = {
        "version": 1,
        "repo": "acme/ops",
        "labels": ["job-failure", "observability", "source:sample"],
        "stale": False,
        "updated_at": "2026-01-08T09:45:00Z",
        "listed_at": "2026-01-08T09:00:00Z",
        "issues": {
            FP: {
                "number": 1,
                "kind": "failure",
                "origin": "sample",
                "subject": "latency",
                "title": "latency/sample failing",
                "html_url": "https://github.com/acme/ops/issues/1",
                "state": "open",
                "status": "firing",
                "severity": None,
                "drill": False,
                "silenced": False,
                "started_at": "2026-01-08T09:30:00Z",
                "opened_at": "2026-01-08T09:30:00Z",
                "last_notified_at": "2026-01-08T09:45:00Z",
                "resolved_at": None,
                "failures": 2,
            }
        },
    }
    cache = tmp_path / "ops" / "alert_inbox.json"
    cache.parent.mkdir(parents=True)
    cache.write_text(json.dumps(old))
    configure(tmp_path, "escalation: {after_failures: null, after_hours: null}\n")
    before = fake.calls
    run = alerts_cli(
        tmp_path,
        "report-failure",
        "--workflow",
        "latency",
        "--job",
        "sample",
        "--run-url",
        RUN.format(3),
        now="2026-01-08T10:00:00Z",
        fake=fake,
    )
    assert run.exit_code == 0 and "rebuilding" not in run.stderr, run
    assert writes(fake, before) == [("PATCH", "/repos/acme/ops/issues/1")]  # no re-list, no comment
    body = fake.issues[1]["body"]
    assert "3 failed run(s) in a row since 2026-01-08T09:30:00Z" in body
    assert "| First failure | 2026-01-08T09:30:00Z: run (no URL given) |" in body
    entry = json.loads(cache.read_text())["issues"][FP]
    assert entry["failures"] == 3 and entry["last_failure"]["run_url"] == RUN.format(3)


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("escalation: {after_failures: 1}\n", "escalation.after_failures"),
        ("escalation: {after_hours: 0}\n", "escalation.after_hours"),
        ("escalation: {mention: oncall}\n", "escalation.mention"),
        ("escalation: {pages: true}\n", "escalation"),
        ("failure_repeat_interval_hours: -1\n", "failure_repeat_interval_hours"),
    ],
)
def test_bad_escalation_settings_are_exit_2_naming_the_field(tmp_path, text, field):
    configure(tmp_path, text)
    run = alerts_cli(tmp_path, "report-failure", "--job", "sample", "--dry-run", now="2026-01-08T10:00:00Z")
    assert run.exit_code == 2, run
    message = run.summary["diagnostics"]["error_message"]
    assert message.startswith("configs/observability/alerts.yaml:1: field ") and field in message, message


def test_settings_defaults_and_overrides(tmp_path):
    from observability.config.alerts import Escalation, load_alerts

    path = tmp_path / "alerts.yaml"
    path.write_text("repeat_interval_hours: 6\nsources:\n  - {name: bench, path: ops/b.json}\n")
    cfg = load_alerts(path, display="alerts.yaml")
    assert cfg.escalation == Escalation(after_hours=4.0, after_failures=8, mention=None, pagerduty=True)
    assert cfg.failure_interval_hours == 6 and cfg.sources == (("bench", "ops/b.json"),)
    path.write_text(
        "failure_repeat_interval_hours: 2\n"
        "escalation: {after_hours: null, after_failures: 12, mention: '@acme/oncall', pagerduty: false}\n"
    )
    cfg = load_alerts(path, display="alerts.yaml")
    assert cfg.failure_interval_hours == 2
    assert cfg.escalation == Escalation(after_hours=None, after_failures=12, mention="@acme/oncall", pagerduty=False)


def test_sync_escalates_a_weekly_job_that_failed_once_and_costs_nothing_until_then(tmp_path, fake, pd):
    """A job that runs rarely fails once: the issue is past after_hours long before the next failure."""
    configure(tmp_path, "escalation: {after_hours: 4}\n")
    env = {"OBS_PAGERDUTY_ROUTING_KEY": ROUTING_KEY, "OBS_PAGERDUTY_EVENTS_URL": pd.url + "/v2/enqueue"}
    fail(tmp_path, fake, 1, pd=pd)
    before = fake.calls
    for hours in (1, 2, 3):
        run = alerts_cli(tmp_path, "sync", now=iso(T0 + timedelta(hours=hours)), fake=fake, env=env)
        assert run.exit_code == 0 and run.summary["api_calls"] == 0, run
    assert fake.calls == before and pd.received == []
    run = alerts_cli(tmp_path, "sync", now=iso(T0 + timedelta(hours=4)), fake=fake, env=env)
    assert run.summary["action_counts"] == {"escalated": 1}, run
    assert writes(fake, before) == [
        ("POST", "/repos/acme/ops/issues/1/comments"),
        ("PATCH", "/repos/acme/ops/issues/1"),
    ]
    assert [(r["json"]["event_action"], r["json"]["dedup_key"]) for r in pd.received] == [("trigger", FP)]
    assert fake.comment_bodies(1)[0].startswith(
        "**Escalated** after 4 h 00 min of failures, 1 failed run(s) (threshold 4 h)"
    )
    # Once per episode: later syncs cost nothing, the next failure pages nothing more; recovery resolves the same key.
    assert alerts_cli(tmp_path, "sync", now=iso(T0 + timedelta(hours=5)), fake=fake, env=env).summary["api_calls"] == 0
    fail(tmp_path, fake, 2, pd=pd, at=T0 + timedelta(days=7))  # a week on: a summary (the interval passed), no page
    assert len(pd.received) == 1 and fake.comment_bodies(1)[1].startswith("**Still failing**: 1 more failed run(s)")
    fail(tmp_path, fake, 3, pd=pd, recovered=True, at=T0 + timedelta(days=14))
    assert [(r["json"]["event_action"], r["json"]["dedup_key"]) for r in pd.received] == [
        ("trigger", FP),
        ("resolve", FP),
    ]
