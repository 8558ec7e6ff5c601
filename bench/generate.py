"""Build the synthetic workspaces the latency benchmark runs on (cached under bench/.data/).

The workspace state is prepared by the product itself: ``observability latency sample`` is run
over a generated upstream notifier log with the clock pinned by OBS_NOW, first in daily chunks
(91 days, so the hourly rollups cover the full 90-day retention and raw rows have been rotated
into archives every day), then in 15-minute cycles for the last two hours. Nothing in ops/ is
written by this script directly.

"Nominal" volume: 10 sources x 1 sample/min, 14 days of raw samples (ops/signal_latency.csv,
~9 MB), 90 days of hourly rollups (one file per day under ops/signal_latency_rollup/, 21,600 rows), the job state
(ops/latency_state.json), the gzip archives and their manifest. The notifier log
(logs/signal_notifier.csv, current format) then holds the next 150 unread samples: one
15-minute cycle (15 min x 10 sources), which is what bench/run.py times.

Workspaces built (each a directory under bench/.data/workspaces/). The preparation chain runs
with --raw-retention-days 16 --max-raw-bytes 64 MiB; each workspace then gets its own last
preparation cycle (the first one after midnight, which rotates the oldest raw day out):

  nominal   last cycle with --raw-retention-days 14: 14 days of raw rows (~8.8 MiB); the timed
            cycle uses the default flags (14 days, 10 MiB) and rotates nothing
  big       last cycle with the chain's flags: 16 days of raw rows (~10.1 MiB); timed with the
            chain's flags (no rotation)
  small     last cycle with --max-raw-bytes 240 KiB: the product's size rotation keeps the newest
            hours (~0.1 MiB); timed with the chain's flags (no rotation)
  rotation  the chain before its last cycle; the timed run is that cycle (chain's flags), which
            archives one day of raw rows: the once-a-day cost of retention

``big`` and ``small`` share the whole preparation chain but its last cycle, so their rollup
files, cursors and SLO windows are identical; only the raw history differs.

Also: bench/.data/raw_1m.csv, 1,000,000 raw rows in our own raw format (scenario 4).

Usage: python bench/generate.py [--force]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import observability  # noqa: E402
from observability.clock import UTC, iso  # noqa: E402
from observability.samplegen.notifier import rows, write_current  # noqa: E402

DATA = ROOT / "bench" / ".data"
WORKSPACES = DATA / "workspaces"
RAW_1M = DATA / "raw_1m.csv"
GENERATOR_VERSION = (
    4  # 4: raw rows carry ingest_latency_ms; bump to invalidate the cache when this script changes what it builds
)

SOURCES = [f"feed_{i}" for i in range(10)]
STEP = timedelta(minutes=1)
T_END = datetime(2026, 3, 2, tzinfo=UTC)  # the last preparation cycle runs just after this
HISTORY_DAYS = 91  # one more than the rollup retention, so 90 full days of rollups remain
FINE_CYCLES = 8  # the last 2 hours are prepared in 15-minute cycles
CYCLE = timedelta(minutes=15)
RUN_LAG = timedelta(seconds=30)  # a cycle runs 30 s after its window closes
LOG = "logs/signal_notifier.csv"
MIB = 1024 * 1024

# Flags of the preparation chain shared by all workspaces, and of each variant's last cycle.
CHAIN_FLAGS = ["--raw-retention-days", "16", "--max-raw-bytes", str(64 * MIB)]
VARIANTS = {
    # 14-day retention, no size rotation: the raw file holds 16 days when this cycle starts, more
    # than the 10 MiB default allows, so the default flags would rotate by size here (a one-off).
    "nominal": ["--raw-retention-days", "14", "--max-raw-bytes", str(64 * MIB)],
    "big": CHAIN_FLAGS,
    "small": ["--raw-retention-days", "16", "--max-raw-bytes", str(240 * 1024)],
}
# Flags of the timed cycle for each workspace (bench/run.py uses these).
TIMED_FLAGS = {"nominal": [], "big": CHAIN_FLAGS, "small": CHAIN_FLAGS, "rotation": CHAIN_FLAGS}
TIMED_NOW = T_END + CYCLE + RUN_LAG
TIMED_SAMPLES = 150
# "rotation" is the chain just before its last cycle: the timed run is that cycle, the first one
# after midnight, which moves the oldest day of raw rows into an archive (once a day).
RUN_AT = {"nominal": TIMED_NOW, "big": TIMED_NOW, "small": TIMED_NOW, "rotation": T_END + RUN_LAG}

PYTHON = sys.executable
CONFIG_TEMPLATE = ROOT / "ops-template" / "configs" / "observability" / "latency_alert.yaml"


def job_command(code: Path | None = None) -> list[str]:
    """How a workflow starts a job: the launcher actions/_lib/install.sh writes runs
    ``python -c observability.ENTRY ...`` (not ``python -m observability``, whose runpy start-up no
    runner pays). ``code``: another checkout (bench/startup_ab.py); one older than observability/entry.py
    is started with ``python -m observability``, as its launcher did."""
    if code is not None and not (Path(code) / "observability" / "entry.py").exists():
        return [PYTHON, "-m", "observability"]
    return [PYTHON, "-c", observability.ENTRY]


def timed_command(workspace: Path, variant: str, code: Path | None = None) -> list[str]:
    """The command of one 15-minute cycle on ``workspace`` (as the scheduled workflow runs it)."""
    return [
        *job_command(code),
        "latency",
        "sample",
        "--workspace",
        str(workspace),
        "--input",
        LOG,
        *TIMED_FLAGS[variant],
    ]


def fresh_copy(workspace: Path, copy: Path) -> None:
    """A fresh copy of a prepared workspace for one timed run, flushed to disk as a runner's is: there
    ``state pull`` fsyncs every file it restores before the job runs, so the job's own fsyncs (the raw
    file's append) flush only what the job wrote, not megabytes the copy left in the page cache."""
    shutil.copytree(workspace, copy)
    os.sync()


PYCACHE = DATA / "pycache"


def process_env() -> dict[str, str]:
    """The environment of every benchmarked process: Python's default bytecode caching, with the
    .pyc files kept under bench/.data/pycache (PYTHONDONTWRITEBYTECODE, if set, is dropped, so
    the warm-up run compiles once, as an installed package on a runner would be)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GITHUB_", "OBS_", "LATENCY_")) and k not in ("RUNNER_TEMP", "PYTHONDONTWRITEBYTECODE")
    }
    env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    return env


def moto_s3_env(endpoint: str, secret: str) -> dict[str, str]:
    """What a benchmarked process needs to reach moto's S3 server at ``endpoint`` and nothing else
    (no profile or config file of the machine, one attempt per request)."""
    return {
        "OBS_S3_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": secret,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_MAX_ATTEMPTS": "1",
        "AWS_CONFIG_FILE": "/nonexistent",
        "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
    }


def clean_env(now: datetime) -> dict[str, str]:
    """The environment of a job run: no GitHub Actions context, the clock pinned to ``now``."""
    env = process_env()
    env["OBS_NOW"] = iso(now)
    return env


def _run(workspace: Path, now: datetime, flags: list[str]) -> dict:
    cmd = [PYTHON, "-m", "observability", "latency", "sample", "--workspace", str(workspace), "--input", LOG, *flags]
    done = subprocess.run(cmd, capture_output=True, text=True, env=clean_env(now), cwd=workspace)
    try:
        summary = json.loads(done.stdout)
    except ValueError:
        summary = {}
    if done.returncode != 0 or summary.get("status") not in ("ok", "warning"):
        raise SystemExit(
            f"preparation run at {iso(now)} failed (exit {done.returncode}):\n{done.stdout}\n{done.stderr}"
        )
    return summary


def _append_log(workspace: Path, data) -> None:
    """Append samples to the notifier log in samplegen's current format (header only on a new file)."""
    log = workspace / LOG
    scratch = workspace / "logs" / ".chunk.csv"
    write_current(scratch, data)
    body = scratch.read_bytes()
    scratch.unlink()
    if log.exists():
        body = body.split(b"\n", 1)[1]
    with open(log, "ab") as handle:
        handle.write(body)


def _rotate_log(workspace: Path) -> None:
    """Rotate the notifier log as logrotate would (log -> log.1), after the job has read all of it."""
    log = workspace / LOG
    if log.exists():
        os.replace(log, log.with_name(log.name + ".1"))


def _chunk(start: datetime, end: datetime, seed: int):
    return rows(start, end, SOURCES, step=STEP, seed=seed)


def _new_workspace(path: Path) -> None:
    if path.exists():
        shutil.rmtree(path)
    (path / "configs" / "observability").mkdir(parents=True)
    shutil.copy(CONFIG_TEMPLATE, path / "configs" / "observability" / "latency_alert.yaml")
    (path / "logs").mkdir()


def _say(message: str) -> None:
    print(f"[generate] {message}", file=sys.stderr, flush=True)


def prepare_chain(path: Path) -> None:
    """Everything up to (not including) the last preparation cycle, with CHAIN_FLAGS."""
    _new_workspace(path)
    start = T_END - timedelta(days=HISTORY_DAYS)
    fine_start = T_END - FINE_CYCLES * CYCLE
    day, seed, t0 = start, 1000, time.perf_counter()
    while day < fine_start:
        end = min(day + timedelta(days=1), fine_start)
        _rotate_log(path)
        _append_log(path, _chunk(day, end, seed))
        _run(path, end + RUN_LAG, CHAIN_FLAGS)
        day, seed = end, seed + 1
        if seed % 10 == 0:
            _say(f"chain: data up to {iso(day)} ({time.perf_counter() - t0:.0f} s)")
    moment = fine_start
    while moment < T_END - CYCLE:
        _append_log(path, _chunk(moment, moment + CYCLE, seed))
        _run(path, moment + CYCLE + RUN_LAG, CHAIN_FLAGS)
        moment, seed = moment + CYCLE, seed + 1
    _say(f"chain ready in {time.perf_counter() - t0:.0f} s")


def finish_variant(chain: Path, path: Path, variant: str) -> dict:
    """Copy the chain, run its last preparation cycle with the variant's flags, then queue 150 samples."""
    if path.exists():
        shutil.rmtree(path)
    shutil.copytree(chain, path)
    last = T_END - CYCLE
    seed = 5000
    _append_log(path, _chunk(last, T_END, seed))
    summary = {}
    if variant != "rotation":
        summary = _run(path, T_END + RUN_LAG, VARIANTS[variant])
        # The benchmark's input: the next 15-minute cycle, 150 samples, appended but not yet read.
        _append_log(path, _chunk(T_END, T_END + CYCLE, seed + 1))
    info = {
        "variant": variant,
        "generator_version": GENERATOR_VERSION,
        "timed_now": iso(RUN_AT[variant]),
        "timed_flags": TIMED_FLAGS[variant],
        "timed_samples": TIMED_SAMPLES,
        "last_preparation_rotated": summary.get("rotated"),
        "raw_bytes": (path / "ops" / "signal_latency.csv").stat().st_size,
        "raw_rows": _lines(path / "ops" / "signal_latency.csv") - 1,
        "rollup_bytes": sum(f.stat().st_size for f in _rollup_files(path)),
        "rollup_rows": sum(_lines(f) - 1 for f in _rollup_files(path)),
        "state_bytes": (path / "ops" / "latency_state.json").stat().st_size,
        "archives": len(list((path / "ops" / "signal_latency_archive").rglob("*.csv.gz"))),
        "log_bytes": (path / LOG).stat().st_size,
    }
    (path / "bench_info.json").write_text(json.dumps(info, indent=2) + "\n")
    return info


def _lines(path: Path) -> int:
    with open(path, "rb") as handle:
        return sum(1 for _ in handle)


def verify(path: Path, variant: str) -> dict:
    """One real cycle on a scratch copy: the job must accept the prepared state as it is."""
    scratch = DATA / "scratch" / f"verify-{variant}"
    if scratch.exists():
        shutil.rmtree(scratch)
    shutil.copytree(path, scratch)
    done = subprocess.run(
        timed_command(scratch, variant), capture_output=True, text=True, env=clean_env(RUN_AT[variant]), cwd=scratch
    )
    summary = json.loads(done.stdout)
    shutil.rmtree(scratch)
    problems = check_cycle(summary, done.returncode, rotation=variant == "rotation")
    if problems:
        raise SystemExit(f"verification of {variant} failed: {problems}\n{done.stderr}")
    return summary


def check_cycle(summary: dict, returncode: int, rotation: bool = False) -> list[str]:
    """What a timed cycle must have done: ok, 150 new samples stored, no warning, and a rotation
    only where one is expected (the "rotation" workspace: exactly one archive)."""
    problems = []
    if returncode != 0 or summary.get("status") != "ok":
        problems.append(f"exit {returncode}, status {summary.get('status')!r}")
    if summary.get("samples_written") != TIMED_SAMPLES:
        problems.append(f"samples_written={summary.get('samples_written')} (expected {TIMED_SAMPLES})")
    rotated = summary.get("rotated") or []
    if len(rotated) != (1 if rotation else 0):
        problems.append(f"rotated {summary.get('rotated')} (expected {'one archive' if rotation else 'none'})")
    if summary.get("diagnostics", {}).get("warnings"):
        problems.append(f"warnings {summary['diagnostics']['warnings']}")
    return problems


def make_raw_1m(path: Path, count: int = 1_000_000) -> None:
    """1M rows of our raw format (timestamp_utc,source,latency_ms,status,detail,ingest_latency_ms), 10 sources."""
    from observability.latency.rawstore import HEADER_BYTES, format_rows
    from observability.upstream.signal_log import Sample

    minutes = count // len(SOURCES)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    data = rows(start, start + minutes * STEP, SOURCES, step=STEP, seed=42)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as handle:
        handle.write(HEADER_BYTES)
        handle.write(b"".join(format_rows(Sample(t, s, lat, st, d) for t, s, lat, st, d in data)))
    os.replace(tmp, path)


def _rollup_files(path: Path) -> list[Path]:
    """The rollup day files the job keeps (ops/signal_latency_rollup/YYYY-MM-DD.csv)."""
    return sorted((path / "ops" / "signal_latency_rollup").glob("*.csv"))


def _raw_1m_current() -> bool:
    """The 1M-row file exists and has the raw store's current header."""
    from observability.latency.rawstore import HEADER_BYTES

    try:
        with open(RAW_1M, "rb") as handle:
            return handle.read(len(HEADER_BYTES)) == HEADER_BYTES
    except OSError:
        return False


def _cached(path: Path, variant: str) -> bool:
    try:
        info = json.loads((path / "bench_info.json").read_text())
    except (OSError, ValueError):
        return False
    return info.get("generator_version") == GENERATOR_VERSION


def ensure(force: bool = False) -> dict[str, Path]:
    """Build whatever is missing from the cache; returns the workspace paths by variant."""
    WORKSPACES.mkdir(parents=True, exist_ok=True)
    paths = {v: WORKSPACES / v for v in RUN_AT}
    missing = [v for v, p in paths.items() if force or not _cached(p, v)]
    if missing:
        chain = DATA / "scratch" / "chain"
        prepare_chain(chain)
        for variant in missing:
            info = finish_variant(chain, paths[variant], variant)
            summary = verify(paths[variant], variant)
            _say(
                f"{variant}: raw {info['raw_bytes'] / MIB:.2f} MiB ({info['raw_rows']} rows), rollups "
                f"{info['rollup_rows']} rows, {info['archives']} archives; verified: status "
                f"{summary['status']}, {summary['samples_written']} samples written, "
                f"{summary['rollups_written']} rollups, rotated {summary['rotated']}"
            )
        shutil.rmtree(chain)
    if force or not _raw_1m_current():
        t0 = time.perf_counter()
        make_raw_1m(RAW_1M)
        _say(f"{RAW_1M.relative_to(ROOT)}: {RAW_1M.stat().st_size / MIB:.1f} MiB in {time.perf_counter() - t0:.0f} s")
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--force", action="store_true", help="rebuild even when cached")
    args = parser.parse_args()
    for variant, path in ensure(args.force).items():
        print(f"{variant}: {path}")


if __name__ == "__main__":
    main()
