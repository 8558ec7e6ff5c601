"""The weekly payload's version is honest (2.1.0, 2.0.0 before it: not the legacy scripts' 1.0.0), the docs say what
changed, and a stored legacy payload is read with its `budget_status` `normal` as `ok`."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from _support_weekly import WEEK, delivery_env, history_dir, inputs_workspace, receiver, weekly
from observability import fsio, weekly_review as summary
from observability.outputs import weekly as weekly_outputs

REPO = Path(__file__).resolve().parents[1]
SCHEMA = json.loads((REPO / "schemas" / "observability_weekly_report.schema.json").read_text())
DOC = (REPO / "docs" / "weekly.md").read_text(encoding="utf-8")
FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "upstream"
LEGACY = "legacy-outputs/ops/weekly_report_history/2025-10-06.json"
ENDED = "2026-01-12T00:07:00Z"


def _fixtures() -> Path:
    import os

    return Path(os.environ.get("OBS_TEST_UPSTREAM_FIXTURES") or FIXTURES)


@pytest.fixture
def built(tmp_path):
    ws = inputs_workspace(tmp_path / "ws", rollup_end=datetime(2026, 1, 12, tzinfo=UTC))
    run = weekly(ws, "report", "--week-start", WEEK, "--dry-run", now=ENDED)
    assert run.exit_code == 0, run
    (path,) = (ws / "out" / "weekly_report").glob("*.json")
    return ws, json.loads(path.read_text())


def test_new_payloads_say_2_0_0_and_the_schema_names_its_version(built):
    _, doc = built
    assert doc["schema_version"] == weekly_outputs.SCHEMA_VERSION == "2.1.0"
    Draft202012Validator(SCHEMA).validate(doc)
    assert "/2.1.0/" in SCHEMA["$id"] and "2.1.0" in SCHEMA["title"]
    assert SCHEMA["properties"]["schema_version"]["enum"][0] == weekly_outputs.SCHEMA_VERSION


def test_payloads_stored_by_earlier_releases_still_validate(built):
    _, doc = built
    for label in weekly_outputs.EARLIER_VERSIONS:
        Draft202012Validator(SCHEMA).validate({**doc, "schema_version": label})
    # 2.0.0 had no latency.slo_target_percent nor latency.sources[].hours: such a payload still validates,
    # and its review says the SLO attainment is not in it (never a made-up figure)
    older = json.loads(json.dumps(doc))
    del older["latency"]["slo_target_percent"]
    for s in older["latency"]["sources"]:
        del s["hours"]
    Draft202012Validator(SCHEMA).validate({**older, "schema_version": "2.0.0"})
    text = summary.render(
        {**older, "schema_version": "2.0.0"},
        status="replay",
        delivery={"state": "delivered", "label": "ok"},
        artefacts=[],
        attempts=[],
    )
    assert "_Not in this payload (schema_version 2.0.0; added in 2.1.0)._" in text
    with pytest.raises(Exception, match="9.9.9"):
        Draft202012Validator(SCHEMA).validate({**doc, "schema_version": "9.9.9"})


def test_docs_weekly_states_the_version_and_the_legacy_table():
    assert f'`schema_version` "{weekly_outputs.SCHEMA_VERSION}"' in DOC
    table = DOC[DOC.index('<a id="versions"></a>') :]
    for legacy, ours in (
        ("`runs` (a list of runs", "`runs.baseline`, `runs.rolling`"),
        ("budget_status` `normal`", "`ok`"),
        ("upper-case", "lower-case"),
    ):
        assert legacy in table and ours in table, (legacy, ours)


def test_a_legacy_normal_reads_as_ok_in_the_review(built):
    _, doc = built
    doc["portfolio"]["budget_status"] = "normal"
    assert weekly_outputs.budget_status(doc) == "ok"
    text = summary.render(
        doc, status="replay", delivery={"state": "delivered", "label": "ok"}, artefacts=[], attempts=[]
    )
    assert "🟢 ok" in text and "normal" not in text


def _legacy_payload(budget: str) -> dict:
    path = _fixtures() / LEGACY
    if not path.exists():
        pytest.skip(f"{path} is not present (set OBS_TEST_UPSTREAM_FIXTURES)")
    doc = json.loads(path.read_text())
    doc["portfolio"]["budget_status"] = budget  # the original design's enum: normal | warning | breach
    return doc


def _store(ws: Path, doc: dict) -> bytes:
    body = fsio.canonical_json(doc).encode()
    target = history_dir(ws) / f"{doc['week_start']}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(body)
    (target.with_suffix(".sig")).write_text("0" * 64 + "\n")
    return body


def test_a_legacy_payload_with_its_upper_case_checksum_is_replayed_byte_for_byte(tmp_path):
    ws = inputs_workspace(tmp_path / "ws")
    doc = _legacy_payload("normal")
    doc[weekly_outputs.CHECKSUM_FIELD] = weekly_outputs.checksum(doc).upper()
    body = _store(ws, doc)
    with receiver([200]) as rec:
        run = weekly(
            ws, "replay", "--week-start", doc["week_start"], "--retry-wait-seconds", "0", env=delivery_env(rec)
        )
    assert run.exit_code == 0, run
    assert rec.requests[0].body == body  # sent as stored: the legacy bytes are never rewritten
    assert run.summary["legacy_payload"] is True
    review = next((ws / "out" / "weekly_report").glob("*.md")).read_text()
    assert "🟢 ok" in review and "legacy scripts" in review and "normal" not in review


def test_the_real_legacy_payload_without_a_checksum_is_refused_with_a_clear_message(tmp_path):
    ws = inputs_workspace(tmp_path / "ws")
    doc = _legacy_payload("ok")
    assert weekly_outputs.CHECKSUM_FIELD not in doc  # the legacy script never wrote one
    _store(ws, doc)
    with receiver([200]) as rec:
        run = weekly(ws, "replay", "--week-start", doc["week_start"], env=delivery_env(rec))
    assert run.exit_code == 1 and run.summary["diagnostics"]["error_code"] == "invalid_input"
    message = run.summary["diagnostics"]["error_message"]
    assert "legacy scripts" in message and "weekly report --week-start 2025-10-06" in message
    assert rec.requests == []


def test_a_legacy_checksum_that_does_not_match_is_refused(tmp_path):
    ws = inputs_workspace(tmp_path / "ws")
    doc = _legacy_payload("normal")
    doc[weekly_outputs.CHECKSUM_FIELD] = weekly_outputs.checksum(doc).upper()
    doc["portfolio"]["drawdown_pct"] = 99.0  # edited after the checksum
    _store(ws, doc)
    with receiver([200]) as rec:
        run = weekly(ws, "replay", "--week-start", doc["week_start"], env=delivery_env(rec))
    assert run.exit_code == 1 and "does not match" in run.summary["diagnostics"]["error_message"]
    assert rec.requests == []


def test_only_a_legacy_payload_may_spell_its_checksum_in_upper_case(built):
    _, doc = built
    assert weekly_outputs.checksum_matches(doc)
    assert not weekly_outputs.checksum_matches(
        {**doc, weekly_outputs.CHECKSUM_FIELD: doc["payload_checksum_sha256"].upper()}
    )
    assert re.fullmatch(r"[0-9a-f]{64}", doc["payload_checksum_sha256"])
