"""Alerts carry `notified_channels` filled with the channels that actually notified people (seed 002 §5.2):
the alert inbox records them per alert (issue, Slack, PagerDuty, webhook), the alert webhook and the weekly
report's alerts block carry them."""

from __future__ import annotations

import json
from pathlib import Path

from observability import schemas
from tests._support_github import FakeGitHub, Receiver, alerts_cli
from tests._support_latency import iso
from tests._support_weekly import inputs_workspace, weekly
from tests.test_alerts_inbox import T0, latency_run, window
from tests.test_alerts_mirrors import ROUTING_KEY, SECRET, _verify_webhook


def _cache(ws: Path) -> dict:
    return json.loads((ws / "ops" / "alert_inbox.json").read_text())


def test_the_channels_that_delivered_are_recorded_and_sent_along(tmp_path):
    hooks, slack_rx, pd_rx = Receiver(), Receiver(), Receiver(default_status=202)
    env = {
        "OBS_ALERTS_SLACK_WEBHOOK": slack_rx.url + "/services/T0/B0/notifiedsecretpath0000",
        "OBS_PAGERDUTY_ROUTING_KEY": ROUTING_KEY,
        "OBS_PAGERDUTY_EVENTS_URL": pd_rx.url + "/v2/enqueue",
        "OBS_WEEKLY_WEBHOOK_URL": hooks.url + "/hook",
        "OBS_WEBHOOK_SECRET": SECRET,
    }
    try:
        with FakeGitHub(clock=lambda: T0.timestamp()) as fake:
            summaries = []
            for index in range(3):  # streak 2: warning (opened), streak 3: critical (escalated, paged)
                at = window(tmp_path, index, 250_000)
                latency_run(tmp_path, at)
                run = alerts_cli(tmp_path, "sync", now=iso(at), fake=fake, env=env)
                assert run.exit_code == 0 and run.summary["status"] == "ok", run
                summaries.append(run.summary)
        assert [s["action_counts"] for s in summaries] == [{}, {"opened": 1}, {"escalated": 1}]
        (fp,) = summaries[1]["notified_channels"]
        assert summaries[1]["notified_channels"][fp] == ["issue", "slack", "webhook"]  # a warning pages nobody
        assert summaries[2]["notified_channels"][fp] == ["issue", "slack", "pagerduty", "webhook"]
        entry = _cache(tmp_path)["issues"][fp]
        assert entry["notified_channels"] == ["issue", "slack", "pagerduty", "webhook"]
        assert not schemas.errors("alert_inbox_cache", _cache(tmp_path))
        # the webhook goes last and says which channels went before it
        docs = [_verify_webhook(r) for r in hooks.received]
        assert [d["alerts"][0]["notified_channels"] for d in docs] == [
            ["issue", "slack"],
            ["issue", "slack", "pagerduty"],
        ]
    finally:
        for r in (hooks, slack_rx, pd_rx):
            r.close()


# A failed or unconfigured mirror is not a channel: tests/test_alerts_mirrors.py::test_failed_mirror_is_a_warning_not_an_error.


def test_a_dry_run_notifies_nobody(tmp_path):
    with FakeGitHub(clock=lambda: T0.timestamp()) as fake:
        for index in range(2):
            at = window(tmp_path, index, 250_000)
            latency_run(tmp_path, at)
        run = alerts_cli(tmp_path, "sync", "--dry-run", now=iso(at), fake=fake)
    assert run.exit_code == 0 and run.summary["notified_channels"] == {}, run


ALERT_ID = "0123456789abcdef"


def _weekly_workspace(root: Path) -> Path:
    ws = inputs_workspace(root)
    alerts = ws / "out" / "latency_alerts"
    alerts.mkdir(parents=True, exist_ok=True)
    item = {"id": ALERT_ID, "rule": "latency_slo", "source": "feed_a", "severity": "critical", "status": "firing"}
    for name in ("20260105T120000Z-latency-aaaaaaaa.json", "20260101T120000Z-latency-aaaaaaaa.json"):
        (alerts / name).write_text(json.dumps({"job_id": name[:-5], "alerts": [item]}))
    return ws


def _report_alert(ws: Path, run) -> dict:
    assert run.exit_code == 0, run
    path = next(a for a in run.summary["artefacts"] if a.startswith("out/weekly_report/"))
    payload = json.loads((ws / path).read_text())
    return next(a for a in payload["alerts"] if a["id"] == ALERT_ID)


def test_the_weekly_report_carries_the_channels_the_inbox_recorded(tmp_path):
    ws = _weekly_workspace(tmp_path / "ws")
    assert _report_alert(ws, weekly(ws, "report", "--dry-run"))["notified_channels"] == []  # no inbox: none known
    cache = {
        "version": 1,
        "repo": "acme/ops",
        "labels": None,
        "stale": False,
        "updated_at": "2026-01-07T00:00:00Z",
        "issues": {
            ALERT_ID: {
                "number": 3,
                "kind": "alert",
                "state": "open",
                "status": "firing",
                "title": "Latency SLO breach on feed_a",
                "notified_channels": ["issue", "pagerduty"],
            }
        },
    }
    assert not schemas.errors("alert_inbox_cache", cache)
    (ws / "ops" / "alert_inbox.json").write_text(json.dumps(cache))
    entry = _report_alert(ws, weekly(ws, "report", "--dry-run", now="2026-01-08T00:09:00Z"))
    assert entry["notified_channels"] == ["issue", "pagerduty"]
