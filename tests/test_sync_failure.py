"""sync push when things go wrong: outages, retries with backoff, bad checksums, bad URLs, the secret canary."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import _support_state
from _support_state import CANARY_SECRET, closed_port, s3_env
from _support_sync import NOW, local_artefacts, make_workspace, sync
from observability import clock, secrets
from observability.runtime import JobContext
from observability.storage import StorageError
from observability.storage.file import FileBucket
from observability.sync.errors import SyncFailed
from observability.sync.job import SyncOptions, run
from observability.workspace import Workspace

s3_server = _support_state.s3_server


def test_an_unreachable_s3_endpoint_ends_sync_failed_with_local_files_intact(tmp_path):
    ws = make_workspace(tmp_path / "ws")
    before = local_artefacts(ws)
    env = s3_env(f"http://127.0.0.1:{closed_port()}")
    run_ = sync(ws, "--to", "s3://bucket/prefix", "--max-retries", "3", env=env)
    assert run_.exit_code == 1, run_
    assert run_.summary["status"] == "error" and run_.error_code == "sync_failed"
    message = run_.summary["diagnostics"]["error_message"]
    assert "s3://bucket/prefix" in message and "3 attempt(s)" in message and "by hand" in message
    assert run_.stderr.count("retrying in 0 s") == 2
    assert local_artefacts(ws) == before
    log = [json.loads(line) for line in (ws / "ops" / "automation_runs.log").read_text().splitlines()]
    assert log[-1]["status"] == "error" and log[-1]["diagnostics"]["error_code"] == "sync_failed"


def test_a_missing_mount_is_an_outage_not_a_new_directory(tmp_path):
    ws = make_workspace(tmp_path / "ws")
    before = local_artefacts(ws)
    target = tmp_path / "not-mounted" / "share"
    run_ = sync(ws, "--to", target.as_uri(), "--max-retries", "2")
    assert run_.exit_code == 1 and run_.error_code == "sync_failed", run_
    assert not (tmp_path / "not-mounted").exists()
    assert local_artefacts(ws) == before


@pytest.mark.parametrize(
    "url,text",
    [
        ("git+file:///tmp/x.git", "shared storage is file:// or s3://"),
        ("ftp://host/dir", "unknown scheme 'ftp'"),
        ("file://relative/dir", "a file store needs an absolute path"),
        ("s3://user:pw@bucket/p", "credentials do not belong in the URL"),
    ],
)
def test_a_bad_url_is_a_usage_error(tmp_path, url, text):
    ws = make_workspace(tmp_path / "ws")
    run_ = sync(ws, "--to", url)
    assert run_.exit_code == 2, run_
    assert text in run_.summary["diagnostics"]["error_message"]
    assert "pw" not in run_.stdout + run_.stderr


def test_no_url_says_how_to_give_one(tmp_path):
    run_ = sync(make_workspace(tmp_path / "ws"))
    assert run_.exit_code == 2
    assert run_.summary["diagnostics"]["error_message"].startswith(
        "no shared storage: pass --to URL or set OBS_SYNC_TO"
    )


def test_a_bundle_that_fails_its_own_checksums_is_not_uploaded(tmp_path):
    ws = make_workspace(tmp_path / "ws")
    (ws / "out" / "dashboard" / "slippage.json").write_text("[]\n")
    target = tmp_path / "shared"
    run_ = sync(ws, "--to", target.as_uri())
    assert run_.exit_code == 1 and run_.error_code == "bundle_invalid", run_
    assert "out/dashboard/slippage.json: does not match its checksum" in run_.summary["diagnostics"]["error_message"]
    assert not target.exists()


# --- the library with an injected sleep and a faulty target -------------------------------------------


def _ctx(ws: Path) -> JobContext:
    return JobContext("sync", "20260302T060000Z-sync", Workspace.open(str(ws)), clock.parse_iso(NOW), False)


class Flaky(FileBucket):
    """A directory that fails the first ``failures`` calls of each kind, or stores other bytes on put."""

    def __init__(self, root: Path, failures: int = 0, corrupt: bool = False):
        super().__init__(root, root.as_uri(), require_parent=True)
        self.failures = {"list": failures, "put": failures}
        self.corrupt = corrupt
        self.puts = 0

    def list(self, prefix):
        if self.failures["list"]:
            self.failures["list"] -= 1
            raise StorageError(f"{self.display}: connection reset", retryable=True)
        return super().list(prefix)

    def put(self, key, data, *, sha256=None, metadata=None):
        self.puts += 1
        if self.failures["put"]:
            self.failures["put"] -= 1
            raise StorageError(f"{self.display}: 503 SlowDown", retryable=True)
        if self.corrupt:  # keeps other bytes without noticing (no read-back against the checksum)
            super().put(key, data[:-1] + b"!")
        else:
            super().put(key, data, sha256=sha256, metadata=metadata)


def _run_with(monkeypatch, ws: Path, target, **options):
    monkeypatch.setattr("observability.sync.job.open_target", lambda url, environ: target)
    waits: list[float] = []
    outcome = run(_ctx(ws), SyncOptions(to=target.root.as_uri(), sleep=waits.append, **options))
    return outcome, waits


def test_transient_failures_are_retried_with_exponential_backoff(monkeypatch, tmp_path):
    ws = make_workspace(tmp_path / "ws")
    target = Flaky(tmp_path / "shared", failures=2)
    outcome, waits = _run_with(monkeypatch, ws, target, retry_wait_seconds=1.5, max_retries=4)
    assert outcome.status == "ok" and outcome.figures["uploaded"] == 10
    assert waits == [1.5, 3.0, 1.5, 3.0]  # two failed listings, then two failed uploads
    assert outcome.figures["retries"] == 4


def test_backoff_is_capped_and_gives_up_after_max_retries(monkeypatch, tmp_path):
    ws = make_workspace(tmp_path / "ws")
    target = Flaky(tmp_path / "shared", failures=100)
    with pytest.raises(SyncFailed) as caught:
        _run_with(monkeypatch, ws, target, retry_wait_seconds=20, max_retries=4)
    assert caught.value.error_code == "sync_failed" and caught.value.details["attempts"] == 4
    assert "connection reset" in caught.value.message


def test_an_upload_that_does_not_verify_is_sent_again_then_fails(monkeypatch, tmp_path):
    ws = make_workspace(tmp_path / "ws")
    before = local_artefacts(ws)
    target = Flaky(tmp_path / "shared", corrupt=True)
    waits: list[float] = []
    monkeypatch.setattr("observability.sync.job.open_target", lambda url, environ: target)
    with pytest.raises(SyncFailed) as caught:
        run(_ctx(ws), SyncOptions(to=target.root.as_uri(), sleep=waits.append, max_retries=3))
    assert "does not match the local file" in caught.value.message
    assert caught.value.details["checksum_mismatch"].startswith("dashboard/2026-03-02/")
    assert target.puts == 3
    assert local_artefacts(ws) == before
    assert not (target.root / "index.json").exists()  # the index never names an unverified object


# --- the secret canary ------------------------------------------------------------------------------


def _everything(ws: Path) -> str:
    return "\n".join(p.read_bytes().decode("utf-8", "replace") for p in ws.rglob("*") if p.is_file())


@pytest.mark.parametrize("reachable", [True, False], ids=["moto", "outage"])
def test_the_aws_secret_never_appears_in_any_output(request, tmp_path, reachable):
    ws = make_workspace(tmp_path / "ws")
    if reachable:
        endpoint = request.getfixturevalue("s3_server")
        bucket = _support_state.fresh_bucket(endpoint)
        url = f"s3://{bucket}/shared"
    else:
        endpoint = f"http://127.0.0.1:{closed_port()}"
        url = "s3://bucket/shared"
    env = {
        **s3_env(endpoint),
        "GITHUB_ACTIONS": "true",
        "GITHUB_OUTPUT": str(tmp_path / "gh_output"),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "gh_summary"),
    }
    secrets.forget_all()  # an earlier test in this process may have registered (and so masked) it already
    try:
        run_ = sync(ws, "--to", url, "--max-retries", "2", env=env)
    finally:
        secrets.forget_all()
    assert run_.exit_code == (0 if reachable else 1), run_
    assert f"::add-mask::{CANARY_SECRET}" in run_.stderr  # masked on GitHub before anything else
    shown = run_.stderr.replace(f"::add-mask::{CANARY_SECRET}", "")
    assert CANARY_SECRET not in run_.stdout + shown
    assert CANARY_SECRET not in _everything(ws)
    written = [p.read_text() for p in (tmp_path / "gh_output", tmp_path / "gh_summary") if p.exists()]
    assert written and not any(CANARY_SECRET in text for text in written)
