"""`ingest_latency_ms` on raw samples (seed 002 §5.1): ms from the orchestrator's start (the process's
entry point) to the moment the run took the sample; 0 under a pinned clock; old raw files still read."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler

from _support_latency import current_row, http_server, iso, ok_run, raw_rows, ts, write_log

LEGACY = "timestamp_utc,source,latency_ms,status,detail\n"


class SlowHealth(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        time.sleep(0.4)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()


def test_a_real_run_stamps_each_sample_with_the_time_since_the_process_started(tmp_path):
    ws = tmp_path
    now = datetime.now(UTC)
    write_log(ws / "logs" / "notifier.csv", [current_row(now - timedelta(minutes=3), 120.0)])
    env = {k: v for k, v in os.environ.items() if k not in ("OBS_NOW", "GITHUB_ACTIONS", "OBS_WORKSPACE")}
    with http_server(SlowHealth) as url:
        done = subprocess.run(
            [sys.executable, "-m", "observability", "latency", "sample", "--workspace", str(ws)]
            + ["--input", "logs/notifier.csv", "--probe", f"slow_feed={url}/health"],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )
    assert done.returncode == 0, done.stdout + done.stderr
    rows = {r["source"]: r for r in raw_rows(ws)}
    logged, probed = int(rows["feed_a"]["ingest_latency_ms"]), int(rows["slow_feed"]["ingest_latency_ms"])
    # the process's start-up (imports, state) comes before the log is read; the probe answers 0.4 s later
    assert 0 < logged < probed and probed - logged >= 400, rows
    assert probed < 60_000


def test_a_pinned_clock_writes_zero_so_a_replay_is_byte_identical(tmp_path):
    rows = [current_row("2025-10-11T11:10:00Z", 100.0), current_row("2025-10-11T11:20:00Z", 110.0)]
    for name in ("a", "b"):
        write_log(tmp_path / name / "logs" / "n.csv", rows)
        ok_run(tmp_path / name, "--input", "logs/n.csv", now=ts("2025-10-11T12:00:00Z"))
    raw = [(tmp_path / name / "ops" / "signal_latency.csv").read_bytes() for name in ("a", "b")]
    assert raw[0] == raw[1]
    assert [r["ingest_latency_ms"] for r in raw_rows(tmp_path / "a")] == ["0", "0"]


def test_a_raw_file_from_before_the_field_is_read_appended_to_and_upgraded_by_its_rotation(tmp_path):
    ws = tmp_path
    start = ts("2025-10-01T10:00:00Z")
    old = [f"{iso(start + timedelta(hours=h))},feed_a,{100 + h}.000,success,\n" for h in range(3)]
    (ws / "ops").mkdir()
    (ws / "ops" / "signal_latency.csv").write_text(LEGACY + "".join(old))
    write_log(ws / "logs" / "n.csv", [current_row("2025-10-01T14:00:00Z", 200.0)])
    ok_run(ws, "--input", "logs/n.csv", now=ts("2025-10-01T15:00:00Z"))
    text = (ws / "ops" / "signal_latency.csv").read_text()
    assert text.startswith(LEGACY) and text.endswith("feed_a,200.000,success,\n")  # still five columns
    assert [r["latency_ms"] for r in raw_rows(ws)] == ["100.000", "101.000", "102.000", "200.000"]
    # 15 days on, retention moves the old rows out: the archive keeps them as they were, the raw file
    # is rewritten under the new header and every row has the field (empty where it was never measured)
    with open(ws / "logs" / "n.csv", "a") as handle:
        handle.write(current_row("2025-10-16T11:00:00Z", 300.0))
    ok_run(ws, "--input", "logs/n.csv", now=ts("2025-10-16T12:00:00Z"))
    lines = (ws / "ops" / "signal_latency.csv").read_text().splitlines()
    assert lines[0] == LEGACY.strip() + ",ingest_latency_ms"
    assert all(line.count(",") == 5 for line in lines)
    # the run that rotates appended its own rows first, still in the old shape: the field starts with the next
    with open(ws / "logs" / "n.csv", "a") as handle:
        handle.write(current_row("2025-10-16T12:10:00Z", 400.0))
    ok_run(ws, "--input", "logs/n.csv", now=ts("2025-10-16T12:20:00Z"))
    assert [(r["latency_ms"], r["ingest_latency_ms"]) for r in raw_rows(ws)][-2:] == [("300.000", ""), ("400.000", "0")]
    archives = sorted((ws / "ops" / "signal_latency_archive").rglob("*.csv.gz"))
    archived = b"".join(gzip.decompress(a.read_bytes()) for a in archives).decode()
    assert archived.startswith(LEGACY) and all(row in archived for row in old)


def test_the_raw_store_reads_both_row_shapes(tmp_path):
    from observability.latency.rawstore import parse_rows

    samples = parse_rows(
        (LEGACY + "2025-10-01T10:00:00Z,feed,1.000,ok,\n").encode()
        + b"2025-10-01T11:00:00Z,feed,2.000,ok,,1234\n2025-10-01T12:00:00Z,feed,3.000,ok,,\n"
    )
    assert [s.ingest_latency_ms for s in samples] == [None, 1234, None]
