"""Dead-man ping: a real HTTP server on 127.0.0.1; the URL (a secret) never shows in any output."""

from __future__ import annotations

import socket
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from _support_verify import log_lines, new_workspace, on_cadence, verify
from observability import deadman, secrets

TOKEN = "ping-3f9c1e7a-canary"


@pytest.fixture(autouse=True)
def _forget_secrets():
    yield
    secrets.forget_all()


@contextmanager
def receiver(status: int = 200):
    hits: list[tuple[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(("GET", self.path))
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"OK")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/{TOKEN}", hits
    finally:
        server.shutdown()
        server.server_close()


def _everything_written(root, run) -> str:
    files = [p for p in root.rglob("*") if p.is_file()]
    return run.stdout + run.stderr + "".join(p.read_text(errors="replace") for p in files)


def _healthy(tmp_path):
    root = new_workspace(tmp_path / "ws")
    on_cadence(root)
    return root


def test_a_successful_run_pings_once_and_never_shows_the_url(tmp_path):
    root = _healthy(tmp_path)
    with receiver() as (url, hits):
        run = verify(root, env={"OBS_HEARTBEAT_PING_URL": url})
    assert run.exit_code == 0 and run.summary["status"] == "ok" and run.summary["deadman_ping"] == "sent", run
    assert hits == [("GET", f"/{TOKEN}")]
    text = _everything_written(root, run)
    assert TOKEN not in text and "127.0.0.1:" not in text


def test_a_warning_run_still_pings(tmp_path):
    root = _healthy(tmp_path)
    (root / "ops" / "latency_job_heartbeat.json").unlink()
    with receiver() as (url, hits):
        run = verify(root, env={"OBS_HEARTBEAT_PING_URL": url})
    assert run.summary["status"] == "warning" and len(hits) == 1, run


def test_a_failing_endpoint_only_warns(tmp_path):
    root = _healthy(tmp_path)
    with receiver(status=503) as (url, hits):
        run = verify(root, env={"OBS_HEARTBEAT_PING_URL": url})
    assert run.exit_code == 0 and run.summary["status"] == "ok" and len(hits) == 1, run
    assert run.summary["deadman_ping"] == "failed"
    assert "dead-man ping (OBS_HEARTBEAT_PING_URL) failed: HTTP 503" in run.summary["diagnostics"]["warnings"]
    assert TOKEN not in _everything_written(root, run)


def test_an_unreachable_endpoint_only_warns(tmp_path):
    root = _healthy(tmp_path)
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    run = verify(root, env={"OBS_HEARTBEAT_PING_URL": f"http://127.0.0.1:{port}/{TOKEN}"})
    assert run.exit_code == 0 and run.summary["deadman_ping"] == "failed", run
    assert "ConnectionError" in run.summary["diagnostics"]["warnings"][0]
    assert TOKEN not in _everything_written(root, run)


def test_no_ping_when_verification_fails_or_no_url_is_set(tmp_path):
    root = _healthy(tmp_path)
    del_line = log_lines(root)
    (root / "ops" / "automation_runs.log").write_bytes(b"".join(del_line[:3] + del_line[4:]))
    with receiver() as (url, hits):
        strict = verify(root, "--strict", env={"OBS_HEARTBEAT_PING_URL": url})
        plain = verify(root)
    assert strict.exit_code == 1 and hits == [], strict
    assert plain.summary["deadman_ping"] == "not_configured"


def test_the_helper_other_jobs_call(tmp_path):
    with receiver() as (url, hits):
        assert deadman.ping("ok", environ={deadman.ENV: url}) == deadman.PingResult(True, 200)
        assert deadman.ping("error", environ={deadman.ENV: url}) is None
        assert deadman.ping("ok", environ={}) is None
    assert len(hits) == 1
    assert TOKEN not in repr(deadman.ping("ok", environ={deadman.ENV: url}))
