"""OpenTelemetry export (observability/otel.py): a real job's trace and metrics as a real OTLP/HTTP receiver on
127.0.0.1 decodes them (tests/_support_otlp.py), a failed job, an unreachable endpoint, a secret canary, and
the extra missing. That nothing imports OpenTelemetry when it is off: tests/test_startup_imports.py."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from _support_inprocess import run_cli_in_process
from _support_otlp import otlp_receiver
from _support_robust import clean_env
from observability import otel, secrets

ROOT = Path(__file__).resolve().parents[1]
NOW = "2026-03-02T00:15:30Z"
CANARY = "otelcanary-7f3a9c1e5b2d"
CHILDREN = {"lock", "inputs", "compute", "writes"}


def _workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    (ws / "configs" / "observability").mkdir(parents=True)
    template = ROOT / "ops-template" / "configs" / "observability" / "latency_alert.yaml"
    (ws / "configs" / "observability" / "latency_alert.yaml").write_bytes(template.read_bytes())
    (ws / "logs").mkdir()
    (ws / "logs" / "notifier.csv").write_text(
        "timestamp_utc,latency_ms,status,detail,source\n"
        "2026-03-02T00:10:00Z,1370.265000,success,,feed_0\n"
        "2026-03-02T00:11:00Z,170.500000,success,,feed_1\n"
        "2026-03-02T00:12:00Z,180.250000,success,,feed_1\n"
    )
    return ws


def _sample(ws: Path, *extra: str) -> list[str]:
    return ["latency", "sample", "--workspace", str(ws), "--input", "logs/notifier.csv", *extra]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_job_exports_one_trace_and_its_metrics_to_a_real_receiver(tmp_path):
    ws = _workspace(tmp_path)
    with otlp_receiver() as receiver:
        env = clean_env(
            OBS_NOW=NOW,
            OTEL_EXPORTER_OTLP_ENDPOINT=receiver.url,
            OTEL_EXPORTER_OTLP_COMPRESSION="gzip",
            OTEL_EXPORTER_OTLP_HEADERS=f"authorization=Bearer%20{CANARY}-header",
            GITHUB_ACTIONS="true",
            GITHUB_REPOSITORY="octo/research",
            GITHUB_RUN_ID="4242",
            GITHUB_SHA="0123456789abcdef0123456789abcdef01234567",
            # A secret that leaks into an attribute's source (here the workflow's name) is redacted there.
            GITHUB_TOKEN=CANARY,
            GITHUB_WORKFLOW=f"latency {CANARY}",
        )
        # A real process: the export has to happen before it exits.
        done = subprocess.run(
            [sys.executable, "-m", "observability", *_sample(ws)], capture_output=True, text=True, env=env, timeout=60
        )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert "warning" not in done.stderr, done.stderr
    assert receiver.headers[0]["Content-Encoding"] == "gzip"
    assert receiver.headers[0]["authorization"] == f"Bearer {CANARY}-header"  # sent, to the collector only

    spans = receiver.spans()
    roots = [s for s in spans if not s["parent_span_id"]]
    assert len(roots) == 1 and roots[0]["name"] == "latency"
    root = roots[0]
    assert {s["name"] for s in spans if s is not root} == CHILDREN
    assert all(
        s["parent_span_id"] == root["span_id"] and s["trace_id"] == root["trace_id"] for s in spans if s is not root
    )
    assert root["attributes"]["observability.job.id"] == summary["job_id"]
    assert root["attributes"]["observability.job.name"] == "latency"
    assert root["attributes"]["observability.status"] == "ok"
    assert root["attributes"]["vcs.ref.head.revision"] == summary["commit_sha"] == env["GITHUB_SHA"]
    assert root["attributes"]["cicd.pipeline.run.id"] == "4242"
    assert root["attributes"]["cicd.pipeline.name"] == "latency ***"
    assert root["status"].get("code") in (None, "STATUS_CODE_UNSET")
    assert root["resource"]["service.name"] == "observability"
    assert next(s for s in spans if s["name"] == "inputs")["attributes"] == {
        "observability.inputs": 1,
        "observability.probes": 0,
    }

    metrics = receiver.metrics()
    (duration,) = metrics[otel.JOB_DURATION]
    # seconds, labels job and status: what the local stack's dashboards query (ops/observability/metrics.yaml)
    assert duration["kind"] == "histogram" and duration["count"] == 1
    assert duration["sum"] == pytest.approx(summary["duration_ms"] / 1000)
    assert duration["attributes"] == {"job": "latency", "status": "ok"}
    (ingested,) = metrics[otel.SAMPLES_INGESTED]
    assert ingested["kind"] == "sum" and ingested["value"] == summary["samples_written"] == 3
    assert ingested["attributes"] == {"job": "latency"}
    p95 = {p["attributes"]["source"]: p["value"] for p in metrics[otel.LATENCY_P95]}
    assert p95 == {s["source"]: s["p95_latency_ms"] for s in summary["sources"]}
    assert p95["feed_0"] == pytest.approx(1370.265)

    decoded = [r.SerializeToString() for rs in receiver.requests.values() for r in rs]
    assert decoded and not any(CANARY.encode() in raw for raw in decoded)
    shown = [line for line in (done.stdout + done.stderr).splitlines() if not line.startswith("::add-mask::")]
    assert not [line for line in shown if CANARY in line]


def test_a_failed_job_ends_its_trace_in_error_and_the_sampler_is_respected(tmp_path):
    ws = _workspace(tmp_path)
    with otlp_receiver() as receiver:
        env = clean_env(OBS_NOW=NOW, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=receiver.url + "/v1/traces")  # no metrics
        (ws / "ops").mkdir()
        (ws / "ops" / "latency_state.json").write_text("{not json")  # the run fails: an input error
        done = run_cli_in_process(_sample(ws), env=env)
        (ws / "ops" / "latency_state.json").unlink()
        unsampled = run_cli_in_process(
            _sample(ws),
            env=clean_env(OBS_NOW=NOW, OTEL_EXPORTER_OTLP_ENDPOINT=receiver.url, OTEL_TRACES_SAMPLER="always_off"),
        )
    summary = json.loads(done.stdout)
    assert summary["status"] == "error" and done.returncode == 1, done.stderr
    (root,) = [s for s in receiver.spans() if not s["parent_span_id"]]
    assert root["status"]["code"] == "STATUS_CODE_ERROR"
    assert root["status"]["message"].startswith(summary["diagnostics"]["error_code"])
    assert root["attributes"]["observability.status"] == "error"
    # Always-off sampling sends no trace; the metrics still go (to OTEL_EXPORTER_OTLP_ENDPOINT's /v1/metrics).
    assert unsampled.returncode == 0, unsampled.stderr
    assert len(receiver.requests["/v1/traces"]) == 1
    assert [m["attributes"]["status"] for m in receiver.metrics()[otel.JOB_DURATION]] == ["ok"]
    assert "warning" not in done.stderr + unsampled.stderr


def test_an_unreachable_endpoint_is_one_warning_line_and_the_exit_code_stays(tmp_path):
    ws = _workspace(tmp_path)
    env = clean_env(
        OBS_NOW=NOW, OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{_free_port()}", OTEL_EXPORTER_OTLP_TIMEOUT="0.5"
    )
    # A real process: in-process, pytest's log capture would swallow the SDK's own log lines, which a
    # real run prints through logging's last-resort handler unless they are silenced.
    done = subprocess.run(
        [sys.executable, "-m", "observability", *_sample(ws)], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 0 and json.loads(done.stdout)["status"] == "ok"
    warnings = [line for line in done.stderr.splitlines() if "OpenTelemetry" in line or "opentelemetry" in line]
    assert warnings == [
        "warning: latency: OpenTelemetry export failed (traces; endpoint unreachable or refused); telemetry dropped"
    ]
    assert "Traceback" not in done.stderr and "Transient error" not in done.stderr
    assert "Failed to export" not in done.stderr, done.stderr  # the SDK's own words, said once by the job instead


def test_enabled_without_the_extra_is_a_one_line_warning(monkeypatch, capsys):
    monkeypatch.setenv("OTEL_ENABLED", "true")
    monkeypatch.setitem(sys.modules, "opentelemetry", None)  # as if the [otel] extra were not installed
    otel.begin("latency")
    with otel.span("compute"):
        otel.count(otel.WEBHOOK_ATTEMPTS)
    otel.end({"job": "latency", "status": "ok"})
    err = capsys.readouterr().err
    assert err.splitlines() == [
        "warning: latency: OpenTelemetry is enabled (OTEL_*) but the [otel] extra is not installed "
        "(pip install 'observability[otel]'); no telemetry sent"
    ]


@pytest.mark.parametrize(
    ("environ", "on"),
    [
        ({}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": " "}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, True),
        ({"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": "http://collector:4318/v1/metrics"}, True),
        ({"OTEL_ENABLED": "TRUE"}, True),
        ({"OTEL_ENABLED": "false", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, True),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_SDK_DISABLED": "true"}, False),
    ],
)
def test_when_telemetry_is_on(environ, on):
    assert otel.enabled(environ) is on


def test_which_signals_are_exported():
    only_traces = {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4318/v1/traces"}
    assert otel._signal_on("traces", only_traces) and not otel._signal_on("metrics", only_traces)
    both = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_METRICS_EXPORTER": "none"}
    assert otel._signal_on("traces", both) and not otel._signal_on("metrics", both)
    assert otel._signal_on("metrics", {"OTEL_ENABLED": "true"})


def test_attributes_are_redacted_and_none_dropped():
    secrets.register(CANARY)
    try:
        assert otel.attributes({"a": f"x {CANARY}", "b": None, "c": 3, "d": True}) == {"a": "x ***", "c": 3, "d": True}
    finally:
        secrets.forget_all()


def test_off_a_span_is_a_shared_no_op(monkeypatch):
    for name in (*otel.ENDPOINT_ENV, "OTEL_ENABLED"):
        monkeypatch.delenv(name, raising=False)
    otel.begin("latency")
    assert otel.span("compute") is otel.span("writes")
    otel.count(otel.GITHUB_API_CALLS)
    otel.end({"job": "latency"})


def test_webhook_attempts_and_github_api_calls_are_counted_where_they_are_made(monkeypatch):
    from _support_github import FakeClock, FakeGitHub, Receiver, github_client
    from observability.outbound import delivery, signing
    from observability.outbound.retry import RetryPolicy

    webhook = Receiver()
    webhook.script = [(503, {}), (503, {})]  # two failures, then the default 200: three attempts
    try:
        with otlp_receiver() as receiver, FakeGitHub() as fake:
            monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url)
            otel.begin("weekly")
            with otel.span("delivery", kind="webhook"):
                sent = delivery.deliver(
                    webhook.url,
                    b"{}",
                    signing.SigningKeys((b"k" * 32,)),
                    webhook_id="w1",
                    checksum="c",
                    policy=RetryPolicy(max_attempts=5),
                    sleep=lambda seconds: None,
                )
            client = github_client(fake, FakeClock())
            client.create_label("otel", "ededed", "d")
            client.list_labels()
            client.close()
            otel.end({"job": "weekly", "job_id": "20260302T001530Z-weekly-0", "status": "ok", "duration_ms": 5})
    finally:
        webhook.close()
    assert sent.delivered and len(sent.attempts) == 3 == len(webhook.received)
    metrics = receiver.metrics()
    attempts = {m["attributes"]["outcome"]: m["value"] for m in metrics[otel.WEBHOOK_ATTEMPTS]}
    assert sum(attempts.values()) == 3 and attempts["delivered"] == 1 and len(attempts) == 2
    assert {m["attributes"]["job"] for m in metrics[otel.WEBHOOK_ATTEMPTS]} == {"weekly"}
    calls = {m["attributes"]["method"]: m["value"] for m in metrics[otel.GITHUB_API_CALLS]}
    assert calls == {"POST": 1, "GET": 1} and sum(calls.values()) == len(fake.requests)
    (delivery_span,) = [s for s in receiver.spans() if s["name"] == "delivery"]
    assert delivery_span["attributes"] == {"observability.kind": "webhook"}
