"""``inputs pull`` from a workflow artifact of another run, against the fake GitHub API
(every request and answer checked against GitHub's OpenAPI description)."""

from __future__ import annotations

import io
import json
import zipfile

from _support_github import TOKEN, FakeGitHub
from _support_inputs import pull, write_config


def _zip(files: dict[str, bytes], *, symlink: str | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = 0o120777 << 16
            zf.writestr(info, "/etc/passwd")
    return buffer.getvalue()


def _config(ws, extra: str = "") -> None:
    write_config(
        ws,
        f"""
inputs:
  - name: runs
    destination: runs
    artifact: {{repo: acme/research, name: research-outputs, workflow: research.yml, branch: main, path: runs{extra}}}
  - name: telemetry
    destination: reports/portfolio_samples/router_demo/telemetry.json
    artifact: {{repo: acme/research, name: research-outputs, workflow: research.yml, branch: main, path: reports/telemetry.json}}
""",
    )


def _env(fake: FakeGitHub) -> dict:
    return {"GITHUB_TOKEN": TOKEN, "GITHUB_API_URL": fake.url}


def test_the_newest_unexpired_artifact_of_the_workflow_is_extracted(tmp_path):
    with FakeGitHub("acme/research") as fake:
        fake.add_artifact(
            "research-outputs", _zip({"runs/index.csv": b"old\n"}), run_id=1, created_at="2026-11-20T00:00:00Z"
        )
        newest = fake.add_artifact(
            "research-outputs",
            _zip(
                {
                    "runs/index.csv": b"run_id\nnew\n",
                    "runs/r1/daily.csv": b"date\n",
                    "reports/telemetry.json": b"{}\n",
                    "other/ignored.txt": b"x",
                }
            ),
            run_id=2,
            created_at="2026-11-27T00:00:00Z",
        )
        fake.add_artifact(
            "research-outputs",
            _zip({"runs/index.csv": b"expired\n"}),
            run_id=3,
            expired=True,
            created_at="2026-11-28T00:00:00Z",
        )
        fake.add_artifact(
            "research-outputs",
            _zip({"runs/index.csv": b"other workflow\n"}),
            run_id=4,
            workflow="nightly.yml",
            created_at="2026-11-28T00:00:00Z",
        )
        ws = tmp_path / "ws"
        _config(ws)
        run = pull(ws, env=_env(fake))
        assert run.exit_code == 0, run
        assert fake.violations == []
        assert len(fake.blob_requests) == 1  # two inputs, one artifact: downloaded once
        # The archive's storage URL never gets the token.
        assert fake.blob_requests and all(r["authorization"] is None for r in fake.blob_requests)
    assert (ws / "runs/index.csv").read_bytes() == b"run_id\nnew\n"
    assert (ws / "runs/r1/daily.csv").is_file() and not (ws / "other").exists()
    assert (ws / "reports/portfolio_samples/router_demo/telemetry.json").read_bytes() == b"{}\n"
    records = {r["name"]: r for r in json.loads((ws / "out/inputs/pulled.json").read_text())["inputs"]}
    assert records["runs"]["identity"]["artifact_id"] == newest["id"]
    assert records["runs"]["identity"]["run_id"] == 2
    assert records["runs"]["source"] == "github artifact acme/research:research-outputs (research.yml)"
    assert TOKEN not in run.stdout + run.stderr


def test_an_entry_escaping_the_destination_is_refused(tmp_path):
    with FakeGitHub("acme/research") as fake:
        fake.add_artifact("research-outputs", _zip({"runs/index.csv": b"x\n", "../../escape.txt": b"boom"}), run_id=1)
        ws = tmp_path / "ws"
        _config(ws)
        run = pull(ws, env=_env(fake))
    assert run.exit_code == 1 and run.error_code == "unsafe_input", run
    assert "escape" in run.summary["diagnostics"]["error_message"]
    assert not (tmp_path / "escape.txt").exists() and not (ws / "runs").exists()


def test_a_symlink_entry_is_refused(tmp_path):
    with FakeGitHub("acme/research") as fake:
        fake.add_artifact(
            "research-outputs",
            _zip({"runs/index.csv": b"x\n", "reports/telemetry.json": b"{}"}, symlink="runs/link"),
            run_id=1,
        )
        ws = tmp_path / "ws"
        _config(ws)
        run = pull(ws, env=_env(fake))
    assert run.exit_code == 1 and run.error_code == "unsafe_input", run
    assert not (ws / "runs").exists()


def test_no_matching_artifact_is_input_unavailable(tmp_path):
    with FakeGitHub("acme/research") as fake:
        fake.add_artifact("research-outputs", _zip({"runs/index.csv": b"x\n"}), run_id=1, expired=True)
        ws = tmp_path / "ws"
        _config(ws)
        run = pull(ws, env=_env(fake))
        assert fake.violations == []
    assert run.exit_code == 1 and run.error_code == "input_unavailable", run
    assert run.summary["diagnostics"]["input"] == "runs"
    assert "no unexpired artifact named 'research-outputs'" in run.summary["diagnostics"]["error_message"]


def test_a_token_without_access_is_input_unavailable_naming_the_permission(tmp_path):
    with FakeGitHub("acme/research") as fake:
        ws = tmp_path / "ws"
        _config(ws)
        run = pull(ws, env={"GITHUB_TOKEN": "ghp_wrongTOKEN0000000000000000000000", "GITHUB_API_URL": fake.url})
    assert run.exit_code == 1 and run.error_code == "input_unavailable", run
    assert "HTTP 401" in run.summary["diagnostics"]["error_message"]
    assert "wrongTOKEN" not in run.stdout + run.stderr


def test_a_missing_token_is_a_configuration_error(tmp_path):
    ws = tmp_path / "ws"
    _config(ws)
    run = pull(ws)
    assert run.exit_code == 2, run
    assert "GITHUB_TOKEN is not set" in run.summary["diagnostics"]["error_message"]
