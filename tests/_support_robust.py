"""Shared helpers for the robustness tests (crash, concurrency, secret canary, bad inputs).

Everything here drives the real CLI in real processes and reads the artefacts it leaves;
nothing of the product is mocked.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import os
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

UTC = UTC
REPO = Path(__file__).resolve().parents[1]
SCHEMAS = REPO / "schemas"
LOG_EXEMPT = {
    "ops/automation_runs.log",
    "ops/automation_runs.sequence",
    "ops/latency_job_heartbeat.json",
    "ops/.automation_runs.lock",
    "ops/.latency.lock",
}


def clean_env(**extra: str) -> dict[str, str]:
    """The parent's environment minus anything that would change the product's behaviour."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GITHUB_", "OBS_", "RUNNER_", "OTEL_")) and k not in ("LATENCY_SLO_MS", "CI")
    }
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.update(extra)
    return env


def unmeasured(env: dict[str, str]) -> dict[str, str]:
    """``env`` without coverage's subprocess hook (``--cov``): a process killed on purpose writes no
    coverage data, so measuring it only slows it (and its kill delays are calibrated unmeasured too)."""
    return {k: v for k, v in env.items() if not k.startswith("COVERAGE_")}


def cli_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "observability", *args]


def run_cli(
    args: list[str], *, env: dict[str, str] | None = None, timeout: float = 60, cwd: Path | None = None
) -> subprocess.CompletedProcess:
    return subprocess.run(
        cli_cmd(*args), env=env or clean_env(), capture_output=True, text=True, timeout=timeout, cwd=cwd
    )


def start_cli(args: list[str], *, env: dict[str, str] | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        cli_cmd(*args), env=env or clean_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def summary(proc) -> dict:
    """The one JSON document a job prints on stdout."""
    out = proc.stdout if isinstance(proc.stdout, str) else proc.stdout
    try:
        return json.loads(out)
    except ValueError as exc:  # pragma: no cover - the failure message is the point
        raise AssertionError(f"stdout is not one JSON document ({exc}):\n{out}\nstderr:\n{proc.stderr}") from None


# -- synthetic signal logs ---------------------------------------------------------------
def iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def sample_key(timestamp: str, source: str, latency: str | float, status: str, detail: str) -> tuple:
    """Identity of one sample, comparable between the input log, the raw store and archives."""
    return (timestamp, source, f"{float(latency):.3f}", status.strip().lower(), detail.strip())


def rows_to_keys(data) -> Counter:
    return Counter(sample_key(iso(t), source, latency, status, detail) for t, source, latency, status, detail in data)


def append_current(path: Path, data) -> None:
    """Append rows in the upstream notifier format (header first on a new file)."""
    from observability.samplegen.notifier import write_current

    if not path.exists():
        write_current(path, data)
        return
    lines = [f"{iso(t)},{latency:.6f},{status},{detail},{source}" for t, source, latency, status, detail in data]
    with open(path, "a", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")


# -- reading the artefacts ---------------------------------------------------------------
def _csv_keys(data: bytes, where: str) -> Counter:
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"))))
    legacy = ["timestamp_utc", "source", "latency_ms", "status", "detail"]
    assert rows and rows[0] in (legacy, [*legacy, "ingest_latency_ms"]), f"{where}: header {rows[:1]}"
    out = Counter()
    for number, row in enumerate(rows[1:], start=2):
        # a row written before ingest_latency_ms has five fields; since, six (the sixth an integer)
        assert len(row) in (5, len(rows[0])), f"{where}: line {number} has {len(row)} fields: {row}"
        assert len(row) == 5 or row[5].isdigit(), f"{where}: line {number}: ingest_latency_ms {row[5]!r}"
        out[sample_key(*row[:5])] += 1
    return out


def raw_keys(ws: Path) -> Counter:
    path = ws / "ops" / "signal_latency.csv"
    return _csv_keys(path.read_bytes(), str(path)) if path.exists() else Counter()


def manifest_entries(ws: Path) -> list[dict]:
    path = ws / "ops" / "signal_latency_archive" / "manifest.jsonl"
    if not path.exists():
        return []
    data = path.read_bytes()
    assert not data or data.endswith(b"\n"), f"{path}: torn last line"
    return [json.loads(line) for line in data.splitlines() if line.strip()]


def archived_keys(ws: Path, *, check: bool = True) -> Counter:
    """Samples in every archive the manifest lists; checks sha256 and row_count on the way."""
    out = Counter()
    seen = set()
    for entry in manifest_entries(ws):
        assert entry["path"] not in seen, f"manifest lists {entry['path']} twice"
        seen.add(entry["path"])
        packed = (ws / entry["path"]).read_bytes()
        if check:
            assert hashlib.sha256(packed).hexdigest() == entry["sha256"], f"{entry['path']}: sha256 differs"
        keys = _csv_keys(gzip.decompress(packed), entry["path"])
        if check:
            assert sum(keys.values()) == entry["row_count"], f"{entry['path']}: row_count differs"
        out += keys
    return out


def stored_keys(ws: Path) -> Counter:
    return raw_keys(ws) + archived_keys(ws)


def assert_same_samples(got: Counter, expected: Counter) -> None:
    dupes = {k: n for k, n in got.items() if n > 1}
    missing = expected - got
    extra = got - expected
    assert not dupes, f"{len(dupes)} duplicated sample(s), e.g. {list(dupes.items())[:3]}"
    assert not missing, f"{sum(missing.values())} sample(s) lost, e.g. {list(missing)[:3]}"
    assert not extra, f"{sum(extra.values())} unexpected sample(s), e.g. {list(extra)[:3]}"


def read_log(ws: Path, *, allow_torn_tail: bool = False) -> list[dict]:
    """Lines of ops/automation_runs.log; each must be JSON (a torn final line only when allowed)."""
    path = ws / "ops" / "automation_runs.log"
    if not path.exists():
        return []
    data = path.read_bytes()
    lines = data.split(b"\n")
    tail = lines.pop()  # b"" when the file ends with a newline
    assert allow_torn_tail or tail == b"", f"{path}: last line has no newline: {tail[:200]!r}"
    return [json.loads(line) for line in lines]


def check_ops_parse(ws: Path, *, allow_torn_log_tail: bool = False) -> None:
    """Every JSON/JSONL/CSV file under ops/ (and out/) parses.

    ``allow_torn_log_tail`` is for the state right after a kill: a writer killed inside a large
    append(2) can leave a partial last line in an append-only file (the automation log, the raw
    sample CSV); the next append drops it before writing. Rewritten files must never be torn.
    """
    for base in ("ops", "out"):
        root = ws / base
        if not root.exists():
            continue
        for path in sorted(root.rglob("*")):
            if not path.is_file():
                continue
            rel = path.relative_to(ws).as_posix()
            if path.suffix == ".json":
                json.loads(path.read_bytes())
            elif path.suffix == ".jsonl":
                data = path.read_bytes()
                assert not data or data.endswith(b"\n"), f"{rel}: torn last line"
                for line in data.splitlines():
                    json.loads(line)
            elif path.suffix == ".csv":
                data = path.read_bytes()
                if allow_torn_log_tail and not data.endswith(b"\n"):
                    data = data[: data.rfind(b"\n") + 1]
                assert not data or data.endswith(b"\n"), f"{rel}: torn last line {data[-200:]!r}"
                rows = list(csv.reader(io.StringIO(data.decode("utf-8"))))
                widths = {len(r) for r in rows}
                assert len(widths) <= 1, f"{rel}: rows of different widths {sorted(widths)}"
            elif rel == "ops/automation_runs.log":
                read_log(ws, allow_torn_tail=allow_torn_log_tail)


def log_validator():
    from jsonschema import Draft202012Validator, FormatChecker

    schema = json.loads((SCHEMAS / "automation_run.schema.json").read_text(encoding="utf-8"))
    return Draft202012Validator(schema, format_checker=FormatChecker())


# -- workspace snapshots -----------------------------------------------------------------
def snapshot(root: Path, exclude: set[str] = LOG_EXEMPT) -> dict[str, str]:
    """{relative path: sha256 (or 'dir')} of everything under ``root``."""
    out = {}
    if not root.exists():
        return out
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if rel in exclude:
            continue
        out[rel] = "dir" if path.is_dir() else hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def stamp(day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2026, 1, day, hour, minute, tzinfo=UTC)


def after(moment: datetime, minutes: int) -> str:
    return iso(moment + timedelta(minutes=minutes))
