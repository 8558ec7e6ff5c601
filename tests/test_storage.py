"""The storage layer itself, on a real directory and on moto's S3 server: what the state store and sync share.

One set of tests for both users: the state store's file/S3 backend and ``sync push``'s target are
the same bucket classes (checked below), so what holds here holds for both.
"""

from __future__ import annotations

import concurrent.futures
import http.server
import os
import threading
from pathlib import Path

import pytest

import _support_state
import _support_sync
from _support_state import CANARY_SECRET, closed_port, s3_env
from observability import digest, fsio, secrets
from observability.storage import ObjectInfo, StorageError, StoreUrlError, locate, open_bucket, same_content
from observability.storage.file import FileBucket
from observability.storage.s3 import S3Bucket, etag_md5

s3_server = _support_state.s3_server
targets = _support_sync.targets


@pytest.fixture
def aws_env(monkeypatch):
    """Sets the AWS_* variables boto3 reads itself (from os.environ) for an endpoint; returns the environ."""

    def apply(endpoint: str, **extra) -> dict:
        for key, value in {**s3_env(endpoint), "AWS_EC2_METADATA_DISABLED": "true", **extra}.items():
            if value is None:
                monkeypatch.delenv(key, raising=False)
            else:
                monkeypatch.setenv(key, value)
        return dict(os.environ)

    return apply


@pytest.fixture
def bucket(targets, aws_env):
    """An empty bucket of each kind under a fresh URL, with the factory that reads behind its back."""
    url = targets.new()
    environ = aws_env(targets.endpoint) if targets.kind == "s3" else dict(os.environ)
    return open_bucket(locate(url), environ), targets


# --- put, get, stat, list, delete -------------------------------------------------------------------


def test_put_get_and_stat_round_trip(bucket):
    store, raw = bucket
    assert store.get("a/b.json") is None and store.stat("a/b.json") is None
    data = b'{"x": 1}\n'
    store.put("a/b.json", data, sha256=digest.sha256_hex(data))
    assert store.get("a/b.json") == data and raw.read("a/b.json") == data
    info = store.stat("a/b.json")
    assert info.size == len(data) and info.fingerprint and info.modified > 0
    checked = store.stat("a/b.json", checksum=True)
    if raw.kind == "file":
        assert checked.sha256 == digest.sha256_hex(data)  # re-hashed from disk
    else:  # S3: the ChecksumSHA256 it kept where it reports one (moto does not), else the ETag's MD5
        assert checked.sha256 in (digest.sha256_hex(data), None) and checked.md5 == digest.md5_hex(data)
    assert same_content(checked, data, digest.sha256_hex(data)) is True
    assert same_content(checked, b'{"x": 2}\n', digest.sha256_hex(b'{"x": 2}\n')) is False


def test_a_replaced_object_gets_a_new_fingerprint(bucket):
    store, raw = bucket
    store.put("HEAD", b"1\n")
    first = store.stat("HEAD").fingerprint
    raw.write("HEAD", b"22\n")  # behind its back, another size
    assert store.stat("HEAD").fingerprint != first
    assert store.get("HEAD") == b"22\n"


def test_list_gives_keys_relative_to_the_url_with_size_and_time(bucket):
    store, raw = bucket
    for key, data in {
        "dashboard/2026-03-02/a.json": b"aa",
        "dashboard/2026-03-02/b.json": b"bbb",
        "weekly/2026-02-23/w.json": b"w",
    }.items():
        store.put(key, data)
    listed = store.list("dashboard/")
    assert sorted(listed) == ["dashboard/2026-03-02/a.json", "dashboard/2026-03-02/b.json"]
    assert listed["dashboard/2026-03-02/b.json"].size == 3 and listed["dashboard/2026-03-02/b.json"].modified > 0
    assert store.list("nothing/") == {}
    assert sorted(store.list("")) == [
        "dashboard/2026-03-02/a.json",
        "dashboard/2026-03-02/b.json",
        "weekly/2026-02-23/w.json",
    ]
    if raw.kind == "s3":  # a single-part upload's ETag is its MD5: a listing can compare content
        assert listed["dashboard/2026-03-02/a.json"].md5 == digest.md5_hex(b"aa")


def test_delete_and_delete_many(bucket):
    store, raw = bucket
    keys = [f"dashboard/2026-01-0{n}/x.json" for n in range(1, 4)]
    for key in keys:
        store.put(key, b"x")
    store.delete(keys[0])
    store.delete(keys[0])  # already gone: not an error
    store.delete_many(keys)  # one already gone: not an error either
    assert store.list("") == {} and raw.stored() == []
    if raw.kind == "file":  # emptied dated directories go too
        assert not (raw.root / "dashboard").exists()


def test_create_writes_once_and_reports_a_lost_race(bucket):
    store, raw = bucket
    assert store.create("manifests/000000000001.json", b"first") is True
    assert store.create("manifests/000000000001.json", b"second") is False
    assert store.get("manifests/000000000001.json") == b"first"


def test_of_eight_simultaneous_creates_exactly_one_wins(bucket):
    store, raw = bucket
    barrier = threading.Barrier(8)

    def attempt(i: int) -> bool:
        barrier.wait(timeout=30)  # all eight ask at the same moment
        return store.create("manifests/000000000002.json", f"run {i}".encode())

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        won = list(pool.map(attempt, range(8)))
    winners = [i for i in range(8) if won[i]]
    assert len(winners) == 1, won
    assert store.get("manifests/000000000002.json") == f"run {winners[0]}".encode()


def test_a_file_put_whose_checksum_differs_is_refused(tmp_path):
    """A directory reads back what it wrote (S3 re-hashes on the server instead: the header is checked below;
    moto does not verify it, so a refused S3 upload is not testable here)."""
    store = FileBucket(tmp_path / "s", "file:///s")
    with pytest.raises(StorageError) as failure:
        store.put("blobs/x", b"the bytes", sha256=digest.sha256_hex(b"something else"))
    assert failure.value.message == "file:///s/blobs/x: checksum differs after writing" and failure.value.retryable


# --- what both users get ----------------------------------------------------------------------------


def test_the_state_store_and_sync_use_the_same_buckets(bucket, aws_env):
    from observability.state.backends import open_store
    from observability.sync.job import open_target

    store, raw = bucket
    environ = aws_env(raw.endpoint) if raw.kind == "s3" else dict(os.environ)
    state = open_store(raw.url, environ)
    shared = open_target(raw.url, environ)
    try:
        assert type(state.bucket) is type(shared) is type(store)
        assert type(store) is (S3Bucket if raw.kind == "s3" else FileBucket)
    finally:
        state.close()


def test_only_file_and_s3_locations_are_buckets(tmp_path):
    assert isinstance(open_bucket(locate((tmp_path / "d").as_uri())), FileBucket)
    with pytest.raises(ValueError):
        open_bucket(locate(f"git+file://{tmp_path}/r.git#b"))
    with pytest.raises(StoreUrlError) as bad:
        locate("s3://key:secret-value@bucket/p", option="--to")
    assert "credentials do not belong in the URL" in bad.value.message and "secret-value" not in bad.value.message


# --- the S3 requests themselves ---------------------------------------------------------------------


def test_s3_sends_the_checksum_header_and_the_conditional_create(s3_server, aws_env):
    import base64

    environ = aws_env(s3_server)
    store = S3Bucket(_support_state.fresh_bucket(s3_server), "team/x", "s3://b/team/x", environ)
    seen: list[dict] = []

    def record(request, **_):
        seen.append({k.lower(): v.decode() if isinstance(v, bytes) else v for k, v in request.headers.items()})

    # The client is shared by the process: the recorder is removed again whatever happens.
    store.client.meta.events.register("before-send.s3", record, unique_id="test-storage-recorder")
    try:
        data = b"blob bytes"
        store.put("blobs/a", data, sha256=digest.sha256_hex(data))
        store.put("HEAD", b"1\n")
        store.create("manifests/1.json", b"{}")
        store.stat("manifests/1.json")
        store.stat("blobs/a", checksum=True)
    finally:
        store.client.meta.events.unregister("before-send.s3", unique_id="test-storage-recorder")
    assert len(seen) == 5, seen
    put_blob, put_head, create, head, head_checked = seen

    assert put_blob["x-amz-checksum-sha256"] == base64.b64encode(bytes.fromhex(digest.sha256_hex(data))).decode()
    assert "x-amz-checksum-sha256" not in put_head and "if-none-match" not in put_head
    assert create["if-none-match"] == "*"
    assert "x-amz-checksum-mode" not in head and head_checked["x-amz-checksum-mode"] == "ENABLED"


# --- error mapping ----------------------------------------------------------------------------------


def test_a_missing_bucket_is_an_error_retrying_will_not_fix(s3_server, aws_env):
    store = S3Bucket("no-such-bucket-here", "p", "s3://no-such-bucket-here/p", aws_env(s3_server))
    for call in (
        lambda: store.get("HEAD"),
        lambda: store.put("HEAD", b"1"),
        lambda: store.list("manifests/"),
        lambda: store.create("m", b"x"),
    ):
        with pytest.raises(StorageError) as failure:
            call()
        error = failure.value
        assert error.code == "NoSuchBucket" and not error.retryable and not error.missing, error.message
        assert error.message.startswith("s3://no-such-bucket-here/p: cannot ") and "(NoSuchBucket: " in error.message


class _Answer(http.server.BaseHTTPRequestHandler):
    """An S3 endpoint that answers every request with one error (status, code, message)."""

    status, code, message = 403, "AccessDenied", "Access Denied"
    protocol_version = "HTTP/1.1"  # answers botocore's Expect: 100-continue at once

    def _reply(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        body = (
            f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{self.code}</Code>'
            f"<Message>{self.message}</Message><RequestId>1</RequestId></Error>"
        ).encode()
        self.send_response(self.status)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)) if self.command != "HEAD" else "0")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _reply

    def log_message(self, *args):
        pass


@pytest.fixture
def answering():
    servers = []

    def start(status: int, code: str, message: str) -> str:
        handler = type("Handler", (_Answer,), {"status": status, "code": code, "message": message})
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_access_denied_is_not_retryable_and_its_message_is_redacted(answering, aws_env):
    endpoint = answering(403, "AccessDenied", f"Access Denied for {CANARY_SECRET}")
    secrets.forget_all()
    try:
        store = S3Bucket("bucket", "p", "s3://bucket/p", aws_env(endpoint))  # registers the secret
        with pytest.raises(StorageError) as failure:
            store.put("blobs/a", b"x")
    finally:
        secrets.forget_all()
    error = failure.value
    assert error.code == "AccessDenied" and error.status == 403 and not error.retryable
    assert error.message.startswith("s3://bucket/p: cannot write blobs/a (AccessDenied: Access Denied for ")
    assert CANARY_SECRET not in error.message and CANARY_SECRET not in error.detail


def test_throttling_and_server_errors_are_retryable(answering, aws_env):
    for status, code in ((503, "SlowDown"), (500, "InternalError")):
        store = S3Bucket("bucket", "p", "s3://bucket/p", aws_env(answering(status, code, "try later")))
        with pytest.raises(StorageError) as failure:
            store.list("weekly/")
        assert failure.value.retryable and failure.value.code == code, failure.value.message


def test_an_absent_key_is_none_not_an_error(answering, aws_env):
    store = S3Bucket("bucket", "p", "s3://bucket/p", aws_env(answering(404, "NoSuchKey", "gone")))
    assert store.get("HEAD") is None
    store.delete("HEAD")  # already gone: not an error


def test_an_endpoint_that_is_down_is_retryable(aws_env):
    store = S3Bucket("bucket", "p", "s3://bucket/p", aws_env(f"http://127.0.0.1:{closed_port()}"))
    with pytest.raises(StorageError) as failure:
        store.get("HEAD")
    error = failure.value
    assert error.retryable and error.code == "EndpointConnectionError"
    assert error.message.startswith("s3://bucket/p: cannot read HEAD (EndpointConnectionError: ")


def test_no_credentials_says_which_variables_to_set(s3_server, aws_env):
    store = S3Bucket(
        "bucket", "p", "s3://bucket/p", aws_env(s3_server, AWS_ACCESS_KEY_ID=None, AWS_SECRET_ACCESS_KEY=None)
    )
    with pytest.raises(StorageError) as failure:
        store.get("HEAD")
    assert failure.value.message == (
        "s3://bucket/p: no AWS credentials (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)"
    )
    assert not failure.value.retryable


def test_a_file_bucket_whose_root_is_a_file_is_an_error(tmp_path):
    (tmp_path / "plain").write_text("x")
    store = FileBucket(tmp_path / "plain", "file:///plain")
    with pytest.raises(StorageError) as failure:
        store.get("HEAD")
    assert failure.value.message == f"file:///plain: {tmp_path / 'plain'} is not a directory"
    assert not failure.value.retryable


def test_a_missing_mount_is_retryable_and_nothing_is_created(tmp_path):
    store = FileBucket(tmp_path / "not-mounted" / "share", "file:///share", require_parent=True)
    for call in (lambda: store.put("a", b"x"), lambda: store.list(""), lambda: store.create("m", b"x")):
        with pytest.raises(StorageError) as failure:
            call()
        assert failure.value.retryable and "does not exist" in failure.value.message
    assert not (tmp_path / "not-mounted").exists()
    assert FileBucket(tmp_path / "new" / "store", "file:///new/store").get("HEAD") is None  # no mount rule


def test_file_listings_skip_temp_files_and_the_sweep_removes_old_ones(tmp_path):
    store = FileBucket(tmp_path / "s", "file:///s")
    store.put("blobs/a", b"a")
    temp = tmp_path / "s" / "blobs" / fsio.create_temp(tmp_path / "s" / "blobs", "b", b"torn")
    old = os.stat(temp).st_mtime - 7200
    os.utime(temp, (old, old))
    assert list(store.list("")) == ["blobs/a"]
    assert store.sweep_temps() == [f"blobs/{temp.name}"] and not temp.exists()


# --- checksums --------------------------------------------------------------------------------------


def test_content_comparison_uses_the_strongest_checksum_there_is():
    data = b"payload"
    sha = digest.sha256_hex(data)
    assert same_content(None, data, sha) is False
    assert same_content(ObjectInfo(len(data) + 1, sha256=sha), data, sha) is False  # size first
    assert same_content(ObjectInfo(len(data), md5=digest.md5_hex(data)), data, sha) is True
    assert same_content(ObjectInfo(len(data), md5="0" * 32), data, sha) is False
    assert same_content(ObjectInfo(len(data)), data, sha) is None  # only a size: ask again


def test_an_etag_is_an_md5_only_for_a_single_part_upload():
    md5 = digest.md5_hex(b"x")
    assert etag_md5(f'"{md5}"') == md5
    assert etag_md5(f'"{md5}-3"') is None and etag_md5(None) is None and etag_md5('"short"') is None
    import hashlib

    assert digest.sha256_hex(b"x") == hashlib.sha256(b"x").hexdigest() == digest.sha256(b"x").hexdigest()
    assert md5 == hashlib.md5(b"x").hexdigest()


def test_nothing_outside_the_storage_layer_talks_to_boto3_or_builds_a_client():
    root = Path(__file__).resolve().parent.parent / "observability"
    for path in root.rglob("*.py"):
        if path.parent.name == "storage":
            continue
        text = path.read_text(encoding="utf-8")
        assert "import boto3" not in text and "botocore" not in text, path


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports, at the top or inside a function."""
    import ast

    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
    return found


@pytest.mark.parametrize(
    "package,forbidden",
    [
        ("storage", ("observability.state", "observability.sync", "observability.inputs")),
        ("sync", ("observability.state", "observability.inputs")),
        ("inputs", ("observability.state", "observability.sync")),
    ],
)
def test_the_storage_users_import_the_storage_layer_not_each_other(package, forbidden):
    root = Path(__file__).resolve().parent.parent / "observability" / package
    for path in sorted(root.rglob("*.py")):
        bad = sorted(name for name in _imports(path) if any(name == f or name.startswith(f + ".") for f in forbidden))
        assert not bad, f"{path.relative_to(root.parent.parent)} imports {bad}"
