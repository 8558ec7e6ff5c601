"""Hostile input against the issue-16 surfaces (an adversarial review): credentials in a --sync-to URL
whose secret holds a "/", index.json keys that climb out of a file:// target, legacy trees whose
symlinks lead out of LEGACY_DIR or that hold a FIFO. Real subprocesses; real file targets.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from pathlib import Path

import pytest

from _support_sync import NOW, make_workspace, sync
from observability.storage import display_url, locate
from observability.storage.errors import StoreUrlError
from tests._support_robust import clean_env, run_cli

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def canary() -> str:
    return "canary" + secrets.token_hex(12)


def _nowhere(canary: str, root: Path, done) -> None:
    assert canary not in done.stdout and canary not in done.stderr, (done.stdout[-800:], done.stderr[-800:])
    for path in root.rglob("*"):
        if path.is_file():
            assert canary.encode() not in path.read_bytes(), f"canary written to {path.relative_to(root)}"


# -- credentials in a --sync-to URL ------------------------------------------------------------------
@pytest.mark.parametrize(
    "form",
    [
        "s3://AKIAEXAMPLE:{c}/with+slash@bucket/prefix",  # AWS secret keys hold "/" and "+"
        "file://user:{c}/x@/tmp/target",
        "git+https://x-access-token:{c}/y@github.com/o/r.git",
    ],
)
def test_a_secret_with_a_slash_in_a_sync_to_url_is_refused_and_never_shown(tmp_path, canary, form):
    url = form.format(c=canary)
    with pytest.raises(StoreUrlError) as caught:
        locate(url, option="--sync-to")
    assert canary not in str(caught.value) and "credentials do not belong in the URL" in str(caught.value)
    assert canary not in display_url(url)
    ws = make_workspace(tmp_path / "ws")
    summary_file = tmp_path / "step_summary.md"
    done = run_cli(
        ["verify", "--workspace", str(ws), "--sync-to", url],
        env=clean_env(OBS_NOW=NOW, GITHUB_STEP_SUMMARY=str(summary_file)),
    )
    assert done.returncode == 2, done.stderr
    _nowhere(canary, tmp_path, done)


@pytest.mark.parametrize(
    "url", ["s3://bucket/prefix:with@sign", "file:///mnt/share:2/a@b", "s3://bucket/p", "file:///tmp/x"]
)
def test_a_path_with_a_colon_and_an_at_sign_is_still_a_path(url):
    assert locate(url, option="--sync-to").display == url


# -- index.json keys that leave a file:// target -------------------------------------------------------
def test_an_index_key_climbing_out_of_the_target_is_never_read(tmp_path):
    ws = make_workspace(tmp_path / "ws")
    target = tmp_path / "share" / "target"
    target.parent.mkdir()
    pushed = sync(ws, "--to", target.as_uri())
    assert pushed.exit_code == 0, pushed
    outside = tmp_path / "share" / "private.key"
    outside.write_bytes(b"-----BEGIN PRIVATE KEY----- not for the storage check\n")
    index = json.loads((target / "index.json").read_text())
    week = index["weekly"][0]
    week["files"].append({"key": f"weekly/{week['date']}/../../../private.key", "sha256": "0" * 64, "size": 1})
    (target / "index.json").write_text(json.dumps(index))
    done = run_cli(["verify", "--workspace", str(ws), "--sync-to", target.as_uri()], env=clean_env(OBS_NOW=NOW))
    assert done.returncode in (0, 1), done.stderr
    storage = json.loads(done.stdout)["checks"]["storage"]
    found = __import__("hashlib").sha256(outside.read_bytes()).hexdigest()
    assert found not in done.stdout and found[:12] not in done.stdout, "a file outside the target was read"
    for path in (ws / "ops").rglob("*"):
        if path.is_file():
            assert found[:12].encode() not in path.read_bytes(), path
    assert storage["findings"] >= 1 and "index.json" in done.stderr, done.stderr


def test_a_file_bucket_refuses_keys_that_leave_its_root(tmp_path):
    from observability.storage.errors import StorageError
    from observability.storage.file import FileBucket

    (tmp_path / "secret").write_text("x")
    bucket = FileBucket(tmp_path / "root", "file:///root")
    (tmp_path / "root").mkdir()
    for key in ("../secret", "a/../../secret", "/etc/passwd", "a/./../../secret"):
        with pytest.raises(StorageError):
            bucket.get(key)
        with pytest.raises(StorageError):
            bucket.put(key, b"y")
    assert (tmp_path / "secret").read_text() == "x"


# -- legacy trees with symlinks ------------------------------------------------------------------------
def _legacy_with_link(tmp_path: Path, target: Path, rel: str) -> Path:
    legacy = tmp_path / "legacy" / "ops"
    legacy.mkdir(parents=True)
    (legacy / "signal_latency.csv").write_text(
        "timestamp_utc,latency_ms,status,detail,source\n2026-01-07T10:05:00Z,1200.0,success,,router\n"
    )
    link = legacy / rel
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(target)
    return legacy.parent


@pytest.mark.parametrize("rel", ["state_archive/creds.json", "weekly_report_history/2026-01-05.sig", "notes.txt"])
def test_a_legacy_symlink_leading_out_of_the_tree_refuses_the_import(tmp_path, canary, rel):
    outside = tmp_path / "home" / ".aws" / "credentials"
    outside.parent.mkdir(parents=True)
    outside.write_text(f'{{"aws_secret_access_key": "{canary}"}}\n')
    legacy = _legacy_with_link(tmp_path, outside, rel)
    ws = tmp_path / "ws"
    shutil.copytree(ROOT / "ops-template", ws)
    before = sorted(p.relative_to(ws).as_posix() for p in ws.rglob("*"))
    done = run_cli(["migrate", str(legacy)], env=clean_env(OBS_NOW="2026-01-08T00:07:00Z"), cwd=ws)
    assert done.returncode != 0, done.stdout
    assert rel in done.stderr and "outside" in done.stderr, done.stderr
    for path in ws.rglob("*"):
        if path.is_file():
            assert canary.encode() not in path.read_bytes(), f"canary copied to {path.relative_to(ws)}"
    after = {p.relative_to(ws).as_posix() for p in ws.rglob("*")}
    assert not {
        p for p in after - set(before) if p.startswith("ops/") and not p.endswith((".lock", ".log", "sequence"))
    }


def test_a_legacy_symlink_inside_the_tree_and_a_fifo_are_handled(tmp_path):
    legacy = _legacy_with_link(tmp_path, Path("../signal_latency.csv"), "state_archive/alias.csv")
    ws = tmp_path / "ws"
    shutil.copytree(ROOT / "ops-template", ws)
    done = run_cli(["migrate", str(legacy)], env=clean_env(OBS_NOW="2026-01-08T00:07:00Z"), cwd=ws)
    assert done.returncode == 0, done.stderr
    assert (ws / "ops" / "state_archive" / "alias.csv").read_bytes() == (
        legacy / "ops" / "signal_latency.csv"
    ).read_bytes()
    os.mkfifo(legacy / "ops" / "state_archive" / "pipe")
    done = run_cli(["migrate", str(legacy)], env=clean_env(OBS_NOW="2026-01-08T00:07:00Z"), cwd=ws, timeout=30)
    assert done.returncode != 0 and "pipe" in done.stderr and "not a regular file" in done.stderr, done.stderr
