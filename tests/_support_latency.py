"""Shared helpers for the latency tests: run the CLI in-process, write upstream logs, read artefacts."""

from __future__ import annotations

import csv
import gzip
import io
import json
import threading
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from click.testing import CliRunner
from jsonschema import Draft202012Validator, FormatChecker

from _support_cli import Run  # noqa: F401  (re-exported for the tests)
from observability.cli import cli

REPO = Path(__file__).resolve().parents[1]
SCHEMAS = REPO / "schemas"
UTC = UTC
CURRENT_HEADER = "timestamp_utc,latency_ms,status,detail,source\n"
LEGACY_HEADER = "signal_id,ts_emit,ts_ack,status,detail\n"


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def run_latency(ws: Path, *args: str, now: datetime | str, env: dict | None = None) -> Run:
    """``observability latency sample --workspace ws ARGS`` with OBS_NOW fixed; stdout and stderr apart."""
    environ = {
        "OBS_NOW": now if isinstance(now, str) else iso(now),
        "GITHUB_ACTIONS": None,
        "LATENCY_SLO_MS": None,
        "OBS_WORKSPACE": None,
        "GITHUB_OUTPUT": None,
        "GITHUB_STEP_SUMMARY": None,
    }
    environ.update(env or {})
    result = CliRunner().invoke(
        cli, ["latency", "sample", "--workspace", str(ws), *args], env=environ, catch_exceptions=True
    )
    return Run(result)


def ok_run(ws: Path, *args: str, now, env=None) -> dict:
    run = run_latency(ws, *args, now=now, env=env)
    assert run.exit_code == 0, run
    assert run.summary is not None, run
    assert run.summary["status"] in ("ok", "warning"), run
    return run.summary


def current_row(
    stamp: datetime | str, latency_ms: float, status: str = "success", detail: str = "", source: str = "feed_a"
) -> str:
    stamp = stamp if isinstance(stamp, str) else iso(stamp)
    return f"{stamp},{latency_ms},{status},{detail},{source}\n"


def write_log(path: Path, rows: list[str], header: str = CURRENT_HEADER) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(header + "".join(rows), encoding="utf-8")


def append_log(path: Path, rows: list[str]) -> None:
    with open(path, "a", encoding="utf-8") as handle:
        handle.write("".join(rows))


def _parse_raw(text: str) -> list[dict]:
    return [row for row in csv.DictReader(io.StringIO(text))]


def raw_rows(ws: Path, name: str = "ops/signal_latency.csv") -> list[dict]:
    path = ws / name
    return _parse_raw(path.read_text(encoding="utf-8")) if path.exists() else []


def archive_rows(ws: Path) -> list[dict]:
    out = []
    for archive in sorted((ws / "ops" / "signal_latency_archive").rglob("*.csv.gz")):
        out.extend(_parse_raw(gzip.decompress(archive.read_bytes()).decode("utf-8")))
    return out


def row_key(row: dict) -> tuple:
    return (row["timestamp_utc"], row["source"], round(float(row["latency_ms"]), 3), row["status"])


def rollup_rows(ws: Path) -> list[dict]:
    """Every rollup row, oldest first: the day files under ops/signal_latency_rollup/ joined."""
    out = []
    for part in sorted((ws / "ops" / "signal_latency_rollup").glob("*.csv")):
        out.extend(_parse_raw(part.read_text(encoding="utf-8")))
    return out


def heartbeat(ws: Path) -> dict:
    return json.loads((ws / "ops" / "latency_job_heartbeat.json").read_text(encoding="utf-8"))


def validator(name: str) -> Draft202012Validator:
    schema = json.loads((SCHEMAS / f"{name}.schema.json").read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=FormatChecker())


def assert_valid(name: str, document) -> None:
    errors = sorted(validator(name).iter_errors(document), key=lambda e: list(e.absolute_path))
    assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors]


def alert_file(ws: Path, job_id: str) -> list[dict]:
    """Alerts of out/latency_alerts/<job_id>.json, each validated against alert_item.schema.json."""
    doc = json.loads((ws / "out" / "latency_alerts" / f"{job_id}.json").read_text(encoding="utf-8"))
    assert doc["job_id"] == job_id
    for item in doc["alerts"]:
        assert_valid("alert_item", item)
    return doc["alerts"]


def write_config(ws: Path, text: str) -> Path:
    path = ws / "configs" / "observability" / "latency_alert.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@contextmanager
def http_server(handler_cls: type[BaseHTTPRequestHandler]):
    """A real HTTP server on 127.0.0.1 (port 0) in a thread; yields its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_cls)
    server.daemon_threads = True
    server.block_on_close = False
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)
