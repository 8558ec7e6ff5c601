"""Owners per alert kind (configs/observability/alerts.yaml ``owners``): assignees, team mention, runbook,
config errors, and the failure issue naming the jobs that failed; all on the fake GitHub API."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from observability.alerts import owners
from observability.config.alerts import load_alerts
from tests._support_github import FakeGitHub, Receiver, alerts_cli

NOW = "2026-01-08T10:00:00Z"
LATER = "2026-01-09T11:00:00Z"  # past the 24 h repeat interval
RUN = "https://github.com/acme/ops/actions/runs/{}"

CONFIG = """\
owner: trading-oncall
runbook: docs/oncall.md
owners:
  default:
    team: "@acme/observability"
  missed_run:
    assignees: [alice]
    runbook: "docs/runbook.md#missed-runs"
  source:verify:
    team: "@acme/data-platform"
  secret_rotation_due:
    assignees: []
  job_failure:
    assignees: [carol, dave]
    runbook: https://wiki.example.com/ci-failures
"""


@pytest.fixture()
def fake():
    with FakeGitHub(clock=lambda: 1_767_866_400.0) as server:
        yield server
    assert server.violations == []


def _config(ws: Path, text: str = CONFIG) -> None:
    path = ws / "configs" / "observability" / "alerts.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _verify_alerts(ws: Path, *items: tuple[str, str]) -> None:
    """ops/verify_alerts.json with one warning per (id, rule)."""
    (ws / "ops").mkdir(parents=True, exist_ok=True)
    alerts = [
        {"id": fp, "rule": rule, "source": "latency", "severity": "warning", "message": f"{rule} firing"}
        for fp, rule in items
    ]
    (ws / "ops" / "verify_alerts.json").write_text(json.dumps({"alerts": alerts}), encoding="utf-8")


def _sync(ws: Path, fake: FakeGitHub, now: str = NOW):
    run = alerts_cli(ws, "sync", "--source", "verify", now=now, fake=fake)
    assert run.exit_code == 0, run
    return run


def _logins(issue: dict) -> list[str]:
    return sorted(a["login"] for a in issue["assignees"])


# -- resolution (library) ------------------------------------------------------------------------


def test_each_field_comes_from_the_most_specific_entry_that_sets_it(tmp_path):
    _config(tmp_path)
    cfg = load_alerts(tmp_path / "configs/observability/alerts.yaml", display="alerts.yaml")
    # rule entry (assignees, runbook) + source entry (team)
    assert owners.for_alert(cfg, "missed_run", "verify", "docs/schedules.md") == owners.Route(
        ("alice",), "@acme/data-platform", "docs/runbook.md#missed-runs"
    )
    # `assignees: []` overrides to nobody; no configured runbook: the item's own, then the top-level one
    assert owners.for_alert(cfg, "secret_rotation_due", "verify", "docs/credentials.md") == owners.Route(
        (), "@acme/data-platform", "docs/credentials.md"
    )
    assert owners.for_alert(cfg, "latency_slo", "latency", None) == owners.Route(
        (), "@acme/observability", "docs/oncall.md"
    )
    assert owners.for_failure(cfg) == owners.Route(
        ("carol", "dave"), "@acme/observability", "https://wiki.example.com/ci-failures"
    )
    # No owners at all: the old single owner/runbook keys keep working.
    bare = load_alerts(None, display="(defaults)")
    assert owners.for_alert(bare, "latency_slo", "latency", None) == owners.Route((), None, "docs/alerts.md")


# -- config errors: exit 2 naming file, line and field --------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "owners:\n  default: {team: '@acme/x'}\n  latency_slow: {team: '@acme/x'}\n",
            "configs/observability/alerts.yaml:3: field owners: Additional properties are not allowed "
            "('latency_slow' was unexpected; keys may also match '^source:[a-z0-9_:-]{1,40}$') "
            "(did you mean 'latency_slo'?)",
        ),
        (  # a block entry: the line of the misspelt key, not of the mapping under it
            "owners:\n  default: {team: '@acme/x'}\n  latency_slow:\n    team: '@acme/x'\n",
            "configs/observability/alerts.yaml:3: field owners: Additional properties are not allowed "
            "('latency_slow' was unexpected;",
        ),
        (
            "owners:\n  missed_run:\n    assignees: [alice, '@bob']\n",
            "configs/observability/alerts.yaml:3: field owners.missed_run.assignees[1]: '@bob' does not match "
            "'^[A-Za-z0-9]+(-[A-Za-z0-9]+)*$' (expected: GitHub logins (no @)",
        ),
        (
            "owners:\n  default:\n    team: acme-team\n",
            "configs/observability/alerts.yaml:3: field owners.default.team: 'acme-team' does not match "
            "'^@[A-Za-z0-9]+(-[A-Za-z0-9]+)*/[A-Za-z0-9][A-Za-z0-9_.-]*$' (expected: Team mentioned when the issue "
            "opens or reopens: @org/team-slug.)",
        ),
        (
            "owners:\n  default:\n    runbook: 'javascript:alert(1)'\n",
            "configs/observability/alerts.yaml:3: field owners.default.runbook: 'javascript:alert(1)' does not match",
        ),
        (
            "sources:\n  - {name: risk, path: ops/risk.json}\nowners:\n  source:risk: {team: '@acme/risk'}\n"
            "  source:rsik: {team: '@acme/risk'}\n",
            "configs/observability/alerts.yaml:5: field owners.source:rsik: no such source "
            "(known: dashboard, latency, risk, verify, weekly)",
        ),
        (
            "owners:\n  default:\n    owner: alice\n",
            "configs/observability/alerts.yaml:3: field owners.default: Additional properties are not allowed "
            "('owner' was unexpected) (known keys: assignees, runbook, team)",
        ),
        (  # the line of the unknown key, not the first key of its mapping
            "owners:\n  default:\n    team: '@acme/x'\n    asignees: [alice]\n",
            "configs/observability/alerts.yaml:4: field owners.default: Additional properties are not allowed "
            "('asignees' was unexpected) (did you mean 'assignees'?)",
        ),
        (
            "owners:\n  default:\n    assignees: alice\n",
            "configs/observability/alerts.yaml:3: field owners.default.assignees: 'alice' is not of type 'array' "
            "(expected: GitHub logins (no @)",
        ),
    ],
    ids=[
        "unknown-kind",
        "unknown-kind-block",
        "login-with-at",
        "team-without-org",
        "runbook-scheme",
        "unknown-source",
        "unknown-field",
        "unknown-field-later",
        "assignees-not-a-list",
    ],
)
def test_a_bad_owners_entry_exits_2_naming_file_line_and_field(tmp_path, fake, text, expected):
    _config(tmp_path, text)
    run = alerts_cli(tmp_path, "sync", now=NOW, fake=fake)
    assert run.exit_code == 2, run
    assert expected in run.stderr, run.stderr
    assert fake.calls == 0 and not (tmp_path / "ops" / "alert_inbox.json").exists()


def test_the_schema_lists_every_alert_kind_the_jobs_raise():
    """A new rule in a job without an owners entry would be refused as unknown: keep them in step."""
    from observability.outputs.weekly import DELIVERY_RULE
    from observability.verify.findings import RULES

    schema = json.loads((Path(__file__).parents[1] / "schemas" / "alert_inbox_config.schema.json").read_text())
    kinds = set(schema["properties"]["owners"]["properties"])
    raised = {"latency_slo", "no_data", "stale", DELIVERY_RULE, "export_failed", *RULES}
    assert kinds == raised | {owners.DEFAULT_KIND, owners.FAILURE_KIND}


# -- alert issues -----------------------------------------------------------------------------------


def test_a_new_alert_issue_carries_its_assignees_team_mention_and_runbook(tmp_path, fake):
    _config(tmp_path)
    _verify_alerts(tmp_path, ("00000000000000a1", "missed_run"), ("00000000000000a2", "secret_rotation_due"))
    run = _sync(tmp_path, fake)
    assert run.summary["status"] == "ok" and run.summary["action_counts"] == {"opened": 2}
    missed = next(i for i in fake.issues.values() if "missed_run" in i["body"])
    secret = next(i for i in fake.issues.values() if "secret_rotation_due" in i["body"])
    assert _logins(missed) == ["alice"] and _logins(secret) == []
    assert "| Team | @acme/data-platform |" in missed["body"]
    assert "[runbook](https://github.com/acme/ops/blob/HEAD/docs/runbook.md#missed-runs)" in missed["body"]
    assert "[on-call runbook](https://github.com/acme/ops/blob/HEAD/docs/runbook.md#missed-runs)" in missed["body"]
    assert "[runbook](https://github.com/acme/ops/blob/HEAD/docs/oncall.md)" in secret["body"]
    (create,) = [r for r in fake.requests if r["method"] == "POST" and r["path"].endswith("/issues")][:1]
    assert create["body"]["assignees"] == ["alice"]
    # Steady state: no API call, nobody re-assigned.
    again = _sync(tmp_path, fake)
    assert again.summary["api_calls"] == 0


def test_an_assignee_github_refuses_never_loses_the_alert(tmp_path, fake):
    _config(tmp_path, "owners:\n  missed_run:\n    assignees: [alice, mallory]\n")
    fake.assignable = {"alice"}
    _verify_alerts(tmp_path, ("00000000000000a1", "missed_run"))
    run = _sync(tmp_path, fake)
    assert run.summary["status"] == "warning" and run.summary["action_counts"] == {"opened": 1}
    (issue,) = fake.issues.values()
    assert issue["state"] == "open" and _logins(issue) == ["alice"]  # the one GitHub accepts is still assigned
    assert "GitHub refused assignee(s) mallory" in run.stderr
    assert "fix owners in alerts.yaml" in run.summary["diagnostics"]["warnings"][0]
    cache = json.loads((tmp_path / "ops" / "alert_inbox.json").read_text())
    (entry,) = cache["issues"].values()
    assert entry["assignees"] == ["alice", "mallory"]  # tried once: not retried at every touch


def test_assignees_added_to_the_config_later_are_given_at_the_next_touch(tmp_path, fake):
    _config(tmp_path, "owners:\n  missed_run:\n    assignees: [alice]\n")
    _verify_alerts(tmp_path, ("00000000000000a1", "missed_run"))
    _sync(tmp_path, fake)
    _config(tmp_path, "owners:\n  missed_run:\n    assignees: [alice, bob]\n")
    assert _sync(tmp_path, fake).summary["api_calls"] == 0  # nothing to tell the issue yet: no call for bob alone
    run = _sync(tmp_path, fake, now=LATER)  # the reminder touches the issue: bob is added then
    assert run.summary["action_counts"] == {"reminded": 1}
    (issue,) = fake.issues.values()
    assert _logins(issue) == ["alice", "bob"]
    adds = [r for r in fake.requests if r["path"].endswith("/assignees")]
    assert [r["body"] for r in adds] == [{"assignees": ["bob"]}]
    # A rebuilt cache reads who is assigned from the issue: nothing added twice.
    (tmp_path / "ops" / "alert_inbox.json").unlink()
    _sync(tmp_path, fake, now="2026-01-10T12:00:00Z")
    assert len([r for r in fake.requests if r["path"].endswith("/assignees")]) == 1


def test_the_team_is_mentioned_when_the_issue_opens_and_never_by_a_rewritten_body(tmp_path, fake):
    _config(tmp_path, "owners:\n  default:\n    team: '@acme/oncall'\n")
    _verify_alerts(tmp_path, ("00000000000000a1", "missed_run"))
    _sync(tmp_path, fake)
    (issue,) = fake.issues.values()
    assert "| Team | @acme/oncall |" in issue["body"]
    _verify_alerts(tmp_path)  # resolved
    _sync(tmp_path, fake)
    _verify_alerts(tmp_path, ("00000000000000a1", "missed_run"))  # a new episode: reopened
    run = _sync(tmp_path, fake, now=LATER)
    assert run.summary["action_counts"] == {"reopened": 1}
    # The rewritten body names the team as code, which never notifies: one mention, in the opening body.
    assert "| Team | `@acme/oncall` |" in fake.issues[1]["body"]
    assert fake.comment_bodies(1)[-1].count("@acme/oncall: a new episode") == 1  # told once, by the comment


def test_a_reminder_rewrites_the_body_with_the_kinds_runbook_and_team_unmentioned(tmp_path, fake):
    _config(tmp_path, "owners:\n  missed_run:\n    team: '@acme/oncall'\n    runbook: docs/runbook.md#missed\n")
    _verify_alerts(tmp_path, ("00000000000000a1", "missed_run"))
    _sync(tmp_path, fake)
    assert _sync(tmp_path, fake, now=LATER).summary["action_counts"] == {"reminded": 1}
    body = fake.issues[1]["body"]
    assert "| Updated |" in body  # rewritten in place by the reminder
    assert "| Team | `@acme/oncall` |" in body and "docs/runbook.md#missed" in body


def test_a_dry_run_shows_the_assignees_it_would_set(tmp_path):
    _config(tmp_path, "owners:\n  missed_run:\n    assignees: [alice]\n")
    _verify_alerts(tmp_path, ("00000000000000a1", "missed_run"))
    run = alerts_cli(tmp_path, "sync", "--source", "verify", "--dry-run", now=NOW)
    assert run.exit_code == 0, run
    (plan,) = (tmp_path / "out" / "alert_inbox").glob("*.json")
    calls = json.loads(plan.read_text())["calls"]
    assert [c["body"]["assignees"] for c in calls if c["path"].endswith("/issues") and c["method"] == "POST"] == [
        ["alice"]
    ]


# -- failure issues -----------------------------------------------------------------------------------


def _ci(ws: Path, fake: FakeGitHub, *args: str, now: str = NOW, env: dict | None = None):
    return alerts_cli(
        ws,
        "report-failure",
        "--job",
        "tests",
        "--workflow",
        "CI",
        "--title",
        "CI failure alerts",
        *args,
        now=now,
        fake=fake,
        env=env,
    )


def test_the_ci_failure_issue_names_the_jobs_that_failed_and_stays_one_issue(tmp_path, fake):
    _config(tmp_path)
    slack = Receiver()
    try:
        env = {"SLACK_CI_WEBHOOK": slack.url + "/services/T000/B000/XXXXXXXXXXXXXXXXXXXXXXXX"}
        hook = ("--slack-webhook-env", "SLACK_CI_WEBHOOK")
        first = _ci(tmp_path, fake, "--failed-job", "lint", "--run-url", RUN.format(1), *hook, env=env)
        assert first.exit_code == 0 and first.summary["action_counts"] == {"opened": 1}, first
        opened_body = fake.issues[1]["body"]
        second = _ci(
            tmp_path, fake, "--failed-job", "code", "--failed-job", "tests", "--run-url", RUN.format(2), *hook, env=env
        )
        assert second.exit_code == 0 and second.summary["action_counts"] == {"appended": 1}, second
        texts = [json.dumps(r["json"]) for r in slack.received]
    finally:
        slack.close()
    assert first.summary["fingerprint"] == second.summary["fingerprint"]
    assert second.summary["failed_jobs"] == ["code", "tests"]
    (issue,) = fake.issues.values()
    assert issue["title"] == "CI failure alerts"
    # The body the issue opened with names the job that failed and @mentions the team (it notifies once).
    assert "**`CI` (job `lint`) failing**: 1 failed run(s)" in opened_body
    assert "Owning team: @acme/observability" in opened_body
    # A further failure rewrites the body in place (no comment): this run's jobs, the team not mentioned again.
    assert "**`CI` (jobs `code`, `tests`) failing**: 2 failed run(s)" in issue["body"]
    assert f"[run]({RUN.format(2)}) Failed: `code`, `tests`. |" in issue["body"]
    assert "Owning team: `@acme/observability`" in issue["body"]
    assert _logins(issue) == ["carol", "dave"]
    assert "[on-call runbook](https://wiki.example.com/ci-failures)" in issue["body"]
    assert fake.comment_bodies(1) == []
    assert len(texts) == 1 and "CI failed (job lint)" in texts[0]  # a silent body edit tells Slack nothing
    assert "tests)" not in texts[0]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--failed-job", "lint", "--recovered"), "--failed-job names what failed: it cannot go with --recovered"),
        (("--failed-job", "lint;rm"), "'lint;rm': not a workflow job id"),
    ],
)
def test_failed_job_usage_errors_exit_2(tmp_path, fake, args, message):
    run = _ci(tmp_path, fake, *args)
    assert run.exit_code == 2 and message in run.stderr, run
    assert fake.calls == 0


def test_a_refused_failure_assignee_still_opens_the_failure_issue(tmp_path, fake):
    _config(tmp_path, "owners:\n  job_failure:\n    assignees: [ghost]\n")
    fake.assignable = set()
    run = _ci(tmp_path, fake, "--failed-job", "tests")
    assert run.exit_code == 0 and run.summary["status"] == "warning", run
    (issue,) = fake.issues.values()
    assert issue["state"] == "open" and issue["assignees"] == []
    assert "GitHub refused assignee(s) ghost" in run.stderr


# -- CI wiring ---------------------------------------------------------------------------------------------


def test_ci_keeps_the_one_issue_key():
    """ci.yml's failures are reported on workflow_run (ci-failure-alerts.yml → ci-alerts.yml) under the
    key its former report job used, so an issue open across the change carries on."""
    import yaml

    workflows = Path(__file__).parents[1] / ".github" / "workflows"
    caller = yaml.safe_load((workflows / "ci-failure-alerts.yml").read_text())
    (job,) = caller["jobs"].values()
    assert job["with"] == {"workflow": "CI", "job": "tests"}
    alerts = yaml.safe_load((workflows / "ci-alerts.yml").read_text())
    assert alerts[True]["workflow_call"]["inputs"]["title"]["default"] == "CI failure alerts"


@pytest.mark.parametrize(
    ("given", "flags"),
    [
        ("", []),
        ("lint  tests", ["--failed-job", "lint", "--failed-job", "tests"]),  # ci.yml's folded expressions
        ("code,tests", ["--failed-job", "code", "--failed-job", "tests"]),
        (" * ", ["--failed-job", "*"]),  # never a glob: the CLI refuses the name itself
    ],
)
def test_the_action_turns_failed_job_into_one_flag_each(tmp_path, given, flags):
    import subprocess

    import yaml

    action = yaml.safe_load(
        (Path(__file__).parents[1] / "actions" / "alerts-report-failure" / "action.yml").read_text()
    )
    script = next(s["run"] for s in action["runs"]["steps"] if s.get("id") == "run")
    lines = [line for line in script.splitlines() if "failed" in line]
    assert len(lines) == 2, lines
    (tmp_path / "x").touch()  # a file a glob would expand to
    out = subprocess.run(
        ["bash", "-eo", "pipefail", "-c", "args=()\n" + "\n".join(lines) + '\nprintf "%s\\n" "${args[@]}"'],
        env={"OBS_IN_FAILED_JOB": given, "PATH": "/usr/bin:/bin"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.split() == flags
