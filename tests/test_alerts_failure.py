"""``alerts report-failure``: open → append → close, cold caches, the CI drill, the Slack mirror."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests._support_github import FakeGitHub, Receiver, alerts_cli

ROOT = Path(__file__).resolve().parents[1]
NOW = "2026-01-08T10:00:00Z"
RUN = "https://github.com/acme/ops/actions/runs/{}"


@pytest.fixture()
def fake():
    with FakeGitHub(clock=lambda: 1_767_866_400.0) as server:
        yield server
    assert server.violations == []


def report(ws, fake, *args, now=NOW, env=None):
    run = alerts_cli(ws, "report-failure", "--workflow", "latency", *args, now=now, fake=fake, env=env)
    assert run.exit_code == 0, run
    return run.summary


def test_open_append_close(tmp_path, fake):
    s = report(tmp_path, fake, "--job", "sample", "--run-url", RUN.format(1))
    assert s["action_counts"] == {"opened": 1}
    issue = fake.issues[1]
    assert issue["title"] == "latency/sample failing"
    assert fake.label_names(1) == ["job-failure", "observability", "source:sample"]
    assert RUN.format(1) in issue["body"] and "Acknowledge within 10 minutes" in issue["body"]
    s = report(tmp_path, fake, "--job", "sample", "--run-url", RUN.format(2), now="2026-01-08T10:15:00Z")
    assert s["action_counts"] == {"appended": 1} and s["api_calls"] == 1
    assert fake.comment_bodies(1) == []  # a repeat within the interval edits the body: no notification
    assert "2 failed run(s) in a row since 2026-01-08T10:00:00Z" in fake.issues[1]["body"]
    assert f"| Last failure | 2026-01-08T10:15:00Z: [run]({RUN.format(2)}) |" in fake.issues[1]["body"]
    s = report(tmp_path, fake, "--job", "sample", "--run-url", RUN.format(3), "--recovered", now="2026-01-08T11:00:00Z")
    assert s["action_counts"] == {"recovered": 1}
    assert fake.issues[1]["state"] == "closed" and fake.issues[1]["state_reason"] == "completed"
    assert fake.comment_bodies(1)[-1] == (
        f"**Recovered** at 2026-01-08T11:00:00Z: run {RUN.format(3)} succeeded "
        "after 2 failure(s) over 1 h 00 min. Closing."
    )
    # Recovery again (every successful run calls it): free with a warm cache.
    s = report(tmp_path, fake, "--job", "sample", "--run-url", RUN.format(4), "--recovered")
    assert s["api_calls"] == 0 and s["actions"] == []
    # Failing again later reopens the same issue.
    s = report(tmp_path, fake, "--job", "sample", "--run-url", RUN.format(5), now="2026-01-09T10:00:00Z")
    assert s["action_counts"] == {"reopened": 1} and len(fake.issues) == 1
    assert fake.issues[1]["state"] == "open"


def test_cold_cache_appends_to_the_existing_issue(tmp_path, fake):
    report(tmp_path, fake, "--job", "sample", "--run-url", RUN.format(1))
    (tmp_path / "ops" / "alert_inbox.json").unlink()
    s = report(tmp_path, fake, "--job", "sample", "--run-url", RUN.format(2))
    assert s["action_counts"] == {"appended": 1} and len(fake.issues) == 1
    (tmp_path / "ops" / "alert_inbox.json").unlink()
    s = report(tmp_path, fake, "--job", "sample", "--run-url", RUN.format(3), "--recovered")
    assert s["action_counts"] == {"recovered": 1} and s["api_calls"] == 3  # list, comment, close


def test_workflow_from_the_environment_and_a_custom_title(tmp_path, fake):
    run = alerts_cli(
        tmp_path,
        "report-failure",
        "--job",
        "tests",
        "--run-url",
        RUN.format(1),
        "--title",
        "CI failure alerts",
        now=NOW,
        fake=fake,
        env={"GITHUB_WORKFLOW": "CI"},
    )
    assert run.exit_code == 0, run
    assert fake.issues[1]["title"] == "CI failure alerts"


def test_off_github_the_workflow_is_named_after_the_job(tmp_path, fake):
    """A laptop has no GITHUB_WORKFLOW: the issue is the one the job's caller workflow (named after it) uses."""
    run = alerts_cli(tmp_path, "report-failure", "--job", "latency", now=NOW, fake=fake)
    assert run.exit_code == 0, run
    assert fake.issues[1]["title"] == "latency/latency failing"
    on_ci = alerts_cli(
        tmp_path,
        "report-failure",
        "--job",
        "latency",
        "--recovered",
        now=NOW,
        fake=fake,
        env={"GITHUB_WORKFLOW": "latency"},
    )
    assert on_ci.exit_code == 0, on_ci
    assert fake.issues[1]["state"] == "closed" and len(fake.issues) == 1


def test_every_caller_workflow_is_named_after_its_job():
    """What the default above relies on."""
    for path in sorted((ROOT / "ops-template" / ".github" / "workflows").glob("*.yml")):
        text = path.read_text()
        if "ci-alerts.yml" in text:  # CI failure alerts: the issue's key is ci-alerts.yml's `job` input
            continue
        name = re.search(r"^name: (\S+)$", text, re.M).group(1)
        jobs = set(re.findall(r"^\s+job: (\S+)$", text, re.M))
        assert jobs == {name}, f"{path.name}: workflow {name!r} runs {jobs}"


def test_ci_drill_opens_a_drill_issue_mirrors_to_slack_and_closes(tmp_path, fake):
    slack = Receiver()
    try:
        env = {"SLACK_CI_WEBHOOK": slack.url + "/services/T000/B000/XXXXXXXXXXXXXXXXXXXXXXXX"}
        s = report(
            tmp_path,
            fake,
            "--job",
            "tests",
            "--run-url",
            RUN.format(9),
            "--drill",
            "--slack-webhook-env",
            "SLACK_CI_WEBHOOK",
            env=env,
        )
        assert s["action_counts"] == {"opened": 1}
        assert fake.issues[1]["title"] == "[drill] latency/tests failing"
        assert "drill" in fake.label_names(1)
        assert [m["status"] for m in s["mirrors"]] == ["sent"]
        message = slack.received[0]["json"]
        assert message["text"] == "[DRILL] failing (critical): [drill] latency/tests failing"
        assert "<https://github.com/acme/ops/issues/1|issue>" in message["blocks"][1]["elements"][0]["text"]
        s = report(
            tmp_path,
            fake,
            "--job",
            "tests",
            "--run-url",
            RUN.format(10),
            "--recovered",
            "--slack-webhook-env",
            "SLACK_CI_WEBHOOK",
            env=env,
        )
        assert s["action_counts"] == {"recovered": 1} and fake.issues[1]["state"] == "closed"
        assert slack.received[1]["json"]["text"].startswith("[DRILL] recovered: ")
    finally:
        slack.close()


def test_dry_run_records_and_calls_nothing(tmp_path, fake):
    run = alerts_cli(tmp_path, "report-failure", "--workflow", "w", "--job", "j", "--dry-run", now=NOW, fake=fake)
    assert run.exit_code == 0 and run.summary["status"] == "dry_run", run
    assert fake.calls == 0
    # list issues, list labels, create 3 labels (observability, job-failure, source:j), create the issue
    assert run.summary["planned_calls"] == 6


def test_a_lost_state_push_never_duplicates_the_failure_issue_and_it_closes_within_a_day(tmp_path, fake):
    """The cache pushed before a failure knows nothing of the issue that failure opened."""
    report(tmp_path, fake, "--job", "other", "--run-url", RUN.format(1))  # a warm cache without `sample`
    cache = tmp_path / "ops" / "alert_inbox.json"
    pushed = cache.read_bytes()
    report(tmp_path, fake, "--job", "sample", "--run-url", RUN.format(2), now="2026-01-08T10:15:00Z")
    cache.write_bytes(pushed)  # that run's state push was lost: the next runner pulls the old cache
    s = report(tmp_path, fake, "--job", "sample", "--run-url", RUN.format(3), now="2026-01-08T10:30:00Z")
    assert s["action_counts"] == {"appended": 1}, s  # listed before creating: adopted, not duplicated
    assert [i["title"] for i in fake.issues.values()].count("latency/sample failing") == 1
    cache.write_bytes(pushed)  # lost again; recovery within the day cannot know the issue ...
    s = report(tmp_path, fake, "--job", "sample", "--run-url", RUN.format(4), "--recovered", now="2026-01-08T10:45:00Z")
    assert s["api_calls"] == 0
    # ... but the daily re-list finds and closes it.
    s = report(tmp_path, fake, "--job", "sample", "--run-url", RUN.format(5), "--recovered", now="2026-01-09T10:45:00Z")
    assert s["action_counts"] == {"recovered": 1}
    sample = next(i for i in fake.issues.values() if i["title"] == "latency/sample failing")
    assert sample["state"] == "closed"


def test_a_cold_cache_times_a_reopened_episode_from_its_first_failure_not_the_issue_s_creation(tmp_path, fake):
    """ci-alerts.yml reports every CI run with an empty cache, and the one CI failure issue is reopened
    episode after episode: the episode's start is the body's first failure, not when the issue was
    created months ago (which escalated and paged on the second failure of every new episode)."""
    cache = tmp_path / "ops" / "alert_inbox.json"
    report(tmp_path, fake, "--job", "ci", "--run-url", RUN.format(1))  # the issue is created now
    report(tmp_path, fake, "--job", "ci", "--run-url", RUN.format(2), "--recovered", now="2026-01-08T10:30:00Z")
    cache.unlink()
    s = report(tmp_path, fake, "--job", "ci", "--run-url", RUN.format(3), now="2026-02-09T10:00:00Z")
    assert s["action_counts"] == {"reopened": 1}
    cache.unlink()
    s = report(tmp_path, fake, "--job", "ci", "--run-url", RUN.format(4), now="2026-02-09T10:30:00Z")
    assert s["action_counts"] == {"appended": 1}  # 30 minutes into the episode: no escalation
    assert "2 failed run(s) in a row since 2026-02-09T10:00:00Z" in fake.issues[1]["body"]
    cache.unlink()
    report(tmp_path, fake, "--job", "ci", "--run-url", RUN.format(5), "--recovered", now="2026-02-09T11:00:00Z")
    assert fake.comment_bodies(1)[-1].startswith(
        f"**Recovered** at 2026-02-09T11:00:00Z: run {RUN.format(5)} succeeded after 2 failure(s) over 1 h 00 min."
    )
