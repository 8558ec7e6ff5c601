"""Upload retries (seed 002 §4.3, §9): the dashboard upload command and `sync push` retry transient
failures with the one retry policy, and say how many attempts were made (summary, log line, step summary).

Both are driven against real servers on 127.0.0.1 that fail N times and then succeed: an HTTP receiver
the upload command PUTs to, and a proxy in front of moto's S3 server.
"""

from __future__ import annotations

import http.client
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

import _support_state
from _support_dashboard import export, make_workspace
from _support_state import s3_client, s3_env
from _support_sync import make_workspace as sync_workspace, sync
from observability.dashboard import upload
from observability.outbound.retry import RetryPolicy

s3_server = _support_state.s3_server


class Flaky:
    """A loopback HTTP server answering the first ``failures`` requests with 503, then ``handle``."""

    def __init__(self, failures: int, forward_to: str | None = None):
        self.failures = failures
        self.requests: list[tuple[str, str, int]] = []  # (method, path, status answered)
        self.bodies: list[bytes] = []
        self.forward_to = forward_to
        owner = self

        class Handler(BaseHTTPRequestHandler):
            # HTTP/1.1: the handler answers botocore's "Expect: 100-continue" at once (under 1.0
            # every PUT waited a second for a 100 that never came)
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def _any(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                if owner.failures > 0:
                    owner.failures -= 1
                    payload = b"<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"
                    self.send_response(503)
                    self.send_header("Content-Type", "application/xml")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    owner.requests.append((self.command, self.path, 503))
                    return
                if owner.forward_to is None:
                    owner.bodies.append(body)
                    self.send_response(200)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    owner.requests.append((self.command, self.path, 200))
                    return
                target = urlsplit(owner.forward_to)
                conn = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection",)}
                conn.request(self.command, self.path, body=body or None, headers=headers)
                answer = conn.getresponse()
                data = answer.read()
                self.send_response(answer.status)
                for key, value in answer.getheaders():
                    if key.lower() not in ("transfer-encoding", "connection", "content-length", "server", "date"):
                        self.send_header(key, value)
                # HEAD answers carry the object's length with no body
                length = answer.getheader("Content-Length") if self.command == "HEAD" else None
                self.send_header("Content-Length", length or str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)
                conn.close()
                owner.requests.append((self.command, self.path, answer.status))

            do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _any

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Flaky:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


UPLOADER = """\
import sys, urllib.request, urllib.error
bundle, url = sys.argv[1], sys.argv[2]
data = open(bundle + "/manifest.json", "rb").read()
try:
    urllib.request.urlopen(urllib.request.Request(url + "/manifest.json", data=data, method="PUT"), timeout=10)
except urllib.error.HTTPError as exc:
    sys.stderr.write(f"upload: HTTP {exc.code}\\n")
    sys.exit(1)
"""


def _uploader(tmp_path: Path) -> str:
    script = tmp_path / "uploader.py"
    script.write_text(UPLOADER)
    return f"{sys.executable} {script} {{bundle_dir}}"


def _log(ws: Path) -> list[dict]:
    return [json.loads(line) for line in (ws / "ops/automation_runs.log").read_text().splitlines()]


def _gh(tmp_path: Path) -> dict:
    return {
        "GITHUB_ACTIONS": "true",
        "GITHUB_OUTPUT": str(tmp_path / "gh_output"),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "gh_summary"),
    }


def _export_to(ws, tmp_path, receiver, *args, env=None):
    """``dashboard export`` whose upload command posts the manifest to ``receiver``."""
    return export(ws, "--upload-command", f"{_uploader(tmp_path)} {receiver.url}", *args, env=env)


def test_the_upload_command_is_retried_until_the_receiver_takes_it(tmp_path):
    ws = make_workspace(tmp_path / "ws")
    with Flaky(failures=2) as receiver:
        done = _export_to(
            ws,
            tmp_path,
            receiver,
            "--upload-retry-wait-seconds",
            "0",
            env=_gh(tmp_path),
        )
    assert done.exit_code == 0, done
    assert [status for _, _, status in receiver.requests] == [503, 503, 200]
    assert receiver.bodies == [(ws / "out/dashboard/manifest.json").read_bytes()]
    assert done.summary["upload"]["status"] == "ok" and done.summary["upload"]["attempts"] == 3
    assert done.stderr.count("retrying in 0 s") == 2 and "attempt 2/3" in done.stderr
    assert _log(ws)[-1]["attempts"] == 3
    assert "Upload command: **ok** after 3 attempt(s)." in (tmp_path / "gh_summary").read_text()


def test_the_upload_command_gives_up_after_its_attempts(tmp_path):
    ws = make_workspace(tmp_path / "ws")
    with Flaky(failures=10) as receiver:
        done = _export_to(
            ws,
            tmp_path,
            receiver,
            "--upload-max-retries",
            "2",
            "--upload-retry-wait-seconds",
            "0",
        )
    assert done.exit_code == 1 and done.summary["diagnostics"]["error_code"] == "upload_failed", done
    assert len(receiver.requests) == 2 and done.summary["upload"]["attempts"] == 2
    assert "attempt 2 of 2, giving up" in done.summary["diagnostics"]["error_message"]
    assert _log(ws)[-1]["attempts"] == 2


def test_upload_waits_follow_the_one_retry_policy(tmp_path):
    """The waits between attempts are the shared policy's exponential backoff (injected sleep: no real wait)."""
    waits: list[float] = []
    with Flaky(failures=3) as receiver:
        script = tmp_path / "uploader.py"
        script.write_text(UPLOADER)
        bundle = tmp_path / "bundle"
        bundle.mkdir()
        (bundle / "manifest.json").write_text("{}")
        policy = RetryPolicy(max_attempts=5, base_wait_seconds=1.5, max_wait_seconds=4.0, jitter=False)
        done = upload.run_with_retries(
            [sys.executable, str(script), str(bundle), receiver.url], timeout=30, policy=policy, sleep=waits.append
        )
    assert done.attempts == 4 and waits == [1.5, 3.0, 4.0]


def test_a_command_that_cannot_start_is_not_retried(tmp_path):
    waits: list[float] = []
    with pytest.raises(upload.UploadError) as caught:
        upload.run_with_retries(
            [str(tmp_path / "no-such-uploader")], timeout=5, policy=RetryPolicy(max_attempts=4), sleep=waits.append
        )
    assert caught.value.details["attempts"] == 1 and waits == []


def test_sync_push_retries_a_flaky_s3_endpoint_and_counts_the_attempts(tmp_path, s3_server):
    ws = sync_workspace(tmp_path / "ws")
    bucket = _support_state.fresh_bucket(s3_server)
    with Flaky(failures=2, forward_to=s3_server) as proxy:
        env = {**s3_env(proxy.url), **_gh(tmp_path)}  # AWS_MAX_ATTEMPTS=1: botocore's own retries are off
        done = sync(ws, "--to", f"s3://{bucket}/team", "--max-retries", "4", env=env)
    assert done.exit_code == 0, done
    assert [status for _, _, status in proxy.requests[:3]] == [503, 503, 200]
    figures = done.summary
    assert figures["attempts"] == 3 and figures["retries"] == 2 and figures["calls"] >= 10
    assert figures["uploaded"] == 10
    assert done.stderr.count("retrying in 0 s") == 2
    assert _log(ws)[-1]["attempts"] == 3
    assert "most attempts for one call: 3" in (tmp_path / "gh_summary").read_text()
    stored = s3_client(s3_server).list_objects_v2(Bucket=bucket, Prefix="team/")["KeyCount"]
    assert stored == 11  # the 10 files and index.json


def test_sync_push_that_gives_up_logs_the_attempts_it_made(tmp_path, s3_server):
    ws = sync_workspace(tmp_path / "ws")
    bucket = _support_state.fresh_bucket(s3_server)
    with Flaky(failures=100, forward_to=s3_server) as proxy:
        done = sync(ws, "--to", f"s3://{bucket}/team", "--max-retries", "3", env=s3_env(proxy.url))
    assert done.exit_code == 1 and done.error_code == "sync_failed", done
    assert len(proxy.requests) == 3
    assert _log(ws)[-1]["attempts"] == 3 and done.summary["diagnostics"]["attempts"] == 3


def test_the_retry_settings_come_from_the_environment_when_not_given(tmp_path):
    """run.yml passes its inputs upload-max-retries / upload-retry-wait-seconds as these variables."""
    ws = make_workspace(tmp_path / "ws")
    with Flaky(failures=10) as receiver:
        done = _export_to(
            ws,
            tmp_path,
            receiver,
            env={"OBS_DASHBOARD_UPLOAD_MAX_RETRIES": "4", "OBS_DASHBOARD_UPLOAD_RETRY_WAIT_SECONDS": "0"},
        )
    assert done.exit_code == 1 and done.summary["upload"]["attempts"] == 4, done
    assert len(receiver.requests) == 4 and "retrying in 0 s" in done.stderr


def test_empty_retry_variables_keep_the_defaults(tmp_path):
    """A caller that leaves run.yml's inputs empty gets the command's own defaults (3 attempts)."""
    ws = make_workspace(tmp_path / "ws")
    with Flaky(failures=1) as receiver:
        done = _export_to(
            ws,
            tmp_path,
            receiver,
            "--upload-retry-wait-seconds",
            "0",
            env={"OBS_DASHBOARD_UPLOAD_MAX_RETRIES": "", "OBS_DASHBOARD_UPLOAD_RETRY_WAIT_SECONDS": ""},
        )
    assert done.exit_code == 0 and done.summary["upload"]["attempts"] == 2, done


def test_a_bad_retry_variable_is_a_usage_error(tmp_path):
    ws = make_workspace(tmp_path / "ws")
    done = export(ws, env={"OBS_DASHBOARD_UPLOAD_MAX_RETRIES": "0"})
    assert done.exit_code == 2, done
    assert "upload-max-retries" in done.stderr
