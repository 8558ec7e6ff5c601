"""Shared storage under the hourly latency export: what `sync push` keeps and what a run costs.

A directory target is laid out as 8 weeks of hourly exports would leave it without thinning
(56 days x 24 `dashboard/<date>/<job_id>/` prefixes, each a copy of a real exported bundle of the
ops-template workspace, and an index.json listing them all), then, each as its own process
(`python -m observability sync push --no-weekly`, interpreter start-up included):

  first   the first sync after the upgrade: thins every export older than 48 h to the last of its day
  hourly  the next hour's export synced: one new prefix up, one prefix thinned (the steady state)

Printed: wall, CPU (user + sys, wait4) and peak RSS of each, prefixes and bytes before and after,
and the index's size; the bytes per day at bench size come from the bundle size given with
--bundle-mib (4.8: bench/dashboard.py's workspace at --runs 1000 --daily-rows 500).

Usage: python bench/sync_thinning.py [--days 56] [--bundle-mib 4.8] [--repeat 3]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 3, 2, 6, 30, tzinfo=UTC)


def _iso(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def _process(argv: list[str], env: dict) -> dict:
    start = time.perf_counter()
    with tempfile.TemporaryFile() as out_file, tempfile.TemporaryFile() as err_file:
        proc = subprocess.Popen(argv, stdout=out_file, stderr=err_file, env=env)
        _, status, usage = os.wait4(proc.pid, 0)  # the process's own rusage; files, so no pipe fills up
        proc.returncode = os.waitstatus_to_exitcode(status)
        out_file.seek(0)
        err_file.seek(0)
        out, err = out_file.read(), err_file.read()
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(argv)} failed:\n{err.decode()}")
    return {
        "wall": wall,
        "cpu": usage.ru_utime + usage.ru_stime,
        "rss_mib": usage.ru_maxrss / 1024,
        "summary": json.loads(out),
    }


def _env(now: datetime) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "OBS_"))}
    env.update({"OBS_NOW": _iso(now), "PYTHONPATH": str(ROOT)})
    return env


def _workspace(base: Path) -> Path:
    """The demo workspace (ops-template with every job run once), its bundle exported at NOW."""
    ws = base / "ws"
    demo = subprocess.run(
        [sys.executable, "-m", "observability", "demo", "--dir", str(ws)], capture_output=True, env=_env(NOW)
    )
    if demo.returncode != 0:
        raise SystemExit(f"observability demo failed:\n{demo.stderr.decode()}")
    _process([sys.executable, "-m", "observability", "dashboard", "export", "--workspace", str(ws)], _env(NOW))
    return ws


def _lay_out(target: Path, bundle: Path, days: int) -> int:
    """Hourly prefixes for ``days`` days before NOW (each a copy of ``bundle``) and an index naming them."""
    files = {p.name: p.read_bytes() for p in bundle.iterdir() if p.is_file()}
    entries = []
    start = (NOW - timedelta(days=days)).replace(hour=0, minute=17, second=0)
    at = start
    while at < NOW - timedelta(hours=1):
        day, job_id = at.date().isoformat(), at.strftime("%Y%m%dT%H%M%SZ") + "-dashboard"
        prefix = f"dashboard/{day}/{job_id}/"
        (target / prefix).mkdir(parents=True)
        listed = []
        for name, data in files.items():
            (target / prefix / name).write_bytes(data)
            listed.append({"key": prefix + name, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)})
        entries.append(
            {
                "kind": "dashboard",
                "prefix": prefix,
                "date": day,
                "job_id": job_id,
                "uploaded_at": _iso(at),
                "files": listed,
            }
        )
        at += timedelta(hours=1)
    entries.reverse()
    index = {
        "schema_version": "1.0.0",
        "updated_at": _iso(at),
        "job_id": entries[0]["job_id"],
        "retention_weeks": 8,
        "latest": {"dashboard": entries[0]["prefix"], "weekly": None},
        "dashboard": entries,
        "weekly": [],
    }
    (target / "index.json").write_text(json.dumps(index, indent=2, sort_keys=True))
    return len(entries)


def _prefixes(target: Path) -> int:
    return sum(1 for day in (target / "dashboard").iterdir() for _ in day.iterdir())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--days", type=int, default=56)
    parser.add_argument("--bundle-mib", type=float, default=4.8)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rows: dict[str, list[dict]] = {"first": [], "hourly": []}
    facts: dict = {}
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory(prefix="sync-thinning-") as tmp:
            base = Path(tmp)
            ws = _workspace(base)
            target = base / "shared"
            facts["before"] = _lay_out(target, ws / "out" / "dashboard", args.days)
            facts["index_before_kib"] = (target / "index.json").stat().st_size / 1024
            sync = [sys.executable, "-m", "observability", "sync", "push", "--no-weekly", "--workspace", str(ws)]
            sync += ["--to", target.as_uri()]
            first = _process(sync, _env(NOW))
            rows["first"].append(first)
            facts["thinned_first"] = sum(p["reason"] == "thinned" for p in first["summary"]["pruned"])
            facts["after"] = _prefixes(target)
            later = NOW + timedelta(hours=1)
            _process(
                [sys.executable, "-m", "observability", "dashboard", "export", "--workspace", str(ws)],
                _env(later),
            )
            hourly = _process(sync, _env(later))
            rows["hourly"].append(hourly)
            facts["thinned_hourly"] = len(hourly["summary"]["pruned"])
            index = json.loads((target / "index.json").read_text())
            facts["index_kib"] = (target / "index.json").stat().st_size / 1024
            facts["index_removed"] = len(index["removed"])
            rest = {k: v for k, v in index.items() if k != "removed"}
            facts["removed_kib"] = facts["index_kib"] - len(json.dumps(rest, indent=2, sort_keys=True)) / 1024
            facts["index_kept"] = len(index["dashboard"])
    for name, runs in rows.items():
        print(
            f"{name:7} wall {statistics.median(r['wall'] for r in runs):.2f} s  "
            f"cpu {statistics.median(r['cpu'] for r in runs):.2f} s  "
            f"rss {statistics.median(r['rss_mib'] for r in runs):.0f} MiB"
        )
    kept_mib = facts["after"] * args.bundle_mib
    print(
        f"prefixes {facts['before']} -> {facts['after']} (first run thinned {facts['thinned_first']}; "
        f"an hourly run thins {facts['thinned_hourly']}); at {args.bundle_mib} MiB a bundle: "
        f"{facts['before'] * args.bundle_mib / 1024:.1f} GiB -> {kept_mib / 1024:.2f} GiB; index {facts['index_before_kib']:.0f} KiB -> {facts['index_kib']:.0f} KiB "
        f"({facts['index_kept']} prefixes, {facts['index_removed']} removals on record: {facts['removed_kib']:.0f} KiB of it)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
