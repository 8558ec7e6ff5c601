"""state pull/push failure modes: bad URLs, unreachable stores, dry runs, and the secret canary."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import _support_state
from _support_state import CANARY_SECRET, all_files, closed_port, make_workspace, ok, s3_env, state

s3_server = _support_state.s3_server
stores = _support_state.stores

LOCAL = {"ops/latency_state.json": '{"streak": 3}\n', "ops/signal_latency.csv": "a,b\n1,2\n"}


def _unreachable_url(kind: str, tmp_path) -> tuple[str, dict]:
    if kind == "s3":
        return "s3://obs-state/prefix", s3_env(f"http://127.0.0.1:{closed_port()}")
    if kind == "git":
        return f"git+file://{tmp_path}/no-such-repo.git#observability-state", {}
    (tmp_path / "store-is-a-file").write_text("not a directory\n")
    return (tmp_path / "store-is-a-file").as_uri(), {}


@pytest.mark.parametrize("kind", ["file", "s3", "git"])
@pytest.mark.parametrize("command", ["pull", "push"])
def test_an_unreachable_store_is_an_error_and_nothing_local_changes(kind, command, tmp_path):
    url, env = _unreachable_url(kind, tmp_path)
    ws = make_workspace(tmp_path / "ws", LOCAL)
    before = all_files(ws)
    run = state(ws, command, "--store", url, env=env)
    assert run.exit_code == 1, run
    assert run.summary["status"] == "error" and run.error_code == "store_unreachable", run
    assert url.split("#")[0].split("/prefix")[0] in run.summary["diagnostics"]["error_message"]
    after = all_files(ws)
    # The failed run is logged (the contract); every other file is as it was, nothing half-written.
    logged = {k for k in after if k.startswith(("ops/automation_runs", "ops/."))}
    assert {k: v for k, v in after.items() if k not in logged} == before
    line = json.loads((ws / "ops" / "automation_runs.log").read_text().splitlines()[-1])
    assert line["status"] == "error" and line["diagnostics"]["error_code"] == "store_unreachable"


@pytest.mark.parametrize(
    "args,env,expected",
    [
        ([], {}, "no state store: pass --store URL or set OBS_STATE_STORE"),
        (["--store", "ftp://host/x"], {}, "unknown scheme 'ftp'"),
        (["--store", "file://relative/dir"], {}, "a file store needs an absolute path"),
        (["--store", "s3://"], {}, "expected s3://bucket/prefix"),
        (["--store", "git+https://github.com/o/r.git#-bad"], {}, "is not a plain branch name"),
    ],
)
def test_a_bad_store_url_is_a_usage_error(args, env, expected, tmp_path):
    ws = make_workspace(tmp_path / "ws")
    run = state(ws, "pull", *args, env=env)
    assert run.exit_code == 2, run
    assert run.error_code == "invalid_store_url" and expected in run.summary["diagnostics"]["error_message"], run


def test_credentials_in_the_url_are_refused_and_never_printed(tmp_path):
    ws = make_workspace(tmp_path / "ws")
    run = state(ws, "push", "--store", "git+https://user:hunter2-token@github.com/o/r.git#s")
    assert run.exit_code == 2 and run.error_code == "invalid_store_url", run
    assert "hunter2-token" not in run.stdout + run.stderr + "".join(v.decode() for v in all_files(ws).values())
    assert "use GITHUB_TOKEN" in run.summary["diagnostics"]["error_message"]


def test_the_store_url_comes_from_obs_state_store(tmp_path):
    ws = make_workspace(tmp_path / "ws")
    assert state(ws, "init", env={"OBS_STATE_STORE": (tmp_path / "store").as_uri()}).exit_code == 0
    run = state(ws, "pull", env={"OBS_STATE_STORE": (tmp_path / "store").as_uri()})
    assert run.exit_code == 0 and run.summary["store"] == (tmp_path / "store").as_uri(), run


def test_dry_run_push_writes_the_plan_to_out_and_sends_nothing(stores, tmp_path):
    url = stores.new()
    ws = make_workspace(tmp_path / "ws", LOCAL)
    ok(ws, "pull", url, env=stores.env)
    run = state(ws, "push", "--store", url, "--dry-run", env=stores.env)
    assert run.exit_code == 0 and run.summary["status"] == "dry_run", run
    plan_path = ws / run.summary["artefacts"][0]
    plan = json.loads(plan_path.read_text())
    assert plan_path.parent.name == "state_push" and plan["base_generation"] == 0
    assert {item["path"] for item in plan["would_upload"]} >= set(LOCAL)
    assert plan["manifest"]["generation"] == 1
    other = make_workspace(tmp_path / "other")
    assert ok(other, "pull", url, env=stores.env)["generation"] == 0  # the store is still empty
    assert json.loads((ws / "ops" / "automation_runs.log").read_text().splitlines()[-1])["status"] == "dry_run"


def test_dry_run_never_contacts_the_store(tmp_path):
    url, env = _unreachable_url("s3", tmp_path)
    ws = make_workspace(tmp_path / "ws", LOCAL)
    run = state(ws, "push", "--store", url, "--dry-run", env=env)
    assert run.exit_code == 0 and run.summary["status"] == "dry_run", run


def _everything(ws, proc) -> str:
    files = "".join(p.read_text(errors="replace") for p in ws.rglob("*") if p.is_file())
    return proc.stdout + proc.stderr + files


def test_secret_canary_never_appears_in_any_output(s3_server, tmp_path):
    """Real processes, under GitHub Actions: the AWS secret and GITHUB_TOKEN only in ::add-mask:: lines."""
    ws = make_workspace(tmp_path / "ws", LOCAL)
    github_output = tmp_path / "gh_output"
    summary_file = tmp_path / "gh_summary"
    token = "ghs_canaryTOKEN0123456789abcdefABCDEF"
    base = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "OBS_", "AWS_"))}
    base.update(
        GITHUB_ACTIONS="true",
        GITHUB_OUTPUT=str(github_output),
        GITHUB_STEP_SUMMARY=str(summary_file),
        GITHUB_TOKEN=token,
        PYTHONDONTWRITEBYTECODE="1",
    )
    import boto3

    boto3.client(
        "s3",
        endpoint_url=s3_server,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key=CANARY_SECRET,
    ).create_bucket(Bucket="obs-canary")
    runs = []
    for command, url, endpoint in (
        ("init", "s3://obs-canary/p", s3_server),
        ("pull", "s3://obs-canary/p", s3_server),
        ("push", "s3://obs-canary/p", s3_server),
        ("push", "s3://obs-canary/p", f"http://127.0.0.1:{closed_port()}"),
        ("pull", f"git+https://127.0.0.1:{closed_port()}/o/r.git#state", s3_server),
    ):
        env = {**base, **{k: v for k, v in s3_env(endpoint).items() if v is not None}}
        proc = subprocess.run(
            [sys.executable, "-m", "observability", "state", command, "--workspace", str(ws), "--store", url],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        runs.append(proc)
    assert [p.returncode for p in runs] == [0, 0, 0, 1, 1], [p.stderr for p in runs]
    for proc in runs:
        text = (
            _everything(ws, proc)
            + github_output.read_text()
            + (summary_file.read_text() if summary_file.exists() else "")
        )
        for secret in (CANARY_SECRET, token):
            leaked = [line for line in text.splitlines() if secret in line and not line.startswith("::add-mask::")]
            assert not leaked, leaked
    assert "::add-mask::" + CANARY_SECRET in runs[0].stderr
    assert "::add-mask::" + token in runs[4].stderr


def test_github_token_reaches_git_as_an_auth_header_and_nowhere_else(tmp_path, monkeypatch):
    """A loopback git "server" sees the token in Authorization only; the URL and every output lack it.

    git speaks TLS to https URLs, so the loopback server is plain HTTP and the https-only rule
    for sending the token is widened for this test alone.
    """
    import base64
    import http.server
    import threading

    from observability.state.backends import git as git_backend

    seen = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append((self.path, self.headers.get("Authorization")))
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    monkeypatch.setattr(git_backend, "_sends_token", lambda remote: remote.startswith("http://127.0.0.1:"))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    token = "ghs_headerCANARY9876543210zyxwvu"
    try:
        store = git_backend.GitStore(
            f"http://127.0.0.1:{server.server_address[1]}/o/r.git",
            "observability-state",
            "the store",
            environ={**os.environ, "GITHUB_TOKEN": token},
        )
        try:
            with pytest.raises(Exception) as failure:
                store.head()
        finally:
            store.close()
    finally:
        server.shutdown()
        server.server_close()
    expected = "basic " + base64.b64encode(f"x-access-token:{token}".encode()).decode()
    assert seen and all(auth == expected and token not in path for path, auth in seen), seen
    assert token not in str(failure.value) and expected.split()[1] not in str(failure.value)


def _store_contents(stores, url: str) -> list[str]:
    """What the store holds: files (file://), keys (s3://) or branches (git)."""
    if stores.kind == "file":
        root = Path(url[len("file://") :])
        return sorted(p.relative_to(root).as_posix() for p in root.rglob("*")) if root.exists() else []
    if stores.kind == "s3":
        bucket = url[len("s3://") :].split("/", 1)[0]
        listed = _support_state.s3_client(stores.endpoint).list_objects_v2(Bucket=bucket)
        return sorted(item["Key"] for item in listed.get("Contents", []))
    return _support_state.git("ls-remote", url[len("git+file://") :].split("#")[0]).split()


@pytest.mark.parametrize("command", ["pull", "push"])
def test_a_store_never_initialised_fails_loudly_and_changes_nothing(stores, command, tmp_path):
    url = stores.new("typo", init=False)
    ws = make_workspace(tmp_path / "ws", LOCAL)
    before = all_files(ws)
    run = state(ws, command, "--store", url, env=stores.env)
    assert run.exit_code == 1, run
    assert run.summary["status"] == "error" and run.error_code == "store_not_initialised", run
    assert f"observability state init --store {url}" in run.summary["diagnostics"]["error_message"]
    after = all_files(ws)
    logged = {k for k in after if k.startswith(("ops/automation_runs", "ops/."))}
    assert {k: v for k, v in after.items() if k not in logged} == before
    assert not (ws / "ops" / ".state_pulled.json").exists()
    assert _store_contents(stores, url) == []


def test_a_mistyped_file_store_path_is_not_created(tmp_path):
    url = (tmp_path / "no-such-parent" / "store").as_uri()
    ws = make_workspace(tmp_path / "ws", LOCAL)
    for command in ("pull", "push"):
        run = state(ws, command, "--store", url)
        assert run.exit_code == 1 and run.error_code == "store_not_initialised", run
    assert not (tmp_path / "no-such-parent").exists()


def test_init_creates_once_and_an_existing_store_counts_as_initialised(stores, tmp_path):
    url = stores.new(init=False)
    ws = make_workspace(tmp_path / "ws", LOCAL)
    first = ok(ws, "init", url, env=stores.env)
    assert first["created"] is True and first["generation"] == 0
    again = ok(ws, "init", url, env=stores.env)
    assert again["created"] is False and again["generation"] == 0
    pulled = ok(ws, "pull", url, env=stores.env)
    assert pulled["empty_store"] is True and pulled["generation"] == 0
    assert ok(ws, "push", url, env=stores.env)["generation"] == 1
    later = ok(ws, "init", url, env=stores.env)
    assert later["created"] is False and later["generation"] == 1
    other = make_workspace(tmp_path / "other")
    assert ok(other, "pull", url, env=stores.env)["generation"] == 1
    assert (other / "ops" / "latency_state.json").read_text() == LOCAL["ops/latency_state.json"]


def test_a_store_with_generations_but_no_marker_counts_as_initialised(tmp_path):
    """Stores pushed before `state init` existed have no marker: their generations are proof enough."""
    store = tmp_path / "store"
    url = store.as_uri()
    ws = make_workspace(tmp_path / "ws", LOCAL)
    ok(ws, "init", url)
    ok(ws, "pull", url)
    ok(ws, "push", url)
    (store / "observability-store.json").unlink()
    assert ok(make_workspace(tmp_path / "other"), "pull", url)["generation"] == 1


def test_a_store_replaced_in_place_is_read_again_not_served_from_memory(tmp_path):
    """Manifests are cached per process by the object's identity: a re-created store is never mistaken for the old."""
    import shutil

    store = tmp_path / "store"
    url = store.as_uri()
    for content in ('{"run": 1}\n', '{"run": 2}\n'):
        shutil.rmtree(store, ignore_errors=True)
        ws = make_workspace(tmp_path / f"ws{content[8]}", {"ops/latency_state.json": content})
        ok(ws, "init", url)
        ok(ws, "pull", url)
        assert ok(ws, "push", url)["generation"] == 1
        reader = make_workspace(tmp_path / f"reader{content[8]}")
        ok(reader, "pull", url)
        assert (reader / "ops" / "latency_state.json").read_text() == content
