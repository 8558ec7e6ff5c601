"""The workflows of a repository made by `observability init`, run end to end under act.

The fast tests check the harness's data (tests/_support_act.py): every pinned third-party action
has a stand-in that accepts every input our workflows pass, a missing stand-in fails loudly, and
the cache and upload-artifact stand-ins behave like the real actions where our workflows depend
on them. The slow tests run init's callers, which call this tree's reusable .github/workflows/run.yml,
against the fake GitHub API, file:// and git-branch stores, loopback probe, signal-log and webhook
servers, with the real upstream files (../shared/fixtures/upstream) as the research repository.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

import _support_act
import _support_state
from _support_act import (
    INPUTS_TOKEN,
    ROOT,
    SIGNAL_HEADER,
    STANDINS,
    Adopter,
    MissingStandIn,
    action_files,
    local_repositories,
    pinned_actions,
    signal_rows,
)
from _support_browser import html_errors
from _support_github import FakeGitHub
from _support_inputs import FileServer
from _support_state import CANARY_SECRET

s3_server = _support_state.s3_server
act_harness = _support_act.act_harness

# One xdist worker runs them all (--dist loadgroup): the harness, its wheelhouse and the venv its
# cache stand-in keeps are built once per session, not once per worker.
pytestmark = pytest.mark.xdist_group("act")

PROBE_TOKEN = "probe-canary-7c1e9a3f5b2d4e6a"


# --- the stand-in map -------------------------------------------------------------------------


def test_every_pinned_action_maps_to_a_stand_in():
    mapping = local_repositories(ROOT)
    pinned = pinned_actions(action_files(ROOT))
    assert len(mapping) == len(pinned) > 0
    for item in mapping:
        key, directory = item.split("=", 1)
        assert key in pinned
        assert (Path(directory) / "action.yml").is_file(), item


def _with_keys(files: list[Path]) -> dict[str, set[str]]:
    """OWNER/REPO -> every `with:` key our workflows and actions pass to it."""
    used: dict[str, set[str]] = {}

    def steps(doc: dict):
        for job in (doc.get("jobs") or {}).values():
            yield from job.get("steps") or []
        yield from ((doc.get("runs") or {}).get("steps") or [])

    for path in files:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for step in steps(doc):
            uses = step.get("uses", "")
            if uses and not uses.startswith("./"):
                owner_repo = "/".join(uses.split("@", 1)[0].split("/")[:2])
                used.setdefault(owner_repo, set()).update((step.get("with") or {}).keys())
    return used


def test_each_stand_in_declares_every_input_our_workflows_pass():
    for owner_repo, keys in _with_keys(action_files(ROOT)).items():
        declared = yaml.safe_load((STANDINS / owner_repo / "action.yml").read_text(encoding="utf-8"))["inputs"]
        assert keys <= set(declared), f"{owner_repo}: stand-in lacks inputs {sorted(keys - set(declared))}"


def test_a_pinned_action_without_a_stand_in_fails_loudly(tmp_path):
    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "x.yml").write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n"
        "      - uses: actions/checkout@08c6903cd8c0fde910a37f88322edcfb5dd907a8\n"
        "      - uses: example-org/never-seen@0123456789abcdef0123456789abcdef01234567 # v1\n"
        "      - uses: ./actions/local\n",
        encoding="utf-8",
    )
    with pytest.raises(MissingStandIn) as caught:
        local_repositories(tmp_path)
    assert "example-org/never-seen@0123456789abcdef0123456789abcdef01234567" in str(caught.value)
    assert str(workflows / "x.yml") in str(caught.value)
    assert "actions/checkout" not in str(caught.value)


def test_a_project_checkout_replaces_a_stand_in_and_its_actions_are_mapped_too(tmp_path):
    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "x.yml").write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n"
        "      - uses: acme/observability/actions/latency@" + "a" * 40 + "\n",
        encoding="utf-8",
    )
    with pytest.raises(MissingStandIn):
        local_repositories(tmp_path)
    mapping = local_repositories(tmp_path, projects={"acme/observability": ROOT})
    assert f"acme/observability@{'a' * 40}={ROOT}" in mapping
    assert any(m.startswith("actions/cache@") for m in mapping)  # used inside ROOT/actions/*
    (workflows / "y.yml").write_text(
        "on: push\njobs:\n  a:\n    uses: acme/observability/.github/workflows/nope.yml@" + "a" * 40 + "\n"
        "  b:\n    runs-on: ubuntu-24.04\n    steps:\n"
        "      - uses: acme/observability/actions/not-there@" + "a" * 40 + "\n",
        encoding="utf-8",
    )
    with pytest.raises(MissingStandIn) as caught:
        local_repositories(tmp_path, projects={"acme/observability": ROOT})
    assert f"acme/observability/actions/not-there@{'a' * 40}" in str(caught.value)
    assert f"acme/observability/.github/workflows/nope.yml@{'a' * 40}" in str(caught.value)
    assert "actions/latency" not in str(caught.value)


# --- stand-ins run directly (no act) ----------------------------------------------------------


def _step_env(tmp: Path, **extra) -> dict:
    files = {}
    tmp.mkdir(parents=True, exist_ok=True)
    for name in ("GITHUB_OUTPUT", "GITHUB_STATE", "GITHUB_ENV", "GITHUB_PATH"):
        files[name] = str(tmp / name.lower())
        Path(files[name]).write_text("", encoding="utf-8")
    return {"PATH": os.environ["PATH"], "GITHUB_WORKSPACE": str(tmp / "ws"), **files, **extra}


def _kv(path: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in Path(path).read_text(encoding="utf-8").splitlines() if "=" in line)


def _cache(tmp: Path, mode: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(STANDINS / "actions" / "cache" / "cache.py"), mode],
        env=env,
        capture_output=True,
        text=True,
    )


def test_cache_stand_in_saves_on_a_miss_then_restores_elsewhere_with_scripts_relocated(tmp_path):
    store = tmp_path / "store"
    first = tmp_path / "job1" / "venv"
    (first / "bin").mkdir(parents=True)
    script = first / "bin" / "tool"
    script.write_text(f"#!{first}/bin/python\nprint('hi')\n", encoding="utf-8")
    script.chmod(0o755)
    (first / "bin" / "python").symlink_to("/usr/bin/python3")
    (first / "data.txt").write_text(f"#!{first} is data, not a script\n", encoding="utf-8")
    env = _step_env(tmp_path, OBS_ACT_CACHE=str(store), INPUT_PATH=str(first), INPUT_KEY="venv-1")
    miss = _cache(tmp_path, "restore", env)
    assert miss.returncode == 0 and _kv(env["GITHUB_OUTPUT"])["cache-hit"] == "false", miss
    state = {f"STATE_{k}": v for k, v in _kv(env["GITHUB_STATE"]).items()}
    saved = _cache(tmp_path, "save", {**env, **state})
    assert saved.returncode == 0 and "Cache saved with key: venv-1" in saved.stdout, saved

    second = tmp_path / "job2" / "venv"
    env2 = _step_env(tmp_path / "job2", OBS_ACT_CACHE=str(store), INPUT_PATH=str(second), INPUT_KEY="venv-1")
    hit = _cache(tmp_path, "restore", env2)
    assert hit.returncode == 0 and _kv(env2["GITHUB_OUTPUT"])["cache-hit"] == "true", hit
    assert (second / "bin" / "tool").read_text().startswith(f"#!{second}/bin/python\n")
    assert os.access(second / "bin" / "tool", os.X_OK)
    assert os.readlink(second / "bin" / "python") == "/usr/bin/python3"
    assert (second / "data.txt").read_text().startswith(f"#!{first}")  # only executables are rewritten
    assert _cache(tmp_path, "restore", env2).returncode == 0  # restoring over a restored tree works
    again = _cache(tmp_path, "save", {**env2, **{f"STATE_{k}": v for k, v in _kv(env2["GITHUB_STATE"]).items()}})
    assert "not saving cache" in again.stdout, again


def test_cache_stand_in_restore_keys_and_fail_on_cache_miss(tmp_path):
    store = tmp_path / "store"
    src = tmp_path / "dir"
    src.mkdir()
    (src / "f").write_text("x", encoding="utf-8")
    env = _step_env(tmp_path, OBS_ACT_CACHE=str(store), INPUT_PATH=str(src), INPUT_KEY="deps-aaa")
    _cache(tmp_path, "restore", env)
    _cache(tmp_path, "save", {**env, "STATE_CACHE_KEY": "deps-aaa"})
    env = _step_env(
        tmp_path / "b",
        OBS_ACT_CACHE=str(store),
        INPUT_PATH=str(tmp_path / "b" / "dir"),
        INPUT_KEY="deps-bbb",
        **{"INPUT_RESTORE-KEYS": "deps-\n"},
    )
    partial = _cache(tmp_path, "restore", env)
    assert partial.returncode == 0 and _kv(env["GITHUB_OUTPUT"])["cache-hit"] == "false"
    assert (tmp_path / "b" / "dir" / "f").read_text() == "x"
    env = _step_env(
        tmp_path / "c",
        OBS_ACT_CACHE=str(store),
        INPUT_PATH=str(src),
        INPUT_KEY="other",
        **{"INPUT_FAIL-ON-CACHE-MISS": "true"},
    )
    missed = _cache(tmp_path, "restore", env)
    assert missed.returncode == 1 and "fail-on-cache-miss" in missed.stdout


def _upload(tmp: Path, path: str, **inputs) -> subprocess.CompletedProcess:
    env = _step_env(
        tmp,
        OBS_ACT_ARTIFACTS=str(tmp / "artifacts"),
        IN_NAME=inputs.get("name", "art"),
        IN_PATH=path,
        IN_IF_NO_FILES_FOUND=inputs.get("if_no_files_found", "warn"),
        IN_RETENTION_DAYS="1",
        IN_OVERWRITE=inputs.get("overwrite", "false"),
        IN_INCLUDE_HIDDEN_FILES=inputs.get("include_hidden", "false"),
    )
    return subprocess.run(
        [sys.executable, str(STANDINS / "actions" / "upload-artifact" / "upload.py")],
        env=env,
        capture_output=True,
        text=True,
    )


def test_upload_artifact_stand_in_layout_hidden_files_and_if_no_files_found(tmp_path):
    ws = tmp_path / "ws"
    (ws / "out" / "sub").mkdir(parents=True)
    (ws / "out" / "a.json").write_text("{}", encoding="utf-8")
    (ws / "out" / "sub" / "b.txt").write_text("b", encoding="utf-8")
    (ws / "out" / ".hidden").write_text("h", encoding="utf-8")
    (ws / "ops").mkdir()
    (ws / "ops" / "hb.json").write_text("{}", encoding="utf-8")
    done = _upload(tmp_path, f"{ws}/out/\n{ws}/ops/hb.json\n!{ws}/out/sub/b.txt\n")
    assert done.returncode == 0, done
    art = tmp_path / "artifacts" / "art"
    assert sorted(p.relative_to(art).as_posix() for p in art.rglob("*") if p.is_file()) == ["ops/hb.json", "out/a.json"]
    assert _upload(tmp_path, f"{ws}/out/").returncode == 1  # same name again without overwrite
    assert _upload(tmp_path, f"{ws}/out/", overwrite="true", include_hidden="true").returncode == 0
    assert (art / ".hidden").is_file() and (art / "sub" / "b.txt").is_file()
    warn = _upload(tmp_path, f"{ws}/nothing/*", name="empty")
    assert warn.returncode == 0 and "::warning::No files were found" in warn.stdout
    assert _upload(tmp_path, f"{ws}/nothing/*", name="empty", if_no_files_found="error").returncode == 1
    quiet = _upload(tmp_path, f"{ws}/nothing/*", name="empty", if_no_files_found="ignore")
    assert quiet.returncode == 0 and "No files" not in quiet.stdout
    assert not (tmp_path / "artifacts" / "empty").exists()


# --- end to end under act ---------------------------------------------------------------------


class Probe:
    """A loopback endpoint answering 200, counting the requests that reach it."""

    def __init__(self):
        self.hits = []
        probe = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server API
                probe.hits.append(self.path)
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/health?token={PROBE_TOKEN}"
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def probe():
    server = Probe()
    yield server
    server.close()


# An automation repository made by `observability init`, its workflows calling this tree's run.yml
# (served as acme/observability at a snapshot's commit), the research repository being the real
# upstream files in ../shared/fixtures/upstream, a signal log growing on a loopback HTTP server.

FIXTURES = Path(os.environ.get("OBS_TEST_UPSTREAM_FIXTURES") or ROOT.parent / "shared" / "fixtures" / "upstream")
MONDAY = "2025-10-20"  # the weekly report then covers the ISO week of 2025-10-13


def _scratch(path: Path) -> Path:
    """A workspace for one-off operator commands (`state init`), never the repository root."""
    path.mkdir(parents=True, exist_ok=True)
    return path


def _research_files() -> dict[str, bytes]:
    if not FIXTURES.is_dir():
        pytest.skip(
            f"{FIXTURES} is not present: the end-to-end run uses the real upstream files as the research "
            "repository (set OBS_TEST_UPSTREAM_FIXTURES to point elsewhere)"
        )
    return {
        p.relative_to(FIXTURES).as_posix(): p.read_bytes()
        for p in FIXTURES.rglob("*")
        if p.is_file() and p.relative_to(FIXTURES).parts[0] in ("runs", "reports", "ops")
    }


def _summaries(run, name: str) -> dict[str, dict]:
    """Every JSON summary in the run's artifact, by job (the artifact is `<job>-<run id>-<attempt>`)."""
    (artifact,) = [p for p in run.artifacts.iterdir() if p.name.startswith(f"{name}-")]
    found = {}
    (document,) = [
        json.loads(p.read_text(encoding="utf-8")) for p in (artifact / "out" / "run").glob("observability-*.json")
    ]
    assert document["job"] == "cycle"
    for path in sorted((artifact / "out" / "cycle").glob("*/*.json")):  # NN-<step>.json, in order
        found[path.stem.split("-", 1)[1]] = json.loads(path.read_text(encoding="utf-8"))
    (log,) = (artifact / "out" / "cycle").glob("*/automation_runs.jsonl")
    lines = log.read_text(encoding="utf-8").splitlines()
    return {"summaries": found, "lines": [json.loads(line) for line in lines], "artifact": artifact}


def _no_secret_anywhere(run, fake, *values):
    for value in (PROBE_TOKEN, CANARY_SECRET, fake.token, INPUTS_TOKEN, *values):
        assert value not in run.log, f"secret {value[:6]}... in the act log"
        for path in run.artifacts.rglob("*"):
            if path.is_file():
                assert value.encode() not in path.read_bytes(), f"secret {value[:6]}... in artifact {path}"


@pytest.mark.slow
def test_a_repository_made_by_init_runs_a_day_of_workflows_on_real_upstream_data(act_harness, tmp_path, probe):
    """init's output, given only the settings in docs/getting-started.md, runs every workflow green:
    inputs pulled from the research repository, jobs, alert inbox, state, shared storage, artifacts."""
    from _support_github import Receiver

    research = _research_files()
    adopter = Adopter(act_harness, tmp_path, research)
    store = (tmp_path / "store").as_uri()
    init = subprocess.run(
        [
            sys.executable,
            "-m",
            "observability",
            "state",
            "init",
            "--store",
            store,
            "--workspace",
            str(_scratch(tmp_path / "operator")),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "GITHUB_ACTIONS": ""},
    )
    assert init.returncode == 0, init.stdout + init.stderr
    hook = Receiver()
    webhook_secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    secrets = {
        "OBS_LATENCY_PROBES": f"api={probe.url}",
        "OBS_WEEKLY_WEBHOOK_URL": hook.url + "/weekly",
        "OBS_WEBHOOK_SECRET": webhook_secret,
    }
    try:
        with FileServer(require_auth=f"Bearer {INPUTS_TOKEN}") as signal, FakeGitHub() as fake:
            signal.files["/signal_notifier.csv"] = (SIGNAL_HEADER + signal_rows(f"{MONDAY}T00:00:00", 6)).encode()
            repo = adopter.scaffold(signal.url + "/signal_notifier.csv")
            runs = {}
            day = [
                ("latency", "00:07:30", "7,22,37,52 * * * *"),
                ("latency", "00:22:30", "7,22,37,52 * * * *"),
                ("dashboard", "00:29:30", "29 0 * * 1"),
                ("weekly", "00:33:00", None),
                ("verify", "00:50:00", None),
            ]
            for index, (name, clock, cron) in enumerate(day):
                if index == 1:  # the notifier wrote 15 more minutes meanwhile
                    signal.files["/signal_notifier.csv"] += signal_rows(f"{MONDAY}T00:06:00", 15).encode()
                run = adopter.run(
                    repo, f"{name}.yml", fake, at=f"{MONDAY}T{clock}Z", store=store, schedule=cron, secrets=secrets
                )
                assert run.exit_code == 0, (name, run)
                assert run.job_result("run") == "success", (name, run)
                assert run.job_result("push-state") is None, run  # file:// store: one runner job per run
                runs[f"{name}@{clock}"] = _summaries(run, name)
                _no_secret_anywhere(run, fake, webhook_secret)
            open_issues = [i["title"] for i in fake.issues.values() if i["state"] == "open"]
            assert open_issues == [], open_issues
            assert fake.violations == []
            probes_of_the_day = len(probe.hits)
            # The manual chain, a dry run unless told otherwise: green, and nothing pushed or sent.
            generations = sorted((tmp_path / "store" / "manifests").glob("*"))
            chain = adopter.run(
                repo,
                "workflow.yml",
                fake,
                at=f"{MONDAY}T00:55:00Z",
                store=store,
                inputs={"dry_run": True},
                secrets=secrets,
            )
            assert chain.exit_code == 0 and chain.job_result("run") == "success", chain
            assert sorted((tmp_path / "store" / "manifests").glob("*")) == generations
            assert len(hook.received) == 1
            _no_secret_anywhere(chain, fake, webhook_secret)
            # The status site, by hand (after a dashboard or weekly run it follows on its own): built from
            # the state the day left, handed to GitHub Pages and deployed, the store untouched.
            site = adopter.run(repo, "site.yml", fake, at=f"{MONDAY}T01:00:00Z", store=store, secrets=secrets)
            assert site.exit_code == 0, site
            assert site.job_result("run") == "success" and site.job_result("deploy-pages") == "success", site
            assert sorted((tmp_path / "store" / "manifests").glob("*")) == generations
            deployed = site.artifacts / "pages-deployment"
            assert (deployed / "index.html").is_file() and (deployed / "status.json").is_file()
            assert not (deployed / ".observability-site").exists()  # hidden files stay out, as on GitHub
            _no_secret_anywhere(site, fake, webhook_secret)
            dry = adopter.run(
                repo, "site.yml", fake, at=f"{MONDAY}T01:05:00Z", store=store, inputs={"dry_run": True}, secrets=secrets
            )
            assert dry.exit_code == 0 and dry.job_result("run") == "success", dry
            assert dry.job_result("deploy-pages") is None and not (dry.artifacts / "github-pages").exists(), dry
    finally:
        hook.close()

    first, second = runs["latency@00:07:30"], runs["latency@00:22:30"]
    assert first["summaries"]["latency"]["samples_written"] == 12 + 1  # 6 minutes x 2 feeds, + the probe
    assert second["summaries"]["latency"]["samples_written"] == 30 + 1  # only the new rows, + the probe
    assert probes_of_the_day == 2
    # The signal log was fetched incrementally: the second pull asked for a byte range.
    assert any("bytes=" in r["headers"].get("Range", "") for r in signal.requests), signal.requests
    # No sample data: what the dashboard and the weekly report publish comes from the research repository.
    dashboard = runs["dashboard@00:29:30"]["summaries"]["dashboard"]
    assert dashboard["status"] == "ok", dashboard
    bundle = sorted((adopter.shared / "dashboard").glob("*/*/manifest.json"))
    assert len(bundle) == 1, list(adopter.shared.rglob("*"))
    turnover = json.loads((bundle[0].parent / "turnover.json").read_text())
    upstream_ids = {line.split(",", 1)[0] for line in research["runs/index.csv"].decode().splitlines()[1:]}
    run_ids = {row["run_id"] for row in turnover["rows"]}
    assert run_ids and run_ids <= upstream_ids
    manifest = json.loads(bundle[0].read_text())
    assert adopter.research_commit in json.dumps(manifest["provenance"])
    weekly = runs["weekly@00:33:00"]["summaries"]["weekly"]
    # The real portfolio summary was generated on 2025-10-10: 9.6 days before the week's end, past its 8-day
    # freshness limit, so the report is delivered and says so (warning, never plain ok).
    assert weekly["status"] == "warning" and weekly["stale_inputs"] == 1, weekly
    assert len(hook.received) == 1 and hook.received[0]["path"] == "/weekly"
    assert list((adopter.shared / "weekly").glob("2025-10-13/*.json")) and list(
        (adopter.shared / "weekly").glob("2025-10-13/*.sig")
    )
    # Every run's artifact holds every step's summary and the run's automation-log lines.
    for key, found in runs.items():
        job_ids = {s["job_id"] for s in found["summaries"].values()}
        assert {line["job_id"] for line in found["lines"]} == job_ids, key
        assert {"state-pull", "alerts-sync", "alerts-report-failure", "state-push"} <= set(found["summaries"]), (
            key,
            sorted(found["summaries"]),
        )
    verify = runs["verify@00:50:00"]["summaries"]["verify"]
    assert verify["status"] == "ok", verify["alerts"]
    status = json.loads((deployed / "status.json").read_text(encoding="utf-8"))
    assert status["sources"], status  # the latency the day measured, on the published site
    assert html_errors((deployed / "index.html").read_text(encoding="utf-8")) == []


@pytest.mark.slow
def test_a_store_that_was_never_created_fails_the_run_and_opens_the_failure_issue(act_harness, tmp_path, probe):
    adopter = Adopter(act_harness, tmp_path, {"runs/index.csv": b"run_id\n"})
    typo = (tmp_path / "stor").as_uri()
    with FileServer() as signal, FakeGitHub() as fake:
        signal.files["/s.csv"] = SIGNAL_HEADER.encode()
        repo = adopter.scaffold(signal.url + "/s.csv")
        run = adopter.run(
            repo,
            "latency.yml",
            fake,
            at=f"{MONDAY}T00:07:30Z",
            store=typo,
            secrets={"OBS_LATENCY_PROBES": f"api={probe.url}"},
        )
        assert run.exit_code != 0 and run.job_result("run") == "failure", run
        assert "store_not_initialised" in run.log
        opened = [i for i in fake.issues.values() if i["state"] == "open"]
        # "<workflow>/latency failing": GitHub names the caller's workflow (latency), act the called one (run).
        assert len(opened) == 1 and opened[0]["title"].endswith("/latency failing"), fake.issues
        assert probe.hits == [] and not Path(tmp_path / "stor").exists()  # nothing sampled, nothing created
        assert f"https://github.com/acme/observability/blob/{adopter.sha}/docs/" in opened[0]["body"]
        assert fake.violations == []
        _no_secret_anywhere(run, fake)


@pytest.mark.slow
def test_workflow_yml_opens_the_failure_issue_on_a_real_run_and_never_on_a_dry_run(act_harness, tmp_path, probe):
    """The manual chain (workflow.yml → run.yml, `report-failure: ${{ !inputs.dry-run && inputs.job || '' }}`)
    failing: a dry run calls GitHub for nothing, a real one opens "<workflow>/workflow failing"."""
    adopter = Adopter(act_harness, tmp_path, {"runs/index.csv": b"run_id\n"})
    typo = (tmp_path / "stor").as_uri()
    with FileServer() as signal, FakeGitHub() as fake:
        signal.files["/s.csv"] = SIGNAL_HEADER.encode()
        repo = adopter.scaffold(signal.url + "/s.csv")
        dry = adopter.run(repo, "workflow.yml", fake, at=f"{MONDAY}T00:55:00Z", store=typo, inputs={"dry_run": True})
        assert dry.exit_code != 0 and dry.job_result("run") == "failure", dry
        assert fake.issues == {} and fake.calls == 0
        assert "alerts-report-failure" not in _summaries(dry, "workflow")["summaries"]  # not even a planned report
        real = adopter.run(repo, "workflow.yml", fake, at=f"{MONDAY}T01:55:00Z", store=typo, inputs={"dry_run": False})
        assert real.exit_code != 0 and real.job_result("run") == "failure", real
        opened = [i for i in fake.issues.values() if i["state"] == "open"]
        assert len(opened) == 1 and opened[0]["title"].endswith("/workflow failing"), fake.issues
        assert _summaries(real, "workflow")["summaries"]["alerts-report-failure"]["status"] == "ok"
        assert fake.violations == []


@pytest.mark.slow
def test_a_git_branch_store_is_pushed_by_its_own_job(act_harness, tmp_path, probe):
    """With a git-branch store the push runs in job push-state (the only one with contents: write)."""
    from _support_inputs import git

    adopter = Adopter(act_harness, tmp_path, {"runs/index.csv": b"run_id\n"})
    bare = tmp_path / "state.git"
    git("init", "--quiet", "--bare", str(bare))
    store = f"git+file://{bare}#observability-state"
    init = subprocess.run(
        [
            sys.executable,
            "-m",
            "observability",
            "state",
            "init",
            "--store",
            store,
            "--workspace",
            str(_scratch(tmp_path / "operator")),
        ],
        capture_output=True,
        text=True,
    )
    assert init.returncode == 0, init.stdout + init.stderr
    with FileServer() as signal, FakeGitHub() as fake:
        signal.files["/s.csv"] = (SIGNAL_HEADER + signal_rows(f"{MONDAY}T00:00:00", 5)).encode()
        repo = adopter.scaffold(signal.url + "/s.csv")
        before = git("rev-parse", "refs/heads/observability-state", cwd=bare).strip()
        run = adopter.run(
            repo,
            "latency.yml",
            fake,
            at=f"{MONDAY}T00:07:30Z",
            store=store,
            secrets={"OBS_LATENCY_PROBES": f"api={probe.url}"},
        )
        assert run.exit_code == 0, run
        assert run.job_result("run") == "success" and run.job_result("push-state") == "success", run
        after = git("rev-parse", "refs/heads/observability-state", cwd=bare).strip()
        assert after != before
        manifest = json.loads(git("show", "refs/heads/observability-state:manifest.json", cwd=bare))
        assert "ops/latency_state.json" in json.dumps(manifest)
        assert fake.violations == []
        _no_secret_anywhere(run, fake)


@pytest.mark.slow
def test_the_alert_drill_runs_the_whole_alert_path_and_touches_no_state(act_harness, tmp_path):
    adopter = Adopter(act_harness, tmp_path, {"runs/index.csv": b"run_id\n"})
    store = (tmp_path / "store").as_uri()
    with FileServer() as signal, FakeGitHub() as fake:
        signal.files["/s.csv"] = SIGNAL_HEADER.encode()
        adopter.scaffold(signal.url + "/s.csv")
        # The drill routes like a real alert: the automation repository's alerts.yaml (owners) is
        # read, not a scratch directory's (it once ran with the runner's temp dir as workspace).
        config = tmp_path / "adopter" / "configs" / "observability" / "alerts.yaml"
        config.write_text(
            config.read_text(encoding="utf-8") + "owners:\n  latency_slo: {assignees: [alice], team: '@acme/feeds'}\n",
            encoding="utf-8",
        )
        repo = act_harness.prepare(tmp_path / "adopter")
        run = adopter.run(
            repo,
            "latency.yml",
            fake,
            at=f"{MONDAY}T00:07:30Z",
            store=store,
            inputs={"alert_drill": True, "drill_reason": "act drill @octocat"},
        )
        assert run.exit_code == 0, run
        (issue,) = fake.issues.values()
        assert issue["title"].startswith("[drill]") and issue["state"] == "closed"
        assert [a["login"] for a in issue["assignees"]] == ["alice"]
        assert "@acme/feeds" in issue["body"]
        assert "drill" in [label["name"] for label in issue["labels"]]
        assert "Reason: `act drill @octocat`" in issue["body"]
        assert not (tmp_path / "store").exists()  # the drill never pulls or pushes state
        assert fake.violations == []


@pytest.mark.slow
def test_a_dry_run_alert_drill_of_the_weekly_workflow_calls_nothing(act_harness, tmp_path):
    """alert_drill with dry_run (issue 17: it used to be said to create issues): zero GitHub requests,
    and the step summary lists the calls it would have made."""
    adopter = Adopter(act_harness, tmp_path, {"runs/index.csv": b"run_id\n"})
    store = (tmp_path / "store").as_uri()
    with FileServer() as signal, FakeGitHub() as fake:
        signal.files["/s.csv"] = SIGNAL_HEADER.encode()
        repo = adopter.scaffold(signal.url + "/s.csv")
        run = adopter.run(
            repo,
            "weekly.yml",
            fake,
            at=f"{MONDAY}T02:14:30Z",
            store=store,
            inputs={"alert_drill": True, "dry_run": True, "drill_reason": "dry drill"},
        )
        assert run.exit_code == 0, run
        assert fake.requests == [] and fake.issues == {}
        assert "alerts: dry_run" in run.log, run
        summary = run.step_summary()
        assert "Dry run:" in summary and "call(s) it would make" in summary, summary
        assert f"POST /repos/{fake.repo}/issues" in summary and "Drill reason: `dry drill`" in summary
        assert not (tmp_path / "store").exists()


STANDIN_WORKFLOW = """\
name: stand-ins
on: workflow_dispatch
permissions: {}
jobs:
  all:
    runs-on: ubuntu-24.04
    steps:
      - uses: actions/checkout@%(checkout)s
        with:
          persist-credentials: false
      - id: upstream
        uses: actions/checkout@%(checkout)s
        with:
          repository: acme/research
          ref: v1
          path: upstream
          sparse-checkout: runs
          persist-credentials: false
      - id: py
        uses: actions/setup-python@%(pin)s
        with:
          python-version: "3.11"
      - uses: aws-actions/configure-aws-credentials@%(pin)s
        with:
          aws-region: eu-west-1
          aws-access-key-id: AKIATESTING
          aws-secret-access-key: ${{ secrets.AWS_SECRET }}
      - uses: actions/upload-artifact@%(pin)s
        with:
          name: runs
          path: upstream/runs/
      - uses: actions/download-artifact@%(pin)s
        with:
          name: runs
          path: back
      - uses: actions/upload-pages-artifact@%(pin)s
        with:
          path: upstream/runs/
      - id: pages
        uses: actions/deploy-pages@%(pin)s
      - env:
          URL: ${{ steps.pages.outputs.page_url }}
        run: test -f "${URL#file://}r1.json"
      - env:
          PY: ${{ steps.py.outputs.python-path }}
          PYV: ${{ steps.py.outputs.python-version }}
          COMMIT: ${{ steps.upstream.outputs.commit }}
          MULTI: ${{ secrets.MULTI }}
        run: |
          set -eu
          test "$(command -v python3.11 || command -v python3)" = "$PY"
          case "$PYV" in 3.11.*) ;; *) exit 1;; esac
          test "$AWS_DEFAULT_REGION" = eu-west-1
          test "$AWS_ACCESS_KEY_ID" = AKIATESTING
          test "$(printf %%s "$AWS_SECRET_ACCESS_KEY" | sha256sum | cut -c1-16)" = "%(secret_hash)s"
          test -f upstream/runs/r1.json
          test ! -e upstream/reports
          test "$(git -C upstream rev-parse HEAD)" = "$COMMIT"
          test -z "${AWS_SECRET:-}"  # a secret reaches a step only through env: mapping
          test "$(printf %%s "$MULTI" | sha256sum | cut -c1-16)" = "%(multi_hash)s"
          diff -r upstream/runs back
          echo "stand-ins ok" >> "$GITHUB_STEP_SUMMARY"
      - id: role
        uses: aws-actions/configure-aws-credentials@%(pin)s
        with:
          aws-region: us-east-1
          role-to-assume: arn:aws:iam::123456789012:role/obs-state
          sts-endpoint: ${{ vars.STS_ENDPOINT }}
      - env:
          ACCOUNT: ${{ steps.role.outputs.aws-account-id }}
        run: |
          set -eu
          test "$ACCOUNT" = 123456789012
          test "$AWS_ACCESS_KEY_ID" != AKIATESTING
          test -n "$AWS_SESSION_TOKEN"
          echo "role assumed" >> "$GITHUB_STEP_SUMMARY"
"""


@pytest.mark.slow
def test_every_stand_in_works_inside_act(act_harness, tmp_path, s3_server):
    import hashlib

    research = act_harness.repos / "acme" / "research"
    if not research.exists():
        upstream = tmp_path / "research"
        (upstream / "runs").mkdir(parents=True)
        (upstream / "runs" / "r1.json").write_text("{}", encoding="utf-8")
        (upstream / "reports").mkdir()
        (upstream / "reports" / "w.md").write_text("x", encoding="utf-8")
        _support_act.snapshot(upstream, research, "acme/research")
        subprocess.run(["git", "tag", "v1"], cwd=research, check=True)
    checkout = next(k for k in pinned_actions(action_files(ROOT)) if k.startswith("actions/checkout@")).split("@")[1]
    secret = "aws-canary-5e8d2c7b1a9f"
    multi = "a=1\nb='$HOME' \"2\"\n"  # multi-line, quotes, a $: passed exactly
    source = tmp_path / "repo"
    (source / ".github" / "workflows").mkdir(parents=True)
    (source / ".github" / "workflows" / "standins.yml").write_text(
        STANDIN_WORKFLOW
        % {
            "checkout": checkout,
            "pin": "f" * 40,
            "secret_hash": hashlib.sha256(secret.encode()).hexdigest()[:16],
            "multi_hash": hashlib.sha256(multi.encode()).hexdigest()[:16],
        },
        encoding="utf-8",
    )
    run = act_harness.run(
        act_harness.prepare(source),
        "standins.yml",
        secrets={"AWS_SECRET": secret, "MULTI": multi},
        variables={"STS_ENDPOINT": s3_server},
    )
    assert run.exit_code == 0, run
    assert "stand-ins ok" in run.step_summary("all")
    assert "role assumed" in run.step_summary("all")  # AssumeRoleWithWebIdentity on moto
    assert (run.artifacts / "runs" / "r1.json").is_file()
    assert (run.artifacts / "github-pages" / "artifact.tar").is_file()
    assert (run.artifacts / "pages-deployment" / "r1.json").is_file()
    assert secret not in run.log


@pytest.mark.slow
def test_a_remote_reusable_workflow_is_served_from_a_local_project(act_harness, tmp_path):
    """A caller pinned to OWNER/REPO/.github/workflows/X.yml@SHA (how adopters will call ours)."""
    pin = "b" * 40
    checkout = next(k for k in pinned_actions(action_files(ROOT)) if k.startswith("actions/checkout@")).split("@")[1]
    lib = tmp_path / "lib"
    (lib / ".github" / "workflows").mkdir(parents=True)
    (lib / ".github" / "workflows" / "job.yml").write_text(
        "on:\n  workflow_call:\n    inputs:\n      who: {type: string, required: true}\n"
        "    secrets:\n      TOKEN: {required: true}\n"
        "jobs:\n  inner:\n    runs-on: ubuntu-24.04\n    steps:\n"
        f"      - uses: actions/checkout@{checkout}\n        with:\n          persist-credentials: false\n"
        "      - env:\n          WHO: ${{ inputs.who }}\n          TOKEN: ${{ secrets.TOKEN }}\n"
        '        run: |\n          test -f caller.txt\n          test -n "$TOKEN"\n'
        '          echo "reusable ran for $WHO" >> "$GITHUB_STEP_SUMMARY"\n',
        encoding="utf-8",
    )
    caller = tmp_path / "caller"
    (caller / ".github" / "workflows").mkdir(parents=True)
    (caller / "caller.txt").write_text("x", encoding="utf-8")
    (caller / ".github" / "workflows" / "call.yml").write_text(
        "on: workflow_dispatch\npermissions: {}\njobs:\n  call:\n"
        f"    uses: acme/lib/.github/workflows/job.yml@{pin} # v1\n"
        "    with:\n      who: adopter\n    secrets:\n      TOKEN: ${{ secrets.SOME_TOKEN }}\n",
        encoding="utf-8",
    )
    run = act_harness.run(
        act_harness.prepare(caller),
        "call.yml",
        secrets={"SOME_TOKEN": "tok-3f9a"},
        projects={"acme/lib": act_harness.prepare(lib)},
    )
    assert run.exit_code == 0, run
    assert "reusable ran for adopter" in run.step_summary()
    assert "tok-3f9a" not in run.log


@pytest.mark.slow
def test_an_s3_store_and_shared_storage_on_moto_with_access_keys(act_harness, tmp_path, s3_server, probe):
    """The same workflows against an S3 state store and S3 shared storage (moto's server), the AWS
    keys reaching the cycle through configure-aws-credentials, the secret key in no output."""
    from _support_state import fresh_bucket, s3_client, s3_env

    adopter = Adopter(act_harness, tmp_path, _research_files())
    bucket = fresh_bucket(s3_server)
    store, shared = f"s3://{bucket}/observability-state", f"s3://{bucket}/observability"
    env = {**os.environ, **{k: v for k, v in s3_env(s3_server).items() if v is not None}, "GITHUB_ACTIONS": ""}
    init = subprocess.run(
        [
            sys.executable,
            "-m",
            "observability",
            "state",
            "init",
            "--store",
            store,
            "--workspace",
            str(_scratch(tmp_path / "operator")),
        ],
        capture_output=True,
        text=True,
        env=env,
    )
    assert init.returncode == 0, init.stdout + init.stderr
    aws = {"OBS_AWS_ACCESS_KEY_ID": "testing", "OBS_AWS_SECRET_ACCESS_KEY": CANARY_SECRET}
    variables = {"OBS_S3_ENDPOINT_URL": s3_server, "AWS_DEFAULT_REGION": "us-east-1", "OBS_SYNC_TO": shared}
    with FileServer() as signal, FakeGitHub() as fake:
        signal.files["/s.csv"] = (SIGNAL_HEADER + signal_rows(f"{MONDAY}T00:00:00", 6)).encode()
        repo = adopter.scaffold(signal.url + "/s.csv")
        for name, clock, cron in (
            ("latency", "00:07:30", "7,22,37,52 * * * *"),
            ("dashboard", "00:29:30", "29 0 * * 1"),
        ):
            run = adopter.run(
                repo,
                f"{name}.yml",
                fake,
                at=f"{MONDAY}T{clock}Z",
                store=store,
                schedule=cron,
                secrets={"OBS_LATENCY_PROBES": f"api={probe.url}", **aws},
                variables=variables,
            )
            assert run.exit_code == 0 and run.job_result("run") == "success", (name, run)
            _no_secret_anywhere(run, fake)
        assert fake.violations == []
    keys = [o["Key"] for o in s3_client(s3_server).list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert any(k.startswith("observability-state/manifests/") for k in keys)
    assert any(k.startswith("observability/dashboard/") and k.endswith("/manifest.json") for k in keys), keys
    assert "observability/index.json" in keys


# --- CI failure alerts: ci-failure-alerts.yml (workflow_run) calling ci-alerts.yml -------------


def _ci_run(
    harness, run_id: int, conclusion: str, *, number: int, drill: dict | None = None, event="push", files=None
) -> dict:
    """The workflow_run event of a finished CI run, and its ci-telemetry artifact as its upload step leaves it
    (drill.json, and ``files``: name -> path of the telemetry files to put beside it)."""
    if drill is not None or files:
        artifact = harness.runs / str(run_id) / f"ci-telemetry-{run_id}-1"
        artifact.mkdir(parents=True)
        (artifact / "drill.json").write_text(json.dumps(drill or {"drill": False, "reason": ""}), encoding="utf-8")
        for name, path in (files or {}).items():
            (artifact / name).write_bytes(Path(path).read_bytes())
    return {
        "workflow_run": {
            "id": run_id,
            "name": "CI",
            "workflow_id": 4242,
            "run_number": number,
            "run_attempt": 1,
            "conclusion": conclusion,
            "status": "completed",
            "event": event,
            "head_branch": "main",
            "head_repository": {"full_name": harness.repository},
            "head_sha": f"{run_id:040x}",
            "html_url": f"https://github.com/{harness.repository}/actions/runs/{run_id}",
            "actor": {"login": "octocat"},
            "triggering_actor": {"login": "octocat"},
        },
        "repository": {"default_branch": "main", "full_name": harness.repository},
    }


@pytest.mark.slow
def test_ci_failure_alerts_report_the_triggering_ci_run(act_harness, tmp_path):
    """init's ci-failure-alerts.yml on workflow_run: a timed-out CI run opens the issue (run URL, branch,
    actor; Slack links back), a run cancelled by a newer push is not counted and says so, success closes,
    a pull-request run is ignored; then this repository's own caller reports a drill with its reason."""
    from _support_github import Receiver, unpaced

    adopter = Adopter(act_harness, tmp_path, {"runs/index.csv": b"run_id\n"})
    slack = Receiver()
    hook = slack.url + "/services/T000/B000/XXXXXXXXXXXXXXXXXXXXXXXX"
    try:
        with FakeGitHub() as fake:
            repo = adopter.scaffold("http://127.0.0.1:9/s.csv")

            def alert(payload, at, source=repo):
                return act_harness.run(
                    source,
                    "ci-failure-alerts.yml",
                    event="workflow_run",
                    payload=payload,
                    secrets={"GITHUB_TOKEN": fake.token, "SLACK_CI_WEBHOOK": hook},
                    env={"GITHUB_API_URL": fake.url, "OBS_NOW": at},
                    projects={"acme/observability": adopter.project},
                )

            timed_out = alert(_ci_run(act_harness, 501, "timed_out", number=11), f"{MONDAY}T09:00:00Z")
            assert timed_out.exit_code == 0 and timed_out.job_result("report") == "success", timed_out
            (issue,) = fake.issues.values()
            assert issue["title"] == "CI failure alerts" and issue["state"] == "open"
            run_url = f"https://github.com/{act_harness.repository}/actions/runs/501"
            assert f"[run]({run_url}), timed out, branch `main`, triggered by `octocat`" in issue["body"]
            assert "within **one business hour**" in issue["body"]
            # No state store: the telemetry is recorded in a scratch store, and the summary says so.
            assert "the trend is not kept" in timed_out.step_summary() and "# CI health" in timed_out.step_summary()
            text = slack.received[0]["json"]["blocks"][0]["text"]["text"]
            assert "CI/ci timed out" in text and "branch `main`" in text and "triggered by `octocat`" in text
            assert f"<{issue['html_url']}|issue>" in slack.received[0]["json"]["blocks"][1]["elements"][0]["text"]

            fake.add_run(503, workflow="ci.yml", workflow_id=4242, conclusion=None, run_number=13)  # the newer push
            cancelled = alert(_ci_run(act_harness, 502, "cancelled", number=12), f"{MONDAY}T09:05:00Z")
            assert cancelled.exit_code == 0, cancelled
            assert "counted as nothing (not counted)" in cancelled.step_summary()
            assert "superseded it: not counted" in fake.comment_bodies(issue["number"])[-1]
            assert "1 failed run(s) in a row" in fake.issues[issue["number"]]["body"]

            pull = _ci_run(act_harness, 504, "failure", number=14, event="pull_request")
            ignored = alert(pull, f"{MONDAY}T09:08:00Z")
            assert ignored.exit_code == 0 and ignored.job_result("report") != "success", ignored
            requests_so_far = len(fake.requests)

            success = alert(_ci_run(act_harness, 503, "success", number=13), f"{MONDAY}T09:10:00Z")
            assert success.exit_code == 0, success
            assert fake.issues[issue["number"]]["state"] == "closed"
            assert len(fake.requests) > requests_so_far
            assert fake.violations == []
            _no_secret_anywhere(success, fake, hook)

            # This repository's own caller (workflow_run of `ci`): an alert drill dispatched with a reason.
            own = unpaced(act_harness.prepare(ROOT))  # its alerts.yaml: no write pacing in tests
            for args in (("add", "-A"), ("commit", "-q", "--amend", "--no-edit")):
                subprocess.run(["git", *args], cwd=own, check=True, capture_output=True)
            drill = {"drill": True, "reason": "quarterly CI drill @octocat"}
            drilled = alert(
                _ci_run(act_harness, 601, "failure", number=21, drill=drill, event="workflow_dispatch"),
                f"{MONDAY}T10:00:00Z",
                source=own,
            )
            assert drilled.exit_code == 0, drilled
            (drill_issue,) = [i for i in fake.issues.values() if i["title"] == "[drill] CI failure alerts"]
            assert drill_issue["state"] == "closed"  # the drill's own recovery
            assert "Reason: `quarterly CI drill @octocat`" in drill_issue["body"]
            assert "drill" in [label["name"] for label in drill_issue["labels"]]
            assert "# CI health" not in drilled.step_summary()  # a drill records no CI telemetry
            assert fake.violations == []
    finally:
        slack.close()


@pytest.mark.slow
def test_ci_alerts_record_the_ci_telemetry_in_the_state_store(act_harness, tmp_path):
    """A failing CI run whose artifact holds real telemetry (flake log, coverage and JUnit XML of a real
    pytest run, the formatter record): the issue opens, ci metrics, the flake history and the health page
    are recorded and pushed to the file:// store; the next (green) run appends to them and closes it."""
    from _support_ci import real_reports
    from _support_inprocess import run_cli_in_process

    reports = tmp_path / "reports"
    reports.mkdir()
    flake_log = reports / "flake_runs.json"
    coverage_xml, junit_xml = real_reports(reports, flake_log=flake_log)
    # The session ran now; the alerts run on MONDAY (OBS_NOW): dated before it, or `ci flakes` leaves it
    # out as a session from the future.
    document = json.loads(flake_log.read_text(encoding="utf-8"))
    document["meta"] |= {"started_at": f"{MONDAY}T10:50:00Z", "finished_at": f"{MONDAY}T10:51:00Z"}
    flake_log.write_text(json.dumps(document), encoding="utf-8")
    formatter = reports / "formatter.json"
    formatter.write_text(json.dumps({"formatters": [{"name": "ruff-format", "mode": "enforced", "result": "fail"}]}))
    telemetry = {"flake_runs.json": flake_log, "coverage.xml": coverage_xml, "junit.xml": junit_xml}
    store = (tmp_path / "store").as_uri()
    assert run_cli_in_process(["state", "init", "--store", store]).returncode == 0

    def kept(name):
        ws = _scratch(tmp_path / f"pulled-{len(list(tmp_path.glob('pulled-*')))}")
        pulled = run_cli_in_process(["state", "pull", "--store", store, "--for", "ci", "--workspace", str(ws)])
        assert pulled.returncode == 0, pulled.stdout + pulled.stderr
        return json.loads((ws / "ops" / "ci" / name).read_text(encoding="utf-8"))

    adopter = Adopter(act_harness, tmp_path, {"runs/index.csv": b"run_id\n"})
    with FakeGitHub() as fake:
        repo = adopter.scaffold("http://127.0.0.1:9/s.csv")

        def alert(payload, at):
            return act_harness.run(
                repo,
                "ci-failure-alerts.yml",
                event="workflow_run",
                payload=payload,
                variables={"OBS_STATE_STORE": store},
                secrets={"GITHUB_TOKEN": fake.token},
                env={"GITHUB_API_URL": fake.url, "OBS_NOW": at},
                projects={"acme/observability": adopter.project},
            )

        failed = alert(
            _ci_run(act_harness, 701, "failure", number=31, files={**telemetry, "formatter.json": formatter}),
            f"{MONDAY}T11:00:00Z",
        )
        assert failed.exit_code == 0 and failed.job_result("report") == "success", failed
        (issue,) = fake.issues.values()
        assert issue["state"] == "open"
        summary = failed.step_summary()
        assert "# CI health" in summary and "ruff-format" in summary, summary
        assert "the trend is not kept" not in summary
        (entry,) = kept("ci_metrics.json")["entries"]
        assert entry["run_id"] == "701" and entry["conclusion"] == "failure", entry
        assert entry["coverage"]["line_pct"] is not None and entry["tests"]["failed"] == 1, entry
        assert [(f["name"], f["mode"], f["result"]) for f in entry["formatters"]] == [
            ("ruff-format", "enforced", "fail")
        ]
        history = kept("flake_history.json")
        assert any(s.get("exit_status") == 1 for s in history["sessions"]), history
        assert (failed.artifacts / "ci-health-701-1" / "ci_health.md").is_file()

        green = alert(_ci_run(act_harness, 702, "success", number=32, files=telemetry), f"{MONDAY}T11:30:00Z")
        assert green.exit_code == 0, green
        assert fake.issues[issue["number"]]["state"] == "closed"
        assert [e["run_id"] for e in kept("ci_metrics.json")["entries"]] == ["701", "702"]
        assert fake.violations == []
        _no_secret_anywhere(green, fake)
