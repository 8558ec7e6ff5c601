"""Shared helpers for the sync tests: a workspace with a bundle and weekly payloads, and real targets.

Targets are real: a directory under tmp_path, and moto's S3 server on 127.0.0.1 (the state tests'
fixture, skipped with a reason when ``moto[server]`` is not installed).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import _support_dashboard
from _support_state import CANARY_SECRET, Run, base_env, fresh_bucket, s3_client, s3_env
from observability.cli import cli

NOW = "2026-03-02T06:00:00Z"
BUNDLE_DAY = "2026-03-02"
WEEKS = ("2026-02-16", "2026-02-23")  # inside 8 weeks of NOW
OLD_WEEK = "2025-11-03"  # outside: never uploaded
KINDS = ("file", "s3")

__all__ = ["CANARY_SECRET", "Run", "Targets", "local_artefacts", "make_workspace", "sync", "targets"]


def make_workspace(root: Path) -> Path:
    """A workspace with a real dashboard bundle (exported at NOW) and three delivered weekly payloads."""
    root.mkdir(parents=True, exist_ok=True)
    _support_dashboard.make_workspace(root)
    done = _support_dashboard.export(root, now=NOW)
    assert done.exit_code == 0, done
    history = root / "ops" / "weekly_report_history"
    history.mkdir(parents=True, exist_ok=True)
    for week in (*WEEKS, OLD_WEEK):
        (history / f"{week}.json").write_text(json.dumps({"week_start": week, "schema_version": "1.0.0"}) + "\n")
        (history / f"{week}.sig").write_text(f"{week}-signature-hex\n")
    return root


def sync(ws: Path, *args: str, env: dict | None = None, now: str = NOW) -> Run:
    """``observability sync push --workspace ws ARGS`` in-process with a fixed clock."""
    environ = base_env(**{"OBS_NOW": now, "OBS_SYNC_TO": None, **(env or {})})
    result = CliRunner().invoke(
        cli,
        ["sync", "push", "--workspace", str(ws), "--retry-wait-seconds", "0", *args],
        env=environ,
        catch_exceptions=True,
    )
    return Run(result)


def local_artefacts(ws: Path) -> dict[str, bytes]:
    """The bytes of everything a sync reads: the bundle and the weekly payloads."""
    found = {}
    for top in ("out/dashboard", "ops/weekly_report_history"):
        for path in sorted((ws / top).rglob("*")):
            if path.is_file():
                found[path.relative_to(ws).as_posix()] = path.read_bytes()
    return found


class Targets:
    """Hands out an empty target of one kind: its URL, the environment it needs, and raw access."""

    def __init__(self, kind: str, tmp_path: Path, request):
        self.kind = kind
        self.tmp_path = tmp_path
        self.env: dict = {}
        self.url = ""
        if kind == "s3":
            self.endpoint = request.getfixturevalue("s3_server")
            self.env = s3_env(self.endpoint)

    def new(self, name: str = "shared") -> str:
        if self.kind == "file":
            self.root = self.tmp_path / name
            self.url = self.root.as_uri()
        else:
            self.bucket = fresh_bucket(self.endpoint)
            self.prefix = f"team/{name}"
            self.url = f"s3://{self.bucket}/{self.prefix}"
        return self.url

    def read(self, key: str) -> bytes | None:
        if self.kind == "file":
            path = self.root / key
            return path.read_bytes() if path.is_file() else None
        client = s3_client(self.endpoint)
        try:
            return client.get_object(Bucket=self.bucket, Key=f"{self.prefix}/{key}")["Body"].read()
        except client.exceptions.NoSuchKey:
            return None

    def write(self, key: str, data: bytes) -> None:
        """Write behind the product's back (a corruption, or an old prefix)."""
        if self.kind == "file":
            path = self.root / key
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        else:
            s3_client(self.endpoint).put_object(Bucket=self.bucket, Key=f"{self.prefix}/{key}", Body=data)

    def stored(self) -> list[str]:
        if self.kind == "file":
            if not self.root.exists():
                return []
            return sorted(p.relative_to(self.root).as_posix() for p in self.root.rglob("*") if p.is_file())
        pages = (
            s3_client(self.endpoint)
            .get_paginator("list_objects_v2")
            .paginate(Bucket=self.bucket, Prefix=self.prefix + "/")
        )
        return sorted(item["Key"][len(self.prefix) + 1 :] for page in pages for item in page.get("Contents", []))

    def index(self) -> dict:
        return json.loads(self.read("index.json"))


@pytest.fixture(params=KINDS)
def targets(request, tmp_path) -> Targets:
    return Targets(request.param, tmp_path, request)
