"""A corpus of bad inputs: each fails with the right exit code, error code and a message that
names the file (and line/field), and leaves every artefact as it was. Bad sample rows are
not fatal: they go to the rejects file and the good rows are ingested.
"""

from __future__ import annotations

import csv
import json
import os
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from observability.cli import cli
from observability.samplegen import rows
from tests._support_robust import append_current, assert_same_samples, raw_keys, rows_to_keys, snapshot, stamp

START = stamp(5)
NOW = "2026-01-05T06:07:00Z"
ENV = {"OBS_NOW": NOW, "GITHUB_ACTIONS": None, "OBS_WORKSPACE": None, "LATENCY_SLO_MS": None}
CONFIG = "configs/observability/latency_alert.yaml"


def run(ws: Path | str, *args: str) -> tuple[int, dict, str]:
    result = CliRunner().invoke(cli, ["latency", "sample", "--workspace", str(ws), *args], env=ENV,
                                catch_exceptions=False)
    try:
        document = json.loads(result.stdout)
    except ValueError:
        document = {}
    return result.exit_code, document, result.stderr


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    """A workspace after one good run, with new samples waiting in the log."""
    root = tmp_path / "ws"
    log = root / "logs" / "signal.csv"
    append_current(log, rows(START, START + timedelta(hours=3), ["feed_a", "feed_b"], step=timedelta(minutes=5)))
    code, doc, err = run(root, "--input", "logs/signal.csv")
    assert code == 0, err
    append_current(log, rows(START + timedelta(hours=3), START + timedelta(hours=6), ["feed_a", "feed_b"],
                             step=timedelta(minutes=5), seed=2))
    assert (root / "ops" / "signal_latency.csv").exists()
    return root


def _fails(ws: Path, args: list[str], *, exit_code: int, error_code: str, names: list[str]) -> dict:
    before = snapshot(ws)
    code, doc, err = run(ws, *args)
    assert code == exit_code, f"exit {code}, expected {exit_code}\n{doc}\n{err}"
    assert doc["status"] == "error", doc
    assert doc["diagnostics"]["error_code"] == error_code, doc["diagnostics"]
    message = doc["diagnostics"]["error_message"]
    for fragment in names:
        assert fragment in message, f"{fragment!r} not in error message {message!r}"
    assert message in err, "the error is not explained on stderr"
    after = snapshot(ws)
    changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    assert not changed, f"a failed run changed artefacts: {changed}"
    return doc


def test_missing_input_file(ws):
    _fails(ws, ["--input", "logs/signal.csv", "--input", "logs/nope.csv"], exit_code=1, error_code="missing_input",
           names=["logs/nope.csv"])


def test_unknown_header(ws):
    (ws / "logs" / "weird.csv").write_text("when,how_long,ok\n2026-01-05T01:00:00Z,12,ok\n", encoding="utf-8")
    _fails(ws, ["--input", "logs/signal.csv", "--input", "logs/weird.csv"], exit_code=1, error_code="invalid_input",
           names=["logs/weird.csv", "line 1", "header"])


def test_non_utf8_input(ws):
    (ws / "logs" / "latin1.csv").write_bytes(
        "timestamp_utc,latency_ms,status,detail,source\n2026-01-05T01:00:00Z,12,ok,d\xe9j\xe0 vu,feed_c\n"
        .encode("latin-1"))
    _fails(ws, ["--input", "logs/signal.csv", "--input", "logs/latin1.csv"], exit_code=1,
           error_code="invalid_input", names=["logs/latin1.csv", "UTF-8"])


def test_config_not_found(ws):
    _fails(ws, ["--input", "logs/signal.csv", "--alert-config", "configs/missing.yaml"], exit_code=2,
           error_code="invalid_config", names=["configs/missing.yaml", "not found"])


def _config(ws: Path, text: str) -> None:
    path = ws / CONFIG
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_config_with_invalid_yaml_names_the_line(ws):
    _config(ws, "slo_p95_ms: 1000\nwarning_threshold: 2\nsources: [a, b\ncritical_threshold: 3\n")
    doc = _fails(ws, ["--input", "logs/signal.csv"], exit_code=2, error_code="invalid_config",
                 names=[CONFIG, "YAML"])
    assert f"{CONFIG}:4" in doc["diagnostics"]["error_message"] or f"{CONFIG}:3" in doc["diagnostics"]["error_message"]


def test_config_with_a_wrong_type_names_file_line_and_field(ws):
    _config(ws, "# SLO\nwarning_threshold: 2\nslo_p95_ms: fast\n")
    _fails(ws, ["--input", "logs/signal.csv"], exit_code=2, error_code="invalid_config",
           names=[f"{CONFIG}:3", "slo_p95_ms", "'fast'"])


def test_config_with_a_typo_key_suggests_the_right_one(ws):
    _config(ws, "warning_threshold: 2\nslo_p95ms: 1000\n")
    _fails(ws, ["--input", "logs/signal.csv"], exit_code=2, error_code="invalid_config",
           names=[CONFIG, "slo_p95ms", "did you mean 'slo_p95_ms'"])


def test_bad_job_id(ws):
    _fails(ws, ["--input", "logs/signal.csv", "--job-id", "tuesday-latency"], exit_code=2,
           error_code="invalid_config", names=["--job-id", "tuesday-latency"])


def test_probe_without_equals(ws):
    _fails(ws, ["--input", "logs/signal.csv", "--probe", "http://127.0.0.1:9/health"], exit_code=2,
           error_code="invalid_config", names=["--probe", "NAME=URL"])


def test_input_is_the_raw_store(ws):
    _fails(ws, ["--input", "ops/signal_latency.csv"], exit_code=2, error_code="invalid_config",
           names=["ops/signal_latency.csv", "raw store"])


def test_workspace_that_is_not_a_directory(tmp_path):
    target = tmp_path / "a-file"
    target.write_text("not a workspace\n", encoding="utf-8")
    code, doc, err = run(target, "--input", "logs/signal.csv")
    assert code == 2, err  # bad usage (issue 10, item 10): it was exit 1, a job that failed
    assert doc["diagnostics"]["error_code"] == "invalid_config"
    assert str(target) in doc["diagnostics"]["error_message"]
    assert "OBS_WORKSPACE" in doc["diagnostics"]["error_message"]
    assert target.read_text(encoding="utf-8") == "not a workspace\n"


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0,
                    reason="running as root: root ignores directory permissions, so a read-only ops/ is writable "
                           "(test_ops_path_is_a_file covers the unwritable case)")
def test_ops_not_writable(ws):
    before = snapshot(ws, exclude=set())
    os.chmod(ws / "ops", 0o500)
    try:
        code, doc, err = run(ws, "--input", "logs/signal.csv")
    finally:
        os.chmod(ws / "ops", 0o700)
    assert code == 1, err
    assert doc["diagnostics"]["error_code"] == "workspace_error"
    assert "ops" in doc["diagnostics"]["error_message"]
    assert snapshot(ws, exclude=set()) == before


def test_ops_path_is_a_file(tmp_path):
    ws = tmp_path / "ws"
    append_current(ws / "logs" / "signal.csv", rows(START, START + timedelta(hours=1), ["feed_a"],
                                                    step=timedelta(minutes=5)))
    (ws / "ops").write_text("oops\n", encoding="utf-8")
    before = snapshot(ws, exclude=set())
    code, doc, err = run(ws, "--input", "logs/signal.csv")
    assert code == 1, err
    assert doc["status"] == "error"
    assert doc["diagnostics"]["error_code"] == "workspace_error"
    assert "ops" in doc["diagnostics"]["error_message"]
    assert snapshot(ws, exclude=set()) == before


def test_corrupt_state_file(ws):
    state = ws / "ops" / "latency_state.json"
    state.write_bytes(state.read_bytes()[:-40])  # cut short by something outside the job
    _fails(ws, ["--input", "logs/signal.csv"], exit_code=1, error_code="invalid_input",
           names=["ops/latency_state.json"])


def test_state_file_of_another_version(ws):
    state = ws / "ops" / "latency_state.json"
    state.write_text(json.dumps({"version": 99}), encoding="utf-8")
    _fails(ws, ["--input", "logs/signal.csv"], exit_code=1, error_code="invalid_input",
           names=["ops/latency_state.json", "version"])


BAD_ROWS = [
    ("yesterday-ish,12.5,success,,feed_a", "timestamp_utc"),
    ("2026-01-05T01:00:00Z,-3,success,,feed_a", "latency_ms"),
    ("2026-01-05T01:01:00Z,NaN,success,,feed_a", "latency_ms"),
    ("2026-01-05T01:02:00Z,12.5,,,feed_a", "status"),
    ("2026-01-05T01:03:00Z,12.5", "fields"),
    ("2026-01-05T01:04:00Z,12.5,success,,feed a/../x", "source"),
    ("2027-06-01T00:00:00Z,12.5,success,,feed_a", "future"),
    ("2026-01-05T01:05:00Z,inf,success,,feed_a", "latency_ms"),
]


def test_malformed_rows_are_rejected_not_fatal(tmp_path):
    ws = tmp_path / "ws"
    good = rows(START, START + timedelta(hours=2), ["feed_a", "feed_b"], step=timedelta(minutes=10))
    good_lines = [f"{t:%Y-%m-%dT%H:%M:%SZ},{ms:.6f},{status},{detail},{source}" for t, source, ms, status, detail in good]
    lines = ["timestamp_utc,latency_ms,status,detail,source"]
    bad_at = {}
    for i, line in enumerate(good_lines):
        lines.append(line)
        if i < len(BAD_ROWS):
            lines.append(BAD_ROWS[i][0])
            bad_at[len(lines)] = BAD_ROWS[i]  # 1-based line number in the file
    (ws / "logs").mkdir(parents=True)
    (ws / "logs" / "mixed.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, doc, err = run(ws, "--input", "logs/mixed.csv")
    assert code == 0, err
    assert doc["status"] in ("ok", "warning")
    assert doc["rejected_rows"] == len(BAD_ROWS)
    assert doc["samples_written"] == len(good)
    assert_same_samples(raw_keys(ws), rows_to_keys(good))
    with open(ws / "ops" / "signal_latency_rejects.csv", newline="", encoding="utf-8") as handle:
        rejects = list(csv.DictReader(handle))
    assert len(rejects) == len(BAD_ROWS)
    by_line = {int(r["line"]): r for r in rejects}
    assert set(by_line) == set(bad_at), f"reject line numbers {sorted(by_line)} != {sorted(bad_at)}"
    for line_no, (raw, word) in bad_at.items():
        reject = by_line[line_no]
        assert reject["input"] == "logs/mixed.csv"
        assert word in reject["reason"], f"line {line_no}: reason {reject['reason']!r} does not mention {word!r}"
        assert reject["raw"] == raw
    assert doc["diagnostics"]["rejects_file"] == "ops/signal_latency_rejects.csv"
    # Rejected rows are not read again by the next run, and nothing is ingested twice.
    code, again, err = run(ws, "--input", "logs/mixed.csv")
    assert code == 0, err
    assert again["rejected_rows"] == 0 and again["samples_written"] == 0
    assert_same_samples(raw_keys(ws), rows_to_keys(good))


def test_probe_url_env_not_set_names_file_and_field(ws):
    _config(ws, "probes:\n  - name: feed_x\n    url_env: OBS_TEST_UNSET_PROBE_URL\n")
    os.environ.pop("OBS_TEST_UNSET_PROBE_URL", None)
    _fails(ws, ["--input", "logs/signal.csv"], exit_code=2, error_code="invalid_config",
           names=[CONFIG, "probes[0].url_env", "OBS_TEST_UNSET_PROBE_URL"])


def test_input_that_is_a_directory(ws):
    (ws / "logs" / "adir").mkdir()
    _fails(ws, ["--input", "logs/signal.csv", "--input", "logs/adir"], exit_code=1, error_code="invalid_input",
           names=["logs/adir", "is a directory"])


@pytest.mark.parametrize("args", [["--slo-ms", "nan"], ["--slo-ms", "inf"], ["--lock-timeout", "nan"],
                                  ["--raw-retention-days", "99999999999"], ["--rollup-retention-days", "10000000"],
                                  ["--max-raw-bytes", str(1 << 62)]])
def test_a_non_finite_or_overflowing_number_is_a_usage_error_before_anything_is_stored(ws, args):
    """A nan SLO compares false to everything: samples would be stored and never page (issue 10, item 3)."""
    before = snapshot(ws)
    code, doc, err = run(ws, "--input", "logs/signal.csv", *args)
    assert code == 2, (code, doc, err)
    assert args[0] in err and ("finite" in err or "range" in err), err
    assert snapshot(ws) == before


@pytest.mark.parametrize("yaml_value,env", [(".nan", None), ("-.inf", None), ("1000", "inf"), ("1000", "nan")])
def test_a_non_finite_slo_in_the_config_or_environment_is_invalid_config(ws, yaml_value, env, monkeypatch):
    _config(ws, f"warning_threshold: 2\nslo_p95_ms: {yaml_value}\n")
    if env:
        monkeypatch.setitem(ENV, "LATENCY_SLO_MS", env)
    names = ["LATENCY_SLO_MS", "finite"] if env else [f"{CONFIG}:2", "slo_p95_ms", "finite"]
    _fails(ws, ["--input", "logs/signal.csv"], exit_code=2, error_code="invalid_config", names=names)
