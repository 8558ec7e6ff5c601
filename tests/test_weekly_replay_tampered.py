"""Replay of a stored payload that was edited and its checksum recomputed (the checksum is not a
signature): the stored bytes are re-sent as they are, and the run's review never crashes on them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from _support_inprocess import run_cli_in_process as run_cli
from _support_robust import clean_env, summary
from _support_weekly import WEEK, delivery_env, inputs_workspace, receiver
from observability import fsio
from observability.outputs import weekly as weekly_outputs

ENDED = "2026-01-12T00:07:00Z"
HISTORY = Path("ops") / "weekly_report_history"


def _tamper(doc: dict, how: str) -> dict:
    if how == "no-latency":
        del doc["latency"]
    elif how == "breach-over-hours":
        doc["latency"]["sources"][0].update(hours=1, breach_hours=5)
    elif how == "huge-number":  # a number to the schema; the review's arithmetic raised OverflowError
        doc["latency"]["failure_rate"] = 10**400
    elif how == "wrong-types":
        doc["alerts"] = [{"status": "firing"}]
        doc["runs"] = "none"
    doc[weekly_outputs.CHECKSUM_FIELD] = weekly_outputs.checksum(doc)
    return doc


@pytest.mark.parametrize("how", ["no-latency", "breach-over-hours", "wrong-types", "huge-number"])
def test_a_tampered_stored_payload_is_replayed_without_a_traceback(tmp_path, how):
    ws = inputs_workspace(tmp_path / "ws")
    with receiver([200, 200]) as rec:
        env = clean_env(OBS_NOW=ENDED, **delivery_env(rec))
        done = run_cli(["weekly", "report", "--workspace", str(ws), "--week-start", WEEK], env=env)
        assert done.returncode == 0, done.stderr
        stored = ws / HISTORY / f"{WEEK}.json"
        body = fsio.canonical_json(_tamper(json.loads(stored.read_bytes()), how)).encode()
        stored.write_bytes(body)
        replay = run_cli(["weekly", "replay", "--workspace", str(ws), "--week-start", WEEK], env=env)
    assert "Traceback" not in replay.stderr, replay.stderr
    result = summary(replay)
    assert replay.returncode == 0, replay.stderr
    assert result["status"] == "ok", result
    assert rec.requests[-1].body == body  # the stored bytes, as they are
    (review,) = (ws / "out" / "weekly_report").glob(f"{result['job_id']}.md")
    if how == "breach-over-hours":  # schema-valid: the review, the impossible figures not shown
        assert "not shown: 5 breach hour(s) of 1 measured" in review.read_text()
    else:
        warning = next(w for w in result["diagnostics"]["warnings"] if "re-sent as stored" in w)
        assert warning.startswith(f"{HISTORY.as_posix()}/{WEEK}.json: field ")
        assert "cannot be shown as a review" in review.read_text()
        if how == "huge-number":
            assert "field latency.failure_rate: a 401-digit number is beyond +/-2^53" in warning
