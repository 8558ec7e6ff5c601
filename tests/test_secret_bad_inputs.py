"""Secrets in other spellings: a server that echoes a credential back URL-encoded, form-encoded or
JSON-escaped must not get it into any output (issue 10, items 8 and 9), through the real CLI in real
processes against a real HTTP server on 127.0.0.1.
"""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler
from urllib.parse import quote, unquote, urlsplit

import pytest

from _support_latency import http_server
from _support_robust import clean_env, run_cli, summary
from _support_weekly import PLAIN_SECRET, WEEK, inputs_workspace

ENDED = "2026-01-12T00:07:00Z"


class _EchoToken(BaseHTTPRequestHandler):
    """A careless receiver: 400 with an error body that quotes the token back in several spellings."""

    def do_POST(self):  # noqa: N802 - http.server API
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        raw = urlsplit(self.path).query.partition("=")[2]  # as it came on the wire (percent-encoded)
        body = json.dumps(
            {"error": f"invalid token {raw}", "decoded": unquote(raw), "php": unquote(raw).replace("/", "\\/")}
        ).encode()
        self.send_response(400)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def echo_server():
    with http_server(_EchoToken) as url:
        yield url


# Base64-style tokens hold '+', '/' and '='; a token may also hold characters a URL must escape.
@pytest.mark.parametrize("token", ["Zm9vYmFy+cXV4PT0/abcdef12==", "tøken-sécret-0123456789"], ids=["base64", "unicode"])
def test_a_webhook_token_echoed_back_in_another_spelling_leaks_nowhere(tmp_path, echo_server, token):
    ws = inputs_workspace(tmp_path / "ws")
    url = f"{echo_server}/hook?token={quote(token, safe='')}"
    done = run_cli(
        [
            "weekly",
            "report",
            "--workspace",
            str(ws),
            "--week-start",
            WEEK,
            "--max-retries",
            "1",
            "--retry-wait-seconds",
            "0",
        ],
        env=clean_env(OBS_NOW=ENDED, OBS_WEEKLY_WEBHOOK_URL=url, OBS_WEBHOOK_SECRET=PLAIN_SECRET),
    )
    assert done.returncode == 1, done.stderr
    result = summary(done)
    assert result["diagnostics"]["error_code"] == "webhook_delivery_failed", result["diagnostics"]
    spellings = {
        token,
        quote(token, safe=""),
        quote(token),
        token.replace("/", "\\/"),
        json.dumps(token)[1:-1],
        json.dumps(token)[1:-1].replace("/", "\\/"),
    }
    outputs = {"stdout": done.stdout, "stderr": done.stderr}
    outputs.update(
        {
            str(p.relative_to(ws)): p.read_text(encoding="utf-8", errors="replace")
            for p in ws.rglob("*")
            if p.is_file() and p.parts[len(ws.parts)] in ("ops", "out")
        }
    )
    leaks = sorted((where, spelling) for where, text in outputs.items() for spelling in spellings if spelling in text)
    assert not leaks, f"the token leaked: {leaks[:5]}"
    assert "***" in done.stdout  # the body excerpt is still shown, scrubbed
