"""The delivery record of a week survives a kill at any point, and a week still under way is never the week.

The weekly job runs as a real subprocess, SIGKILLed at an exact point of its record: a small
launcher (written by the test, not part of the product) wraps ``observability.fsio``'s atomic
writers so the process kills itself with SIGKILL right after (or just before) writing a named
file, then runs the real CLI. After the kill a plain rerun must complete the record: ``.json`` +
``.sig`` in the history, no pending copy, no "not delivered" alert left firing, and ``sync push``
uploads the week.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from _support_robust import clean_env
from _support_weekly import (
    PLAIN_SECRET,
    WEEK,
    delivery_env,
    history_dir,
    inputs_workspace,
    read_json,
    receiver,
    weekly as _weekly,
)
from observability.alerts.sources import WeeklySource
from observability.workspace import Workspace

ENDED = "2026-01-12T00:07:00Z"  # WEEK is complete
NEXT_WEEK = "2026-01-12"
NEXT_ENDED = "2026-01-19T00:07:00Z"
FAST = ("--retry-wait-seconds", "0")

LAUNCHER = """
import os, signal, sys
from pathlib import Path
from observability import fsio

when, name = sys.argv[1].split(":", 1)

def wrap(original):
    def write(path, *args, **kwargs):
        hit = Path(path).as_posix().endswith("/" + name)
        if when == "before" and hit:
            os.kill(os.getpid(), signal.SIGKILL)
        original(path, *args, **kwargs)
        if when == "after" and hit:
            os.kill(os.getpid(), signal.SIGKILL)
    return write

fsio.atomic_write_bytes = wrap(fsio.atomic_write_bytes)
fsio.atomic_write_json = wrap(fsio.atomic_write_json)
sys.argv = ["observability", *sys.argv[2:]]
from observability.cli import main
main()
"""


def weekly(ws, command, *args, now=ENDED, env=None):
    return _weekly(ws, command, *args, now=now, env=env)


def killed_run(tmp_path: Path, point: str, args: list[str], env: dict) -> None:
    """Run the CLI in a real process that SIGKILLs itself at ``point`` (``after:<file>`` / ``before:<file>``)."""
    launcher = tmp_path / "kill_at.py"
    launcher.write_text(LAUNCHER)
    done = subprocess.run(
        [sys.executable, str(launcher), point, *args], env=clean_env(**env), capture_output=True, text=True, timeout=60
    )
    assert done.returncode == -signal.SIGKILL, f"not killed at {point}: {done.returncode}\n{done.stdout}\n{done.stderr}"


def firing(ws: Path) -> list:
    """What the alert inbox would report for the weekly job (it reads the heartbeat)."""
    return WeeklySource("owner", "docs/runbook.md").collect(Workspace(ws)).alerts


def assert_recorded(ws: Path, week: str, body: bytes | None = None) -> None:
    history = history_dir(ws)
    stored = (history / f"{week}.json").read_bytes()
    if body is not None:
        assert stored == body
    assert (history / f"{week}.sig").read_text() == hmac.new(PLAIN_SECRET.encode(), stored, hashlib.sha256).hexdigest()
    assert not (history / "pending" / f"{week}.json").exists()


def synced(ws: Path, tmp_path: Path) -> list[str]:
    store = tmp_path / "store"
    run = _weekly_sync(ws, store)
    assert run.exit_code == 0, run
    return sorted(str(p.relative_to(store)) for p in store.rglob("*") if p.is_file() and "weekly" in p.parts)


def _weekly_sync(ws: Path, store: Path):
    from _support_weekly import run_cli

    return run_cli(
        ["sync", "push", "--workspace", str(ws), "--to", store.as_uri(), "--no-dashboard", "--retry-wait-seconds", "0"],
        now=NEXT_ENDED,
    )


def failed_first(ws: Path, rec) -> bytes:
    """A first run that could not deliver: pending copy, heartbeat pending_replay, alert firing."""
    failed = weekly(ws, "report", "--week-start", WEEK, "--max-retries", "1", *FAST, env=delivery_env(rec))
    assert failed.exit_code == 1, failed
    assert read_json(ws / "ops" / "weekly_report_heartbeat.json")["pending_replay"] == WEEK
    assert len(firing(ws)) == 1
    return (history_dir(ws) / "pending" / f"{WEEK}.json").read_bytes()


def cli_args(ws: Path, command: str, week: str = WEEK) -> list[str]:
    return ["weekly", command, "--workspace", str(ws), "--week-start", week, *FAST]


HISTORY = "weekly_report_history"


@pytest.mark.parametrize(
    "point", [f"after:{HISTORY}/{WEEK}.sig", f"after:{HISTORY}/{WEEK}.json", "before:ops/weekly_report_heartbeat.json"]
)
@pytest.mark.parametrize("command", ["report", "replay"])
def test_a_run_killed_while_recording_is_completed_by_a_rerun(tmp_path, point, command):
    ws = inputs_workspace(tmp_path / "ws")
    with receiver([503, 200, 200, 200]) as rec:
        body = failed_first(ws, rec)
        killed_run(tmp_path, point, cli_args(ws, command), {**delivery_env(rec), "OBS_NOW": ENDED})
        assert rec.requests[-1].body == body  # the receiver has the week: the kill came after the 2xx
        rerun = weekly(ws, "report", "--week-start", WEEK, *FAST, env=delivery_env(rec))
        assert rerun.exit_code == 0, rerun
        assert_recorded(ws, WEEK, body)
        # Resent only while nothing proves the delivery (no .json yet), and then with the same webhook-id.
        assert len(rec.requests) == (3 if point.endswith(".sig") else 2)
        assert len({r.headers["webhook-id"] for r in rec.requests}) == 1
    beat = read_json(ws / "ops" / "weekly_report_heartbeat.json")
    assert beat["pending_replay"] is None and firing(ws) == []
    assert any(a["status"] == "resolved" for a in rerun.summary["alerts"]), rerun.summary
    assert synced(ws, tmp_path) == [f"weekly/{WEEK}/{WEEK}.json", f"weekly/{WEEK}/{WEEK}.sig"]
    again = weekly(ws, "report", "--week-start", WEEK, *FAST, env=delivery_env(rec))
    assert again.summary["status"] == "skipped" and again.summary["diagnostics"]["reason"] == "already_delivered"


@pytest.mark.parametrize("earlier_week", [False, True])
def test_a_first_delivery_killed_before_its_heartbeat_is_completed_by_a_rerun(tmp_path, earlier_week):
    """No failure before: the kill leaves .json + .sig and a heartbeat that is missing (or last week's).
    A rerun must not stop at `already_delivered`, or verify reports the heartbeat missing/behind for a week."""
    ws = inputs_workspace(tmp_path / "ws")
    with receiver([200, 200, 200]) as rec:
        if earlier_week:
            before = weekly(ws, "report", "--week-start", "2025-12-29", *FAST, now=ENDED, env=delivery_env(rec))
            assert before.exit_code == 0, before
        killed_run(
            tmp_path,
            "before:ops/weekly_report_heartbeat.json",
            cli_args(ws, "report"),
            {**delivery_env(rec), "OBS_NOW": ENDED},
        )
        sent = len(rec.requests)
        rerun = weekly(ws, "report", "--week-start", WEEK, *FAST, env=delivery_env(rec))
        assert len(rec.requests) == sent  # delivered: nothing resent
    assert rerun.exit_code == 0 and rerun.summary["status"] in ("ok", "warning"), rerun
    assert rerun.summary["diagnostics"]["reason"] == "record_completed"
    assert_recorded(ws, WEEK)
    beat = read_json(ws / "ops" / "weekly_report_heartbeat.json")
    assert beat["week_start"] == WEEK and beat["pending_replay"] is None
    assert (
        beat["payload_checksum_sha256"]
        == json.loads((history_dir(ws) / f"{WEEK}.json").read_bytes())["payload_checksum_sha256"]
    )
    again = weekly(ws, "report", "--week-start", WEEK, *FAST, env=delivery_env(rec))
    assert again.summary["diagnostics"]["reason"] == "already_delivered"
    older = weekly(ws, "report", "--week-start", "2025-12-29", *FAST, env=delivery_env(rec))
    if earlier_week:  # an older delivered week never pulls the heartbeat back
        assert older.summary["diagnostics"]["reason"] == "already_delivered"
        assert read_json(ws / "ops" / "weekly_report_heartbeat.json")["week_start"] == WEEK


def test_a_half_recorded_week_is_completed_and_cleared_by_next_weeks_delivery(tmp_path):
    """<week>.json without its .sig (cut short by an older version): delivered, so re-signed, never resent."""
    ws = inputs_workspace(tmp_path / "ws")
    with receiver([503, 200, 200]) as rec:
        body = failed_first(ws, rec)
        killed_run(
            tmp_path, f"after:{HISTORY}/{WEEK}.json", cli_args(ws, "replay"), {**delivery_env(rec), "OBS_NOW": ENDED}
        )
        (history_dir(ws) / f"{WEEK}.sig").unlink()  # the order an older version wrote in: .json, then .sig
        assert (history_dir(ws) / "pending" / f"{WEEK}.json").exists() and len(firing(ws)) == 1
        nxt = weekly(ws, "report", "--week-start", NEXT_WEEK, *FAST, now=NEXT_ENDED, env=delivery_env(rec))
        assert nxt.exit_code == 0, nxt
        assert [r.body == body for r in rec.requests] == [True, True, False]  # WEEK was not sent again
    assert_recorded(ws, WEEK, body)
    assert_recorded(ws, NEXT_WEEK)
    assert read_json(ws / "ops" / "weekly_report_heartbeat.json")["pending_replay"] is None
    assert firing(ws) == []
    assert [a["status"] for a in nxt.summary["alerts"]] == ["resolved"]
    assert synced(ws, tmp_path) == sorted(f"weekly/{w}/{w}.{ext}" for w in (WEEK, NEXT_WEEK) for ext in ("json", "sig"))


def test_a_resent_pending_copy_is_what_the_summary_describes(tmp_path):
    """Inputs changed after a failed run: the rerun sends the pending bytes, and its figures are theirs."""
    ws = inputs_workspace(tmp_path / "ws")
    with receiver([503, 200]) as rec:
        body = failed_first(ws, rec)
        summary_file = ws / "reports" / "portfolio_summary.json"
        doc = json.loads(summary_file.read_text(encoding="utf-8"))
        doc["generated_at"] = "2025-01-07T22:15:03Z"  # now a year old: a rebuild would differ (and be stale)
        summary_file.write_text(json.dumps(doc), encoding="utf-8")
        rerun = weekly(ws, "report", "--week-start", WEEK, *FAST, env=delivery_env(rec))
        assert rerun.exit_code == 0, rerun
        assert rec.requests[-1].body == body
    sent = json.loads(body)
    assert_recorded(ws, WEEK, body)
    assert rerun.summary["payload_checksum_sha256"] == sent["payload_checksum_sha256"]
    assert rerun.summary["payload_size_bytes"] == len(body)
    assert rerun.summary["stale_inputs"] == sent["freshness"]["stale_count"]
    assert rerun.summary["budget_status"] == sent["portfolio"]["budget_status"]
    assert not [w for w in rerun.summary["diagnostics"].get("warnings", []) if "portfolio_summary" in w]


def test_next_weeks_delivery_keeps_the_alert_while_a_week_really_waits(tmp_path):
    ws = inputs_workspace(tmp_path / "ws")
    with receiver([503, 200]) as rec:
        failed_first(ws, rec)
        nxt = weekly(ws, "report", "--week-start", NEXT_WEEK, *FAST, now=NEXT_ENDED, env=delivery_env(rec))
    assert nxt.exit_code == 0, nxt
    assert read_json(ws / "ops" / "weekly_report_heartbeat.json")["pending_replay"] == WEEK
    assert len(firing(ws)) == 1 and nxt.summary["alerts"] == []


def test_a_damaged_half_record_is_named_and_does_not_block_other_weeks(tmp_path):
    ws = inputs_workspace(tmp_path / "ws")
    history = history_dir(ws)
    history.mkdir(parents=True)
    (history / f"{WEEK}.json").write_text('{"week_start": "2026-01-05"}')
    with receiver([200]) as rec:
        nxt = weekly(ws, "report", "--week-start", NEXT_WEEK, *FAST, now=NEXT_ENDED, env=delivery_env(rec))
    assert nxt.exit_code == 0, nxt
    assert f"{WEEK}.json: payload_checksum_sha256 does not match" in nxt.stderr
    assert not (history / f"{WEEK}.sig").exists()
    assert_recorded(ws, NEXT_WEEK)


# -- a week still under way ------------------------------------------------------------------------


def test_an_unfinished_week_is_refused_without_partial(tmp_path):
    ws = inputs_workspace(tmp_path / "ws")
    with receiver([200]) as rec:
        run = weekly(ws, "report", "--week-start", WEEK, *FAST, now="2026-01-08T00:07:00Z", env=delivery_env(rec))
    assert run.exit_code == 2, run
    assert "not complete until 2026-01-12T00:00:00Z" in run.stderr and "--partial" in run.stderr
    assert rec.requests == [] and not history_dir(ws).exists()


def test_a_partial_week_is_sent_but_never_recorded_as_the_week(tmp_path):
    ws = inputs_workspace(tmp_path / "ws")
    with receiver([200, 200]) as rec:
        partial = weekly(
            ws,
            "report",
            "--week-start",
            WEEK,
            "--partial",
            "--job-id",
            "20260108T000700Z-weekly",
            *FAST,
            now="2026-01-08T00:07:00Z",
            env=delivery_env(rec),
        )
        assert partial.exit_code == 0, partial
        sent = json.loads(rec.requests[0].body)
        assert sent["period"]["end"] == "2026-01-08T00:07:00Z" and sent["week_end"] == "2026-01-12"
        assert partial.summary["partial"] is True
        assert not history_dir(ws).exists()  # no pending copy, no record
        assert not (ws / "ops" / "weekly_report_heartbeat.json").exists()
        assert (ws / "out" / "weekly_report" / "20260108T000700Z-weekly.json").read_bytes() == rec.requests[0].body
        inputs_workspace(ws, rollup_end=datetime(2026, 1, 12, tzinfo=UTC))  # the rest of the week's latency
        full = weekly(ws, "report", "--week-start", WEEK, *FAST, env=delivery_env(rec))  # the scheduled run
        assert full.exit_code == 0 and full.summary["status"] == "ok", full
    assert json.loads(rec.requests[1].body)["period"]["end"] == "2026-01-12T00:00:00Z"
    assert rec.requests[0].headers["webhook-id"] != rec.requests[1].headers["webhook-id"]
    assert_recorded(ws, WEEK, rec.requests[1].body)


def test_partial_for_a_complete_week_is_a_usage_error(tmp_path):
    ws = inputs_workspace(tmp_path / "ws")
    with receiver([200]) as rec:
        run = weekly(ws, "report", "--week-start", WEEK, "--partial", *FAST, env=delivery_env(rec))
    assert run.exit_code == 2 and "is complete" in run.stderr, run
    assert rec.requests == []
