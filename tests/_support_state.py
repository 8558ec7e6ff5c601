"""Shared helpers for the state-store tests: workspaces, the CLI in-process, and real stores on loopback.

Stores are real: a directory, moto's S3 server on 127.0.0.1 (skipped with a reason when
``moto[server]`` is not installed), and a bare git repository under tmp_path.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from _support_cli import Run  # noqa: F401  (re-exported for the tests)
from observability.cli import cli

CANARY_SECRET = "canary-AWS-SECRET-0b7d1e5f9a2c4e6b8d0f"
BUCKET = "obs-state"
BACKENDS = ("file", "s3", "git")


def base_env(**extra) -> dict:
    env = {
        "GITHUB_ACTIONS": None,
        "GITHUB_OUTPUT": None,
        "GITHUB_STEP_SUMMARY": None,
        "OBS_WORKSPACE": None,
        "OBS_NOW": None,
        "OBS_STATE_STORE": None,
        "OBS_S3_ENDPOINT_URL": None,
        "GITHUB_TOKEN": None,
    }
    env.update(extra)
    return env


def state(ws: Path, command: str, *args: str, env: dict | None = None) -> Run:
    """``observability state COMMAND --workspace ws ARGS`` in-process; stdout and stderr kept apart."""
    result = CliRunner().invoke(
        cli, ["state", command, "--workspace", str(ws), *args], env=base_env(**(env or {})), catch_exceptions=True
    )
    return Run(result)


def ok(ws: Path, command: str, store: str, *args: str, env: dict | None = None, status=("ok",)) -> dict:
    run = state(ws, command, "--store", store, *args, env=env)
    assert run.exit_code == 0, run
    assert run.summary["status"] in status, run
    return run.summary


def make_workspace(root: Path, files: dict[str, str] | None = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for rel, text in (files or {}).items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def synced_files(ws: Path) -> dict[str, bytes]:
    """Every file under ops/ that a snapshot holds, with its bytes."""
    from observability.state.selection import scan

    return {path: (ws / path).read_bytes() for path in scan(ws)}


def all_files(ws: Path) -> dict[str, bytes]:
    return {p.relative_to(ws).as_posix(): p.read_bytes() for p in sorted(ws.rglob("*")) if p.is_file()}


def log_lines(ws: Path) -> list[dict]:
    path = ws / "ops" / "automation_runs.log"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def git(*args: str, cwd: Path | None = None) -> str:
    done = subprocess.run(
        ["git", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin:/usr/local/bin", "GIT_CONFIG_NOSYSTEM": "1", "HOME": "/nonexistent"},
    )
    return done.stdout


# --- S3 server (moto) ------------------------------------------------------------------------------


def _untraced(app):
    """``app`` with the tracer off in each request's thread: moto is not the code under test, and under
    --cov coverage's tracer (which every new thread inherits) would see each of its calls, a third of
    what an S3 test costs, for no measured line."""

    def serve(environ, start_response):
        sys.settrace(None)
        return app(environ, start_response)

    return serve


@pytest.fixture(scope="session")
def s3_server():
    """A moto S3 server on 127.0.0.1, shared by the session; yields its endpoint URL."""
    try:
        from moto.server import ThreadedMotoServer
    except ImportError as exc:  # pragma: no cover - the reason is printed by -ra
        pytest.skip(f"moto[server] is not installed ({exc}); pip install -e '.[test]'")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    server._server.app = _untraced(server._server.app)  # noqa: SLF001 - werkzeug's server, made by start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def s3_env(endpoint: str) -> dict:
    return {
        "OBS_S3_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": CANARY_SECRET,
        "AWS_SESSION_TOKEN": None,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_MAX_ATTEMPTS": "1",
        "AWS_PROFILE": None,
        "AWS_CONFIG_FILE": "/nonexistent",
        "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
    }


def s3_client(endpoint: str):
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key=CANARY_SECRET,
    )


_bucket_counter = iter(range(10**6))


def fresh_bucket(endpoint: str) -> str:
    name = f"{BUCKET}-{next(_bucket_counter)}"
    s3_client(endpoint).create_bucket(Bucket=name)
    return name


# --- one store of each kind ------------------------------------------------------------------------


class StoreFactory:
    """Hands out an empty store of one kind: its URL, the environment it needs, and raw access to it."""

    def __init__(self, kind: str, tmp_path: Path, request):
        self.kind = kind
        self.tmp_path = tmp_path
        self.env: dict = {}
        if kind == "s3":
            self.endpoint = request.getfixturevalue("s3_server")
            self.env = s3_env(self.endpoint)

    def new(self, name: str = "store", *, init: bool = True) -> str:
        """A new store's URL; created with ``state init`` unless ``init`` is False (a URL naming nothing)."""
        if self.kind == "file":
            url = (self.tmp_path / name).as_uri()
        elif self.kind == "s3":
            url = f"s3://{fresh_bucket(self.endpoint)}/team/{name}"
        else:
            repo = self.tmp_path / f"{name}.git"
            git("init", "--bare", "--quiet", str(repo))
            url = f"git+file://{repo}#observability-state"
        if init:
            init_store(url, self.env)
        return url


def init_store(url: str, env: dict | None = None) -> None:
    """Create the store as ``observability state init`` does (through the library: no workspace needed)."""
    import os
    from unittest import mock

    from observability.state.backends import open_store

    environ = {k: v for k, v in {**os.environ, **(env or {})}.items() if v is not None}
    with mock.patch.dict(os.environ, environ, clear=True):  # boto3 reads the AWS_* variables itself
        store = open_store(url, environ)
        try:
            store.initialise()
        finally:
            store.close()


@pytest.fixture(params=BACKENDS)
def stores(request, tmp_path) -> StoreFactory:
    return StoreFactory(request.param, tmp_path, request)
