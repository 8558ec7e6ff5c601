"""Adversarial cases against the OpenTelemetry export (observability/otel.py): a secret in an exception
raised through a span, and a collector that trickles its answer (slowloris)."""

from __future__ import annotations

import pytest

pytest.importorskip("opentelemetry.sdk", reason="the [otel] extra is not installed: pip install -e '.[otel]'")

from _support_otlp import otlp_receiver  # noqa: E402
from observability import otel, secrets  # noqa: E402

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
