"""Adversarial cases against the lake (issue 15): secrets reaching the lake or a query's answer, run
files that are symbolic links out of the workspace, and queries without bounds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from _support_lake_ingest import lake, make_workspace, table
from observability import secrets

SECRET = "ghp_SUPERSECRETTOKEN1234567890abcdef"


@pytest.fixture(autouse=True)
def _forget():
    secrets.forget_all()
    yield
    secrets.forget_all()


def _run_dirs(ws: Path) -> list[Path]:
    return sorted(p for p in (ws / "runs").iterdir() if p.is_dir())


def _lake_bytes(ws: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted((ws / "lake").rglob("*")) if p.is_file())


def test_a_registered_secret_in_params_json_never_reaches_the_lake(tmp_path):
    ws = make_workspace(tmp_path / "ws")
    for folder in _run_dirs(ws):
        (folder / "params.json").write_text(json.dumps({"symbol": "USDJPY", "api_token": SECRET}))
    code, summary, _ = lake(ws, env={"GITHUB_TOKEN": SECRET})
    assert code == 0, summary
    assert SECRET.encode() not in _lake_bytes(ws)
    params = [row[0] for row in table(ws / "lake", "runs", "params") if "api_token" in row[0]]
    assert len(params) == 2 and all(SECRET not in p for p in params)  # the rows are there, the value is not
