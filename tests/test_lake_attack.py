"""Adversarial cases against the lake (issue 15): secrets reaching the lake or a query's answer, run
files that are symbolic links out of the workspace, and queries without bounds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from _support_lake_ingest import lake, make_workspace, manifest, table
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


def test_a_secret_already_in_the_lake_is_redacted_from_every_answer(tmp_path):
    """A lake written before the redaction (or by another tool) holds a token: the answer on stderr,
    in --out and in the summary all hide it."""
    ws = make_workspace(tmp_path / "ws")
    for folder in _run_dirs(ws):
        (folder / "params.json").write_text(json.dumps({"symbol": "USDJPY", "api_token": SECRET}))
    assert lake(ws)[0] == 0  # no secret registered: the value is written as it is
    sql = "SELECT params FROM runs WHERE params LIKE '%api_token%'"
    code, summary, err = lake(ws, sql, command="query", env={"GITHUB_TOKEN": SECRET})
    assert code == 0 and summary["result"]["row_count"] == 2
    assert SECRET not in err and SECRET not in json.dumps(summary)
    code, summary, _ = lake(
        ws, sql, "--out", "out/answer.csv", "--format", "csv", command="query", env={"GITHUB_TOKEN": SECRET}
    )
    assert code == 0
    text = (ws / "out" / "answer.csv").read_text()
    assert "api_token" in text and SECRET not in text


@pytest.mark.parametrize("name", ["params.json", "metrics.json", "records.csv"])
def test_a_run_file_linked_out_of_the_workspace_is_not_ingested(tmp_path, name):
    """Upstream controls runs/: a run's file that is a symbolic link to a file outside the workspace
    (a credentials file, say) must not be copied into the lake."""
    outside = tmp_path / "outside.json"
    if name.endswith(".csv"):
        outside.write_text("entry_ts,side,qty,entry_px,pnl_pips\n2026-01-10T09:30:00Z,BUY,1,777.77,2.5\n")
    else:
        outside.write_text(json.dumps({"leaked_credential": "s3cr3t-outside-the-workspace", "trades": 777}))
    ws = make_workspace(tmp_path / "ws")
    target = _run_dirs(ws)[0] / name
    target.unlink()
    target.symlink_to(outside)
    code, summary, err = lake(ws)
    assert code == 0, summary
    assert b"s3cr3t-outside" not in _lake_bytes(ws)
    assert not [r for r in table(ws / "lake", "stats", "value") if r[0] == 777]
    assert not [r for r in table(ws / "lake", "trades", "price") if r[0] == 777.77]
    assert "outside the workspace" in err


def test_a_runaway_query_is_stopped_by_the_timeout(tmp_path):
    """A cross join of huge ranges would run for hours: --timeout stops it, exit 2, error named."""
    ws = make_workspace(tmp_path / "ws")
    assert lake(ws)[0] == 0
    sql = "SELECT count(*) FROM range(1000000000) a, range(1000000000) b"
    code, summary, err = lake(ws, "--timeout", "0.3", sql, command="query")
    assert code == 2 and summary is not None, err
    assert summary["diagnostics"]["error_code"] == "query_timeout"
    assert "--timeout 0.3 s" in summary["diagnostics"]["error_message"]


def test_a_query_spills_to_a_private_directory_with_bounded_memory(tmp_path):
    """DuckDB's default is 80 % of the machine's memory and a .tmp/ spill directory in the working
    directory (the workspace), which the sandbox then lets a query read: both are bounded/moved."""
    ws = make_workspace(tmp_path / "ws")
    assert lake(ws)[0] == 0
    sql = (
        "SELECT current_setting('memory_limit') AS mem, current_setting('temp_directory') AS tmp, "
        "current_setting('max_temp_directory_size') AS spill"
    )
    code, summary, _ = lake(ws, sql, command="query")
    assert code == 0, summary
    row = summary["result"]["rows"][0]
    assert row["mem"] in ("1.8 GiB", "1.9 GiB", "2.0 GiB", "2.0 GB"), row
    assert "obs-lake-spill-" in row["tmp"] and not row["tmp"].startswith(".tmp"), row
    assert row["spill"] != "90% of available disk space", row


@pytest.mark.parametrize("given", ["lake/../ops/lake", "./ops/lake", "linked/lake", "file://{ws}/ops/lake"])
def test_a_lake_under_ops_is_refused_however_it_is_spelled(tmp_path, given):
    """The state store syncs ops/: a lake there would be pushed on every state push. A path through
    '..' or a symbolic link to ops/ names it too."""
    ws = make_workspace(tmp_path / "ws")
    (ws / "linked").symlink_to(ws / "ops")
    code, summary, err = lake(ws, "--lake", given.format(ws=ws))
    assert code == 2, err
    assert "not under ops/" in summary["diagnostics"]["error_message"]
    assert not list((ws / "ops").rglob("*.parquet"))


@pytest.mark.parametrize("expression", ["(" * 3000 + "sharpe > 1" + ")" * 3000, "not " * 3000 + "sharpe > 1"])
def test_a_deeply_nested_where_is_a_usage_error_not_a_crash(tmp_path, expression):
    ws = make_workspace(tmp_path / "ws")
    assert lake(ws)[0] == 0
    code, summary, err = lake(ws, "--where", expression, command="runs")
    assert code == 2, err
    assert summary["diagnostics"]["error_code"] == "invalid_query"
    assert "nested" in summary["diagnostics"]["error_message"] and "Traceback" not in err


def test_a_whole_number_past_float_precision_is_compared_exactly():
    from observability.lake.where import compile_where

    assert compile_where("trades > 9007199254740993", ["trades"])[1] == [9007199254740993]


def test_a_tampered_manifest_cannot_make_ingest_delete_a_file_outside_the_lake(tmp_path):
    """A manifest listing a key under a symbolic link in the lake (lake/runs/evil -> elsewhere): when
    its input changes, ingest drops the key and deleted the file the link leads to."""
    ws = make_workspace(tmp_path / "ws")
    assert lake(ws)[0] == 0
    victim = tmp_path / "elsewhere"
    victim.mkdir()
    (victim / "precious.parquet").write_bytes(b"precious")
    (ws / "lake" / "runs" / "evil").symlink_to(victim)
    doc = manifest(ws / "lake")
    key = "runs/evil/precious.parquet"
    doc["files"][key] = {"table": "runs", "date": None, "rows": 1, "sha256": "0" * 64}
    next(e for e in doc["inputs"] if e["source"] == "runs/index.csv" and e["table"] == "runs")["files"].append(key)
    (ws / "lake" / "_manifest.json").write_text(json.dumps(doc))
    index = ws / "runs" / "index.csv"
    index.write_text(index.read_text().replace(",USDJPY,conservative,", ",EURUSD,conservative,"))
    code, summary, err = lake(ws)
    assert (victim / "precious.parquet").read_bytes() == b"precious"
    assert code != 0 and "leaves the store" in summary["diagnostics"]["error_message"], err


def test_two_writers_on_one_lake_cannot_lose_each_others_commit(tmp_path):
    """Two workspaces (two runners) ingesting into one lake: the job lock guards a workspace only. The
    second to commit, from the manifest both read, replaced the first's commit (a lost update), and its
    sweep deleted the first's new files as orphans of its older manifest."""
    import importlib
    from datetime import UTC, datetime

    from observability.errors import ObservabilityError
    from observability.lake import store

    ingest_mod = importlib.import_module("observability.lake.ingest")  # the package exports a function of that name
    from observability.lake.config import LakeConfig
    from observability.workspace import Workspace

    shared = tmp_path / "shared-lake"
    first, second = make_workspace(tmp_path / "a"), make_workspace(tmp_path / "b")
    assert lake(first, "--lake", f"file://{shared}")[0] == 0
    for ws, symbol in ((first, "EURUSD"), (second, "GBPUSD")):
        index = ws / "runs" / "index.csv"
        index.write_text(index.read_text().replace(",USDJPY,conservative,", f",{symbol},conservative,"))
    now = datetime(2026, 3, 2, 6, tzinfo=UTC)
    opened = []
    for ws in (first, second):  # both read the manifest before either commits
        workspace = Workspace.open(str(ws))
        opened.append((workspace, store.open_lake(workspace, f"file://{shared}")))
    cfg = LakeConfig()
    (ws_a, lake_a), (ws_b, lake_b) = opened
    ingest_mod.ingest_into(lake_a, ingest_mod.inputs(ws_a, cfg, now, print), now)
    with pytest.raises(ObservabilityError, match="another writer"):
        ingest_mod.ingest_into(lake_b, ingest_mod.inputs(ws_b, cfg, now, print), now)
    listed = manifest(shared)["files"]
    assert all((shared / key).is_file() for key in listed)  # the lake stays readable: the first commit
    assert table(shared, "runs", "DISTINCT symbol") == [("EURUSD",)]
    code, summary, err = lake(second, "--lake", f"file://{shared}")  # run again: it reads the new manifest
    assert code == 0, err
    assert table(shared, "runs", "DISTINCT symbol") == [("GBPUSD",)]
