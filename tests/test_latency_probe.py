"""HTTP probes through the CLI against real servers on 127.0.0.1."""

from __future__ import annotations

import socket
import threading
import time
from http.server import BaseHTTPRequestHandler

from _support_latency import http_server, ok_run, raw_rows, run_latency, ts, write_config

NOW = ts("2025-10-11T12:00:00Z")


def make_handler(routes: dict, hits: list, release: threading.Event | None = None):
    """routes: path -> (status, delay_seconds, extra headers)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            hits.append(self.path)
            status, delay, headers = routes.get(self.path.split("?")[0], (404, 0, {}))
            if delay:
                if release is not None:
                    release.wait(delay)
                else:
                    time.sleep(delay)
            body = b"ok\n"
            try:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except OSError:
                pass

        def log_message(self, *args):
            pass

    return Handler


def probe_rows(ws) -> dict[str, dict]:
    return {r["source"]: r for r in raw_rows(ws)}


def test_probe_ok_error_and_redirect(tmp_path):
    hits: list[str] = []
    routes = {"/health": (200, 0.12, {}), "/down": (503, 0, {}), "/moved": (301, 0, {"Location": "/health"})}
    with http_server(make_handler(routes, hits)) as base:
        run = run_latency(
            tmp_path,
            "--probe",
            f"feed_ok={base}/health",
            "--probe",
            f"feed_down={base}/down",
            "--probe",
            f"feed_moved={base}/moved?token=s3cr3t",
            now=NOW,
        )
    assert run.exit_code == 0, run
    summary = run.summary
    rows = probe_rows(tmp_path)
    assert set(rows) == {"feed_ok", "feed_down", "feed_moved"}
    ok = rows["feed_ok"]
    assert ok["status"] == "ok" and ok["timestamp_utc"] == "2025-10-11T12:00:00Z"
    assert 120.0 <= float(ok["latency_ms"]) < 5000.0  # measured: the server took at least 120 ms
    assert "200" in ok["detail"]
    down = rows["feed_down"]
    assert down["status"] == "error" and "503" in down["detail"]
    moved = rows["feed_moved"]
    assert moved["status"] == "error" and "301" in moved["detail"]
    assert sorted(hits) == ["/down", "/health", "/moved?token=s3cr3t"]  # the redirect was not followed
    # error samples are critical at once
    critical = {a["source"] for a in summary["alerts"] if a["severity"] == "critical" and a["status"] == "firing"}
    assert critical == {"feed_down", "feed_moved"}
    by_source = {s["source"]: s for s in summary["sources"]}
    assert by_source["feed_ok"]["status"] == "ok"
    assert by_source["feed_ok"]["latency_ms"] == round(float(ok["latency_ms"]), 3)
    # probe URLs may carry tokens: never printed
    assert "s3cr3t" not in run.stdout and "s3cr3t" not in run.stderr
    assert "s3cr3t" not in (tmp_path / "ops" / "automation_runs.log").read_text()


def test_probe_timeout_from_config(tmp_path):
    hits: list[str] = []
    release = threading.Event()
    routes = {"/slow": (200, 10, {}), "/fast": (204, 0, {})}
    with http_server(make_handler(routes, hits, release)) as base:
        write_config(
            tmp_path,
            "probes:\n"
            f"  - {{name: feed_slow, url: '{base}/slow', timeout_seconds: 0.5}}\n"
            f"  - {{name: feed_fast, url: '{base}/fast', timeout_seconds: 0.5}}\n",
        )
        started = time.monotonic()
        summary = ok_run(tmp_path, now=NOW)
        elapsed = time.monotonic() - started
        release.set()
    assert elapsed < 5, elapsed  # the probe gave up at its timeout
    rows = probe_rows(tmp_path)
    slow = rows["feed_slow"]
    assert slow["status"] == "error"
    assert "timeout" in slow["detail"].lower()
    assert float(slow["latency_ms"]) >= 500.0
    assert rows["feed_fast"]["status"] == "ok" and "204" in rows["feed_fast"]["detail"]
    assert summary["samples_written"] == 2


def test_probe_connection_refused(tmp_path):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    summary = ok_run(tmp_path, "--probe", f"feed_gone=http://127.0.0.1:{port}/health", now=NOW)
    row = probe_rows(tmp_path)["feed_gone"]
    assert row["status"] == "error"
    assert row["detail"] == "connection refused"
    assert summary["alerts"][0]["source"] == "feed_gone" and summary["alerts"][0]["severity"] == "critical"


def test_probes_across_runs_build_windows(tmp_path):
    hits: list[str] = []
    routes = {"/health": (200, 0, {})}
    with http_server(make_handler(routes, hits)) as base:
        for minute in (0, 15, 30):
            ok_run(tmp_path, "--probe", f"feed_ok={base}/health", now=f"2025-10-11T12:{minute:02d}:00Z")
    rows = raw_rows(tmp_path)
    assert [r["timestamp_utc"] for r in rows] == [
        "2025-10-11T12:00:00Z",
        "2025-10-11T12:15:00Z",
        "2025-10-11T12:30:00Z",
    ]
    assert all(r["status"] == "ok" for r in rows)
    assert len(hits) == 3


def test_bad_probe_flag_is_a_usage_error(tmp_path):
    run = run_latency(tmp_path, "--probe", "no-equals-sign", now=NOW)
    assert run.exit_code == 2, run
    run = run_latency(tmp_path, "--probe", "feed=ftp://example.invalid/x", now=NOW)
    assert run.exit_code == 2, run
