"""Redaction works on values, not on the finished text: a secret that looks like JSON syntax or like a key
(``null``, ``true``, ``status``, a ping URL whose path is ``/status``) never breaks a document or renames a key.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from observability import runtime, secrets
from tests._support_robust import clean_env, run_cli, summary


@pytest.fixture(autouse=True)
def _forget_secrets():
    secrets.forget_all()
    yield
    secrets.forget_all()


def _keys(doc, prefix: str = "") -> set[str]:
    """Every key path of a JSON document (list items share their parent's path)."""
    found: set[str] = set()
    if isinstance(doc, dict):
        for key, value in doc.items():
            found.add(prefix + "/" + key)
            found |= _keys(value, prefix + "/" + key)
    elif isinstance(doc, list):
        for item in doc:
            found |= _keys(item, prefix + "[]")
    return found


def _strings(doc):
    if isinstance(doc, dict):
        for value in doc.values():
            yield from _strings(value)
    elif isinstance(doc, list):
        for item in doc:
            yield from _strings(item)
    elif isinstance(doc, str):
        yield doc


def _workspace(ws: Path) -> Path:
    for sub in ("ops", "out", "configs/observability"):
        (ws / sub).mkdir(parents=True, exist_ok=True)
    return ws


def _verify(ws: Path, **env: str):
    _workspace(ws)
    return run_cli(["verify", "--workspace", str(ws)], env=clean_env(OBS_NOW="2026-01-05T00:00:00Z", **env))


# A ping URL is registered with its path (healthchecks-style URLs carry the credential there).
@pytest.mark.parametrize(
    "variable,value,word",
    [
        ("OBS_WEBHOOK_SECRET", "null", "null"),
        ("OBS_WEBHOOK_SECRET", "true", "true"),
        ("OBS_WEBHOOK_SECRET", "status", "status"),
        ("OBS_HEARTBEAT_PING_URL", "http://127.0.0.1:9/status", "status"),
    ],
    ids=["null", "true", "status", "ping-url-path"],
)
def test_a_secret_that_looks_like_json_or_a_key_keeps_every_document_intact(tmp_path, variable, value, word):
    baseline_ws, ws = tmp_path / "baseline", tmp_path / "ws"
    baseline = summary(_verify(baseline_ws))
    done = _verify(ws, **{variable: value})
    result = summary(done)  # stdout is still one JSON document
    assert _keys(result) == _keys(baseline), "a key was renamed or lost"
    assert result["status"] in ("ok", "warning") and result["job"] == "verify"
    assert not [s for s in _strings(result) if word in s], "a value still holds the secret"
    log = [json.loads(line) for line in (ws / "ops/automation_runs.log").read_text().splitlines()]
    assert log, "the run was not logged"
    assert all("status" in record and "job" in record for record in log), log
    assert "log_error" not in result["diagnostics"], result["diagnostics"]
    for path in ws.rglob("*.json"):
        json.loads(path.read_text())  # every artefact still parses


def test_short_secret_is_refused_with_a_warning_naming_the_variable(tmp_path, capsys):
    secrets.from_env("OBS_WEBHOOK_SECRET", environ={"OBS_WEBHOOK_SECRET": "1"})
    err = capsys.readouterr().err
    assert "OBS_WEBHOOK_SECRET" in err and "too short" in err
    assert "'1'" not in err and '"1"' not in err
    assert secrets.redact("run 1 of 10") == "run 1 of 10"
    # Known once: the warning is not repeated every time the variable is read.
    secrets.from_env("OBS_WEBHOOK_SECRET", environ={"OBS_WEBHOOK_SECRET": "1"})
    assert capsys.readouterr().err == ""


def test_short_secret_from_a_real_run_warns_and_keeps_stdout_valid(tmp_path):
    done = _verify(tmp_path, OBS_WEBHOOK_SECRET="1")
    result = summary(done)
    assert result["sequence"] == 1
    assert any("OBS_WEBHOOK_SECRET" in line and "too short" in line for line in done.stderr.splitlines())


def test_redact_value_walks_the_structure_and_leaves_keys_and_non_strings_alone():
    secrets.register("status")
    secrets.register("null")
    doc = {
        "status": "status: null",
        "null": None,
        "n": 1,
        "ok": True,
        "items": [{"status": "fine"}, "nullable"],
        "nested": {"status": ["a status"]},
    }
    got = secrets.redact_value(doc)
    assert got == {
        "status": "***: ***",
        "null": None,
        "n": 1,
        "ok": True,
        "items": [{"status": "fine"}, "***able"],
        "nested": {"status": ["a ***"]},
    }
    assert doc["status"] == "status: null"  # the input is not modified


def test_run_job_summary_and_log_redact_values_only(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("OBS_WEBHOOK_SECRET", "status")
    monkeypatch.setenv("OBS_NOW", "2026-01-05T00:00:00Z")

    def body(ctx):
        return runtime.JobResult(
            figures={"detail": "upstream status 500", "status_code": 500}, summary_markdown="| status | ok |"
        )

    code = runtime.run_job("demo-job", body, workspace=str(_workspace(tmp_path)), job_id=None)
    out = capsys.readouterr().out
    assert code == 0
    doc = json.loads(out)
    assert doc["status"] == "ok" and doc["detail"] == "upstream *** 500" and doc["status_code"] == 500
    record = json.loads((tmp_path / "ops/automation_runs.log").read_text().splitlines()[-1])
    assert record["status"] == "ok"
