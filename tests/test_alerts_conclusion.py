"""``alerts report-failure --conclusion``: what each workflow-run conclusion does to the CI failure
issue (docs/ci.md, "CI failure alerting"), the run's branch and actor, CI's acknowledgement wording."""

from __future__ import annotations

import pytest

from observability.alerts.conclusion import CONCLUSIONS, FAILURE, NOT_COUNTED, RECOVERY, TABLE
from tests._support_github import FakeGitHub, Receiver, alerts_cli

NOW = "2026-01-08T10:00:00Z"
RUN = "https://github.com/acme/ops/actions/runs/{}"
CI = ("--workflow", "CI", "--job", "tests", "--title", "CI failure alerts")
RUN_OF = ("--branch", "main", "--actor", "octocat", "--event", "push", "--workflow-id", "ci.yml")


@pytest.fixture()
def fake():
    with FakeGitHub(clock=lambda: 1_767_866_400.0) as server:
        yield server
    assert server.violations == []


def report(ws, fake, *args, now=NOW, env=None, code=0):
    run = alerts_cli(ws, "report-failure", *CI, *args, now=now, fake=fake, env=env)
    assert run.exit_code == code, run
    return run.summary if code == 0 else run


def test_the_table_covers_every_conclusion_github_gives():
    assert set(CONCLUSIONS) == {
        "success",
        "failure",
        "timed_out",
        "startup_failure",
        "cancelled",
        "action_required",
        "neutral",
        "skipped",
        "stale",
    }
    assert {c for c, m in TABLE.items() if m.counts_as == FAILURE} == {
        "failure",
        "timed_out",
        "startup_failure",
        "cancelled",
    }
    assert [c for c, m in TABLE.items() if m.counts_as == RECOVERY] == ["success"]


@pytest.mark.parametrize("conclusion", CONCLUSIONS)
def test_each_conclusion_with_no_issue_open_then_with_one_open(tmp_path, fake, conclusion):
    s = report(tmp_path, fake, "--conclusion", conclusion, "--run-url", RUN.format(5), "--run-number", "5", *RUN_OF)
    counts = TABLE[conclusion].counts_as
    assert s["conclusion"] == conclusion and s["counted_as"] == counts
    # cancelled with no newer run on its branch counts; nothing else listed runs
    assert s["action_counts"] == ({"opened": 1} if counts == FAILURE else {}), s
    if counts == NOT_COUNTED:
        assert s["api_calls"] == 0 and fake.issues == {}
    if conclusion == "success":
        assert s["api_calls"] == 1  # a cold cache lists once: nothing open, nothing to close
    # An issue open (a failure before): the same conclusion again.
    report(tmp_path, fake, "--conclusion", "failure", "--run-url", RUN.format(6), "--run-number", "6", *RUN_OF)
    s = report(tmp_path, fake, "--conclusion", conclusion, "--run-url", RUN.format(7), "--run-number", "7", *RUN_OF)
    expected = {FAILURE: {"appended": 1}, RECOVERY: {"recovered": 1}, NOT_COUNTED: {}}[counts]
    assert s["action_counts"] == expected, s


def test_a_timed_out_run_opens_the_issue_with_branch_actor_and_run_and_slack_links_back(tmp_path, fake):
    slack = Receiver()
    try:
        env = {"SLACK_CI_WEBHOOK": slack.url + "/services/T000/B000/XXXXXXXXXXXXXXXXXXXXXXXX"}
        s = report(
            tmp_path,
            fake,
            "--conclusion",
            "timed_out",
            "--run-url",
            RUN.format(41),
            "--commit",
            "0123456789abcdef0123456789abcdef01234567",
            "--run-attempt",
            "2",
            "--failed-job",
            "tests",
            "--acknowledge-within",
            "1-business-hour",
            "--slack-webhook-env",
            "SLACK_CI_WEBHOOK",
            *RUN_OF,
            env=env,
        )
        assert s["action_counts"] == {"opened": 1} and s["branch"] == "main" and s["actor"] == "octocat"
        body = fake.issues[1]["body"]
        assert (
            f"| Last failure | 2026-01-08T10:00:00Z: [run]({RUN.format(41)}), timed out, branch `main`, "
            "triggered by `octocat`, attempt 2, commit `0123456789ab`, event `push` Failed: `tests`. |"
        ) in body
        assert "@octocat" not in body  # named, never mentioned
        message = slack.received[0]["json"]
        text = message["blocks"][0]["text"]["text"]
        assert "CI timed out (job tests) 1 time(s) in a row" in text
        assert f"run {RUN.format(41)}" in text and "branch `main`" in text and "triggered by `octocat`" in text
        links = message["blocks"][1]["elements"][0]["text"]
        assert f"<{fake.issues[1]['html_url']}|issue>" in links and f"<{RUN.format(41)}|run>" in links
    finally:
        slack.close()
    # The seed's on-call expectations, in the body
    assert "acknowledges this issue within **one business hour**" in body
    assert "pairs the change with the triggering contributor (`octocat`)" in body
    assert "add a comment summarising the root cause and any follow-up tickets" in body
    assert "if it persists past 4 h or past 8 failed runs in a row, it escalates once: PagerDuty is paged" in body
    assert "Acknowledge within 10 minutes" not in body
    # What to do next is a CI run's: its test log, not an observability job's summary JSON
    assert "the `pytest-log` artifact" in body and "error_code" not in body
    # A cache lost: the branch and actor come back from the body's hidden state.
    (tmp_path / "ops" / "alert_inbox.json").unlink()
    report(tmp_path, fake, "--conclusion", "failure", "--run-url", RUN.format(42), "--branch", "main")
    body = fake.issues[1]["body"]
    assert "| First failure | 2026-01-08T10:00:00Z: [run](" in body and "timed out, branch `main`, triggered by" in body
    s = report(
        tmp_path,
        fake,
        "--conclusion",
        "success",
        "--run-url",
        RUN.format(43),
        "--acknowledge-within",
        "1-business-hour",
    )
    assert s["action_counts"] == {"recovered": 1}
    assert "add a comment with the root cause and any follow-up tickets" in fake.comment_bodies(1)[-1]


def test_escalation_wording_follows_the_config(tmp_path, fake):
    config = tmp_path / "configs" / "observability" / "alerts.yaml"
    config.parent.mkdir(parents=True)
    config.write_text(
        "escalation:\n  after_hours: 8\n  after_failures: null\n  mention: '@acme/eng-managers'\n  pagerduty: false\n",
        encoding="utf-8",
    )
    report(tmp_path, fake, "--conclusion", "failure", "--acknowledge-within", "1-business-hour", *RUN_OF)
    body = fake.issues[1]["body"]
    assert "if it persists past 8 h, it escalates once: `@acme/eng-managers` is mentioned in a comment." in body


def test_a_cancelled_run_superseded_by_a_newer_run_of_its_branch_is_not_counted(tmp_path, fake):
    fake.add_run(70, workflow="ci.yml", branch="main", conclusion="cancelled", run_number=70)
    fake.add_run(71, workflow="ci.yml", branch="main", conclusion=None, run_number=71)  # the newer push, running
    fake.add_run(72, workflow="ci.yml", branch="feature", conclusion=None, run_number=72)  # another branch
    summary = tmp_path / "step-summary.md"
    on_github = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}
    s = report(
        tmp_path,
        fake,
        "--conclusion",
        "cancelled",
        "--run-url",
        RUN.format(70),
        "--run-number",
        "70",
        *RUN_OF,
        env=on_github,
    )
    assert s["counted_as"] == "not_counted" and s["superseded_by"].endswith("/actions/runs/71")
    text = summary.read_text(encoding="utf-8")
    assert "Run conclusion `cancelled`: counted as nothing (not counted)." in text
    assert "was cancelled because a newer run ([#71](https://github.com/" in text
    assert fake.issues == {} and s["api_calls"] == 2  # the newest run of main, then the issues (none open)
    listed = [r for r in fake.requests if "/actions/workflows/" in r["path"]]
    assert listed[0]["query"] == {"branch": "main", "event": "push", "per_page": "1"}, listed
    # With the issue open, it says so.
    report(tmp_path, fake, "--conclusion", "failure", "--run-url", RUN.format(69), "--run-number", "69", *RUN_OF)
    s = report(tmp_path, fake, "--conclusion", "cancelled", "--run-url", RUN.format(70), "--run-number", "70", *RUN_OF)
    assert s["action_counts"] == {"noted_not_counted": 1}
    (comment,) = fake.comment_bodies(1)
    assert comment.startswith(f"**Not counted** at {NOW}: run {RUN.format(70)}, was cancelled, branch `main`")
    assert "was cancelled because a newer run ([#71](https://github.com/" in comment and "not counted" in comment
    assert "1 failed run(s) in a row" in fake.issues[1]["body"]  # the count did not move
    # The newest run on main being this one (nothing newer): a cancelled run counts.
    s = report(tmp_path, fake, "--conclusion", "cancelled", "--run-url", RUN.format(71), "--run-number", "71", *RUN_OF)
    assert s["counted_as"] == "failure" and s["action_counts"] == {"appended": 1}
    assert "2 failed run(s) in a row" in fake.issues[1]["body"]


def test_a_cancelled_run_without_its_number_counts_and_says_why(tmp_path, fake):
    s = report(tmp_path, fake, "--conclusion", "cancelled", "--branch", "main")
    assert s["counted_as"] == "failure" and s["action_counts"] == {"opened": 1}
    assert "needs --run-number, --workflow-id" in s["verdict"]


def test_the_run_context_comes_from_the_github_environment_by_default(tmp_path, fake):
    env = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_RUN_ID": "88",
        "GITHUB_RUN_NUMBER": "12",
        "GITHUB_REF": "refs/heads/main",
        "GITHUB_REF_NAME": "main",
        "GITHUB_ACTOR": "someone",
        "GITHUB_TRIGGERING_ACTOR": "dependabot[bot]",
        "GITHUB_EVENT_NAME": "push",
        "GITHUB_WORKFLOW_REF": f"{fake.repo}/.github/workflows/ci.yml@refs/heads/main",
    }
    fake.add_run(89, workflow="ci.yml", branch="main", conclusion=None, run_number=13)
    s = report(tmp_path, fake, "--conclusion", "cancelled", env=env)
    assert s["branch"] == "main" and s["actor"] == "dependabot[bot]" and s["counted_as"] == "not_counted"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--actor", "two words"), "expected a GitHub login"),
        (("--branch", "main`x"), "expected a branch name"),
        (("--commit", "xyz"), "expected a hex commit SHA"),
        (("--workflow-id", "../ci"), "expected a workflow id"),
        (("--conclusion", "exploded"), "'exploded' is not one of"),
        (("--conclusion", "failure", "--recovered"), "a recovery is a success"),
    ],
)
def test_bad_run_details_are_usage_errors(tmp_path, fake, args, message):
    run = report(tmp_path, fake, *args, code=2)
    assert message in run.stderr and fake.requests == []


def test_a_pull_request_from_a_fork_branch_of_the_same_name_does_not_supersede_a_cancelled_push(tmp_path, fake):
    """The API's branch filter is the head branch: anyone's pull request from a fork's `main` makes a newer
    run "on main". It cannot have cancelled the push run (its ref is refs/pull/N/merge, another concurrency
    group), yet it made a cancelled run of main count as nothing. Only a newer run of the same event does."""
    fake.add_run(80, workflow="ci.yml", branch="main", conclusion="cancelled", run_number=80)
    fake.add_run(81, workflow="ci.yml", branch="main", conclusion=None, run_number=81, event="pull_request")
    args = ("--conclusion", "cancelled", "--run-url", RUN.format(80), "--run-number", "80", *RUN_OF)
    s = report(tmp_path, fake, *args)
    assert s["counted_as"] == "failure" and s["action_counts"] == {"opened": 1}, s
    assert "superseded_by" not in s
    fake.add_run(82, workflow="ci.yml", branch="main", conclusion=None, run_number=82)  # a newer push
    s = report(tmp_path, fake, *args)
    assert s["counted_as"] == "not_counted" and s["superseded_by"].endswith("/actions/runs/82"), s
