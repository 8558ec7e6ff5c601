"""The ``alerts`` commands as a workflow runs them: help, usage errors, GitHub Actions outputs, the token canary."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from observability.cli import cli
from tests._support_github import TOKEN, FakeGitHub, Receiver, alerts_cli
from tests._support_latency import iso
from tests.test_alerts_inbox import T0, latency_run, window

SLACK_CANARY = "http://127.0.0.1:9/services/T0CANARY/B0CANARY/slackCANARYsecret0001"  # a closed port
PD_CANARY = "pdCANARYroutingKEY0123456789abcd"


@pytest.mark.parametrize("command", ["sync", "report-failure"])
def test_help_has_an_example(command):
    assert "Example:" in cli.commands["alerts"].commands[command].help


@pytest.mark.parametrize(
    "args, message",
    [
        (["sync", "--source", "nope"], "--source nope: unknown source (known: latency, weekly, dashboard, verify)"),
        (["sync"], "GITHUB_TOKEN (or GH_TOKEN) is not set"),
        (["report-failure", "--job", "j", "--workflow", "w"], "GITHUB_TOKEN (or GH_TOKEN) is not set"),
    ],
)
def test_usage_errors_exit_2(tmp_path, args, message):
    run = alerts_cli(tmp_path, *args, now="2026-01-08T10:00:00Z", env={"GITHUB_REPOSITORY": "acme/ops"})
    assert run.exit_code == 2, run
    assert run.summary["diagnostics"]["error_message"].startswith(message)


def test_bad_config_names_file_and_field(tmp_path):
    cfg = tmp_path / "configs" / "observability" / "alerts.yaml"
    cfg.parent.mkdir(parents=True)
    cfg.write_text("repeat_interval_hour: 4\n")
    run = alerts_cli(tmp_path, "sync", "--dry-run", now="2026-01-08T10:00:00Z")
    assert run.exit_code == 2
    assert run.summary["diagnostics"]["error_message"] == (
        "configs/observability/alerts.yaml:1: field <root>: Additional properties are not allowed "
        "('repeat_interval_hour' was unexpected) (did you mean 'repeat_interval_hours'?)"
    )


def test_config_repeat_interval(tmp_path):
    cfg = tmp_path / "configs" / "observability" / "alerts.yaml"
    cfg.parent.mkdir(parents=True)
    cfg.write_text("repeat_interval_hours: 2\n")
    with FakeGitHub(clock=lambda: T0.timestamp()) as fake:
        for index in range(2):
            at = window(tmp_path, index, 250_000)
            latency_run(tmp_path, at)
        alerts_cli(tmp_path, "sync", now=iso(at), fake=fake)
        run = alerts_cli(tmp_path, "sync", now=iso(at + timedelta(hours=2)), fake=fake)
        assert run.summary["action_counts"] == {"reminded": 1}, run


def test_github_error_is_exit_1_and_the_cache_keeps_what_was_done(tmp_path):
    with FakeGitHub(clock=lambda: T0.timestamp()) as fake:
        for index in range(2):
            at = window(tmp_path, index, 250_000)
            latency_run(tmp_path, at)
        fake.inject(500, match=lambda method, path: method == "POST" and path.endswith("/issues"))
        run = alerts_cli(tmp_path, "sync", now=iso(at), fake=fake)
        assert run.exit_code == 1 and run.summary["diagnostics"]["error_code"] == "github_api_error", run
        cache = json.loads((tmp_path / "ops" / "alert_inbox.json").read_text())
        assert cache["stale"] is True  # the creation's outcome is unknown: list before trying again
        run = alerts_cli(tmp_path, "sync", now=iso(at), fake=fake)
        assert run.exit_code == 0 and run.summary["listed_issues"] is True, run
        assert len(fake.issues) == 1 and fake.violations == []


def test_token_canary_never_leaves_the_process(tmp_path):
    """Under GitHub Actions, with a server echoing the token back: only ::add-mask:: may carry it."""
    outputs, summary = tmp_path / "gh_output", tmp_path / "gh_summary"
    ws = tmp_path / "ws"
    env = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_OUTPUT": str(outputs),
        "GITHUB_STEP_SUMMARY": str(summary),
        "GITHUB_RUN_ID": "77",
        "GITHUB_SERVER_URL": "https://github.com",
        "OBS_ALERTS_SLACK_WEBHOOK": SLACK_CANARY,
        "OBS_PAGERDUTY_ROUTING_KEY": PD_CANARY,
    }
    texts = []
    refusing = Receiver(default_status=400)  # PagerDuty refusing the event (not retried)
    env["OBS_PAGERDUTY_EVENTS_URL"] = refusing.url + "/v2/enqueue"
    with FakeGitHub(clock=lambda: T0.timestamp()) as fake:
        for index in range(3):
            at = window(ws, index, 250_000)
            latency_run(ws, at)
        runs = [alerts_cli(ws, "sync", now=iso(at), fake=fake, env=env)]
        fake.inject(
            422,
            body={"message": f"token {TOKEN} rejected", "documentation_url": "x"},
            match=lambda method, path: method == "POST" and path.endswith("/issues"),
        )
        runs.append(alerts_cli(ws, "report-failure", "--workflow", "w", "--job", "j", now=iso(at), fake=fake, env=env))
        runs.append(alerts_cli(ws, "sync", "--dry-run", now=iso(at + timedelta(hours=30)), fake=fake, env=env))
        assert [r.exit_code for r in runs] == [0, 1, 0], runs
        assert [m["status"] for m in runs[0].summary["mirrors"]] == ["failed", "failed", "skipped"]
        assert "***" in runs[1].summary["diagnostics"]["error_message"]
        for run in runs:
            texts.append(run.stdout)
            texts.append("\n".join(line for line in run.stderr.splitlines() if not line.startswith("::add-mask::")))
        texts += [i["body"] for i in fake.issues.values()] + [c["body"] for cs in fake.comments.values() for c in cs]
    refusing.close()  # (the routing key is meant to reach PagerDuty: what it received is not checked)
    for path in [outputs, summary, *ws.rglob("*")]:
        if path.is_file() and not path.name.endswith((".csv", ".gz")):
            texts.append(path.read_text(encoding="utf-8", errors="replace"))
    for canary in (TOKEN, SLACK_CANARY, "slackCANARYsecret0001", PD_CANARY):
        assert not [t for t in texts if canary in t], canary


def test_an_issue_created_whose_answer_was_lost_is_adopted_not_duplicated(tmp_path):
    with FakeGitHub(clock=lambda: T0.timestamp()) as fake:
        for index in range(2):
            at = window(tmp_path, index, 250_000)
            latency_run(tmp_path, at)
        fake.inject(502, process=True, match=lambda method, path: method == "POST" and path.endswith("/issues"))
        run = alerts_cli(tmp_path, "sync", now=iso(at), fake=fake)
        assert run.exit_code == 1 and len(fake.issues) == 1, run  # created on GitHub, answer lost, not retried
        run = alerts_cli(tmp_path, "sync", now=iso(at + timedelta(minutes=15)), fake=fake)
        assert run.exit_code == 0 and run.summary["listed_issues"] is True and run.summary["actions"] == [], run
        assert len(fake.issues) == 1 and fake.violations == []
        assert alerts_cli(tmp_path, "sync", now=iso(at + timedelta(minutes=30)), fake=fake).summary["api_calls"] == 0


def test_source_filter(tmp_path):
    (tmp_path / "ops").mkdir()
    (tmp_path / "ops" / "weekly_report_heartbeat.json").write_text(json.dumps({"pending_replay": "2026-01-05"}))
    (tmp_path / "ops" / "verify_alerts.json").write_text(
        json.dumps({"alerts": [{"id": "0123456789abcdef", "severity": "warning", "message": "m"}]})
    )
    run = alerts_cli(tmp_path, "sync", "--dry-run", "--source", "verify", now="2026-01-08T10:00:00Z")
    assert run.exit_code == 0 and run.summary["firing"] == 1 and list(run.summary["sources"]) == ["verify"], run
