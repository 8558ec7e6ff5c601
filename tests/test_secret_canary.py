"""A canary secret in a probe URL must never show up in any output, artefact or GitHub file.

The canary travels where secrets come from (an env var named by ``probes[].url_env`` and a
``--probe NAME=URL`` flag) to a real HTTP server on 127.0.0.1 that fails in different ways.
Under GitHub Actions the only place it may appear is an ``::add-mask::`` line on stderr.
"""

from __future__ import annotations

import http.server
import json
import secrets
import socket
import sys
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
    return clean_env(
        GITHUB_ACTIONS="true",
        GITHUB_OUTPUT=str(gh / "output"),
        GITHUB_STEP_SUMMARY=str(gh / "summary"),
        GITHUB_REPOSITORY="acme/obs",
        GITHUB_RUN_ID="42",
        GITHUB_EVENT_NAME="schedule",
        GITHUB_SHA="0" * 40,
        **extra,
    )


@pytest.fixture
def canary() -> str:
    return "canary" + secrets.token_hex(16)


@pytest.mark.parametrize("github", [True, False], ids=["github", "local"])
@pytest.mark.parametrize("failure", ["http_500", "timeout", "refused"])
def test_probe_failures_never_reveal_the_url_token(tmp_path, server, canary, failure, github):
    ws = _workspace(tmp_path)
    base = {
        "http_500": server + "/health",
        "timeout": server + "/slow",
        "refused": f"http://127.0.0.1:{_closed_port()}/health",
    }[failure]
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
    env = (
        _github_env(tmp_path, OBS_CANARY_FEED_URL="http://127.0.0.1:9/")
        if github
        else clean_env(OBS_CANARY_FEED_URL="http://127.0.0.1:9/")
    )
    done = run_cli(["latency", "sample", "--workspace", str(ws), "--probe", flag], env=env)
    assert done.returncode == 2, done.stdout + done.stderr
    result = summary(done)
    assert result["diagnostics"]["error_code"] == "invalid_config"
    assert "--probe" in result["diagnostics"]["error_message"]
    _assert_nowhere(canary, tmp_path, done, github=github)


# Every variable the README's environment table documents as a secret, with a value shaped like the
# real thing (URLs keep their token in the path or query). The upload command below prints them all.
def _secret_env(canary: str) -> dict[str, str]:
    return {
        "GITHUB_TOKEN": f"ghs_{canary}gh",
        "GH_TOKEN": f"ghp_{canary}cli",
        "OBS_STATE_TOKEN": f"github_pat_{canary}st",
        "OBS_RELEASE_TOKEN": f"github_pat_{canary}rel",
        "OBS_INPUTS_TOKEN": f"ghp_{canary}in",
        "OBS_INPUTS_AUTHORIZATION": f"Bearer {canary}auth",
        "OBS_LATENCY_PROBES": f"feed=http://127.0.0.1:9/health?token={canary}probe",
        "OBS_WEEKLY_WEBHOOK_URL": f"https://hooks.example/weekly/{canary}hook",
        "OBS_WEBHOOK_SECRET": f"whsec_{canary}new whsec_{canary}old",
        "OBS_ALERTS_SLACK_WEBHOOK": f"https://hooks.slack.example/services/T0/B0/{canary}slack",
        "SLACK_CI_WEBHOOK": f"https://hooks.slack.example/services/T1/B1/{canary}ci",
        "OBS_PAGERDUTY_ROUTING_KEY": f"{canary}pd",
        "OBS_HEARTBEAT_PING_URL": f"http://127.0.0.1:{_closed_port()}/{canary}ping",
        "AWS_SECRET_ACCESS_KEY": f"{canary}aws/secret+key",
        "AWS_SESSION_TOKEN": f"{canary}session",
        # Headers alone do not turn OpenTelemetry on (no endpoint): the values are only to be scrubbed.
        "OTEL_EXPORTER_OTLP_HEADERS": f"authorization=Bearer {canary}otel",
        "OTEL_EXPORTER_OTLP_TRACES_HEADERS": f"x-api-key={canary}oteltraces",
        "OTEL_EXPORTER_OTLP_METRICS_HEADERS": f"x-api-key={canary}otelmetrics",
    }


def test_every_secret_variable_is_covered_by_the_upload_canary():
    from observability import secrets as registry

    assert set(registry.SECRET_ENV) <= set(_secret_env("x")), "a secret variable the canary does not plant"


UPLOADER = """\
import json, os, sys
printed = {printed!r}
json.dump(sorted(name for name in {names!r} if name in os.environ), open({seen!r}, "w"))
for value in printed:
    print("stdout says", value)
    print("stderr says", value, file=sys.stderr)
print("Traceback: requests.exceptions.ConnectionError: " + printed[0], file=sys.stderr)
sys.exit({code})
"""


@pytest.mark.parametrize("github", [True, False], ids=["github", "local"])
@pytest.mark.parametrize("outcome", ["fails", "succeeds"])
def test_upload_command_printing_every_secret_leaks_nowhere(tmp_path, tmp_path_factory, canary, outcome, github):
    """The upload command prints every secret of the run (read from its own config, say) on stdout and
    stderr, and gets a token written inline in --upload-command: none of it reaches the summary, the
    step summary, an annotation, the automation log, an artefact, the manifest or the state store."""
    from tests._support_dashboard import make_workspace

    ws = make_workspace(tmp_path / "ws")
    (ws / "configs" / "observability").mkdir(parents=True, exist_ok=True)
    planted = _secret_env(canary)
    printed = [value for value in planted.values()]
    outside = tmp_path_factory.mktemp("uploader")  # the script holds the canary: keep it out of tmp_path
    script = outside / "uploader.py"
    seen = outside / "seen.json"
    script.write_text(
        UPLOADER.format(printed=printed, names=sorted(planted), seen=str(seen), code=1 if outcome == "fails" else 0),
        encoding="utf-8",
    )
    inline = f"inline{canary}"
    command = f"{sys.executable} {script} {{bundle_dir}} --token {inline} 'Authorization: token {inline}'"
    env = _github_env(tmp_path, **planted) if github else clean_env(**planted)
    env["OBS_NOW"] = "2026-01-08T00:07:00Z"
    done = run_cli(
        [
            "dashboard",
            "export",
            "--workspace",
            str(ws),
            "--upload-command",
            command,
            "--upload-retry-wait-seconds",
            "0",
        ],
        env=env,
    )
    result = summary(done)
    assert done.returncode == (1 if outcome == "fails" else 0), done.stdout + done.stderr
    if outcome == "fails":
        assert result["diagnostics"]["error_code"] == "upload_failed"
        assert "upload stderr:" in done.stderr and "***" in done.stderr  # it printed, and was scrubbed
    # The command gets the storage credentials it may need, none of the run's other secrets.
    assert json.loads(seen.read_text()) == ["AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"]
    manifest = json.loads((ws / "out/dashboard/manifest.json").read_text())
    # (checked last: the leak checks below say what else leaked)
    provenance_command = manifest["provenance"]["command"]
    store = tmp_path / "store"
    init = run_cli(["state", "init", "--store", store.as_uri(), "--workspace", str(ws)], env=env)
    assert init.returncode == 0, init.stdout + init.stderr
    push = run_cli(["state", "push", "--store", store.as_uri(), "--workspace", str(ws)], env=env)
    assert push.returncode == 0, push.stdout + push.stderr
    assert any(p.is_file() for p in store.rglob("*")), "nothing reached the store"
    for run in (done, init, push):
        _assert_nowhere(canary, tmp_path, run, github=github)
    assert provenance_command == "observability dashboard export"
    log = (ws / "ops" / "automation_runs.log").read_text(encoding="utf-8")
    assert '"source_command":"observability dashboard export"' in log
    if github:  # the GitHub files and annotations were really written (and checked above)
        assert (tmp_path / "github" / "output").read_text(encoding="utf-8")
        assert (tmp_path / "github" / "summary").stat().st_size > 0
        if outcome == "fails":
            assert any(line.startswith("::error") and "***" in line for line in done.stderr.splitlines())


def test_secret_in_an_exception_message_and_traceback_is_scrubbed(tmp_path, capsys, monkeypatch, canary):
    """An unexpected exception (a requests error carrying the webhook URL, say): its message goes to the
    summary and its traceback to stderr, both scrubbed, including the frames' source lines."""
    from observability import runtime, secrets as registry

    registry.forget_all()
    url = f"https://hooks.example/weekly/{canary}"
    monkeypatch.setenv("OBS_WEEKLY_WEBHOOK_URL", url)
    monkeypatch.setenv("OBS_NOW", "2026-01-05T00:00:00Z")
    for sub in ("ops", "out", "configs/observability"):
        (tmp_path / sub).mkdir(parents=True)

    def body(ctx):
        try:
            raise ConnectionError(f"HTTPSConnectionPool: Max retries exceeded with url: {url}")
        except ConnectionError as exc:
            raise RuntimeError(f"delivery to {url} failed") from exc

    try:
        code = runtime.run_job("weekly", body, workspace=str(tmp_path), job_id=None)
    finally:
        registry.forget_all()
    captured = capsys.readouterr()
    assert code == 1
    assert json.loads(captured.out)["diagnostics"]["error_code"] == "internal_error"
    assert "Traceback" in captured.err and "ConnectionError" in captured.err
    assert canary not in captured.out and canary not in captured.err
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert canary.encode() not in path.read_bytes(), path


def test_cycle_document_shows_each_steps_options_never_their_values(tmp_path, canary):
    """The cycle lists each step's command: option names (``--dry-run``) yes, values (a token inline in
    ``--upload-command``, the store URL) never, on stdout or in out/cycle/."""
    import shutil

    from observability import secrets as registry
    from tests._support_dashboard import make_workspace
    from tests._support_state import init_store

    store = (tmp_path / "store").as_uri()
    init_store(store)
    ws = make_workspace(tmp_path / "ws")
    shutil.copytree(
        Path(__file__).resolve().parents[1] / "ops-template" / "configs", ws / "configs", dirs_exist_ok=True
    )
    env = clean_env(OBS_NOW="2026-01-08T00:07:00Z")
    done = run_cli(
        [
            "cycle",
            "--workspace",
            str(ws),
            "--store",
            store,
            "--for",
            "dashboard",
            "--",
            "dashboard",
            "export",
            "--dry-run-upload",
            "--upload-command",
            f"uploader --token inline{canary}",
        ],
        env=env,
    )
    registry.forget_all()
    doc = summary(done)
    job = next(step for step in doc["steps"] if step["step"] == "dashboard")
    assert job["command"][:3] == ["observability", "dashboard", "export"], job["command"]
    assert "--upload-command" in job["command"] and "--dry-run-upload" in job["command"]
    assert store not in json.dumps(doc["steps"][0]["command"])
    assert canary not in done.stdout and canary not in done.stderr
    upload = job["summary"]["upload"]
    assert upload["status"] == "dry_run" and upload["argv"] == ["uploader", "--token", "…"]
    for path in [*ws.rglob("*"), *(tmp_path / "store").rglob("*")]:  # out/cycle/, out/dashboard_upload/ ...
        if path.is_file():
            assert canary.encode() not in path.read_bytes(), path


def test_source_command_is_the_command_path_never_an_argument():
    import observability.cli  # noqa: F401 - registers the command paths
    from observability import provenance

    def source(*args: str) -> str:
        return provenance.source_command(["/usr/bin/observability", *args])

    assert source("dashboard", "export", "--upload-command", "curl -H 'token x'") == "observability dashboard export"
    assert source("cycle", "latency", "sample", "--probe", "a=http://h/?t=x") == "observability cycle"
    assert source("init", "state") == "observability init"
    assert source("latency", "--help") == "observability latency"
    assert source("-q", "tests/x.py") == "observability"
    assert provenance.outline(["latency", "sample", "--input", "a.csv", "--probe=a=http://h/?t=x", "--dry-run"]) == [
        "latency",
        "sample",
        "--input",
        "…",
        "--probe=…",
        "--dry-run",
    ]


# Listed in a row that speaks of secrets, but not secret themselves (an access key id names a key).
NOT_SECRET = {"AWS_ACCESS_KEY_ID", "AWS_DEFAULT_REGION", "AWS_MAX_ATTEMPTS"}


def test_every_variable_the_readme_calls_a_secret_is_registered_every_run():
    import re

    from observability import secrets as registry

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    table = readme.split("## Environment variables", 1)[1].split("\n\n", 2)[1]
    documented = set()
    for row in table.splitlines()[2:]:
        cells = row.split(" | ")
        if len(cells) >= 3 and re.search(r"\b(secret|token)", cells[-1], re.IGNORECASE):
            documented |= set(re.findall(r"`([A-Z][A-Z0-9_]+)`", cells[0])) - NOT_SECRET
    assert {"OBS_WEBHOOK_SECRET", "GITHUB_TOKEN", "OBS_PAGERDUTY_ROUTING_KEY"} <= documented, documented
    assert documented <= set(registry.SECRET_ENV), documented - set(registry.SECRET_ENV)
