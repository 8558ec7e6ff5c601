"""Adversarial cases against the OpenTelemetry export (observability/otel.py): a secret in an exception
raised through a span, and a collector that trickles its answer (slowloris)."""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator

import pytest

pytest.importorskip("opentelemetry.sdk", reason="the [otel] extra is not installed: pip install -e '.[otel]'")

from _support_otlp import otlp_receiver  # noqa: E402
from _support_robust import clean_env  # noqa: E402
from observability import otel, secrets  # noqa: E402
from test_otel import NOW, _sample, _workspace  # noqa: E402

SECRET = "otelcanary-exc-9c1e5b2d7f3a"


@pytest.fixture(autouse=True)
def _clean(monkeypatch):
    for name in ("OTEL_EXPORTER_OTLP_HEADERS", "OTEL_TRACES_SAMPLER", "OTEL_SDK_DISABLED"):
        monkeypatch.delenv(name, raising=False)
    secrets.forget_all()
    yield
    secrets.forget_all()


def test_an_exception_through_a_span_is_recorded_without_the_secret_in_it(monkeypatch):
    with otlp_receiver() as receiver:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url)
        secrets.register(SECRET)
        otel.begin("weekly")
        with pytest.raises(RuntimeError), otel.span("delivery", kind="webhook"):
            raise RuntimeError(f"POST https://hooks.example/{SECRET} failed")
        otel.end({"job": "weekly", "status": "error", "job_id": "j", "duration_ms": 5})
    raw = [request.SerializeToString() for found in receiver.requests.values() for request in found]
    assert raw and not any(SECRET.encode() in body for body in raw)
    (delivery,) = [s for s in receiver.spans() if s["name"] == "delivery"]
    assert delivery["status"]["code"] == "STATUS_CODE_ERROR"
    assert delivery["status"]["message"] == "RuntimeError: POST https://hooks.example/*** failed"


@contextlib.contextmanager
def _collector(answer: Callable[[socket.socket, threading.Event], None]) -> Iterator[str]:
    """A TCP server on 127.0.0.1 that reads a request and runs ``answer`` on the connection."""
    server = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(5)
                try:
                    conn.recv(1 << 20)
                    answer(conn, stop)
                except OSError:
                    pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}"
    finally:
        stop.set()
        server.close()


def _job(monkeypatch, url: str, timeout: str) -> threading.Thread:
    """A job's telemetry, begin to end, in a thread of its own (a test that fails does not hang)."""
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", url)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", timeout)

    def job() -> None:
        otel.begin("latency")
        with otel.span("compute"):
            pass
        otel.end({"job": "latency", "status": "ok", "job_id": "j", "duration_ms": 5})

    worker = threading.Thread(target=job, daemon=True)
    worker.start()
    return worker


def test_a_collector_that_trickles_its_answer_cannot_hold_the_job(monkeypatch, capsys):
    """Slowloris: one byte of the status line at a time, each well within the read timeout."""

    def trickle(conn: socket.socket, stop: threading.Event) -> None:
        for byte in b"HTTP/1.1 200 OK\r\nX-Pad: " + b"a" * 100_000:
            if stop.wait(0.02):
                return
            conn.send(bytes([byte]))

    monkeypatch.setattr(otel, "EXPORT_SLACK_S", 0.0)
    with _collector(trickle) as url:
        worker = _job(monkeypatch, url, "0.2")  # both signals: the export is given 0.4 s
        worker.join(20)
        assert not worker.is_alive(), "the export is still running after 20 s"
    err = capsys.readouterr().err
    assert "warning: latency: OpenTelemetry export did not finish within 0.4 s; telemetry dropped" in err


@pytest.mark.parametrize(
    "raw, expected", [("", 21.0), ("2", 5.0), ("abc", 21.0), ("inf", 21.0), ("-1", 21.0), ("1e9", 121.0)]
)
def test_the_export_deadline_reads_garbage_as_the_default(raw, expected):
    assert otel.export_deadline({"OTEL_EXPORTER_OTLP_TIMEOUT": raw}) == expected


def test_a_collector_answering_500_is_one_warning_line_in_our_words(tmp_path):
    """The SDK's own log line carries the collector's reason phrase; in a real process (no logging set
    up, so Python's last-resort handler prints it) it must stay out of the job's stderr."""

    def refuse(conn: socket.socket, stop: threading.Event) -> None:
        conn.sendall(b"HTTP/1.1 500 collector-chosen-words\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")

    ws = _workspace(tmp_path)
    with _collector(refuse) as url:
        env = clean_env(OBS_NOW=NOW, OTEL_EXPORTER_OTLP_ENDPOINT=url, OTEL_EXPORTER_OTLP_TIMEOUT="2")
        done = subprocess.run(
            [sys.executable, "-m", "observability", *_sample(ws)], capture_output=True, text=True, env=env, timeout=60
        )
    assert done.returncode == 0 and json.loads(done.stdout)["status"] == "ok", done.stderr
    assert "collector-chosen-words" not in done.stderr and "Failed to export" not in done.stderr, done.stderr
    assert [line for line in done.stderr.splitlines() if "OpenTelemetry" in line] == [
        "warning: latency: OpenTelemetry export failed (traces; endpoint unreachable or refused); telemetry dropped"
    ]
