"""Delivery against a real receiver on 127.0.0.1 that verifies both signatures (hmac for
X-OBS-Signature, the standardwebhooks package for webhook-signature), fault sequences, history,
heartbeat, failure handling and replay."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from standardwebhooks.webhooks import Webhook

from _support_weekly import (
    PLAIN_SECRET,
    WEEK,
    WHSEC_SECRET,
    delivery_env,
    history_dir,
    inputs_workspace,
    log_lines,
    read_json,
    receiver,
    weekly as _weekly,
)
from observability.outbound import delivery, signing

FAST = ("--retry-wait-seconds", "0")
ENDED = "2026-01-12T00:07:00Z"  # the Monday after WEEK: a week still under way is only sent with --partial


def weekly(ws, command, *args, now=ENDED, env=None):
    return _weekly(ws, command, *args, now=now, env=env)


JOB = "20260108T000700Z-weekly"


@pytest.fixture
def ws(tmp_path):
    # rollups up to the end of the week: every input is fresh when the ended week is reported
    return inputs_workspace(tmp_path / "ws", rollup_end=datetime(2026, 1, 12, tzinfo=UTC))


def report(ws, rec, *args, secret=PLAIN_SECRET, env=None):
    return weekly(
        ws,
        "report",
        "--week-start",
        WEEK,
        "--job-id",
        JOB,
        *FAST,
        *args,
        env={**delivery_env(rec, secret), **(env or {})},
    )


# -- success ----------------------------------------------------------------------------------


def test_delivered_once_with_both_signatures(ws):
    with receiver([200]) as rec:
        run = report(ws, rec)
    assert run.exit_code == 0, run
    assert run.summary["status"] == "ok" and run.summary["webhook_status_code"] == 200
    assert len(rec.requests) == 1
    req = rec.requests[0]
    assert req.obs_signature_ok and req.standard_signature_ok
    assert req.headers["Content-Type"] == "application/json"
    assert req.headers["X-OBS-Signature"] == hmac.new(PLAIN_SECRET.encode(), req.body, hashlib.sha256).hexdigest()
    assert abs(int(req.headers["webhook-timestamp"]) - req.at) < 5
    stored = history_dir(ws) / f"{WEEK}.json"
    assert stored.read_bytes() == req.body
    assert (history_dir(ws) / f"{WEEK}.sig").read_text() == req.headers["X-OBS-Signature"]
    assert not (history_dir(ws) / "pending" / f"{WEEK}.json").exists()
    beat = read_json(ws / "ops" / "weekly_report_heartbeat.json")
    assert beat["last_webhook_status_code"] == 200 and beat["last_success_at"] == ENDED
    assert beat["pending_replay"] is None
    line = log_lines(ws)[-1]
    assert line["status"] == "ok" and line["attempts"] == 1
    attempt = line["diagnostics"]["delivery_attempts"][0]
    assert set(attempt) >= {"attempt", "status_code", "response_ms", "error", "payload_checksum_sha256"}
    assert attempt["payload_checksum_sha256"] == json.loads(req.body)["payload_checksum_sha256"]


def test_rotation_signs_with_every_secret_newest_first(ws):
    old = "old-secret-still-accepted"
    with receiver([200], obs_key=signing.key_of(WHSEC_SECRET), standard_secret=old.encode()) as rec:
        run = report(ws, rec, secret=f"{WHSEC_SECRET} {old}")
    assert run.exit_code == 0, run
    req = rec.requests[0]
    entries = req.headers["webhook-signature"].split(" ")
    assert len(entries) == 2 and all(e.startswith("v1,") for e in entries)
    Webhook(WHSEC_SECRET).verify(req.body, req.headers)  # the new secret, whsec_ form
    Webhook(old.encode()).verify(req.body, req.headers)  # the old one still verifies
    whsec_key = base64.b64decode(WHSEC_SECRET[len("whsec_") :])
    assert req.headers["X-OBS-Signature"] == hmac.new(whsec_key, req.body, hashlib.sha256).hexdigest()


# -- fault sequences ---------------------------------------------------------------------------


def test_500_500_200_retries_with_one_webhook_id(ws):
    with receiver([500, 500, 200]) as rec:
        run = report(ws, rec)
    assert run.exit_code == 0, run
    assert [a["status_code"] for a in run.summary["delivery_attempts"]] == [500, 500, 200]
    assert len({r.headers["webhook-id"] for r in rec.requests}) == 1
    assert len({r.body for r in rec.requests}) == 1
    assert all(r.obs_signature_ok and r.standard_signature_ok for r in rec.requests)
    assert log_lines(ws)[-1]["attempts"] == 3


def test_429_retry_after_is_honoured_and_capped(ws):
    cfg = ws / "configs" / "observability" / "weekly_report.yaml"
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text("delivery:\n  retry_after_cap_seconds: 0.05\n")
    with receiver([(429, {"Retry-After": "3600"}), 200]) as rec:
        run = report(ws, rec)
    assert run.exit_code == 0, run
    first = run.summary["delivery_attempts"][0]
    assert first["status_code"] == 429 and first["retry_after"] == "3600" and first["wait_seconds"] == 0.05


def test_hung_response_times_out_and_is_retried(ws):
    with receiver(["hang", 200], hang_seconds=1.5) as rec:
        run = report(ws, rec, "--request-timeout", "0.3")
    assert run.exit_code == 0, run
    first = run.summary["delivery_attempts"][0]
    assert first["status_code"] is None and first["error"].startswith("timeout")
    assert first["response_ms"] < 1400


def test_connection_reset_is_retried(ws):
    with receiver(["reset", 200]) as rec:
        run = report(ws, rec)
    assert run.exit_code == 0, run
    first = run.summary["delivery_attempts"][0]
    assert first["status_code"] is None and first["error"].startswith("network")


def test_400_is_permanent(ws):
    with receiver([400, 200]) as rec:
        run = report(ws, rec)
    assert run.exit_code == 1, run
    assert len(rec.requests) == 1
    assert run.summary["diagnostics"]["error_code"] == "webhook_delivery_failed"


def test_301_is_not_followed(ws):
    with receiver([301]) as rec:
        run = report(ws, rec)
        assert rec.other_paths == []  # the Location target never received the body
    assert run.exit_code == 1, run
    assert len(rec.requests) == 1
    assert "redirect not followed" in run.summary["delivery_attempts"][0]["error"]


def test_final_failure_keeps_the_payload_alerts_and_exits_1(ws):
    with receiver([503]) as rec:
        run = report(ws, rec, "--max-retries", "3")
    assert run.exit_code == 1, run
    assert run.summary["status"] == "error" and len(rec.requests) == 3
    pending = history_dir(ws) / "pending" / f"{WEEK}.json"
    assert pending.read_bytes() == rec.requests[0].body
    assert not (history_dir(ws) / f"{WEEK}.json").exists()
    [alert] = run.summary["alerts"]
    assert alert["severity"] == "critical" and alert["status"] == "firing"
    assert f"weekly replay --week-start {WEEK}" in alert["next_action"]
    alert_file = read_json(ws / "out" / "weekly_alerts" / f"{JOB}.json")
    assert alert_file["alerts"][0]["id"] == alert["id"]
    beat = read_json(ws / "ops" / "weekly_report_heartbeat.json")
    assert beat["pending_replay"] == WEEK and beat["last_webhook_status_code"] == 503
    assert "pending" in run.summary["diagnostics"]["error_message"]
    assert (ws / "out" / "weekly_report" / f"{JOB}.md").exists()


# -- replay ------------------------------------------------------------------------------------


def test_replay_sends_the_stored_bytes_with_the_same_webhook_id(ws):
    with receiver([503]) as down:
        failed = report(ws, down, "--max-retries", "2")
    assert failed.exit_code == 1, failed
    original = down.requests[0]
    with receiver([500, 200]) as up:
        run = weekly(ws, "replay", "--week-start", WEEK, *FAST, env=delivery_env(up), now="2026-01-08T09:00:00Z")
    assert run.exit_code == 0, run
    assert [r.body for r in up.requests] == [original.body, original.body]
    assert {r.headers["webhook-id"] for r in up.requests} == {original.headers["webhook-id"]}
    assert all(r.obs_signature_ok and r.standard_signature_ok for r in up.requests)
    assert (history_dir(ws) / f"{WEEK}.json").read_bytes() == original.body
    assert not (history_dir(ws) / "pending" / f"{WEEK}.json").exists()
    beat = read_json(ws / "ops" / "weekly_report_heartbeat.json")
    assert beat["pending_replay"] is None and beat["last_webhook_status_code"] == 200
    assert run.summary["alerts"][0]["status"] == "resolved"


def test_replay_of_a_delivered_week_and_of_a_missing_week(ws):
    with receiver([200]) as rec:
        assert report(ws, rec).exit_code == 0
        again = weekly(ws, "replay", "--week-start", WEEK, *FAST, env=delivery_env(rec))
        missing = weekly(ws, "replay", "--week-start", "2025-12-29", *FAST, env=delivery_env(rec))
    assert again.exit_code == 0, again
    assert rec.requests[0].body == rec.requests[1].body
    assert missing.exit_code == 1 and missing.summary["diagnostics"]["error_code"] == "missing_input"


def test_replay_refuses_a_damaged_payload(ws):
    with receiver([503]) as rec:
        report(ws, rec, "--max-retries", "1")
        pending = history_dir(ws) / "pending" / f"{WEEK}.json"
        pending.write_bytes(pending.read_bytes().replace(b'"schema_version":"2.1.0"', b'"schema_version":"9.9.9"'))
        run = weekly(ws, "replay", "--week-start", WEEK, *FAST, env=delivery_env(rec))
    assert run.exit_code == 1 and run.summary["diagnostics"]["error_code"] == "invalid_input"
    assert len(rec.requests) == 1


def test_replay_without_url_is_exit_2(ws):
    run = weekly(ws, "replay", "--week-start", WEEK)
    assert run.exit_code == 2, run
    message = run.summary["diagnostics"]["error_message"]
    assert "is not set" in message and "--dry-run-webhook" not in message and "--dry-run" in message


def test_a_dry_replay_names_what_it_would_send_and_sends_and_changes_nothing(ws):
    with receiver([503]) as rec:
        report(ws, rec, "--max-retries", "1")
    original = rec.requests[0]
    before = {p: p.read_bytes() for p in (ws / "ops").rglob("*") if p.is_file() and "automation_runs" not in p.name}
    run = weekly(ws, "replay", "--week-start", WEEK, "--dry-run", now="2026-01-08T09:00:00Z")  # no URL, no secret
    assert run.exit_code == 0 and run.summary["status"] == "dry_run", run
    assert run.summary["webhook_id"] == original.headers["webhook-id"]
    assert run.summary["payload_size_bytes"] == len(original.body) and run.summary["attempts"] == 0
    assert "nothing was sent" in run.stderr
    after = {p: p.read_bytes() for p in (ws / "ops").rglob("*") if p.is_file() and "automation_runs" not in p.name}
    assert after == before  # the pending copy and the heartbeat naming the week stay as they were
    missing = weekly(ws, "replay", "--week-start", "2025-12-29", "--dry-run")
    assert missing.exit_code == 1 and missing.summary["diagnostics"]["error_code"] == "missing_input"


# -- the library: waits, jitter, Retry-After, per-attempt timestamps -------------------------------


def test_backoff_is_exponential_with_jitter_and_waits_are_injected():
    waits: list[float] = []
    start = int(time.time())
    clock = iter(range(start, start + 100, 7))  # real-ish: the receiver rejects stale timestamps
    keys = signing.keys_from(type("S", (), {"name": "X", "value": PLAIN_SECRET})())
    with receiver([500, 502, 503, 200]) as rec:
        result = delivery.deliver(
            rec.url + "/hook",
            b"{}",
            keys,
            webhook_id="msg_1",
            checksum="0" * 64,
            policy=delivery.RetryPolicy(max_attempts=5, base_wait_seconds=60),
            sleep=waits.append,
            rng=random.Random(1),
            wall_clock=lambda: next(clock),
        )
    assert result.delivered and len(waits) == 3
    for n, wait in enumerate(waits):
        ceiling = 60 * 2**n
        assert ceiling / 2 <= wait <= ceiling
    stamps = [r.headers["webhook-timestamp"] for r in rec.requests]
    assert len(set(stamps)) == 4  # signed afresh per attempt
    for req in rec.requests:  # each attempt's signature matches its own timestamp
        expected = signing.standard_signature(
            PLAIN_SECRET.encode(), "msg_1", int(req.headers["webhook-timestamp"]), b"{}"
        )
        assert req.headers["webhook-signature"] == expected


def test_retry_after_seconds_and_http_date():
    now = datetime(2026, 1, 8, 0, 0, tzinfo=UTC)
    assert delivery.retry_after_seconds("120", now) == 120
    assert delivery.retry_after_seconds(format_datetime(now + timedelta(seconds=90), usegmt=True), now) == 90
    assert delivery.retry_after_seconds(format_datetime(now - timedelta(seconds=90), usegmt=True), now) == 0
    assert delivery.retry_after_seconds("soon", now) is None


def test_retry_after_http_date_is_honoured_in_delivery():
    waits: list[float] = []
    keys = signing.SigningKeys((PLAIN_SECRET.encode(),))
    fixed = datetime.now(UTC).replace(microsecond=0)
    date = format_datetime(fixed + timedelta(seconds=42), usegmt=True)
    with receiver([(429, {"Retry-After": date}), 200]) as rec:
        result = delivery.deliver(
            rec.url + "/hook",
            b"{}",
            keys,
            webhook_id="msg_2",
            checksum="0" * 64,
            policy=delivery.RetryPolicy(base_wait_seconds=60),
            sleep=waits.append,
            wall_clock=lambda: fixed.timestamp(),
        )
    assert result.delivered and waits == [42]


def test_whsec_key_and_bad_whsec_secret():
    assert signing.key_of("whsec_" + base64.b64encode(b"k" * 24).decode()) == b"k" * 24
    assert signing.key_of("plain") == b"plain"
    from observability.errors import ConfigError

    with pytest.raises(ConfigError) as err:
        signing.key_of("whsec_***not base64***")
    assert "***not" not in str(err.value)


def test_dry_run_sends_nothing_even_with_a_url(ws):
    with receiver([200]) as rec:
        run = weekly(ws, "report", "--week-start", WEEK, "--dry-run-webhook", env=delivery_env(rec))
    assert run.exit_code == 0 and run.summary["status"] == "dry_run", run
    assert rec.requests == []
    assert not history_dir(ws).exists()
    assert log_lines(ws)[-1]["status"] == "dry_run"


def test_dashboard_manifest_becomes_attachments(ws):
    manifest = ws / "out" / "dashboard" / "manifest.json"
    manifest.parent.mkdir(parents=True)
    manifest.write_text(
        json.dumps(
            {
                "sequence": 3,
                "datasets": [
                    {"dataset": "latency", "path": "latency.json", "checksum_sha256": "a" * 64},
                    {"dataset": "ev_history", "path": "ev_history.json", "checksum_sha256": "b" * 64},
                ],
            }
        )
    )
    cfg = ws / "configs" / "observability" / "weekly_report.yaml"
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text("attachments_base_uri: s3://bucket/obs\n")
    run = weekly(ws, "report", "--week-start", WEEK, "--dry-run-webhook", "--job-id", JOB)
    assert run.exit_code == 0, run
    doc = read_json(ws / "out" / "weekly_report" / f"{JOB}.json")
    assert [(a["name"], a["uri"]) for a in doc["attachments"]] == [
        ("dashboard_ev_history", "s3://bucket/obs/out/dashboard/ev_history.json"),
        ("dashboard_latency", "s3://bucket/obs/out/dashboard/latency.json"),
        ("dashboard_manifest", "s3://bucket/obs/out/dashboard/manifest.json"),
    ]


@pytest.mark.parametrize(
    "secret_env, needle", [(None, "OBS_WEBHOOK_SECRET is not set"), ("whsec_!!notbase64!!", "base64")]
)
def test_missing_or_bad_secret_is_exit_2_and_sends_nothing(ws, secret_env, needle):
    with receiver([200]) as rec:
        run = weekly(
            ws,
            "report",
            "--week-start",
            WEEK,
            *FAST,
            env={"OBS_WEEKLY_WEBHOOK_URL": rec.url + "/hook", "OBS_WEBHOOK_SECRET": secret_env},
        )
    assert run.exit_code == 2, run
    assert needle in run.summary["diagnostics"]["error_message"]
    assert rec.requests == []


def test_a_delivered_week_is_never_rebuilt_over_and_a_pending_one_is_sent_as_built(tmp_path):
    """The delivered bytes are the audit record; a rerun after a failure sends what was first built."""
    ws = inputs_workspace(tmp_path / "ws")
    with receiver([500, 500, 200, 200]) as rec:
        failed = weekly(ws, "report", "--week-start", WEEK, "--max-retries", "2", *FAST, env=delivery_env(rec))
        assert failed.exit_code == 1
        pending = (history_dir(ws) / "pending" / f"{WEEK}.json").read_bytes()
        # the inputs change before the rerun: the rerun must still deliver the pending bytes
        (ws / "runs" / "index.csv").write_text((ws / "runs" / "index.csv").read_text() + "\n")
        rerun = weekly(ws, "report", "--week-start", WEEK, *FAST, env=delivery_env(rec))
        assert rerun.exit_code == 0, rerun
        assert rerun.summary["diagnostics"].get("resent_pending") is True
        assert rec.requests[-1].body == pending
        delivered = (history_dir(ws) / f"{WEEK}.json").read_bytes()
        assert delivered == pending
        again = weekly(ws, "report", "--week-start", WEEK, *FAST, env=delivery_env(rec))
        assert again.exit_code == 0 and again.summary["status"] == "skipped"
        assert again.summary["diagnostics"]["reason"] == "already_delivered"
        assert len(rec.requests) == 3 and (history_dir(ws) / f"{WEEK}.json").read_bytes() == delivered
