"""Helpers for the inputs tests: a real HTTP file server on 127.0.0.1, bare git repositories, the CLI."""

from __future__ import annotations

import hashlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from click.testing import CliRunner

from _support_cli import Run
from observability.cli import cli

CANARY_HEADER = "Bearer canary-HTTP-TOKEN-7f3a9c2e1b5d4f60"
CANARY_GIT_TOKEN = "ghs_canaryGITTOKEN0123456789abcdefXYZ"


class FileServer:
    """Serves ``files`` (path -> bytes) with ETag, Last-Modified, Range, If-Match and If-None-Match,
    the way S3 and common web servers answer; counts requests and body bytes sent."""

    def __init__(self, *, require_auth: str | None = None, honour_range: bool = True):
        self.files: dict[str, bytes] = {}
        self.require_auth = require_auth
        self.honour_range = honour_range
        self.requests: list[dict] = []
        self.bytes_sent = 0
        self.fail_status: dict[str, int] = {}
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body are separate writes: no 40 ms delayed-ACK stall

            def log_message(self, *args):
                pass

            def do_GET(self):  # noqa: N802 - http.server API
                with server.lock:
                    server.requests.append({"path": self.path, "headers": dict(self.headers)})
                    body = server.files.get(self.path.split("?")[0])
                    fail = server.fail_status.get(self.path.split("?")[0])
                if fail:
                    return self._send(fail, b"failure", {})
                if server.require_auth and self.headers.get("Authorization") != server.require_auth:
                    return self._send(401, b"no", {})
                if body is None:
                    return self._send(404, b"not found", {})
                etag = '"' + hashlib.md5(body).hexdigest() + '"'
                headers = {"ETag": etag, "Last-Modified": "Sat, 28 Nov 2026 00:00:00 GMT"}
                if self.headers.get("If-None-Match") == etag:
                    return self._send(304, b"", headers)
                if self.headers.get("If-Match") not in (None, etag):
                    return self._send(412, b"", headers)
                wanted = self.headers.get("Range")
                if wanted and server.honour_range:
                    start_text, _, end_text = wanted.split("=", 1)[1].partition("-")
                    start = int(start_text)
                    end = min(int(end_text), len(body) - 1) if end_text else len(body) - 1
                    if start >= len(body):
                        return self._send(416, b"", {**headers, "Content-Range": f"bytes */{len(body)}"})
                    return self._send(
                        206, body[start : end + 1], {**headers, "Content-Range": f"bytes {start}-{end}/{len(body)}"}
                    )
                return self._send(200, body, headers)

            def _send(self, status, payload, headers):
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                if status != 304:
                    self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if status != 304:
                    self.wfile.write(payload)
                    with server.lock:
                        server.bytes_sent += len(payload)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> FileServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def base_env(**extra) -> dict:
    env = {
        "GITHUB_ACTIONS": None,
        "GITHUB_OUTPUT": None,
        "GITHUB_STEP_SUMMARY": None,
        "OBS_WORKSPACE": None,
        "OBS_NOW": "2026-11-28T01:00:00Z",
        "GITHUB_TOKEN": None,
        "GH_TOKEN": None,
        "GITHUB_API_URL": None,
    }
    env.update(extra)
    return env


def pull(ws: Path, *args: str, env: dict | None = None) -> Run:
    """``observability inputs pull --workspace ws ARGS`` in-process."""
    result = CliRunner().invoke(
        cli, ["inputs", "pull", "--workspace", str(ws), *args], env=base_env(**(env or {})), catch_exceptions=True
    )
    return Run(result)


def write_config(ws: Path, text: str) -> Path:
    path = ws / "configs" / "observability" / "inputs.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def git(*args: str, cwd: Path | None = None) -> str:
    import subprocess

    done = subprocess.run(
        ["git", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
        env={
            "PATH": "/usr/bin:/bin:/usr/local/bin",
            "GIT_CONFIG_NOSYSTEM": "1",
            "HOME": "/nonexistent",
            "GIT_AUTHOR_NAME": "t",
            "GIT_AUTHOR_EMAIL": "t@example.invalid",
            "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@example.invalid",
        },
    )
    return done.stdout


def research_repo(tmp: Path, files: dict[str, bytes | str]) -> tuple[Path, str]:
    """A bare repository holding ``files`` (the upstream research repository); returns (path, commit)."""
    work = tmp / "research-work"
    work.mkdir(parents=True, exist_ok=True)
    for rel, data in files.items():
        path = work / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data if isinstance(data, bytes) else data.encode())
    git("init", "--quiet", "-b", "main", str(work))
    git("add", "-A", cwd=work)
    git("commit", "--quiet", "-m", "research outputs", cwd=work)
    bare = tmp / "research.git"
    git("clone", "--quiet", "--bare", str(work), str(bare))
    git("config", "uploadpack.allowFilter", "true", cwd=bare)
    return bare, git("rev-parse", "HEAD", cwd=work).strip()


def repo_inputs_config(bare: Path, extra: str = "") -> str:
    """inputs.yaml taking runs/, reports/ and ops/state_archive/ from the research repository ``bare``."""
    return f"""
inputs:
  - name: runs
    destination: runs
    repository: {{url: "git+file://{bare}", ref: main, path: runs}}
  - name: reports
    destination: reports
    repository: {{url: "git+file://{bare}", ref: main, path: reports}}
  - name: state-archive
    destination: ops/state_archive
    repository: {{url: "git+file://{bare}", ref: main, path: ops/state_archive}}
{extra}"""
