"""``inputs pull``: every source kind on loopback, all-or-nothing installs, confinement, provenance."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import _support_state
from _support_inputs import (
    CANARY_GIT_TOKEN,
    CANARY_HEADER,
    FileServer,
    git,
    pull,
    repo_inputs_config,
    research_repo,
    write_config,
)
from _support_state import s3_client, s3_env

s3_server = _support_state.s3_server

UPSTREAM = {
    "runs/index.csv": "run_id,timestamp\nUSDJPY_bridge_1,2026-01-05T00:00:00Z\n",
    "runs/USDJPY_bridge_1/daily.csv": "date,ev\n2026-01-05,0.1\n",
    "reports/portfolio_summary.json": '{"budget": 1}\n',
    "reports/portfolio_samples/router_demo/telemetry.json": '{"fills": 3}\n',
    "ops/state_archive/a/USDJPY/conservative/1.json": '{"ev_global": {}}\n',
    "big/unrelated.bin": os.urandom(200_000),
}


_repo_config = repo_inputs_config


def test_repository_paths_land_in_the_workspace_with_the_commit_as_identity(tmp_path):
    bare, commit = research_repo(tmp_path, UPSTREAM)
    ws = tmp_path / "ws"
    write_config(ws, _repo_config(bare))
    run = pull(ws)
    assert run.exit_code == 0 and run.summary["status"] == "ok", run
    for rel in (
        "runs/index.csv",
        "runs/USDJPY_bridge_1/daily.csv",
        "reports/portfolio_summary.json",
        "ops/state_archive/a/USDJPY/conservative/1.json",
    ):
        assert (ws / rel).read_text() == UPSTREAM[rel]
    assert not (ws / "big").exists()
    assert run.summary["bytes_fetched"] < 100_000  # the unrelated 200 kB blob never came down
    record = json.loads((ws / "out/inputs/pulled.json").read_text())
    assert [r["name"] for r in record["inputs"]] == ["reports", "runs", "state-archive"]
    assert all(r["identity"] == {"commit": commit} for r in record["inputs"])
    assert all(r["source"].startswith(f"file://{bare}@main:") for r in record["inputs"])
    assert not list((ws / "out/inputs").glob(".staging-*"))


def test_a_directory_destination_is_replaced_whole(tmp_path):
    bare, _ = research_repo(tmp_path, UPSTREAM)
    ws = tmp_path / "ws"
    write_config(ws, _repo_config(bare))
    (ws / "runs/stale_run").mkdir(parents=True)
    (ws / "runs/stale_run/daily.csv").write_text("old\n")
    assert pull(ws, "--only", "runs").exit_code == 0
    assert not (ws / "runs/stale_run").exists() and (ws / "runs/index.csv").is_file()
    assert not (ws / "reports").exists()  # --only: the others are not touched


def test_for_job_pulls_only_the_inputs_that_job_reads(tmp_path):
    """Latency runs every 15 minutes: it must not fetch runs/ and reports/ it never reads."""
    bare, _ = research_repo(tmp_path, UPSTREAM)
    ws = tmp_path / "ws"
    config = _repo_config(bare)
    write_config(ws, config)
    run = pull(ws, "--for", "latency", "--dry-run")
    assert run.exit_code == 0, run
    assert run.summary["inputs"] == []  # no incremental log declared: latency reads none of these
    assert pull(ws, "--for", "dashboard").exit_code == 0
    assert (ws / "runs/index.csv").is_file() and (ws / "reports").is_dir()
    only_reports = config.replace("- name: reports", "- name: reports\n    jobs: [weekly]")
    assert only_reports != config
    write_config(ws, only_reports)
    listed = pull(ws, "--for", "dashboard", "--dry-run").summary["inputs"]
    assert "reports" not in [item["name"] for item in listed]
    assert pull(ws, "--for", "dashboard", "--only", "reports").exit_code == 2


def test_a_git_token_travels_as_a_header_never_in_the_url_or_argv(tmp_path):
    from observability.inputs.sources import GitFetch

    fetch = GitFetch(
        "https://github.com/acme/research.git",
        "main",
        "RESEARCH_TOKEN",
        {"RESEARCH_TOKEN": CANARY_GIT_TOKEN, "PATH": os.environ["PATH"]},
        "inputs runs",
    )
    try:
        assert fetch.remote == "https://github.com/acme/research.git"
        header = fetch._env["GIT_CONFIG_VALUE_0"]
        assert fetch._env["GIT_CONFIG_KEY_0"] == "http.https://github.com/acme/research.git.extraheader"
        assert header.startswith("AUTHORIZATION: basic ") and CANARY_GIT_TOKEN not in header  # base64 of it
        assert all(CANARY_GIT_TOKEN not in v for k, v in fetch._env.items() if k != "RESEARCH_TOKEN")
    finally:
        fetch.close()


def test_a_token_is_never_sent_to_a_plain_file_or_http_remote(tmp_path):
    bare, _ = research_repo(tmp_path, UPSTREAM)
    ws = tmp_path / "ws"
    write_config(
        ws,
        f"""
inputs:
  - name: runs
    destination: runs
    repository: {{url: "git+file://{bare}", ref: main, path: runs, token_env: RESEARCH_TOKEN}}
""",
    )
    run = pull(ws, env={"RESEARCH_TOKEN": CANARY_GIT_TOKEN})
    assert run.exit_code == 2 and "only sent over https://" in run.summary["diagnostics"]["error_message"], run
    assert CANARY_GIT_TOKEN not in run.stdout + run.stderr


def test_https_file_with_a_header_from_the_environment(tmp_path):
    with FileServer(require_auth=CANARY_HEADER) as server:
        server.files["/reports/portfolio_summary.json"] = b'{"budget": 2}\n'
        ws = tmp_path / "ws"
        write_config(
            ws,
            f"""
inputs:
  - name: portfolio
    destination: reports/portfolio_summary.json
    https:
      url: "{server.url}/reports/portfolio_summary.json?X-Amz-Signature=abcdef0123456789"
      headers_env: {{Authorization: PORTFOLIO_AUTH}}
""",
        )
        run = pull(ws, env={"PORTFOLIO_AUTH": CANARY_HEADER})
    assert run.exit_code == 0, run
    assert (ws / "reports/portfolio_summary.json").read_bytes() == b'{"budget": 2}\n'
    record = json.loads((ws / "out/inputs/pulled.json").read_text())["inputs"][0]
    assert record["identity"]["etag"].startswith('"') and record["identity"]["last_modified"]
    assert record["source"] == f"{server.url}/reports/portfolio_summary.json"  # the signed query is not kept
    assert record["bytes_fetched"] == 14
    everything = (
        run.stdout
        + run.stderr
        + "".join(p.read_text() for p in ws.rglob("*") if p.is_file() and p.suffix in (".json", ".log"))
    )
    assert "canary-HTTP-TOKEN" not in everything and "abcdef0123456789" not in everything


def test_a_failed_source_installs_nothing_and_names_the_input(tmp_path):
    bare, _ = research_repo(tmp_path, UPSTREAM)
    ws = tmp_path / "ws"
    (ws / "reports").mkdir(parents=True)
    (ws / "reports/portfolio_summary.json").write_text("last good\n")
    (ws / "runs").mkdir()
    (ws / "runs/index.csv").write_text("last good runs\n")
    with FileServer() as server:
        server.fail_status["/telemetry.json"] = 503
        write_config(
            ws,
            _repo_config(
                bare,
                f"""
  - name: telemetry
    destination: reports/portfolio_samples/router_demo/telemetry.json
    https: {{url: "{server.url}/telemetry.json"}}
""",
            )
            .replace(
                "  - name: reports\n    destination: reports\n",
                "  - name: reports\n    destination: reports/portfolio_summary.json\n",
            )
            .replace("path: reports}", "path: reports/portfolio_summary.json}"),
        )
        run = pull(ws)
    assert run.exit_code == 1 and run.summary["status"] == "error", run
    diagnostics = run.summary["diagnostics"]
    assert diagnostics["error_code"] == "input_unavailable"
    assert diagnostics["input"] == "telemetry" and diagnostics["source"] == f"{server.url}/telemetry.json"
    assert "HTTP 503" in diagnostics["error_message"]
    assert (ws / "reports/portfolio_summary.json").read_text() == "last good\n"
    assert (ws / "runs/index.csv").read_text() == "last good runs\n"
    assert not (ws / "reports/portfolio_samples").exists()
    assert not (ws / "out/inputs/pulled.json").exists()
    assert not list((ws / "out/inputs").glob(".staging-*"))
    log = [json.loads(line) for line in (ws / "ops/automation_runs.log").read_text().splitlines()]
    assert log[-1]["job"] == "inputs" and log[-1]["status"] == "error"


def test_a_missing_repository_path_is_input_unavailable(tmp_path):
    bare, _ = research_repo(tmp_path, UPSTREAM)
    ws = tmp_path / "ws"
    write_config(
        ws,
        f"""
inputs:
  - name: runs
    destination: runs
    repository: {{url: "git+file://{bare}", ref: main, path: no/such/dir}}
""",
    )
    run = pull(ws)
    assert run.exit_code == 1 and run.error_code == "input_unavailable", run
    assert "no/such/dir does not exist at main" in run.summary["diagnostics"]["error_message"]


# --- s3 ------------------------------------------------------------------------------------------


def test_s3_key_and_prefix_with_etags(tmp_path, s3_server):
    client = s3_client(s3_server)
    bucket = _support_state.fresh_bucket(s3_server)
    client.put_object(Bucket=bucket, Key="research/reports/portfolio_summary.json", Body=b'{"budget": 3}\n')
    client.put_object(Bucket=bucket, Key="research/state_archive/a/USDJPY/conservative/1.json", Body=b"{}\n")
    client.put_object(Bucket=bucket, Key="research/state_archive/b/USDJPY/conservative/2.json", Body=b"[]\n")
    ws = tmp_path / "ws"
    write_config(
        ws,
        f"""
inputs:
  - name: portfolio
    destination: reports/portfolio_summary.json
    s3: {{bucket: {bucket}, key: research/reports/portfolio_summary.json}}
  - name: state-archive
    destination: ops/state_archive
    s3: {{bucket: {bucket}, prefix: research/state_archive/}}
""",
    )
    run = pull(ws, env=s3_env(s3_server))
    assert run.exit_code == 0, run
    assert (ws / "reports/portfolio_summary.json").read_bytes() == b'{"budget": 3}\n'
    assert (ws / "ops/state_archive/b/USDJPY/conservative/2.json").read_bytes() == b"[]\n"
    records = {r["name"]: r for r in json.loads((ws / "out/inputs/pulled.json").read_text())["inputs"]}
    head = client.head_object(Bucket=bucket, Key="research/reports/portfolio_summary.json")
    assert records["portfolio"]["identity"]["etag"] == head["ETag"]
    assert records["portfolio"]["source"] == f"s3://{bucket}/research/reports/portfolio_summary.json"
    assert len(records["state-archive"]["identity"]["objects"]) == 2 and records["state-archive"]["files"] == 2
    assert _support_state.CANARY_SECRET not in run.stdout + run.stderr


def test_s3_missing_key_is_input_unavailable(tmp_path, s3_server):
    bucket = _support_state.fresh_bucket(s3_server)
    ws = tmp_path / "ws"
    write_config(
        ws,
        f"""
inputs:
  - name: portfolio
    destination: reports/portfolio_summary.json
    s3: {{bucket: {bucket}, key: nothing/here.json}}
""",
    )
    run = pull(ws, env=s3_env(s3_server))
    assert run.exit_code == 1 and run.error_code == "input_unavailable", run
    assert run.summary["diagnostics"]["source"] == f"s3://{bucket}/nothing/here.json"
    assert "NoSuchKey" in run.summary["diagnostics"]["error_message"]


def test_a_failure_in_a_shared_repository_names_the_input_that_failed(tmp_path):
    bare, _ = research_repo(tmp_path, UPSTREAM)
    ws = tmp_path / "ws"
    write_config(
        ws,
        _repo_config(
            bare,
            f"""
  - name: telemetry
    destination: reports2
    repository: {{url: "git+file://{bare}", ref: main, path: not/there}}
""",
        ),
    )
    run = pull(ws)
    assert run.exit_code == 1 and run.summary["diagnostics"]["input"] == "telemetry", run
    assert run.summary["diagnostics"]["error_message"].startswith("inputs telemetry:")
    assert not (ws / "runs").exists()


# --- configuration and confinement ---------------------------------------------------------------


@pytest.mark.parametrize(
    "text,expected",
    [
        (
            "inputs:\n  - name: a\n    destination: ../outside\n    https: {url: 'https://x.invalid/a'}\n",
            "inputs.yaml:3: field inputs[0].destination",
        ),
        (
            "inputs:\n  - name: a\n    destination: /etc/passwd\n    https: {url: 'https://x.invalid/a'}\n",
            "field inputs[0].destination",
        ),
        (
            "inputs:\n  - name: a\n    destination: runs\n    https: {url: 'https://x.invalid/a'}\n"
            "  - name: a\n    destination: reports\n    https: {url: 'https://x.invalid/b'}\n",
            "field inputs[1].name: 'a' is declared twice",
        ),
        (
            "inputs:\n  - name: a\n    destination: runs\n    https: {url: 'https://x.invalid/a'}\n"
            "  - name: b\n    destination: runs/index.csv\n    https: {url: 'https://x.invalid/b'}\n",
            "field inputs[1].destination: 'runs/index.csv' overlaps input 'a'",
        ),
        (
            "inputs:\n  - name: a\n    destination: runs\n    repository: {url: 'https://github.com/a/b.git', path: runs}\n"
            "    incremental: true\n",
            "field inputs[0].incremental: only an https source or an s3 key",
        ),
        (
            "inputs:\n  - name: a\n    destination: ops/latency_state.json\n    https: {url: 'https://x.invalid/a'}\n",
            "under ops/ only ops/state_archive",
        ),
        (
            "inputs:\n  - name: a\n    destination: runs\n    https: {url: 'https://x.invalid/a'}\n    s3: {bucket: b, key: k}\n",
            "field inputs[0]",
        ),
        (
            "inputs:\n  - name: a\n    destination: runs\n    http: {url: 'https://x.invalid/a'}\n",
            "did you mean 'https'?",
        ),
        (
            "inputs:\n  - name: a\n    destination: runs\n    https: {url: 'https://user:pw@x.invalid/a'}\n",
            "field inputs[0].https.url",
        ),
    ],
)
def test_an_invalid_config_names_the_file_and_field_and_exits_2(tmp_path, text, expected):
    ws = tmp_path / "ws"
    write_config(ws, text)
    run = pull(ws)
    assert run.exit_code == 2 and run.error_code == "invalid_config", run
    message = run.summary["diagnostics"]["error_message"]
    assert "configs/observability/inputs.yaml" in message and expected in message, message
    assert not (ws / "runs").exists()


def test_a_missing_config_is_exit_2_naming_the_file(tmp_path):
    (tmp_path / "ws").mkdir()
    run = pull(tmp_path / "ws")
    assert run.exit_code == 2 and "configs/observability/inputs.yaml: config file not found" in run.stderr


def test_an_unknown_only_name_is_exit_2(tmp_path):
    ws = tmp_path / "ws"
    write_config(ws, "inputs:\n  - name: a\n    destination: runs\n    https: {url: 'https://x.invalid/a'}\n")
    run = pull(ws, "--only", "b")
    assert run.exit_code == 2 and "--only 'b': no such input" in run.summary["diagnostics"]["error_message"]


def test_a_missing_credential_variable_is_exit_2_naming_the_field(tmp_path):
    ws = tmp_path / "ws"
    write_config(
        ws,
        "inputs:\n  - name: a\n    destination: reports/x.json\n"
        "    https: {url: 'https://x.invalid/a', headers_env: {Authorization: NOT_SET_HERE}}\n",
    )
    run = pull(ws)
    assert run.exit_code == 2, run
    assert "https.headers_env.Authorization: environment variable NOT_SET_HERE is not set" in run.stderr


def test_a_destination_through_a_symlink_out_of_the_workspace_is_refused(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    ws = tmp_path / "ws"
    write_config(
        ws,
        "inputs:\n  - name: a\n    destination: reports/portfolio_summary.json\n"
        "    https: {url: 'http://127.0.0.1:9/a'}\n",
    )
    (ws / "reports").symlink_to(outside)
    run = pull(ws)
    assert run.exit_code == 1 and run.error_code == "unsafe_input", run
    assert "symlink" in run.summary["diagnostics"]["error_message"]
    assert list(outside.iterdir()) == []


def test_dry_run_lists_the_plan_and_contacts_nothing(tmp_path):
    with FileServer() as server:
        server.files["/a.json"] = b"{}"
        ws = tmp_path / "ws"
        write_config(
            ws,
            f"""
inputs:
  - name: a
    destination: reports/portfolio_summary.json
    https: {{url: "{server.url}/a.json?token=SECRETQUERY0123"}}
  - name: b
    destination: runs
    repository: {{url: "https://github.com/acme/research.git", ref: v1.2.0, path: runs, token_env: RESEARCH_TOKEN}}
""",
        )
        run = pull(ws, "--dry-run")
        assert server.requests == []
    assert run.exit_code == 0 and run.summary["status"] == "dry_run", run
    plan = json.loads((ws / "out/inputs" / f"{run.summary['job_id']}.json").read_text())
    assert [p["source"] for p in plan["planned"]] == [
        f"{server.url}/a.json",
        "https://github.com/acme/research.git@v1.2.0:runs",
    ]
    assert not (ws / "reports").exists() and not (ws / "out/inputs/pulled.json").exists()
    assert "SECRETQUERY" not in run.stdout


def test_no_inputs_declared_is_a_warning(tmp_path):
    ws = tmp_path / "ws"
    write_config(ws, "inputs: []\n")
    run = pull(ws)
    assert run.exit_code == 0 and run.summary["status"] == "warning", run


def test_the_bundled_template_config_validates():
    from observability.inputs.config import load
    from observability.resources import template_dir

    path = template_dir() / "configs" / "observability" / "inputs.yaml"
    assert load(path, display="inputs.yaml") == ()


def test_the_action_runs_a_dry_run(tmp_path):
    from _support_actions import run_action

    ws = tmp_path / "ws"
    write_config(
        ws,
        "inputs:\n  - name: a\n    destination: runs\n    https: {url: 'https://x.invalid/a'}\n"
        "  - name: b\n    destination: reports/x.json\n    https: {url: 'https://x.invalid/b'}\n",
    )
    result = run_action("inputs-pull", {"workspace": str(ws), "only": "a\n b", "dry-run": "true"}, tmp_path)
    assert result["code"] == 0, result
    summary = json.loads(Path(result["steps"]["run"]["summary"]).read_text())
    assert summary["status"] == "dry_run" and [p["name"] for p in summary["inputs"]] == ["a", "b"]


def test_a_symlink_in_the_repository_is_refused(tmp_path):
    work = tmp_path / "src"
    bare, _ = research_repo(tmp_path, {"runs/index.csv": "x\n"})
    git("clone", "--quiet", str(bare), str(work))
    (work / "runs" / "link").symlink_to("/etc/passwd")
    (work / "reports").mkdir()
    (work / "reports" / "portfolio_summary.json").symlink_to("/etc/hostname")
    git("add", "-A", cwd=work)
    git("commit", "--quiet", "-m", "links", cwd=work)
    git("push", "--quiet", "origin", "HEAD:main", cwd=work)
    ws = tmp_path / "ws"
    for destination, path in (("runs", "runs"), ("reports/portfolio_summary.json", "reports/portfolio_summary.json")):
        write_config(
            ws,
            f"""
inputs:
  - name: a
    destination: {destination}
    repository: {{url: "git+file://{bare}", ref: main, path: {path}}}
""",
        )
        run = pull(ws)
        assert run.exit_code == 1 and run.error_code == "unsafe_input", run
        assert not (ws / destination).exists() and not (ws / destination).is_symlink()


@pytest.mark.parametrize("fail", [None, 500])
def test_secrets_appear_only_in_mask_commands_under_github_actions(tmp_path, fail):
    signed = "sig-CANARY-4b1e9d7a0c3f5e2b8d6a"
    with FileServer(require_auth=CANARY_HEADER) as server:
        server.files["/log.csv"] = b"a\n"
        if fail:
            server.fail_status["/log.csv"] = fail
        ws = tmp_path / "ws"
        write_config(
            ws,
            "inputs:\n  - name: a\n    destination: reports/x.csv\n"
            "    https: {url_env: SIGNED_URL, headers_env: {Authorization: AUTH_HEADER}}\n",
        )
        output, step_summary = tmp_path / "output", tmp_path / "summary.md"
        run = pull(
            ws,
            env={
                "SIGNED_URL": f"{server.url}/log.csv?X-Amz-Signature={signed}",
                "AUTH_HEADER": CANARY_HEADER,
                "GITHUB_ACTIONS": "true",
                "GITHUB_OUTPUT": str(output),
                "GITHUB_STEP_SUMMARY": str(step_summary),
            },
        )
    assert run.exit_code == (1 if fail else 0), run
    outside_masks = "\n".join(
        line for line in run.stdout.splitlines() + run.stderr.splitlines() if not line.startswith("::add-mask::")
    )
    files = "".join(
        p.read_text(errors="replace") for p in [output, step_summary, *ws.rglob("*")] if p.is_file() and p.exists()
    )
    for canary in (signed, "canary-HTTP-TOKEN"):
        assert canary not in outside_masks and canary not in files, canary
    assert any(line.startswith("::add-mask::") for line in run.stdout.splitlines() + run.stderr.splitlines())


def test_a_job_that_reads_no_input_is_told_so_without_a_warning(tmp_path):
    bare, _ = research_repo(tmp_path, UPSTREAM)
    ws = tmp_path / "ws"
    write_config(ws, _repo_config(bare))
    run = pull(ws, "--for", "latency")
    assert run.exit_code == 0 and run.summary["status"] == "ok", run
    assert "is read by latency" in run.stderr and "declares no inputs" not in run.stderr
    assert pull(ws, "--for", "all", "--dry-run").summary["inputs_planned"] == 3


def test_credentials_go_only_over_https_or_to_this_machine(tmp_path):
    ws = tmp_path / "ws"
    write_config(
        ws,
        "inputs:\n  - name: log\n    destination: logs/s.csv\n"
        "    https: {url: 'http://research.example.invalid/s.csv', headers_env: {Authorization: AUTH}}\n",
    )
    run = pull(ws, env={"AUTH": "Bearer canary-over-http-5c1d"})
    assert run.exit_code == 2 and "only sent over https://" in run.summary["diagnostics"]["error_message"], run
    assert "canary-over-http-5c1d" not in run.stdout + run.stderr
    write_config(
        ws,
        "inputs:\n  - name: x\n    destination: ops/state_archived.csv\n"
        "    https: {url: 'https://research.example.invalid/x'}\n",
    )
    assert pull(ws).exit_code == 2  # only ops/state_archive itself is an input location under ops/


def test_a_misspelt_key_is_named_with_a_hint_not_the_required_one_it_hides(tmp_path):
    ws = tmp_path / "ws"
    write_config(ws, "inputs:\n  - name: x\n    destinaton: runs\n    https: {url: 'https://example.invalid/x'}\n")
    run = pull(ws)
    message = run.summary["diagnostics"]["error_message"]
    assert run.exit_code == 2 and "'destinaton' was unexpected" in message and "destination" in message, message


@pytest.mark.parametrize(
    "url",
    [
        "https://reader:AbC/dEf+gh@files.example/research/runs.csv?sig=S3CR3T",
        "https://reader:AbC:dEf@files.example:8443/x.csv",
        "s3://AKIAEXAMPLE:wJal/rXUtn@bucket/key.csv",
    ],
)
def test_an_input_url_is_shown_without_its_credentials(url):
    """A password holding '/' or ':' never shows, nor the query; a bad port does not fail the display."""
    from observability.inputs.sources import display_url

    shown = display_url(url)
    for secret in ("AbC", "dEf", "wJal", "rXUtn", "S3CR3T"):
        assert secret not in shown, shown
