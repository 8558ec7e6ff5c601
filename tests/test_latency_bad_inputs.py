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
from observability.samplegen.notifier import rows
from tests._support_inprocess import run_cli_in_process as run_cli
from tests._support_robust import (
    append_current,
    assert_same_samples,
    clean_env,
    raw_keys,
    rows_to_keys,
    snapshot,
    stamp,
    summary,
)

START = stamp(5)
NOW = "2026-01-05T06:07:00Z"
ENV = {"OBS_NOW": NOW, "GITHUB_ACTIONS": None, "OBS_WORKSPACE": None, "LATENCY_SLO_MS": None}
CONFIG = "configs/observability/latency_alert.yaml"


def run(ws: Path | str, *args: str) -> tuple[int, dict, str]:
    result = CliRunner().invoke(
        cli, ["latency", "sample", "--workspace", str(ws), *args], env=ENV, catch_exceptions=False
    )
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
    append_current(
        log,
        rows(
            START + timedelta(hours=3),
            START + timedelta(hours=6),
            ["feed_a", "feed_b"],
            step=timedelta(minutes=5),
            seed=2,
        ),
    )
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
    _fails(
        ws,
        ["--input", "logs/signal.csv", "--input", "logs/nope.csv"],
        exit_code=1,
        error_code="missing_input",
        names=["logs/nope.csv"],
    )


def test_unknown_header(ws):
    (ws / "logs" / "weird.csv").write_text("when,how_long,ok\n2026-01-05T01:00:00Z,12,ok\n", encoding="utf-8")
    _fails(
        ws,
        ["--input", "logs/signal.csv", "--input", "logs/weird.csv"],
        exit_code=1,
        error_code="invalid_input",
        names=["logs/weird.csv", "line 1", "header"],
    )


def test_config_not_found(ws):
    _fails(
        ws,
        ["--input", "logs/signal.csv", "--alert-config", "configs/missing.yaml"],
        exit_code=2,
        error_code="invalid_config",
        names=["configs/missing.yaml", "not found"],
    )


def _config(ws: Path, text: str) -> None:
    path = ws / CONFIG
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_config_with_invalid_yaml_names_the_line(ws):
    _config(ws, "slo_p95_ms: 1000\nwarning_threshold: 2\nsources: [a, b\ncritical_threshold: 3\n")
    doc = _fails(ws, ["--input", "logs/signal.csv"], exit_code=2, error_code="invalid_config", names=[CONFIG, "YAML"])
    assert f"{CONFIG}:4" in doc["diagnostics"]["error_message"] or f"{CONFIG}:3" in doc["diagnostics"]["error_message"]


def test_config_with_a_wrong_type_names_file_line_and_field(ws):
    _config(ws, "# SLO\nwarning_threshold: 2\nslo_p95_ms: fast\n")
    _fails(
        ws,
        ["--input", "logs/signal.csv"],
        exit_code=2,
        error_code="invalid_config",
        names=[f"{CONFIG}:3", "slo_p95_ms", "'fast'"],
    )


def test_config_with_a_typo_key_suggests_the_right_one(ws):
    _config(ws, "warning_threshold: 2\nslo_p95ms: 1000\n")
    _fails(
        ws,
        ["--input", "logs/signal.csv"],
        exit_code=2,
        error_code="invalid_config",
        names=[CONFIG, "slo_p95ms", "did you mean 'slo_p95_ms'"],
    )


def test_bad_job_id(ws):
    _fails(
        ws,
        ["--input", "logs/signal.csv", "--job-id", "tuesday-latency"],
        exit_code=2,
        error_code="invalid_config",
        names=["--job-id", "tuesday-latency"],
    )


def test_probe_without_equals(ws):
    _fails(
        ws,
        ["--input", "logs/signal.csv", "--probe", "http://127.0.0.1:9/health"],
        exit_code=2,
        error_code="invalid_config",
        names=["--probe", "NAME=URL"],
    )


def test_input_is_the_raw_store(ws):
    _fails(
        ws,
        ["--input", "ops/signal_latency.csv"],
        exit_code=2,
        error_code="invalid_config",
        names=["ops/signal_latency.csv", "raw store"],
    )


def test_workspace_that_is_not_a_directory(tmp_path):
    target = tmp_path / "a-file"
    target.write_text("not a workspace\n", encoding="utf-8")
    code, doc, err = run(target, "--input", "logs/signal.csv")
    assert code == 2, err  # bad usage (issue 10, item 10): it was exit 1, a job that failed
    assert doc["diagnostics"]["error_code"] == "invalid_config"
    assert str(target) in doc["diagnostics"]["error_message"]
    assert "OBS_WORKSPACE" in doc["diagnostics"]["error_message"]
    assert target.read_text(encoding="utf-8") == "not a workspace\n"


@pytest.mark.skipif(
    hasattr(os, "geteuid") and os.geteuid() == 0,
    reason="running as root: root ignores directory permissions, so a read-only ops/ is writable "
    "(test_ops_path_is_a_file covers the unwritable case)",
)
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
    append_current(
        ws / "logs" / "signal.csv", rows(START, START + timedelta(hours=1), ["feed_a"], step=timedelta(minutes=5))
    )
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
    _fails(
        ws, ["--input", "logs/signal.csv"], exit_code=1, error_code="invalid_input", names=["ops/latency_state.json"]
    )


def test_state_file_of_another_version(ws):
    state = ws / "ops" / "latency_state.json"
    state.write_text(json.dumps({"version": 99}), encoding="utf-8")
    _fails(
        ws,
        ["--input", "logs/signal.csv"],
        exit_code=1,
        error_code="invalid_input",
        names=["ops/latency_state.json", "version"],
    )


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
    good_lines = [
        f"{t:%Y-%m-%dT%H:%M:%SZ},{ms:.6f},{status},{detail},{source}" for t, source, ms, status, detail in good
    ]
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


@pytest.mark.parametrize("name", ["feed,x", "feed x", 'feed"x', "a" * 65])
def test_probe_flag_name_is_a_source_name(ws, name):
    """A --probe name becomes the samples' source (a rollup CSV field): 'feed,x' was accepted, its first
    cycle wrote a 12-field rollup row and every later cycle failed on it. The flag now holds names to
    the config's pattern for probe names (and the input's for sources)."""
    _fails(
        ws,
        ["--input", "logs/signal.csv", "--probe", f"{name}=http://127.0.0.1:9/health"],
        exit_code=2,
        error_code="invalid_config",
        names=["--probe", "[A-Za-z0-9_.:-]{1,64}"],
    )


def test_probe_url_env_not_set_names_file_and_field(ws):
    _config(ws, "probes:\n  - name: feed_x\n    url_env: OBS_TEST_UNSET_PROBE_URL\n")
    os.environ.pop("OBS_TEST_UNSET_PROBE_URL", None)
    _fails(
        ws,
        ["--input", "logs/signal.csv"],
        exit_code=2,
        error_code="invalid_config",
        names=[CONFIG, "probes[0].url_env", "OBS_TEST_UNSET_PROBE_URL"],
    )


def test_input_that_is_a_directory(ws):
    (ws / "logs" / "adir").mkdir()
    _fails(
        ws,
        ["--input", "logs/signal.csv", "--input", "logs/adir"],
        exit_code=1,
        error_code="invalid_input",
        names=["logs/adir", "is a directory"],
    )


@pytest.mark.parametrize(
    "args",
    [
        ["--slo-ms", "nan"],
        ["--slo-ms", "inf"],
        ["--lock-timeout", "nan"],
        ["--raw-retention-days", "99999999999"],
        ["--rollup-retention-days", "10000000"],
        ["--max-raw-bytes", str(1 << 62)],
    ],
)
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


# -- rows that used to stop ingestion (issue 10, items 1, 2 and 12), through the real CLI in a process ------------

CURRENT = "timestamp_utc,latency_ms,status,detail,source"


def cli_run(ws: Path, *args: str, now: str = NOW) -> tuple[int, dict, str]:
    proc = run_cli(["latency", "sample", "--workspace", str(ws), *args], env=clean_env(OBS_NOW=now))
    return proc.returncode, summary(proc), proc.stderr


def good(i: int, source: str = "feed_a") -> str:
    """Row i: 20 s apart from START, latency 100 + i (distinct, so every sample is identifiable)."""
    return f"{(START + timedelta(seconds=20 * i)):%Y-%m-%dT%H:%M:%SZ},{100 + i},success,,{source}"


def write_lines(path: Path, lines: list, *, header: str | None = CURRENT, mode: str = "wb") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = b"".join(
        (line if isinstance(line, bytes) else line.encode("utf-8")) + b"\n"
        for line in ([header] if header else []) + lines
    )
    with open(path, mode) as handle:
        handle.write(data)


def stored_latencies(ws: Path) -> list[float]:
    with open(ws / "ops" / "signal_latency.csv", newline="", encoding="utf-8") as handle:
        return sorted(float(r["latency_ms"]) for r in csv.DictReader(handle))


def stored_rows(ws: Path) -> list[dict]:
    with open(ws / "ops" / "signal_latency.csv", newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def rejects_of(ws: Path) -> list[dict]:
    with open(ws / "ops" / "signal_latency_rejects.csv", newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_a_stray_quote_inside_an_unquoted_field_is_text_and_ingestion_goes_on(tmp_path):
    """Item 1: `upstream said "bad gateway` held the cursor before it for good while runs said ok."""
    ws, log = tmp_path / "ws", tmp_path / "ws" / "logs" / "signal.csv"
    stray = f'{(START + timedelta(seconds=200)):%Y-%m-%dT%H:%M:%SZ},250,error,upstream said "bad gateway,feed_a'
    write_lines(log, [good(i) for i in range(10)] + [stray] + [good(i) for i in range(11, 21)])
    code, doc, err = cli_run(ws, "--input", "logs/signal.csv")
    assert code == 0, err
    assert doc["samples_written"] == 21 and doc["rejected_rows"] == 0, doc
    errors = [r for r in stored_rows(ws) if r["status"] == "error"]
    assert [r["detail"] for r in errors] == ['upstream said "bad gateway'], errors
    assert any(a["rule"] == "latency_slo" and a["status"] == "firing" for a in doc["alerts"]), doc["alerts"]
    write_lines(log, [good(i) for i in range(21, 26)], header=None, mode="ab")
    code, doc, err = cli_run(ws, "--input", "logs/signal.csv", now="2026-01-05T06:22:00Z")
    assert code == 0, err
    assert doc["samples_read"] == 5 and doc["samples_written"] == 5, doc  # the cursor moved past the row


def test_a_rotation_after_a_stray_quote_keeps_the_rest_of_the_rotated_file(tmp_path):
    """Item 1: 1,001 rows in the log, 250 stored: the rows after the quote were dropped with the rotation."""
    ws, log = tmp_path / "ws", tmp_path / "ws" / "logs" / "signal.csv"
    stray = f'{(START + timedelta(seconds=20 * 250)):%Y-%m-%dT%H:%M:%SZ},99999,error,upstream said "bad gateway,feed_a'
    write_lines(log, [good(i) for i in range(250)] + [stray] + [good(i) for i in range(251, 1001)])
    code, doc, err = cli_run(ws, "--input", "logs/signal.csv")
    assert code == 0, err
    log.rename(log.with_name("signal.csv.1"))
    write_lines(log, [good(i, "feed_b") for i in range(10)])
    code, doc, err = cli_run(ws, "--input", "logs/signal.csv", now="2026-01-05T06:22:00Z")
    assert code == 0, err
    assert len(stored_rows(ws)) == 1011
    assert stored_latencies(ws) == sorted(
        [100.0 + i for i in range(1001) if i != 250] + [99999.0] + [100.0 + i for i in range(10)]
    )


def test_an_unterminated_quoted_field_is_rejected_and_the_rows_after_it_are_read(tmp_path):
    """A field that opens a quote and never closes it ends at its newline: the row is rejected, the next
    rows are not swallowed. While it is the last line it may still be being written: it waits."""
    ws, log = tmp_path / "ws", tmp_path / "ws" / "logs" / "signal.csv"
    opened = f'{(START + timedelta(seconds=100)):%Y-%m-%dT%H:%M:%SZ},250,error,"bad gateway,feed_a'
    write_lines(log, [good(i) for i in range(5)] + [opened])
    code, doc, err = cli_run(ws, "--input", "logs/signal.csv")
    assert code == 0, err
    assert doc["samples_written"] == 5 and doc["rejected_rows"] == 0, doc  # the open record waits
    write_lines(log, [good(i) for i in range(6, 12)], header=None, mode="ab")
    code, doc, err = cli_run(ws, "--input", "logs/signal.csv", now="2026-01-05T06:22:00Z")
    assert code == 0, err
    assert doc["samples_written"] == 6 and doc["rejected_rows"] == 1, doc
    assert doc["status"] == "warning" and any("signal_latency_rejects.csv" in w for w in doc["diagnostics"]["warnings"])
    [reject] = rejects_of(ws)
    assert (reject["input"], reject["line"]) == ("logs/signal.csv", "7"), reject
    assert "quote" in reject["reason"] and reject["raw"] == opened
    assert stored_latencies(ws) == [100.0 + i for i in range(12) if i != 5]
    write_lines(log, [good(12)], header=None, mode="ab")
    code, doc, err = cli_run(ws, "--input", "logs/signal.csv", now="2026-01-05T06:37:00Z")
    assert code == 0 and doc["samples_read"] == 1 and doc["rejected_rows"] == 0, doc


def test_a_non_utf8_byte_rejects_its_row_only_and_keeps_the_probe_samples(tmp_path):
    """Item 2: one latin-1 byte failed every run, and dropped that run's probe samples."""
    from http.server import BaseHTTPRequestHandler

    from _support_latency import http_server

    class Health(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Length", "3")
            self.end_headers()
            self.wfile.write(b"ok\n")

        def log_message(self, *args):
            pass

    ws, log = tmp_path / "ws", tmp_path / "ws" / "logs" / "signal.csv"
    latin1 = f"{(START + timedelta(seconds=60)):%Y-%m-%dT%H:%M:%SZ},103,success,d\xe9j\xe0 vu,feed_a".encode("latin-1")
    write_lines(log, [good(i) for i in range(3)] + [latin1] + [good(i) for i in range(4, 8)])
    with http_server(Health) as base:
        code, doc, err = cli_run(
            ws, "--input", "logs/signal.csv", "--probe", f"feed_p={base}/health", now="2026-01-05T00:10:00Z"
        )
        assert code == 0, err
        assert doc["rejected_rows"] == 1 and doc["alerts"] == [], doc
        assert doc["status"] == "warning", doc  # the reject alone makes the run a warning
        assert any("1 input row(s) rejected" in w and "line 5" in w for w in doc["diagnostics"]["warnings"])
        [reject] = rejects_of(ws)
        assert (reject["input"], reject["line"]) == ("logs/signal.csv", "5")
        assert "UTF-8" in reject["reason"] and "\\xe9" in reject["raw"], reject
        assert [r["source"] for r in stored_rows(ws)].count("feed_p") == 1
        assert sorted(float(r["latency_ms"]) for r in stored_rows(ws) if r["source"] == "feed_a") == [
            100.0 + i for i in range(8) if i != 3
        ]
        write_lines(log, [good(8)], header=None, mode="ab")
        code, doc, err = cli_run(
            ws, "--input", "logs/signal.csv", "--probe", f"feed_p={base}/health", now="2026-01-05T00:25:00Z"
        )
    assert code == 0 and doc["status"] == "ok", (doc, err)
    assert doc["samples_written"] == 2 and doc["rejected_rows"] == 0, doc


def test_a_field_over_128_kib_is_rejected_with_its_line_and_later_runs_work(tmp_path):
    """Item 2: `field larger than field limit` came out as internal_error, without file or line, every run."""
    ws, log = tmp_path / "ws", tmp_path / "ws" / "logs" / "signal.csv"
    huge = f"{(START + timedelta(seconds=40)):%Y-%m-%dT%H:%M:%SZ},102,failure,{'x' * (200 * 1024)},feed_a"
    write_lines(log, [good(0), good(1), huge, good(3)])
    code, doc, err = cli_run(ws, "--input", "logs/signal.csv")
    assert code == 0, (doc, err)
    assert doc["rejected_rows"] == 1 and doc["samples_written"] == 3, doc
    [reject] = rejects_of(ws)
    assert (reject["input"], reject["line"]) == ("logs/signal.csv", "4")
    assert "longer than" in reject["reason"] and len(reject["raw"]) <= 300, reject["reason"]
    write_lines(log, [good(4)], header=None, mode="ab")
    code, doc, err = cli_run(ws, "--input", "logs/signal.csv", now="2026-01-05T06:22:00Z")
    assert code == 0 and doc["samples_written"] == 1 and doc["rejected_rows"] == 0, (doc, err)


def test_a_legacy_row_acknowledged_before_it_was_emitted_is_rejected_not_stored_as_0_ms(tmp_path):
    """Item 12: ts_ack before ts_emit is a bad value (clock skew), not a 0 ms sample."""
    ws, log = tmp_path / "ws", tmp_path / "ws" / "logs" / "legacy.csv"
    write_lines(
        log,
        [
            "s1,2026-01-05T01:00:00Z,2026-01-05T01:00:01.5Z,success,sent",
            "s2,2026-01-05T01:10:05Z,2026-01-05T01:10:00Z,success,clock skew",
            "s3,2026-01-05T01:20:00Z,2026-01-05T01:20:00Z,success,same instant",
        ],
        header="signal_id,ts_emit,ts_ack,status,detail",
    )
    code, doc, err = cli_run(ws, "--input", "logs/legacy.csv")
    assert code == 0, err
    assert doc["samples_written"] == 2 and doc["rejected_rows"] == 1, doc
    assert stored_latencies(ws) == [0.0, 1500.0]
    [reject] = rejects_of(ws)
    assert reject["line"] == "3" and "before ts_emit" in reject["reason"], reject


def test_quotes_in_details_survive_a_lost_state_and_an_archive_rotation(tmp_path):
    """The raw store quotes details itself (csv.writer), so its own record splitting (re-indexing after a
    lost state, rotation into archives) keeps a stray or unclosed quote in one row."""
    from tests._support_robust import sample_key, stored_keys

    ws, log = tmp_path / "ws", tmp_path / "ws" / "logs" / "signal.csv"
    stray = f'{(START + timedelta(seconds=20 * 30)):%Y-%m-%dT%H:%M:%SZ},130,failure,upstream said "bad gateway,feed_a'
    write_lines(log, [good(i) for i in range(30)] + [stray] + [good(i) for i in range(31, 600)])
    code, doc, err = cli_run(ws, "--input", "logs/signal.csv")
    assert code == 0, err
    (ws / "ops" / "latency_state.json").unlink()
    write_lines(log, [good(i) for i in range(600, 610)], header=None, mode="ab")
    code, doc, err = cli_run(ws, "--input", "logs/signal.csv", "--max-raw-bytes", "8000", now="2026-01-05T06:22:00Z")
    assert code == 0, err
    assert doc["samples_written"] == 10 and doc["duplicates_skipped"] == 600 and doc["rotated"], doc
    keys = stored_keys(ws)
    assert sum(keys.values()) == 610 and max(keys.values()) == 1
    assert keys[sample_key(stray.split(",")[0], "feed_a", "130", "failure", 'upstream said "bad gateway')] == 1


def test_a_damaged_rejects_file_does_not_stop_a_run_after_a_lost_state(tmp_path):
    """After a lost state the rejects file is read (to log no reject twice); a field over csv's limit in it
    used to fail that run with internal_error."""
    ws, log = tmp_path / "ws", tmp_path / "ws" / "logs" / "signal.csv"
    write_lines(log, [good(0), "not-a-time,1,success,,feed_a", good(2)])
    code, doc, err = cli_run(ws, "--input", "logs/signal.csv")
    assert code == 0 and doc["rejected_rows"] == 1, (doc, err)
    with open(ws / "ops" / "signal_latency_rejects.csv", "ab") as handle:
        handle.write(b'2026-01-05T06:07:00Z,x,logs/signal.csv,9,damaged,"' + b"y" * (200 * 1024) + b'"\n')
    (ws / "ops" / "latency_state.json").unlink()
    code, doc, err = cli_run(ws, "--input", "logs/signal.csv", now="2026-01-05T06:22:00Z")
    assert code == 0, (doc, err)
    assert doc["samples_written"] == 0 and doc["duplicates_skipped"] == 2 and doc["rejected_rows"] == 1, doc


# -- found by attacking issue 10 (items 1 and 2) ------------------------------------------------------------------


def test_the_last_row_of_a_rotated_log_without_its_newline_is_not_lost(tmp_path):
    """A rotated file is finished: its last row, written without a final newline (or cut mid-UTF-8 by the
    rotation), was dropped silently (neither stored nor rejected) although no run would ever see it again."""
    ws, log = tmp_path / "ws", tmp_path / "ws" / "logs" / "signal.csv"
    write_lines(log, [good(i) for i in range(5)])
    code, doc, err = cli_run(ws, "--input", "logs/signal.csv")
    assert code == 0 and doc["samples_written"] == 5, (doc, err)
    last_error = f"{(START + timedelta(seconds=200)):%Y-%m-%dT%H:%M:%SZ},99999,error,gateway down,feed_a"
    with open(log, "ab") as handle:
        handle.write(("\n".join(good(i) for i in range(5, 10)) + "\n" + last_error).encode())
    log.rename(log.with_name("signal.csv.1"))
    write_lines(log, [good(i, "feed_b") for i in range(3)])
    code, doc, err = cli_run(ws, "--input", "logs/signal.csv", now="2026-01-05T06:22:00Z")
    assert code == 0, err
    assert doc["samples_written"] == 9, doc
    assert 99999.0 in stored_latencies(ws)

    # Cut mid-UTF-8 sequence: rejected with its line number, never silently gone.
    write_lines(log, [good(i, "feed_b") for i in range(3, 5)], header=None, mode="ab")
    with open(log, "ab") as handle:
        handle.write(f"{(START + timedelta(seconds=400)):%Y-%m-%dT%H:%M:%SZ},7,error,caf".encode() + b"\xc3")
    log.rename(log.with_name("signal.csv.2"))
    (tmp_path / "ws" / "logs" / "signal.csv.1").unlink()
    write_lines(log, [good(i, "feed_c") for i in range(2)])
    code, doc, err = cli_run(ws, "--input", "logs/signal.csv", now="2026-01-05T06:37:00Z")
    assert code == 0, err
    assert doc["samples_written"] == 4 and doc["rejected_rows"] == 1, doc
    assert [(r["input"], r["line"]) for r in rejects_of(ws)] == [("logs/signal.csv.2", "7")]


def test_a_log_with_bare_cr_line_ends_is_not_read_as_ok(tmp_path):
    """Lines ending in a bare CR (old Mac style) hold no newline: nothing was ever read and every run said
    `ok` with no source, no sample and no reject. The rows are now read (a bare CR ends a line too)."""
    ws, log = tmp_path / "ws", tmp_path / "ws" / "logs" / "signal.csv"
    log.parent.mkdir(parents=True)
    log.write_bytes(("\r".join([CURRENT] + [good(i) for i in range(5)]) + "\r").encode())
    code, doc, err = cli_run(ws, "--input", "logs/signal.csv")
    assert code == 0, err
    assert doc["samples_written"] == 5 and doc["rejected_rows"] == 0, doc
    with open(log, "ab") as handle:
        handle.write(("\r".join(good(i) for i in range(5, 8)) + "\r").encode())
    code, doc, err = cli_run(ws, "--input", "logs/signal.csv", now="2026-01-05T06:22:00Z")
    assert code == 0 and doc["samples_written"] == 3 and doc["rejected_rows"] == 0, (doc, err)
    assert stored_latencies(ws) == [100.0 + i for i in range(8)]


@pytest.mark.parametrize(
    "option, target, owner",
    [
        ("--raw-output", "ops/automation_runs.log", "automation log"),
        ("--raw-output", "ops/latency_state.json", "latency state"),
        ("--raw-output", "ops/signal_latency_rejects.csv", "rejects file"),
        ("--raw-output", "ops/signal_latency_rollup.csv", "--rollup-output"),
        ("--rollup-output", "ops/signal_latency.csv", "--raw-output"),
        ("--rollup-output", "ops/latency_job_heartbeat.json", "heartbeat"),
        ("--raw-output", "./ops/../ops/automation_runs.sequence", "automation log sequence"),
    ],
)
def test_an_output_naming_another_file_of_the_workspace_is_refused(tmp_path, option, target, owner):
    """`--raw-output ops/automation_runs.log` cut the automation log to the raw store's committed size
    ("cut 4766 uncommitted byte(s) from ops/automation_runs.log") and appended samples to it."""
    ws, log = tmp_path / "ws", tmp_path / "ws" / "logs" / "signal.csv"
    write_lines(log, [good(i) for i in range(3)])
    for minute in ("06:07", "06:22", "06:37", "06:52"):  # a log longer than the raw store
        code, doc, err = cli_run(ws, "--input", "logs/signal.csv", now=f"2026-01-05T{minute}:00Z")
        assert code == 0, err
    before = {
        p: p.read_bytes()
        for p in (ws / "ops").iterdir()
        if p.is_file()
        and p.suffix != ".lock"
        and p.name not in ("automation_runs.log", "automation_runs.sequence", "latency_job_heartbeat.json")
    }
    log_before = (ws / "ops" / "automation_runs.log").read_bytes()
    code, doc, err = cli_run(ws, "--input", "logs/signal.csv", option, target, now="2026-01-05T07:07:00Z")
    assert code == 2, (doc, err)
    assert doc["diagnostics"]["error_code"] == "invalid_config", doc["diagnostics"]
    message = doc["diagnostics"]["error_message"]
    assert option in message and owner in message, message
    assert (ws / "ops" / "automation_runs.log").read_bytes().startswith(log_before)  # only this run's line added
    assert {p: p.read_bytes() for p in before} == before


@pytest.mark.parametrize("key", ["cadence_minutes", "no_data_after_minutes"])
def test_a_huge_minutes_value_in_the_config_is_invalid_config(ws, key):
    """`cadence_minutes: 99999999999999999999` passed the schema and crashed the run (OverflowError,
    internal_error) after the samples were read."""
    _config(ws, f"warning_threshold: 2\n{key}: 99999999999999999999\n")
    _fails(ws, ["--input", "logs/signal.csv"], exit_code=2, error_code="invalid_config", names=[CONFIG, key])


def test_an_upstream_signal_log_where_the_raw_store_goes_is_refused_not_appended_to(tmp_path):
    """An upstream checkout keeps its notifier log at ops/signal_latency.csv (the default raw store): the
    first run adopted it and appended rows of another column order to it (a file in two formats)."""
    ws, log = tmp_path / "ws", tmp_path / "ws" / "logs" / "signal.csv"
    write_lines(log, [good(i) for i in range(3)])
    upstream = ws / "ops" / "signal_latency.csv"
    upstream.parent.mkdir(parents=True)
    upstream.write_bytes(
        b"timestamp_utc,latency_ms,status,detail,source\r\n2026-01-05T00:00:00Z,12.5,success,,feed_z\r\n"
    )
    before = upstream.read_bytes()
    code, doc, err = cli_run(ws, "--input", "logs/signal.csv")
    assert code == 1 and doc["diagnostics"]["error_code"] == "invalid_input", (doc, err)
    message = doc["diagnostics"]["error_message"]
    assert "ops/signal_latency.csv" in message and "upstream signal log" in message and "--input" in message
    assert upstream.read_bytes() == before
