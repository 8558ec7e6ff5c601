"""Bad usage and damaged history files for the weekly job, through the real CLI in real processes.

Each case: a clear error naming what is wrong, the documented exit code, one JSON summary on
stdout, no traceback, nothing sent and nothing half-written in the history.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from _support_inprocess import run_cli_in_process as run_cli
from _support_robust import clean_env, summary
from _support_weekly import WEEK, delivery_env, inputs_workspace, receiver

DURING = "2026-01-08T00:07:00Z"  # WEEK is under way
ENDED = "2026-01-12T00:07:00Z"
HISTORY = Path("ops") / "weekly_report_history"


def _report(ws: Path, rec, now: str, *extra: str):
    return run_cli(
        ["weekly", "report", "--workspace", str(ws), "--retry-wait-seconds", "0", "--max-retries", "1", *extra],
        env=clean_env(OBS_NOW=now, **delivery_env(rec)),
    )


@pytest.mark.parametrize(
    "now, extra, needle",
    [
        (DURING, ["--week-start", WEEK], "not complete until 2026-01-12T00:00:00Z"),
        (ENDED, ["--week-start", WEEK, "--partial"], "--partial: the week of 2026-01-05 is complete"),
    ],
    ids=["unfinished-without-partial", "partial-of-a-complete-week"],
)
def test_bad_week_usage_is_exit_2_and_records_nothing(tmp_path, now, extra, needle):
    ws = inputs_workspace(tmp_path / "ws")
    with receiver([200]) as rec:
        done = _report(ws, rec, now, *extra)
    assert done.returncode == 2, done.stderr
    result = summary(done)
    assert result["status"] == "error" and result["diagnostics"]["error_code"] == "invalid_config"
    assert needle in result["diagnostics"]["error_message"] and needle in done.stderr
    assert "Traceback" not in done.stderr
    assert rec.requests == [] and not (ws / HISTORY).exists()


@pytest.mark.parametrize(
    "content",
    [b"", b'{"week_start": "2026-01-05"', b"\xff\xfe", b"[" * 100_000],
    ids=["empty", "truncated", "not-utf8", "deeply-nested"],
)
def test_a_damaged_half_recorded_week_is_named_and_blocks_nothing(tmp_path, content):
    ws = inputs_workspace(tmp_path / "ws")
    (ws / HISTORY).mkdir(parents=True)
    damaged = ws / HISTORY / f"{WEEK}.json"
    damaged.write_bytes(content)
    with receiver([200]) as rec:
        done = _report(ws, rec, "2026-01-19T00:07:00Z", "--week-start", "2026-01-12")
        assert done.returncode == 0, done.stderr
        assert f"{HISTORY.as_posix()}/{WEEK}.json" in done.stderr and "state store" in done.stderr
        replay = run_cli(
            ["weekly", "replay", "--workspace", str(ws), "--week-start", WEEK],
            env=clean_env(OBS_NOW="2026-01-19T00:07:00Z", **delivery_env(rec)),
        )
    assert replay.returncode == 1, replay.stderr
    assert summary(replay)["diagnostics"]["error_code"] == "invalid_input"
    assert "Traceback" not in done.stderr + replay.stderr
    assert damaged.read_bytes() == content and not (ws / HISTORY / f"{WEEK}.sig").exists()
    assert len(rec.requests) == 1  # only the other week
