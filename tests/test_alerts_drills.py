"""``alerts drill --job``: each scheduled job's own alert path, drilled on the fake GitHub API.

Every drill runs its job's real code in a scratch workspace, opens exactly one ``drill`` issue and
closes it by its own recovery step; its reason is in the issue, inert; a dry run calls nothing
and lists what it would call; bad input is exit 2 naming the option.
"""

from __future__ import annotations

import json

import pytest

from observability import markdown
from observability.alerts import drill as drill_mod
from tests._support_github import FakeGitHub, Receiver, alerts_cli
from tests.test_alerts_inbox import T0

NOW = "2026-01-08T10:07:00Z"
REASON = "quarterly drill @octocat <img src=x onerror=alert(1)> #1 `x`"
SHOWN = "Reason: `quarterly drill @octocat <img src=x onerror=alert(1)> #1 'x'`"
EXPECTED = {
    "latency": [["opened"], ["escalated"], ["resolved"]],
    "weekly": [["opened"], ["resolved"]],
    "dashboard": [[], ["opened"], ["resolved"]],
    "verify": [["opened"], ["resolved"]],
}
# What each job's real run would have left in a real workspace: a drill never writes it there.
REAL_STATE = {
    "latency": "ops/latency_state.json",
    "weekly": "ops/weekly_report_heartbeat.json",
    "dashboard": "ops/dashboard_export_heartbeat.json",
    "verify": "ops/verify_alerts.json",
}


def test_the_table_covers_every_scheduled_job():
    assert tuple(EXPECTED) == drill_mod.JOBS
    for spec in drill_mod.SPECS.values():
        assert [[s.expected] if s.expected else [] for s in spec.steps] == EXPECTED[spec.job]
        assert spec.steps[-1].expected == "resolved"  # the drill's own recovery ends it


@pytest.mark.parametrize("job", list(EXPECTED))
def test_each_drill_opens_one_drill_issue_and_its_recovery_closes_it(tmp_path, job):
    real = tmp_path / "real"
    real.mkdir()
    with FakeGitHub(clock=lambda: T0.timestamp()) as fake:
        run = alerts_cli(real, "drill", "--job", job, "--reason", REASON, now=NOW, fake=fake)
        assert run.exit_code == 0 and run.summary["passed"] is True, run
        assert [s["actions"] for s in run.summary["steps"]] == EXPECTED[job]
        assert list(fake.issues) == [1], "exactly one issue"
        issue = fake.issues[1]
        assert issue["state"] == "closed" and issue["title"].startswith("[drill] ")
        assert "drill" in fake.label_names(1)
        assert SHOWN in issue["body"]
        assert fake.violations == []
    assert run.summary["drill_job"] == job and run.summary["drill_reason"] == REASON
    (out,) = (real / "out" / "alert_inbox").glob("*.json")
    assert json.loads(out.read_text())["drill_reason"] == REASON
    assert not (real / REAL_STATE[job]).exists()  # real state never touched
    assert all(r["command"].split()[0] == ("latency" if job == "latency" else job) for r in run.summary["job_runs"])


@pytest.mark.parametrize("job", list(EXPECTED))
def test_a_dry_run_drill_calls_nothing_and_lists_what_it_would_call(tmp_path, job):
    slack = Receiver()
    try:
        env = {"OBS_ALERTS_SLACK_WEBHOOK": slack.url + "/services/T0/B0/drilldryrun00000000"}
        with FakeGitHub(clock=lambda: T0.timestamp()) as fake:
            run = alerts_cli(tmp_path, "drill", "--job", job, "--dry-run", now=NOW, fake=fake, env=env)
            assert run.exit_code == 0 and run.summary["status"] == "dry_run" and run.summary["passed"], run
            assert fake.requests == [] and fake.issues == {}
        assert slack.received == []
    finally:
        slack.close()
    would = run.summary["would_call"]
    assert f"POST /repos/{fake.repo}/issues" in would
    assert f"PATCH /repos/{fake.repo}/issues/1" in would  # the close
    assert "slack: would POST" in would
    assert run.summary["api_calls"] == 0 and run.summary["drill_reason"] == drill_mod.DEFAULT_REASON
    (out,) = (tmp_path / "out" / "alert_inbox").glob("*.json")
    doc = json.loads(out.read_text())
    assert doc["dry_run"] is True and len(doc["calls"]) == run.summary["planned_calls"] > 0


def test_the_step_summary_says_which_job_was_drilled_and_what_each_step_caused(tmp_path):
    """What the on-call reads in the run: the job drilled, the verdict, each step against what it expects."""
    step = tmp_path / "step.md"
    env = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(step)}
    with FakeGitHub(clock=lambda: T0.timestamp()) as fake:
        run = alerts_cli(tmp_path, "drill", "--job", "weekly", now=NOW, fake=fake, env=env)
        assert run.exit_code == 0, run
    text = step.read_text(encoding="utf-8")
    assert "Drill of `weekly`: the weekly report not delivered (pending replay): **passed**" in text
    assert "| weekly report to the drill's receiver, which refuses (503) | opened | opened | yes |" in text
    assert "| weekly replay of that week to the receiver, now accepting | resolved | resolved | yes |" in text
    # The log says which drill step each job's own output (a refused delivery...) belongs to.
    assert "alerts: drill step 1/2 (scratch workspace): weekly report to the drill's receiver" in run.stderr
    assert run.stderr.index("drill step 1/2") < run.stderr.index("HTTP 503") < run.stderr.index("drill step 2/2")


def test_a_dry_run_step_summary_says_its_issue_numbers_are_placeholders(tmp_path):
    """A dry run lists nothing, so its "#1" is not an issue of the repository: say so."""
    step = tmp_path / "step.md"
    env = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(step)}
    run = alerts_cli(tmp_path, "drill", "--job", "verify", "--dry-run", now=NOW, env=env)
    assert run.exit_code == 0, run
    assert "Issue numbers are placeholders: a dry run lists no issues." in step.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["--job", "nope"], "--job nope"),
        (["--reason", ""], "--reason"),
        (["--reason", "   "], "--reason"),
        (["--reason", "x" * (drill_mod.REASON_LIMIT + 1)], "--reason"),
    ],
)
def test_bad_drill_input_is_a_usage_error_naming_the_option(tmp_path, args, option):
    run = alerts_cli(tmp_path, "drill", "--dry-run", *args, now=NOW)
    assert run.exit_code == 2, run
    assert run.summary["diagnostics"]["error_message"].startswith(option)
    assert not (tmp_path / "out" / "alert_inbox").exists()  # nothing half-written


def test_the_ci_drill_records_its_reason_and_its_recovery_closes_the_issue(tmp_path):
    common = ["--job", "tests", "--workflow", "CI", "--title", "CI failure alerts", "--drill", "--reason", REASON]
    with FakeGitHub(clock=lambda: T0.timestamp()) as fake:
        failed = alerts_cli(tmp_path, "report-failure", *common, now=NOW, fake=fake)
        assert failed.exit_code == 0 and failed.summary["drill_reason"] == REASON, failed
        assert SHOWN in fake.issues[1]["body"] and fake.issues[1]["state"] == "open"
        again = alerts_cli(tmp_path, "report-failure", *common, now=NOW, fake=fake)
        assert again.exit_code == 0, again
        assert SHOWN in fake.issues[1]["body"]  # a later drill's reason, in the body rewritten in place
        recovered = alerts_cli(tmp_path, "report-failure", *common, "--recovered", now=NOW, fake=fake)
        assert recovered.exit_code == 0, recovered
        assert fake.issues[1]["state"] == "closed" and list(fake.issues) == [1]
        assert fake.violations == []
    refused = alerts_cli(tmp_path, "report-failure", "--job", "tests", "--reason", "why", "--dry-run", now=NOW)
    assert refused.exit_code == 2 and "--reason: only with --drill" in refused.summary["diagnostics"]["error_message"]


def test_a_drill_recovery_never_closes_a_real_failure(tmp_path):
    """CI's drill shares the one "CI failure alerts" issue (seed 003): while CI really fails, the drill's
    own recovery step must leave that issue open; only a real success closes it."""
    real = ["--job", "tests", "--workflow", "CI", "--title", "CI failure alerts"]
    drill = [*real, "--drill", "--reason", REASON]
    with FakeGitHub(clock=lambda: T0.timestamp()) as fake:
        assert alerts_cli(tmp_path, "report-failure", *real, now=NOW, fake=fake).exit_code == 0
        assert alerts_cli(tmp_path, "report-failure", *drill, now=NOW, fake=fake).exit_code == 0
        ended = alerts_cli(tmp_path, "report-failure", *drill, "--recovered", now=NOW, fake=fake)
        assert ended.exit_code == 0 and ended.summary["action_counts"] == {"kept_open_real_failure": 1}, ended
        assert fake.issues[1]["state"] == "open" and fake.comment_bodies(1) == []
        # A real failure inside a drill's episode makes it real too.
        assert alerts_cli(tmp_path, "report-failure", *real, "--recovered", now=NOW, fake=fake).exit_code == 0
        assert fake.issues[1]["state"] == "closed"
        assert alerts_cli(tmp_path, "report-failure", *drill, now=NOW, fake=fake).exit_code == 0
        assert alerts_cli(tmp_path, "report-failure", *real, now=NOW, fake=fake).exit_code == 0
        alerts_cli(tmp_path, "report-failure", *drill, "--recovered", now=NOW, fake=fake)
        assert fake.issues[1]["state"] == "open" and list(fake.issues) == [1]
        assert fake.violations == []


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("plain", "`plain`"),
        ("two\nlines\r\tand\x00nul", "`two lines and nul`"),
        ("ends `code` here", "`ends 'code' here`"),
        ("@team <b>bold</b> [x](javascript:1) #12", "`@team <b>bold</b> [x](javascript:1) #12`"),
        ("", "_(none)_"),
        ("a" * 250, "`" + "a" * 199 + "…`"),
    ],
)
def test_user_text_is_one_inert_clipped_code_span(text, shown):
    assert markdown.user_text(text) == shown
