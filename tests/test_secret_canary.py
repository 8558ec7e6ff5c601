"""A canary secret in a probe URL must never show up in any output, artefact or GitHub file.

The canary travels where secrets come from (an env var named by ``probes[].url_env`` and a
``--probe NAME=URL`` flag) to a real HTTP server on 127.0.0.1 that fails in different ways.
Under GitHub Actions the only place it may appear is an ``::add-mask::`` line on stderr.
"""

from __future__ import annotations

import http.server
import secrets
import socket
import threading
import time
from pathlib import Path

import pytest

from tests._support_robust import clean_env, run_cli, summary

CONFIG = """\
probes:
  - name: feed_env
    url_env: OBS_CANARY_FEED_URL
    timeout_seconds: 0.4
"""


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server API
        if self.path.startswith("/slow"):
            time.sleep(1.5)
        status = 200 if self.path.startswith("/ok") else 500
        body = f"echo {self.path}".encode()  # a server that reflects the token back
        try:
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            pass

    def log_message(self, *args):  # keep the test output quiet
        pass


@pytest.fixture(scope="module")
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    (ws / "configs" / "observability").mkdir(parents=True)
    (ws / "configs" / "observability" / "latency_alert.yaml").write_text(CONFIG, encoding="utf-8")
    return ws


def _assert_nowhere(canary: str, tmp_path: Path, done, *, github: bool) -> None:
    assert canary not in done.stdout, "canary on stdout"
    lines = done.stderr.splitlines()
    leaked = [line for line in lines if canary in line and not line.startswith("::add-mask::")]
    assert not leaked, f"canary on stderr outside ::add-mask::: {leaked[:3]}"
    masks = [i for i, line in enumerate(lines) if line.startswith("::add-mask::") and canary in line]
    if github:
        assert masks, f"canary never masked on GitHub:\n{done.stderr}"
        others = [i for i, line in enumerate(lines) if not line.startswith("::add-mask::")]
        assert not others or masks[0] < others[0], "something was printed before the secret was masked"
    else:
        assert not masks and canary not in done.stderr, "::add-mask:: printed off GitHub"
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert canary.encode() not in path.read_bytes(), f"canary written to {path.relative_to(tmp_path)}"


def _github_env(tmp_path: Path, **extra: str) -> dict:
    gh = tmp_path / "github"
    gh.mkdir(exist_ok=True)
    return clean_env(GITHUB_ACTIONS="true", GITHUB_OUTPUT=str(gh / "output"), GITHUB_STEP_SUMMARY=str(gh / "summary"),
                     GITHUB_REPOSITORY="acme/obs", GITHUB_RUN_ID="42", GITHUB_EVENT_NAME="schedule",
                     GITHUB_SHA="0" * 40, **extra)


@pytest.fixture
def canary() -> str:
    return "canary" + secrets.token_hex(16)


@pytest.mark.parametrize("github", [True, False], ids=["github", "local"])
@pytest.mark.parametrize("failure", ["http_500", "timeout", "refused"])
def test_probe_failures_never_reveal_the_url_token(tmp_path, server, canary, failure, github):
    ws = _workspace(tmp_path)
    base = {"http_500": server + "/health", "timeout": server + "/slow", "refused": f"http://127.0.0.1:{_closed_port()}/health"}[failure]
    env_url = f"{base}?token={canary}"
    flag_url = f"{server}/health?token={canary}&via=flag"
    extra = {"OBS_CANARY_FEED_URL": env_url}
    env = _github_env(tmp_path, **extra) if github else clean_env(**extra)
    done = run_cli(["latency", "sample", "--workspace", str(ws), "--probe", f"feed_flag={flag_url}"], env=env)
    assert done.returncode == 0, done.stderr
    result = summary(done)
    assert result["status"] in ("ok", "warning"), result
    assert result["samples_written"] == 2
    assert {s["source"] for s in result["sources"]} == {"feed_env", "feed_flag"}
    _assert_nowhere(canary, tmp_path, done, github=github)
    if github:
        outputs = (tmp_path / "github" / "output").read_text(encoding="utf-8")
        assert "status<<" in outputs  # the GitHub files were really written (and checked above)
        assert (tmp_path / "github" / "summary").stat().st_size > 0


def test_probe_that_succeeds_keeps_the_token_out_too(tmp_path, server, canary):
    ws = _workspace(tmp_path)
    env = _github_env(tmp_path, OBS_CANARY_FEED_URL=f"{server}/ok?token={canary}")
    done = run_cli(["latency", "sample", "--workspace", str(ws)], env=env)
    assert done.returncode == 0, done.stderr
    assert summary(done)["sources"][0]["status"] == "ok"
    _assert_nowhere(canary, tmp_path, done, github=True)


@pytest.mark.parametrize("github", [True, False], ids=["github", "local"])
def test_invalid_probe_url_from_env_does_not_leak(tmp_path, canary, github):
    """A URL that is set but cannot even be parsed (the canary sits in an over-long host label)."""
    ws = _workspace(tmp_path)
    url = f"http://{'a' * 40}{canary}.example/health?token={canary}"
    env = (_github_env if github else lambda _t, **e: clean_env(**e))(tmp_path, OBS_CANARY_FEED_URL=url)
    done = run_cli(["latency", "sample", "--workspace", str(ws)], env=env)
    _assert_nowhere(canary, tmp_path, done, github=github)
    # A probe reports a broken URL as a failed sample; it does not take the whole job down.
    assert done.returncode == 0, done.stdout + done.stderr
    result = summary(done)
    assert result["sources"][0]["source"] == "feed_env"
    assert result["diagnostics"].get("error_code") is None


@pytest.mark.parametrize("github", [True, False], ids=["github", "local"])
@pytest.mark.parametrize("form", ["empty_name", "no_name"])
def test_malformed_probe_flag_does_not_echo_the_url(tmp_path, canary, form, github):
    """``--probe "${NAME}=${URL}"`` with NAME unset, or ``--probe "$URL"``: a usage error, never a leak."""
    ws = _workspace(tmp_path)
    url = f"http://127.0.0.1:9/health?token={canary}"
    flag = {"empty_name": f"={url}", "no_name": url}[form]
    env = _github_env(tmp_path, OBS_CANARY_FEED_URL="http://127.0.0.1:9/") if github else clean_env(
        OBS_CANARY_FEED_URL="http://127.0.0.1:9/")
    done = run_cli(["latency", "sample", "--workspace", str(ws), "--probe", flag], env=env)
    assert done.returncode == 2, done.stdout + done.stderr
    result = summary(done)
    assert result["diagnostics"]["error_code"] == "invalid_config"
    assert "--probe" in result["diagnostics"]["error_message"]
    _assert_nowhere(canary, tmp_path, done, github=github)
