"""OpenTelemetry, opt-in: one trace and a few metrics per job over OTLP/HTTP (docs/otel-setup.md).

Off (no ``OTEL_EXPORTER_OTLP_*ENDPOINT``, ``OTEL_ENABLED`` not ``true``) every call here is a no-op and
no ``opentelemetry`` module is imported. On, ``begin`` opens the job's root span, ``span`` its children,
``count`` feeds a counter, and ``end`` exports the lot once, bounded by the exporter's timeout: telemetry
never fails a job nor changes its exit code, and a failed export is one warning line.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import threading
from collections.abc import Iterator, Mapping
from typing import Any

from observability import runner, secrets

ENDPOINT_ENV = (
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
)
SERVICE_NAME = "observability"
# Metric names (docs/otel-setup.md has the table).
JOB_DURATION = "observability.job.duration"  # seconds
SAMPLES_INGESTED = "observability.samples.ingested"
LATENCY_P95 = "observability.latency.p95_ms"
WEBHOOK_ATTEMPTS = "observability.webhook.attempts"
GITHUB_API_CALLS = "observability.github.api_calls"
# Metric attributes are plain label names (job, status, source, outcome, method): the collector turns them
# into Prometheus labels, and the local stack's dashboards query exactly these
# (ops-template/ops/observability/metrics.yaml; docs/grafana-guide.md). Span attributes keep the
# ``observability.`` prefix.

_NULL = contextlib.nullcontext()
_session: _Session | None = None


def enabled(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether this process exports telemetry: an OTLP endpoint is set or ``OTEL_ENABLED=true``, and
    the standard ``OTEL_SDK_DISABLED`` is not ``true``."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    if environ.get("OTEL_ENABLED", "").strip().lower() == "true":
        return True
    return any(environ.get(name, "").strip() for name in ENDPOINT_ENV)


def _signal_on(signal: str, environ: Mapping[str, str] = os.environ) -> bool:
    """Whether ``traces`` or ``metrics`` are exported: not when OTEL_<SIGNAL>_EXPORTER is ``none``, nor when
    only the other signal's endpoint is set (the SDK would send it to localhost:4318)."""
    if environ.get(f"OTEL_{signal.upper()}_EXPORTER", "").strip().lower() == "none":
        return False
    if (
        environ.get("OTEL_ENABLED", "").strip().lower() == "true"
        or environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip()
    ):
        return True
    return bool(environ.get(f"OTEL_EXPORTER_OTLP_{signal.upper()}_ENDPOINT", "").strip())


def span(name: str, **attributes: Any) -> contextlib.AbstractContextManager[Any]:
    """A child span of the job's trace around a step (``with otel.span("compute"):``); a shared no-op
    context when telemetry is off or no job is running."""
    if _session is None:
        return _NULL
    return _session.span(name, attributes)


def attempt_outcome(status: int | None) -> str:
    """A delivery attempt's ``outcome`` label: ``delivered`` (2xx), ``http_<code>``, or ``error`` (no answer)."""
    if status is None:
        return "error"
    return "delivered" if 200 <= status < 300 else f"http_{status}"


def count(name: str, value: int = 1, **attributes: Any) -> None:
    """Add ``value`` to the counter ``name`` of the running job (no-op when off)."""
    if _session is not None:
        _session.count(name, value, attributes)


def begin(job: str) -> None:
    """Start the job's trace when telemetry is on: the root span becomes the current span."""
    global _session
    _session = None
    if not enabled():
        return
    _register_header_secrets()
    try:
        _session = _Session(job)
    except ImportError:
        _warn(
            f"{job}: OpenTelemetry is enabled (OTEL_*) but the [otel] extra is not installed "
            "(pip install 'observability[otel]'); no telemetry sent"
        )
    except Exception as exc:  # noqa: BLE001 - telemetry never fails a job
        _warn(f"{job}: OpenTelemetry not started ({type(exc).__name__}: {exc}); no telemetry sent")


def end(summary: dict[str, Any]) -> None:
    """End the root span with the run's attributes and status, record the metrics from its summary,
    and export both (traces first; an export that fails skips the rest and warns once)."""
    global _session
    session, _session = _session, None
    if session is None:
        return
    try:
        session.finish(summary)
    except Exception as exc:  # noqa: BLE001 - telemetry never fails a job
        _warn(f"{summary.get('job')}: telemetry not sent ({type(exc).__name__}: {exc})")


def attributes(values: Mapping[str, Any]) -> dict[str, Any]:
    """Span and metric attributes: None dropped, every string through secret redaction."""
    clean: dict[str, Any] = {}
    for key, value in values.items():
        if value is None:
            continue
        if isinstance(value, (bool, int, float)):
            clean[key] = value
        else:
            clean[key] = secrets.redact(str(value))
    return clean


EXPORT_SLACK_S = 1.0  # added to the exporters' timeouts for the whole export (tests set 0)
_DEFAULT_TIMEOUT_S = 10.0  # the OTLP exporter's, when OTEL_EXPORTER_OTLP_*TIMEOUT is unset or garbage
_MAX_TIMEOUT_S = 60.0  # per signal: OTEL_EXPORTER_OTLP_TIMEOUT=inf must not mean for ever


def export_deadline(environ: Mapping[str, str] = os.environ) -> float:
    """Seconds the export of one job's telemetry may take: each signal's exporter timeout (seconds, as
    the SDK reads it; garbage is its default, 10) bounded to 60, summed, plus EXPORT_SLACK_S."""
    total = EXPORT_SLACK_S
    for signal in ("TRACES", "METRICS"):
        raw = environ.get(f"OTEL_EXPORTER_OTLP_{signal}_TIMEOUT") or environ.get("OTEL_EXPORTER_OTLP_TIMEOUT") or ""
        try:
            value = float(raw)
        except ValueError:
            value = _DEFAULT_TIMEOUT_S
        total += min(value, _MAX_TIMEOUT_S) if math.isfinite(value) and value > 0 else _DEFAULT_TIMEOUT_S
    return total


def _warn(message: str) -> None:
    sys.stderr.write(runner.inert(secrets.redact(f"warning: {message}")) + "\n")


def _register_header_secrets() -> None:
    """Values of OTEL_EXPORTER_OTLP_*HEADERS (``Authorization=Bearer ...``) are credentials."""
    from urllib.parse import unquote

    for name in (
        "OTEL_EXPORTER_OTLP_HEADERS",
        "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
        "OTEL_EXPORTER_OTLP_METRICS_HEADERS",
    ):
        for pair in os.environ.get(name, "").split(","):
            value = pair.partition("=")[2].strip()
            if value:
                secrets.register(value)
                secrets.register(unquote(value))
                secrets.register(unquote(value).split()[-1])  # the token after a scheme (``Bearer``)


@contextlib.contextmanager
def _quiet_sdk() -> Iterator[None]:
    """The SDK logs each retry and failure; the job says it once, in its own words.

    The level, not ``disabled``: a disabled logger still passes its children's records on to the
    handlers (logging's last resort prints them on stderr); a level above CRITICAL on the parent is
    the effective level of every child that sets none."""
    import logging

    # A level on the package's logger, not ``disabled``: that flag is not inherited, and the exporters log
    # through child loggers (``Failed to export spans batch code: 500, reason: <the collector's words>``).
    logger = logging.getLogger("opentelemetry")
    saved = logger.level
    logger.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        logger.setLevel(saved)


class _Session:
    """One job's tracer and meter, kept in memory until ``finish`` exports them in one request each."""

    def __init__(self, job: str):
        from opentelemetry import context, trace
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import SpanProcessor, TracerProvider

        from observability import __version__

        finished: list[Any] = []

        class Keep(SpanProcessor):
            """Holds the ended spans: a batch job exports once, at its end."""

            def on_end(self, span: Any) -> None:
                finished.append(span)

        resource = Resource.create({"service.version": __version__})
        if str(resource.attributes.get("service.name", "")).startswith("unknown_service"):
            resource = resource.merge(Resource({"service.name": SERVICE_NAME}))
        self.job = job
        self.spans = finished
        self.tracer_provider = TracerProvider(resource=resource, shutdown_on_exit=False)  # sampler: OTEL_TRACES_SAMPLER
        self.tracer_provider.add_span_processor(Keep())
        self.tracer = self.tracer_provider.get_tracer("observability", __version__)
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(resource=resource, metric_readers=[self.reader], shutdown_on_exit=False)
        self.meter = self.meter_provider.get_meter("observability", __version__)
        self.counters: dict[str, Any] = {}
        self.root = self.tracer.start_span(job, attributes={"observability.job.name": job})
        self._token = context.attach(trace.set_span_in_context(self.root))

    def span(self, name: str, attrs: dict[str, Any]) -> contextlib.AbstractContextManager[Any]:
        named = {key if "." in key else f"observability.{key}": value for key, value in attrs.items()}
        return self._span(name, attributes(named))

    @contextlib.contextmanager
    def _span(self, name: str, attrs: dict[str, Any]) -> Iterator[Any]:
        """A child span; an exception through it is recorded redacted (the SDK's own recording copies
        its message and stack trace, a webhook URL or a token in them included, into the trace)."""
        from opentelemetry.trace import Status, StatusCode

        with self.tracer.start_as_current_span(
            name, attributes=attrs, record_exception=False, set_status_on_exception=False
        ) as current:
            try:
                yield current
            except BaseException as exc:
                message = secrets.redact(f"{type(exc).__name__}: {exc}")
                current.add_event("exception", {"exception.type": type(exc).__name__, "exception.message": message})
                current.set_status(Status(StatusCode.ERROR, message))
                raise

    def count(self, name: str, value: int, attrs: dict[str, Any]) -> None:
        if name not in self.counters:
            self.counters[name] = self.meter.create_counter(name, unit="1")
        self.counters[name].add(value, attributes({"job": self.job, **attrs}))

    def finish(self, summary: dict[str, Any]) -> None:
        from opentelemetry import context
        from opentelemetry.trace import Status, StatusCode

        context.detach(self._token)
        status = summary.get("status")
        run = runner.run_context() or {}
        self.root.set_attributes(
            attributes(
                {
                    "observability.job.id": summary.get("job_id"),
                    "observability.status": status,
                    "observability.duration_ms": summary.get("duration_ms"),
                    "vcs.ref.head.revision": summary.get("commit_sha") or run.get("sha"),
                    "cicd.pipeline.name": run.get("workflow"),
                    "cicd.pipeline.run.id": run.get("run_id"),
                    "cicd.pipeline.run.url.full": run.get("run_url"),
                    "github.run_attempt": run.get("run_attempt"),
                }
            )
        )
        if status == "error":
            diagnostics = summary.get("diagnostics") or {}
            reason = ": ".join(str(x) for x in (diagnostics.get("error_code"), diagnostics.get("error_message")) if x)
            self.root.set_status(Status(StatusCode.ERROR, secrets.redact(reason) or "error"))
        self.root.end()
        self._record(summary)
        # The exporter's timeout bounds each socket read, not the request: a collector that trickles its
        # answer a byte at a time (slowloris) would hold the job for ever. The export runs in a daemon
        # thread given the exporter timeouts of both signals plus EXPORT_SLACK_S, then is abandoned.
        limit = export_deadline()
        worker = threading.Thread(target=self._export, name="otel-export", daemon=True)
        worker.start()
        worker.join(limit)
        if worker.is_alive():
            _warn(f"{self.job}: OpenTelemetry export did not finish within {limit:g} s; telemetry dropped")

    def _record(self, summary: dict[str, Any]) -> None:
        common = attributes({"job": self.job, "status": summary.get("status")})
        duration = summary.get("duration_ms")
        if isinstance(duration, int):
            self.meter.create_histogram(JOB_DURATION, unit="s").record(duration / 1000, common)
        samples = summary.get("samples_written")
        if isinstance(samples, int) and not isinstance(samples, bool):
            self.meter.create_counter(SAMPLES_INGESTED, unit="1").add(samples, attributes({"job": self.job}))
        sources = summary.get("sources")
        if isinstance(sources, list):
            gauge = self.meter.create_gauge(LATENCY_P95, unit="")  # "_ms" is in the name: no unit suffix added
            for entry in sources:
                if isinstance(entry, dict) and isinstance(entry.get("p95_latency_ms"), (int, float)):
                    gauge.set(entry["p95_latency_ms"], attributes({"source": entry.get("source")}))

    def _export(self) -> None:
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.metrics.export import MetricExportResult
        from opentelemetry.sdk.trace.export import SpanExportResult

        with _quiet_sdk():
            if self.spans and _signal_on("traces"):  # no spans when the sampler dropped this trace
                spans = OTLPSpanExporter()
                try:
                    sent = spans.export(self.spans) is SpanExportResult.SUCCESS
                finally:
                    spans.shutdown()
                if not sent:
                    _warn(
                        f"{self.job}: OpenTelemetry export failed (traces; endpoint unreachable or refused); telemetry dropped"
                    )
                    return
            data = self.reader.get_metrics_data()
            if not _signal_on("metrics") or data is None or not data.resource_metrics:
                return
            metrics = OTLPMetricExporter()
            try:
                sent = metrics.export(data) is MetricExportResult.SUCCESS
            finally:
                metrics.shutdown()
            if not sent:
                _warn(
                    f"{self.job}: OpenTelemetry export failed (metrics; endpoint unreachable or refused); telemetry dropped"
                )
