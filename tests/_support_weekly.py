"""Shared helpers for the weekly tests: workspaces, the CLI in-process, a signature-checking receiver."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import shutil
import socket
import struct
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from click.testing import CliRunner
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from _support_cli import Run  # noqa: F401  (re-exported for the tests)
from observability.cli import cli
from observability.resources import template_dir
from observability.samplegen import weekly as samplegen

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(os.environ.get("OBS_TEST_UPSTREAM_FIXTURES") or REPO.parent / "shared" / "fixtures" / "upstream")
NOW = "2026-01-08T00:07:00Z"  # the demo clock (observability.samplegen.notifier.SAMPLE_NOW)
WEEK = "2026-01-05"
PLAIN_SECRET = "test-secret-not-a-real-one"
WHSEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # base64 of 24 random-looking bytes


BASE_ENV = {
    "GITHUB_ACTIONS": None,
    "GITHUB_OUTPUT": None,
    "GITHUB_STEP_SUMMARY": None,
    "OBS_WORKSPACE": None,
    "OBS_WEEKLY_WEBHOOK_URL": None,
    "OBS_WEBHOOK_SECRET": None,
    "LATENCY_SLO_MS": None,
}


def run_cli(args: list[str], *, now: str = NOW, env: dict | None = None) -> Run:
    environ = {**BASE_ENV, "OBS_NOW": now, **(env or {})}
    return Run(CliRunner().invoke(cli, args, env=environ, catch_exceptions=True))


def weekly(ws: Path, command: str, *args: str, now: str = NOW, env: dict | None = None) -> Run:
    return run_cli(["weekly", command, "--workspace", str(ws), *args], now=now, env=env)


def inputs_workspace(
    root: Path, *, rollup_days: int = 14, rollup_end: datetime = datetime(2026, 1, 8, tzinfo=UTC)
) -> Path:
    """Synthetic upstream inputs plus hourly rollups ending at the demo clock (or ``rollup_end``)."""
    root.mkdir(parents=True, exist_ok=True)
    samplegen.write_inputs(root)
    samplegen.write_rollups(root / "ops" / "signal_latency_rollup.csv", end=rollup_end, days=rollup_days)
    return root


def sample_workspace(root: Path) -> Path:
    """A copy of the bundled ops-template after the latency job ran over its sample logs (as the demo)."""
    shutil.copytree(template_dir(), root)
    run = run_cli(
        [
            "latency",
            "sample",
            "--workspace",
            str(root),
            "--dry-run-alert",
            "--input",
            "sample/signal_notifier.csv",
            "--input",
            "sample/signal_notifier.legacy.csv",
        ]
    )
    assert run.exit_code == 0, run
    return root


def fixtures_workspace(root: Path) -> Path:
    """The real upstream files copied into ``root`` (never into the repository), latency rolled up."""
    for name in ("runs", "reports", "ops"):
        shutil.copytree(FIXTURES / name, root / name)
    (root / "logs").mkdir()
    shutil.move(root / "ops" / "signal_latency.csv", root / "logs" / "signal_latency.csv")
    run = run_cli(
        ["latency", "sample", "--workspace", str(root), "--input", "logs/signal_latency.csv"],
        now="2025-10-13T01:00:00Z",
    )
    assert run.exit_code in (0,), run
    return root


# -- a webhook receiver on 127.0.0.1 --------------------------------------------------------


@dataclass
class Received:
    path: str
    headers: dict
    body: bytes
    obs_signature_ok: bool
    standard_signature_ok: bool
    at: float


@dataclass
class Receiver:
    """Plays ``script`` (one step per request, the last repeats) and checks both signatures.

    A step is an int status, ``(status, headers)``, ``"hang"`` (never answers in time),
    ``"reset"`` (closes the connection with a TCP RST) or ``"echo"`` (500 reflecting the request). A request whose signature does not
    verify is answered 401 whatever the script says.
    """

    obs_key: bytes
    standard_secret: str | bytes
    script: list = field(default_factory=lambda: [200])
    hang_seconds: float = 2.0
    requests: list[Received] = field(default_factory=list)
    other_paths: list[str] = field(default_factory=list)
    url: str = ""

    def next_step(self):
        index = len(self.requests) - 1
        return self.script[min(index, len(self.script) - 1)]


def _handler(receiver: Receiver):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):  # noqa: N802 - http.server API
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            if not self.path.startswith("/hook"):
                receiver.other_paths.append(self.path)
                self._answer(200, {})
                return
            headers = {k: v for k, v in self.headers.items()}
            expected = hmac.new(receiver.obs_key, body, hashlib.sha256).hexdigest()
            obs_ok = hmac.compare_digest(expected, headers.get("X-OBS-Signature", ""))
            try:
                Webhook(receiver.standard_secret).verify(body, headers)
                std_ok = True
            except WebhookVerificationError:
                std_ok = False
            receiver.requests.append(Received(self.path, headers, body, obs_ok, std_ok, time.time()))
            step = receiver.next_step()
            if not (obs_ok and std_ok):
                self._answer(401, {}, b"bad signature")
            elif step == "hang":
                time.sleep(receiver.hang_seconds)
                self._answer(200, {})
            elif step == "echo":  # a careless server that reflects the request (token, signatures) back
                self._answer(500, {}, json.dumps({"path": self.path, "headers": headers}).encode())
            elif step == "reset":
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.connection.close()
                self.close_connection = True
            elif isinstance(step, tuple):
                self._answer(step[0], step[1])
            else:
                self._answer(step, {"Location": f"{receiver.url}/elsewhere"} if 300 <= step < 400 else {})

        def _answer(self, status: int, headers: dict, body: bytes = b'{"ok": true}') -> None:
            try:
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except OSError:
                pass

        def log_message(self, *args):
            pass

    return Handler


@contextmanager
def receiver(
    script: list,
    *,
    obs_key: bytes = PLAIN_SECRET.encode(),
    standard_secret: str | bytes | None = None,
    hang_seconds: float = 2.0,
):
    rec = Receiver(obs_key, standard_secret if standard_secret is not None else obs_key, list(script), hang_seconds)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(rec))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    rec.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield rec
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def delivery_env(rec: Receiver, secret: str = PLAIN_SECRET, path: str = "/hook") -> dict:
    return {"OBS_WEEKLY_WEBHOOK_URL": rec.url + path, "OBS_WEBHOOK_SECRET": secret}


def history_dir(ws: Path) -> Path:
    return ws / "ops" / "weekly_report_history"


def read_json(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


def log_lines(ws: Path) -> list[dict]:
    return [json.loads(line) for line in (ws / "ops" / "automation_runs.log").read_text().splitlines() if line]


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def later(text: str, **delta) -> str:
    return (utc(text) + timedelta(**delta)).strftime("%Y-%m-%dT%H:%M:%SZ")
