"""A real OTLP/HTTP receiver on 127.0.0.1 for the OpenTelemetry tests: it accepts POST /v1/traces and
/v1/metrics, gunzips a gzip body, and decodes the protobuf requests with opentelemetry-proto."""

from __future__ import annotations

import gzip
import http.server
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from google.protobuf.json_format import MessageToDict
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

MESSAGES = {
    "/v1/traces": (ExportTraceServiceRequest, ExportTraceServiceResponse),
    "/v1/metrics": (ExportMetricsServiceRequest, ExportMetricsServiceResponse),
}


class Receiver:
    """What the receiver was sent: decoded requests per path, and the raw headers of each."""

    def __init__(self) -> None:
        self.requests: dict[str, list[Any]] = {path: [] for path in MESSAGES}
        self.headers: list[dict[str, str]] = []
        self.url = ""

    def spans(self) -> list[dict[str, Any]]:
        """Every span received, flattened, with its resource's attributes under ``resource``."""
        found = []
        for request in self.requests["/v1/traces"]:
            for rs in request.resource_spans:
                resource = attributes(rs.resource.attributes)
                for ss in rs.scope_spans:
                    for span in ss.spans:
                        found.append(
                            {
                                "name": span.name,
                                "trace_id": span.trace_id.hex(),
                                "span_id": span.span_id.hex(),
                                "parent_span_id": span.parent_span_id.hex(),
                                "attributes": attributes(span.attributes),
                                "status": MessageToDict(span.status),
                                "resource": resource,
                            }
                        )
        return found

    def metrics(self) -> dict[str, list[dict[str, Any]]]:
        """Every metric received by name: its data points (value, attributes) and its kind."""
        found: dict[str, list[dict[str, Any]]] = {}
        for request in self.requests["/v1/metrics"]:
            for rm in request.resource_metrics:
                for sm in rm.scope_metrics:
                    for metric in sm.metrics:
                        kind = metric.WhichOneof("data")
                        for point in getattr(metric, kind).data_points:
                            entry: dict[str, Any] = {"kind": kind, "attributes": attributes(point.attributes)}
                            if kind == "histogram":
                                entry.update(count=point.count, sum=point.sum)
                            else:
                                entry["value"] = point.as_int if point.HasField("as_int") else point.as_double
                            found.setdefault(metric.name, []).append(entry)
        return found


def attributes(pairs) -> dict[str, Any]:
    """OTLP KeyValue pairs as a plain dict."""
    out: dict[str, Any] = {}
    for kv in pairs:
        which = kv.value.WhichOneof("value")
        out[kv.key] = getattr(kv.value, which) if which else None
    return out


@contextmanager
def otlp_receiver() -> Iterator[Receiver]:
    """Serve on an ephemeral 127.0.0.1 port; ``receiver.url`` is the OTEL_EXPORTER_OTLP_ENDPOINT."""
    receiver = Receiver()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            if self.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            message = MESSAGES.get(self.path)
            if message is None or self.headers.get("Content-Type") != "application/x-protobuf":
                self.send_response(404)
                self.end_headers()
                return
            request = message[0]()
            request.ParseFromString(body)
            receiver.requests[self.path].append(request)
            receiver.headers.append(dict(self.headers.items()))
            reply = message[1]().SerializeToString()
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's signature
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
