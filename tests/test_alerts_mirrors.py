"""Mirrors against loopback receivers: Slack, PagerDuty Events v2, the signed weekly webhook; and the drill."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import timedelta

import pytest
from jsonschema import Draft202012Validator
from standardwebhooks.webhooks import Webhook

from observability import schemas
from observability.alerts import pagerduty, slack
from observability.alerts.inbox import Event
from tests._support_github import FakeGitHub, Receiver, alerts_cli
from tests._support_latency import iso
from tests.test_alerts_inbox import T0, latency_run, window

SECRET = "whsec_" + base64.b64encode(b"alerts-mirror-test-key-0123").decode()
ROUTING_KEY = "R0UT1NGKEYcanary0123456789abcdef"


@pytest.fixture()
def receiver():
    r = Receiver()
    yield r
    r.close()


def event(kind="opened", severity="critical") -> Event:
    return Event(
        kind,
        "0123456789abcdef",
        "Latency SLO breach on feed_a",
        severity,
        "p95 too high",
        False,
        "https://github.com/acme/ops/issues/1",
        "https://github.com/acme/ops/actions/runs/1",
        "latency",
    )


def test_slack_payload_links_issue_and_run():
    body = slack.payload(event())
    assert body["text"] == "firing (critical): Latency SLO breach on feed_a"
    assert body["blocks"][1]["elements"][0]["text"] == (
        "<https://github.com/acme/ops/issues/1|issue> · <https://github.com/acme/ops/actions/runs/1|run>"
    )


def test_slack_honours_429(receiver):
    receiver.script = [(429, {"Retry-After": "3"})]
    waits = []
    ok, _ = slack.send(receiver.url, {"text": "x"}, timeout=2, sleep=waits.append)
    assert ok and waits == [3.0] and len(receiver.received) == 2


def test_slack_timeout_is_not_retried(receiver):
    receiver.script = [("sleep", 1.0)]
    ok, detail = slack.send(receiver.url, {"text": "x"}, timeout=0.3, sleep=lambda s: None)
    assert not ok and detail.startswith("timeout; not retried (Slack has no idempotency key")
    assert len(receiver.received) == 1


def test_slack_5xx_is_not_retried(receiver):
    receiver.script = [(500, {})]
    assert slack.send(receiver.url, {"text": "x"}, timeout=2) == (False, "HTTP 500")
    assert len(receiver.received) == 1


def test_pagerduty_retries_with_the_dedup_key(receiver):
    receiver.default_status = 202
    receiver.script = [(500, {}), (429, {})]
    waits = []
    body = pagerduty.payload(event(), "trigger", ROUTING_KEY, repo="acme/ops")
    ok, _ = pagerduty.send(receiver.url, body, timeout=2, sleep=waits.append)
    assert ok and waits == [2.0, 4.0]
    assert [r["json"]["dedup_key"] for r in receiver.received] == ["0123456789abcdef"] * 3
    sent = receiver.received[0]["json"]
    assert sent["event_action"] == "trigger" and sent["payload"]["severity"] == "critical"
    assert sent["links"][0] == {"href": "https://github.com/acme/ops/issues/1", "text": "GitHub issue"}


def test_pagerduty_pages_only_critical():
    assert pagerduty.wanted(event(severity="warning")) is None
    assert pagerduty.wanted(event("escalated")) == "trigger"
    assert pagerduty.wanted(event("resolved")) == "resolve"
    assert pagerduty.wanted(event("resolved", severity="warning")) == "resolve"  # it may have paged earlier
    assert pagerduty.wanted(event("failing")) is None


def test_mirrors_are_no_ops_without_secrets(tmp_path):
    with FakeGitHub(clock=lambda: T0.timestamp()) as fake:
        for index in range(3):
            at = window(tmp_path, index, 250_000)
            latency_run(tmp_path, at)
        run = alerts_cli(tmp_path, "sync", now=iso(at), fake=fake)
        assert run.exit_code == 0 and run.summary["status"] == "ok", run
        assert {(m["mirror"], m["status"]) for m in run.summary["mirrors"]} == {
            ("slack", "skipped"),
            ("pagerduty", "skipped"),
            ("webhook", "skipped"),
        }


def _verify_webhook(request) -> dict:
    raw = request["raw"]
    key = base64.b64decode(SECRET[len("whsec_") :])
    assert request["headers"]["x-obs-signature"] == hmac.new(key, raw, hashlib.sha256).hexdigest()
    Webhook(SECRET).verify(
        raw,
        {
            "webhook-id": request["headers"]["webhook-id"],
            "webhook-timestamp": request["headers"]["webhook-timestamp"],
            "webhook-signature": request["headers"]["webhook-signature"],
        },
    )
    return json.loads(raw)


def test_latency_drill_end_to_end(tmp_path):
    """alert_drill: a drill: source breaches, escalates and recovers through the real path and every mirror."""
    hooks, slack_rx, pd_rx = Receiver(), Receiver(), Receiver(default_status=202)
    try:
        env = {
            "OBS_ALERTS_SLACK_WEBHOOK": slack_rx.url + "/services/T0/B0/drillsecretpath000000",
            "OBS_PAGERDUTY_ROUTING_KEY": ROUTING_KEY,
            "OBS_PAGERDUTY_EVENTS_URL": pd_rx.url + "/v2/enqueue",
            "OBS_WEEKLY_WEBHOOK_URL": hooks.url + "/hook",
            "OBS_WEBHOOK_SECRET": SECRET,
        }
        with FakeGitHub(clock=lambda: T0.timestamp()) as fake:
            ws = tmp_path / "drill"
            steps = []
            for index, latency_ms in enumerate((250_000, 250_000, 250_000, 1_000)):
                at = window(ws, index, latency_ms, source="drill:feed")
                latency_run(ws, at)
                run = alerts_cli(ws, "sync", now=iso(at), fake=fake, env=env)
                assert run.exit_code == 0 and run.summary["status"] == "ok", run
                steps.append(run.summary["action_counts"])
            assert steps == [{}, {"opened": 1}, {"escalated": 1}, {"resolved": 1}]
            assert fake.violations == []
            issue = fake.issues[1]
            assert issue["title"] == "[drill] Latency SLO breach on drill:feed" and issue["state"] == "closed"
            assert "drill" in fake.label_names(1) and "**Drill.**" in issue["body"]
        texts = [r["json"]["text"] for r in slack_rx.received]
        assert texts == [
            "[DRILL] firing (warning): [drill] Latency SLO breach on drill:feed",
            "[DRILL] escalated (critical): [drill] Latency SLO breach on drill:feed",
            "[DRILL] resolved: [drill] Latency SLO breach on drill:feed",
        ]
        pd = [r["json"] for r in pd_rx.received]
        assert [(e["event_action"], e["dedup_key"]) for e in pd] == [
            ("trigger", issue_fp(issue)),
            ("resolve", issue_fp(issue)),
        ]
        assert pd[0]["payload"]["summary"].startswith("[DRILL] ") and pd[0]["routing_key"] == ROUTING_KEY
        assert not pd[0]["payload"]["summary"].startswith("[DRILL] [drill]")  # one marker on a pager is enough
        docs = [_verify_webhook(r) for r in hooks.received]
        block = schemas.load_schema("observability_weekly_report")["properties"]["alerts"]
        for doc in docs:
            assert doc["kind"] == "observability.alerts" and not list(
                Draft202012Validator(block).iter_errors(doc["alerts"])
            )
        assert [(d["alerts"][0]["severity"], d["alerts"][0]["status"]) for d in docs] == [
            ("warning", "firing"),
            ("critical", "firing"),
            ("critical", "resolved"),
        ]
        assert docs[0]["alerts"][0]["source"] == "drill:feed"
    finally:
        for r in (hooks, slack_rx, pd_rx):
            r.close()


def issue_fp(issue) -> str:
    from observability.alerts.render import MARKER_RE

    return MARKER_RE.search(issue["body"]).group(1)


def test_failed_mirror_is_a_warning_not_an_error(tmp_path):
    rx = Receiver(default_status=500)
    try:
        with FakeGitHub(clock=lambda: T0.timestamp()) as fake:
            for index in range(2):
                at = window(tmp_path, index, 250_000)
                latency_run(tmp_path, at)
            run = alerts_cli(
                tmp_path,
                "sync",
                now=iso(at),
                fake=fake,
                env={"OBS_ALERTS_SLACK_WEBHOOK": rx.url + "/hook/abcdefabcdefabcdef"},
            )
            assert run.exit_code == 0 and run.summary["status"] == "warning", run
            assert run.summary["diagnostics"]["warnings"][0].startswith("mirror slack failed for opened")
            assert fake.issues[1]["state"] == "open"
        # A mirror that failed (or is not configured) is not a channel that notified anyone.
        assert list(run.summary["notified_channels"].values()) == [["issue"]]
        cache = json.loads((tmp_path / "ops" / "alert_inbox.json").read_text())
        assert [e.get("notified_channels") for e in cache["issues"].values()] == [["issue"]]
    finally:
        rx.close()


def test_dry_run_shows_mirror_payloads_without_secrets(tmp_path):
    env = {
        "OBS_ALERTS_SLACK_WEBHOOK": "https://hooks.slack.invalid/services/T0/B0/dryrunsecret00000",
        "OBS_PAGERDUTY_ROUTING_KEY": ROUTING_KEY,
    }
    for index in range(3):
        at = window(tmp_path, index, 250_000)
        latency_run(tmp_path, at)
    run = alerts_cli(tmp_path, "sync", "--dry-run", now=iso(at + timedelta(minutes=1)), env=env)
    assert run.exit_code == 0, run
    plan = (tmp_path / run.summary["artefacts"][0]).read_text()
    assert ROUTING_KEY not in plan and "dryrunsecret00000" not in plan
    assert '"mirror": "pagerduty"' in plan and '"status": "dry_run"' in plan


def test_drill_and_real_issues_never_meet(tmp_path):
    """A drill in a scratch workspace (cold cache) leaves a real open issue alone, and the other way round."""
    with FakeGitHub(clock=lambda: T0.timestamp()) as fake:
        real, scratch = tmp_path / "real", tmp_path / "scratch"
        for index in range(2):
            at = window(real, index, 250_000)
            latency_run(real, at)
        assert alerts_cli(real, "sync", now=iso(at), fake=fake).summary["action_counts"] == {"opened": 1}
        for index, latency_ms in enumerate((250_000, 250_000, 1_000)):
            at = window(scratch, index, latency_ms, source="drill:feed")
            latency_run(scratch, at)
            run = alerts_cli(scratch, "sync", "--drill", now=iso(at), fake=fake)
            assert run.exit_code == 0, run
        assert run.summary["action_counts"] == {"resolved": 1}
        assert fake.issues[1]["state"] == "open" and fake.issues[2]["state"] == "closed"
        assert any(r["query"].get("labels") == "observability,drill" for r in fake.requests)
        # A real run with a lost cache ignores the drill issue and keeps the real one.
        (real / "ops" / "alert_inbox.json").unlink()
        run = alerts_cli(real, "sync", now=iso(at), fake=fake)
        assert run.exit_code == 0 and run.summary["actions"] == [], run
        cache = json.loads((real / "ops" / "alert_inbox.json").read_text())
        assert [e["number"] for e in cache["issues"].values()] == [1]
        assert fake.violations == []


def test_alerts_drill_command(tmp_path):
    """`alerts drill`: the whole latency drill in one command, twice (the second reopens the same issue)."""
    slack_rx, pd_rx = Receiver(), Receiver(default_status=202)
    try:
        env = {
            "OBS_ALERTS_SLACK_WEBHOOK": slack_rx.url + "/services/T0/B0/drillcommand0000000",
            "OBS_PAGERDUTY_ROUTING_KEY": ROUTING_KEY,
            "OBS_PAGERDUTY_EVENTS_URL": pd_rx.url + "/v2/enqueue",
        }
        real = tmp_path / "real"
        real.mkdir()
        with FakeGitHub(clock=lambda: T0.timestamp()) as fake:
            for _ in range(2):
                run = alerts_cli(real, "drill", now="2026-01-08T10:07:00Z", fake=fake, env=env)
                assert run.exit_code == 0 and run.summary["passed"] is True, run
                assert [s["actions"] for s in run.summary["steps"]] == [["opened"], ["escalated"], ["resolved"]]
            assert list(fake.issues) == [1] and fake.issues[1]["state"] == "closed"
            assert "drill" in fake.label_names(1) and fake.violations == []
        assert not (real / "ops" / "latency_state.json").exists()  # real state never touched
        assert len(slack_rx.received) == 6
        assert [r["json"]["event_action"] for r in pd_rx.received] == ["trigger", "resolve"] * 2
    finally:
        slack_rx.close()
        pd_rx.close()


def test_alerts_drill_dry_run(tmp_path):
    run = alerts_cli(tmp_path, "drill", "--dry-run", now="2026-01-08T10:07:00Z")
    assert run.exit_code == 0 and run.summary["status"] == "dry_run" and run.summary["passed"] is True, run
    assert run.summary["api_calls"] == 0
