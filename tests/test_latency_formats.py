"""Both upstream signal-log formats, read through the CLI into the raw store and rollups."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import pytest

from _support_latency import (
    CURRENT_HEADER,
    LEGACY_HEADER,
    archive_rows,
    ok_run,
    raw_rows,
    rollup_rows,
    run_latency,
    ts,
    write_config,
    write_log,
)

UPSTREAM = Path("/work/shared/fixtures/upstream/ops")
NOW = ts("2025-10-11T12:00:00Z")
SUCCESS = {"success", "ok", "stable"}


def _hour_failures(rows: list[dict]) -> dict[tuple[str, str], tuple[int, int]]:
    out: dict = {}
    for r in rows:
        key = (r["timestamp_utc"][:13] + ":00:00Z", r["source"])
        count, failures = out.get(key, (0, 0))
        out[key] = (count + 1, failures + (r["status"] not in SUCCESS))
    return out


def test_current_format_statuses(tmp_path):
    ws = tmp_path
    statuses = ["success", "ok", "stable", "failure", "timeout", "rejected", "success", "stable"]
    rows = [f"2025-10-11T11:{10 + i:02d}:00Z,{100 + i},{s},d{i},feed_a\n" for i, s in enumerate(statuses)]
    write_log(ws / "logs" / "notifier.csv", rows)
    summary = ok_run(ws, "--input", "logs/notifier.csv", now=NOW)
    assert summary["samples_written"] == len(rows)
    raw = raw_rows(ws)
    assert [(r["timestamp_utc"], r["source"], float(r["latency_ms"]), r["status"], r["detail"]) for r in raw] == [
        (f"2025-10-11T11:{10 + i:02d}:00Z", "feed_a", float(100 + i), s, f"d{i}") for i, s in enumerate(statuses)
    ]
    rollup = rollup_rows(ws)
    assert len(rollup) == 1
    expected_failures = sum(s not in SUCCESS for s in statuses)
    assert int(rollup[0]["count"]) == len(statuses)
    assert int(rollup[0]["failure_count"]) == expected_failures == 3
    assert float(rollup[0]["failure_rate"]) == pytest.approx(expected_failures / len(statuses), abs=1e-4)


def test_legacy_format_latency_and_ack_before_emit(tmp_path):
    ws = tmp_path
    rows = [
        "sig1,2025-10-11T11:00:00.000000+00:00,2025-10-11T11:00:01.250000+00:00,success,sent\n",  # 1250 ms
        "sig2,2025-10-11T11:05:00+00:00,2025-10-11T11:05:00.000500+00:00,failure,noop\n",  # 0.5 ms
        "sig3,2025-10-11T11:10:05+00:00,2025-10-11T11:10:00+00:00,ok,clock skew\n",  # -5 s: rejected
        "sig4,2025-10-11T11:20:00Z,2025-10-11T11:20:30Z,stable,\n",  # 30000 ms
    ]
    write_log(ws / "logs" / "legacy_notifier.csv", rows, header=LEGACY_HEADER)
    summary = ok_run(ws, "--input", "logs/legacy_notifier.csv", now=NOW)
    assert summary["samples_written"] == 3 and summary["rejected_rows"] == 1
    raw = raw_rows(ws)
    got = [(r["timestamp_utc"], r["source"], float(r["latency_ms"]), r["status"], r["detail"]) for r in raw]
    assert got == [
        ("2025-10-11T11:00:01Z", "legacy_notifier", 1250.0, "success", "sent"),
        ("2025-10-11T11:05:00Z", "legacy_notifier", 0.5, "failure", "noop"),
        ("2025-10-11T11:20:30Z", "legacy_notifier", 30000.0, "stable", ""),
    ]
    rejects = (ws / "ops" / "signal_latency_rejects.csv").read_text().splitlines()
    assert len(rejects) == 2 and ",4,ts_ack " in rejects[1] and "before ts_emit" in rejects[1]
    rollup = rollup_rows(ws)
    assert int(rollup[0]["failure_count"]) == 1
    assert float(rollup[0]["max_ms"]) == 30000.0


def test_columns_in_another_order_and_extra_columns(tmp_path):
    ws = tmp_path
    header = "region,source,status,latency_ms,extra,timestamp_utc,detail\n"
    rows = [
        "eu,feed_b,success,250.5,x,2025-10-11T11:01:00Z,first\n",
        "us,feed_c,failure,900,y,2025-10-11T11:02:00Z,second\n",
    ]
    write_log(ws / "reordered.csv", rows, header=header)
    legacy_header = "signal_id,ts_emit,ts_ack,status,detail,channel\n"
    legacy_rows = ["s1,2025-10-11T11:03:00Z,2025-10-11T11:03:00.100000Z,success,ok,slack\n"]
    write_log(ws / "legacy_extra.csv", legacy_rows, header=legacy_header)
    summary = ok_run(ws, "--input", "reordered.csv", "--input", "legacy_extra.csv", now=NOW)
    assert summary["samples_written"] == 3 and summary["rejected_rows"] == 0
    got = sorted(
        (r["timestamp_utc"], r["source"], float(r["latency_ms"]), r["status"], r["detail"]) for r in raw_rows(ws)
    )
    assert got == [
        ("2025-10-11T11:01:00Z", "feed_b", 250.5, "success", "first"),
        ("2025-10-11T11:02:00Z", "feed_c", 900.0, "failure", "second"),
        ("2025-10-11T11:03:00Z", "legacy_extra", pytest.approx(100.0), "success", "ok"),
    ]


def test_empty_detail_and_source_use_default_source(tmp_path):
    ws = tmp_path
    rows = ["2025-10-11T11:01:00Z,100,success,,\n", "2025-10-11T11:02:00Z,200,failure,,named\n"]
    write_log(ws / "logs" / "feed.csv", rows, header=CURRENT_HEADER)
    # default source from the file name
    ok_run(ws, "--input", "logs/feed.csv", now=NOW)
    assert [(r["source"], r["detail"]) for r in raw_rows(ws)] == [("feed", ""), ("named", "")]
    # default source from the config's inputs[].source
    ws2 = tmp_path / "ws2"
    ws2.mkdir()
    write_log(ws2 / "logs" / "feed.csv", rows, header=CURRENT_HEADER)
    write_config(ws2, "inputs:\n  - path: logs/feed.csv\n    source: router_x\n")
    ok_run(ws2, now=NOW)
    assert [r["source"] for r in raw_rows(ws2)] == ["router_x", "named"]


def test_bad_rows_are_rejected_not_fatal(tmp_path):
    ws = tmp_path
    rows = [
        "2025-10-11T11:01:00Z,100,success,,feed_a\n",
        "not-a-time,100,success,,feed_a\n",
        "2025-10-11T11:02:00Z,-5,success,,feed_a\n",
        "2025-10-11T11:03:00Z,abc,success,,feed_a\n",
        "2025-10-11T14:00:00Z,100,success,,feed_a\n",  # > 1 h in the future of NOW
        "2025-10-11T11:04:00Z,300,success,,feed_a\n",
    ]
    write_log(ws / "log.csv", rows)
    summary = ok_run(ws, "--input", "log.csv", now=NOW)
    assert summary["samples_written"] == 2
    assert summary["rejected_rows"] == 4
    assert [r["latency_ms"] for r in raw_rows(ws)] == ["100.000", "300.000"]
    rejects = (ws / "ops" / "signal_latency_rejects.csv").read_text().splitlines()
    assert len(rejects) == 1 + 4


def test_unknown_header_is_an_error(tmp_path):
    write_log(tmp_path / "log.csv", ["a,b,c\n"], header="foo,bar,baz\n")
    run = run_latency(tmp_path, "--input", "log.csv", now=NOW)
    assert run.exit_code != 0, run
    assert run.summary["status"] == "error"
    assert "log.csv" in run.summary["diagnostics"]["error_message"]


# -- real upstream files --------------------------------------------------------------------------


def _upstream(name: str) -> Path:
    if not UPSTREAM.is_dir():
        pytest.skip(f"{UPSTREAM} not present: real upstream latency logs unavailable on this machine")
    path = UPSTREAM / name
    if not path.is_file():
        pytest.skip(f"{path} not present")
    return path


def _read_upstream_rows(path: Path) -> list[list[str]]:
    import csv

    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    return rows[0], [r for r in rows[1:] if r]


def test_real_upstream_current_log(tmp_path):
    src = _upstream("signal_latency.csv")
    header, rows = _read_upstream_rows(src)
    ws = tmp_path / "ws"
    ws.mkdir()
    copy = tmp_path / "upstream" / "signal_latency.csv"  # outside the workspace, as on a real checkout
    copy.parent.mkdir()
    shutil.copyfile(src, copy)
    cols = {name: i for i, name in enumerate(header)}
    latest = max(ts(r[cols["timestamp_utc"]]) for r in rows)
    summary = ok_run(ws, "--input", str(copy), now=latest + timedelta(minutes=10))
    assert summary["rejected_rows"] == 0
    assert summary["samples_written"] == len(rows)
    raw = raw_rows(ws)
    expected = sorted(
        (
            ts(r[cols["timestamp_utc"]]).strftime("%Y-%m-%dT%H:%M:%SZ"),
            r[cols["source"]] or "signal_latency",
            round(float(r[cols["latency_ms"]]), 3),
            r[cols["status"]].lower(),
        )
        for r in rows
    )
    assert sorted((r["timestamp_utc"], r["source"], float(r["latency_ms"]), r["status"]) for r in raw) == expected
    # a second run over the unchanged file reads nothing new
    again = ok_run(ws, "--input", str(copy), now=latest + timedelta(minutes=25))
    assert again["samples_written"] == 0
    assert len(raw_rows(ws)) == len(rows)


def test_real_upstream_legacy_log(tmp_path):
    src = _upstream("signal_latency.legacy.csv")
    header, rows = _read_upstream_rows(src)
    ws = tmp_path / "ws"
    ws.mkdir()
    copy = tmp_path / "upstream" / "signal_latency.legacy.csv"
    copy.parent.mkdir()
    shutil.copyfile(src, copy)
    cols = {name: i for i, name in enumerate(header)}
    latest = max(ts(r[cols["ts_ack"]]) for r in rows)
    summary = ok_run(ws, "--input", str(copy), now=latest + timedelta(minutes=10))
    assert summary["rejected_rows"] == 0
    assert summary["samples_written"] == len(rows)
    expected = sorted(
        (
            round((ts(r[cols["ts_ack"]]) - ts(r[cols["ts_emit"]])).total_seconds() * 1000.0, 3),
            r[cols["status"]].lower(),
            r[cols["detail"]],
        )
        for r in rows
    )
    raw = raw_rows(ws) + archive_rows(ws)
    assert sorted((float(r["latency_ms"]), r["status"], r["detail"]) for r in raw) == expected
    assert {r["source"] for r in raw} == {"signal_latency.legacy"}  # default source: the file's stem
    failures = sum(r[cols["status"]].lower() not in SUCCESS for r in rows)
    assert sum(int(r["failure_count"]) for r in rollup_rows(ws)) == failures


def test_a_byte_order_mark_before_the_header_is_accepted(tmp_path):
    """Spreadsheet exports often start with a UTF-8 BOM; the header must still be recognised."""
    from observability.clock import parse_iso
    from observability.upstream.signal_log import read_new

    log = tmp_path / "bom.csv"
    log.write_bytes(
        "\ufefftimestamp_utc,latency_ms,status,detail,source\n2025-10-11T11:35:42Z,2100,success,,router_demo\n".encode(
            "utf-8"
        )
    )
    samples, rejects, cursor, _ = read_new(
        log, None, rel="bom.csv", default_source=None, now=parse_iso("2025-10-11T12:00:00Z")
    )
    assert [(s.source, s.latency_ms) for s in samples] == [("router_demo", 2100.0)] and not rejects
    assert cursor["offset"] == log.stat().st_size
