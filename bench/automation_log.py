"""The automation log after a year: what ``verify`` costs and what a ``state push`` uploads.

Builds once (cached under bench/.data/automation_log/, keyed by GENERATOR_VERSION) a workspace with
a simulated year of history following ops-template's schedules.yaml (read from it): 96 latency runs a
day, 24 hourly latency-dataset exports and the daily and Monday dashboard exports, the weekly report
and the nightly verify, about 45k lines. Lines are shaped like the ones runs with a GitHub context and per-feed alerts log (~3 KB,
which is how a year reached the 100-130 MB of issue 9), and are appended through
``runlog.append``: rotation, segments and retention are the real ones. Heartbeats are left as the
jobs leave them.

Then, each as a separate process (interpreter start-up and imports included), on a fresh copy:
1. ``observability verify`` (nightly, --since 24h): wall time, CPU time and peak RSS (of the child,
   from getrusage in a small wrapper process), median of --repeat runs after one warm-up; issue 11's
   targets: <= 2 s and <= 150 MiB.
2. ``observability verify job --job-id`` for a latency run 60 days back (rotated long ago).
3. ``state push`` to a file:// store already holding the year (seeded, not timed): the bytes each
   push uploads over --runs consecutive runs (one latency line appended, then the push), from the
   push's own JSON summary; the sequence is placed so that one of the runs rotates.
With --baseline, the same year as one unrotated live log (what a year cost before rotation) is
verified once.

Usage: python bench/automation_log.py [--repeat N] [--runs N] [--baseline] [--no-docs] [--figure]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

import generate  # noqa: E402
from observability import fsio, runlog  # noqa: E402
from observability.workspace import Workspace  # noqa: E402

GENERATOR_VERSION = 2  # 2: runs from schedules.yaml (the hourly dashboard schedule)
DATA = generate.DATA / "automation_log"
YEAR = DATA / f"year-v{GENERATOR_VERSION}"
DOC = ROOT / "docs" / "performance.md"
PY = sys.executable
END = datetime(2026, 11, 27, 4, 0, tzinfo=UTC)  # the year ends just after a nightly verify slot
NOW = END + timedelta(minutes=1)
DAYS = 365
FEEDS = [f"feed_{i}" for i in range(10)]
SHA = "1b7f5a195e703d7d3d5e9010340327eaef69ba14"
TARGET_VERIFY_S, TARGET_RSS_MIB, TARGET_PUSH_BYTES = 2.0, 150, 1_000_000  # issue 11: <= 2 s, <= 150 MiB
MIB = 1024 * 1024


def iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _record(job: str, started: datetime, run: int, cron: str) -> dict:
    """One line as a run on GitHub logs it: run context, artefacts, per-feed alert states."""
    job_id = f"{started:%Y%m%dT%H%M%SZ}-{job}"
    beat = {
        "latency": "ops/latency_job_heartbeat.json",
        "weekly": "ops/weekly_report_heartbeat.json",
        "dashboard": "ops/dashboard_export_heartbeat.json",
        "verify": "ops/verify_heartbeat.json",
    }[job]
    artefacts = {
        "latency": [
            "ops/signal_latency.csv",
            "ops/signal_latency_rollup.csv",
            "ops/latency_state.json",
            f"out/latency_alerts/{job_id}.json",
        ],
        "weekly": [f"ops/weekly_report_history/{started:%Y-%m-%d}.json", f"out/weekly_report/{job_id}.json"],
        "dashboard": [
            f"out/dashboard/{name}.json" for name in ("ev_history", "slippage", "latency", "turnover", "manifest")
        ],
        "verify": [f"out/verify/{job_id}.json", "ops/verify_alerts.json"],
    }[job] + [beat]
    alerts = (
        [
            {
                "id": hashlib.sha256(f"{job}/{feed}".encode()).hexdigest()[:16],
                "rule": "latency_slo",
                "source": feed,
                "severity": "warning" if (run + i) % 7 else "critical",
                "status": "firing" if (run + i) % 3 else "resolved",
                "breach_streak": (run + i) % 5,
                "last_breach_at": iso(started - timedelta(minutes=15)),
            }
            for i, feed in enumerate(FEEDS)
        ]
        if job == "latency"
        else []
    )
    github = {
        "event": "schedule",
        "workflow": f"{job}.yml",
        "job": job,
        "run_id": str(9_000_000_000 + run),
        "run_attempt": 1,
        "run_url": f"https://github.com/acme/trading-observability/actions/runs/{9_000_000_000 + run}",
        "sha": SHA,
        "ref": "refs/heads/main",
        "schedule": cron,
    }
    diagnostics = (
        {"warnings": [f"{feed}: 2 sample(s) over the 30000 ms probe timeout" for feed in FEEDS[:4]]}
        if job == "latency" and run % 4 == 0
        else {}
    )
    return {
        "job_id": job_id,
        "job": job,
        "status": "warning" if alerts and run % 3 else "ok",
        "started_at": iso(started),
        "completed_at": iso(started + timedelta(seconds=41)),
        "duration_ms": 41000,
        "attempts": 1,
        "artefacts": artefacts,
        "alerts": alerts,
        "diagnostics": diagnostics,
        "commit_sha": SHA,
        "source_command": f"observability {job} --workspace /home/runner/work/_temp/workspace",
        "github": github,
    }


def _runs(start: datetime, end: datetime):
    """(job, started, cron) of every scheduled run in [start, end), in time order, 2 minutes after
    each slot of ops-template's schedules.yaml (read from it: one source, as the workflows' crons are)."""
    from observability.config.schedules import load_schedules
    from observability.cron import Cron

    path = ROOT / "ops-template" / "configs" / "observability" / "schedules.yaml"
    entries = load_schedules(path, display="schedules.yaml")
    slots = sorted(
        (slot, entry.job, entry.cron)
        for entry in entries
        for slot in Cron.parse(entry.cron).times(start - timedelta(minutes=2), end)
    )
    for slot, job, cron in slots:
        started = slot + timedelta(minutes=2)
        if start <= started < end:
            yield job, started, cron


def build_year() -> Path:
    """The cached year workspace (built on first use, ~2 minutes)."""
    if (YEAR / "done").exists():
        return YEAR
    shutil.rmtree(YEAR, ignore_errors=True)
    tmp = YEAR.with_name(YEAR.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    ws = Workspace(tmp)
    (tmp / "configs" / "observability").mkdir(parents=True)
    shutil.copy(
        ROOT / "ops-template" / "configs" / "observability" / "schedules.yaml",
        tmp / "configs" / "observability" / "schedules.yaml",
    )
    ws.ops.mkdir()
    t0 = time.perf_counter()
    latest: dict[str, dict] = {}
    for run, (job, started, cron) in enumerate(_runs(END - timedelta(days=DAYS), END)):
        record = _record(job, started, run, cron)
        record["sequence"] = runlog.append(ws, record)
        latest[job] = record
    for record in latest.values():  # heartbeats and artefacts of each job's latest run
        for artefact in record["artefacts"]:
            path = ws.path(artefact)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(
                json.dumps(
                    {
                        "job_id": record["job_id"],
                        "status": record["status"],
                        "generated_at": record["completed_at"],
                        "last_success_at": record["completed_at"],
                    }
                )
                + "\n"
            )
    print(f"built a year of automation log in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    (tmp / "done").write_text("ok\n")
    tmp.rename(YEAR)
    return YEAR


def log_size(root: Path) -> dict:
    ws = Workspace(root)
    segments = runlog.segments(ws)
    raw = sum(len(runlog.read_segment(ws, s)) for s in segments) + ws.run_log.stat().st_size
    lines = sum(1 for _ in runlog.iter_records(ws))
    year = sum(1 for _ in _runs(END - timedelta(days=DAYS), END))
    return {
        "lines": lines,
        "year_lines": year,
        "segments": len(segments),
        "raw_bytes": raw,
        "stored_bytes": sum(s.path.stat().st_size for s in segments) + ws.run_log.stat().st_size,
        "live_bytes": ws.run_log.stat().st_size,
    }


_WRAPPER = (
    "import json, resource, subprocess, sys, time\n"
    "t = time.perf_counter()\n"
    "p = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
    "u = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
    "print(json.dumps({'seconds': time.perf_counter() - t, 'rss_kb': u.ru_maxrss, "
    "'cpu': u.ru_utime + u.ru_stime, 'rc': p.returncode, 'stdout': p.stdout, "
    "'stderr': p.stderr[-2000:]}))\n"
)


def measured(args: list[str], workspace: Path, now: datetime = NOW) -> dict:
    """One whole-process run of ``observability ARGS`` with its wall time and peak RSS."""
    cmd = [PY, "-c", _WRAPPER, PY, "-m", "observability", *args, "--workspace", str(workspace)]
    done = subprocess.run(cmd, capture_output=True, text=True, env=generate.clean_env(now), check=True)
    result = json.loads(done.stdout)
    try:
        result["summary"] = json.loads(result["stdout"])
    except ValueError:
        raise SystemExit(f"{args}: no JSON summary (exit {result['rc']}): {result['stderr']}") from None
    return result


def _fresh(source: Path, name: str) -> Path:
    target = DATA / "scratch" / name
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(source, target, symlinks=True)
    return target


def bench_verify(repeat: int) -> dict:
    out = {}
    old_job = next(
        r["job_id"]
        for r in runlog.iter_records(Workspace(YEAR), since=END - timedelta(days=60))
        if r["job"] == "latency"
    )
    for key, args in (("verify", ["verify", "--since", "24h"]), ("verify_job", ["verify", "job", "--job-id", old_job])):
        runs = []
        for i in range(repeat + 1):
            ws = _fresh(YEAR, "verify")
            result = measured(args, ws)
            summary = result["summary"]
            # an old run's out/ files are not kept (out/ is the run's artifact): verify job says so,
            # status error; what is measured is finding its line in the rotated history
            found = summary.get("trace", {}).get("lines") if key == "verify_job" else True
            if summary["status"] not in ("ok", "warning", "error" if key == "verify_job" else "ok") or not found:
                raise SystemExit(f"{args}: {summary['status']} {summary['diagnostics']}")
            if i:
                runs.append(result)
        out[key] = {
            "seconds": [r["seconds"] for r in runs],
            "rss_mb": [r["rss_kb"] / 1024 for r in runs],
            "cpu": [r["cpu"] for r in runs],
            "findings": runs[-1]["summary"].get("findings", runs[-1]["summary"].get("problems")),
            "log": runs[-1]["summary"].get("checks", {}).get("log"),
        }
    return out


def bench_baseline() -> dict:
    """The whole year as one live log, no segments and nothing pruned: what verify read before rotation."""
    ws = Workspace(_fresh(YEAR, "baseline"))
    shutil.rmtree(ws.run_segments)
    data = b"".join(
        (fsio.canonical_json({**_record(job, started, run, cron), "sequence": run + 1}) + "\n").encode()
        for run, (job, started, cron) in enumerate(_runs(END - timedelta(days=DAYS), END))
    )
    ws.run_log.write_bytes(data)
    result = measured(["verify", "--since", "24h"], ws.root)
    return {
        "seconds": result["seconds"],
        "rss_mb": result["rss_kb"] / 1024,
        "cpu": result["cpu"],
        "log_bytes": len(data),
    }


def bench_push(runs: int) -> dict:
    """Bytes uploaded by each of ``runs`` consecutive (run + push) cycles against a file:// store."""
    ws = Workspace(_fresh(YEAR, "push"))
    store_dir = DATA / "scratch" / "store"
    shutil.rmtree(store_dir, ignore_errors=True)
    store = f"file://{store_dir}"
    # bring the live log to a few lines under the size threshold, so one of the runs rotates
    cursor = END
    extra = list(_runs(END, END + timedelta(days=30)))
    index = 0
    line = len(json.dumps(_record("latency", END, 0, ""))) + 1
    while ws.run_log.stat().st_size < runlog.ROTATE_BYTES - line * (runs // 2):
        job, cursor, cron = extra[index]
        runlog.append(ws, _record(job, cursor, 10**6 + index, cron))
        index += 1
    init = measured(["state", "init", "--store", store], ws.root, now=cursor)  # pushes refuse an uncreated store
    assert init["summary"]["status"] == "ok", init
    seed = measured(["state", "push", "--store", store], ws.root, now=cursor)
    assert seed["summary"]["status"] == "ok", seed
    uploads = []
    pushed = {s.path for s in runlog.segments(ws)}
    for _ in range(runs):
        job, cursor, cron = extra[index]
        runlog.append(ws, _record(job, cursor, 10**6 + index, cron))
        index += 1
        # a rotation may happen in the run's append or in the previous push's own line (appended
        # after its snapshot was sent): either way this push is the one that uploads the segment
        current = {s.path for s in runlog.segments(ws)}
        push = measured(["state", "push", "--store", store], ws.root, now=cursor)
        summary = push["summary"]
        assert summary["status"] == "ok", summary
        uploads.append(
            {
                "bytes": summary["bytes_uploaded"],
                "files": summary["files_changed"],
                "rotated": bool(current - pushed),
                "seconds": push["seconds"],
            }
        )
        pushed = current
    return {"seed_bytes": seed["summary"]["bytes_uploaded"], "uploads": uploads}


def report(size: dict, verify: dict, push: dict, baseline: dict | None) -> str:
    med = statistics.median
    v, j = verify["verify"], verify["verify_job"]
    sizes = [u["bytes"] for u in push["uploads"]]
    rotated = [u["bytes"] for u in push["uploads"] if u["rotated"]]
    lines = [
        "## Automation log at a year of history (`bench/automation_log.py`)",
        "",
        f"A simulated year: {size['year_lines']:,} lines appended (96 latency runs a day, 24 hourly, one daily "
        f"and the Monday dashboard exports, the weekly report, the nightly verify; ~2.5 KB a line, with GitHub context and "
        f"per-feed alerts). Retained after 90 days of pruning: {size['lines']:,} lines, "
        f"{size['raw_bytes'] / MIB:.1f} MiB of JSON lines, stored as {size['segments']} gzip segments plus a "
        f"{size['live_bytes'] / 1024:.0f} KiB live log: {size['stored_bytes'] / MIB:.1f} MiB on disk and in the "
        "state store (synthetic lines repeat a lot, so they compress ~18x; real ones will compress less).",
        "",
        "| measure | median | range | target |",
        "| --- | ---: | --- | --- |",
        f"| `observability verify` (nightly, 24 h window), wall | {med(v['seconds']):.2f} s | "
        f"{min(v['seconds']):.2f}–{max(v['seconds']):.2f} s | ≤ {TARGET_VERIFY_S:g} s: "
        f"{'met' if med(v['seconds']) <= TARGET_VERIFY_S else '**missed**'} |",
        f"| `observability verify`, CPU (user + sys) | {med(v['cpu']):.2f} s | "
        f"{min(v['cpu']):.2f}–{max(v['cpu']):.2f} s | |",
        f"| `observability verify`, peak RSS | {med(v['rss_mb']):.0f} MiB | {min(v['rss_mb']):.0f}–"
        f"{max(v['rss_mb']):.0f} MiB | ≤ {TARGET_RSS_MIB} MiB: "
        f"{'met' if max(v['rss_mb']) <= TARGET_RSS_MIB else '**missed**'} |",
        f"| `verify job --job-id` (a run 60 days back), wall | {med(j['seconds']):.2f} s | "
        f"{min(j['seconds']):.2f}–{max(j['seconds']):.2f} s | |",
        f"| `verify job --job-id`, peak RSS | {med(j['rss_mb']):.0f} MiB | {min(j['rss_mb']):.0f}–"
        f"{max(j['rss_mb']):.0f} MiB | |",
        f"| `state push` after one more run (file:// store), bytes uploaded | {med(sizes):,.0f} B | "
        f"{min(sizes):,}–{max(sizes):,} B | < 1 MB |",
        f"| the same, for the push that carried a new segment | {max(rotated) if rotated else 0:,} B | "
        f"{len(rotated)} of {len(sizes)} pushes | < 1 MB |",
    ]
    if baseline:
        lines.append(
            f"| before rotation: `verify` on the whole year as one {baseline['log_bytes'] / MIB:.0f} MiB "
            f"live log, wall, CPU and peak RSS | {baseline['seconds']:.1f} s, {baseline['cpu']:.1f} s, "
            f"{baseline['rss_mb']:.0f} MiB | one run | (issue 11: 33.7 s, 1 GiB) |"
        )
    lines += [
        "",
        f"verify read {v['log']['lines']} lines (sequences {v['log']['first_sequence']}–"
        f"{v['log']['last_sequence']}): the segments reaching into the window, the day before it and "
        "8 days for weekly jobs, plus the live log; gaps between older segments are checked from their names. "
        "Each push uploads the live log (it changes every run; at most "
        f"{runlog.ROTATE_BYTES // 1024} KiB before it rotates) and, when the run rotated, the one new segment; "
        "older segments are already in the store. Whole processes, interpreter start-up included; "
        f"{len(v['seconds'])} timed runs after a warm-up; {len(sizes)} consecutive run+push cycles; a 2-core "
        "machine shared with other work. Rerun: `python bench/automation_log.py --baseline`.",
    ]
    return "\n".join(lines) + "\n"


START_MARK = "<!-- automation log benchmark: start (rewritten by bench/automation_log.py) -->"
END_MARK = "<!-- automation log benchmark: end -->"


def write_doc(section: str) -> None:
    text = DOC.read_text(encoding="utf-8")
    block = f"{START_MARK}\n{section.rstrip()}\n{END_MARK}\n"
    if START_MARK in text and END_MARK in text:
        before, rest = text.split(START_MARK, 1)
        text = before + block + rest.split(END_MARK, 1)[1].lstrip("\n")
    else:
        text = text.rstrip() + "\n\n" + block
    DOC.write_text(text, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description="automation log benchmark")
    parser.add_argument("--repeat", type=int, default=5, help="timed verify runs (after 1 warm-up)")
    parser.add_argument("--runs", type=int, default=30, help="consecutive run + push cycles")
    parser.add_argument("--baseline", action="store_true", help="also verify the year as one unrotated log (slow)")
    parser.add_argument("--no-docs", action="store_true", help="do not rewrite docs/performance.md")
    parser.add_argument(
        "--figure",
        action="store_true",
        help="verify only; end with one JSON line for bench/run.py's targets table (row verify_year)",
    )
    args = parser.parse_args()
    build_year()
    size = log_size(YEAR)
    verify = bench_verify(args.repeat)
    if args.figure:
        v, med = verify["verify"], statistics.median
        print(
            json.dumps(
                {
                    "value": f"{med(v['seconds']):.2f} s",
                    "cpu": f"{med(v['cpu']):.2f} s",
                    "rss": f"{max(v['rss_mb']):.0f} MiB",
                    "ok": med(v["seconds"]) <= TARGET_VERIFY_S and max(v["rss_mb"]) <= TARGET_RSS_MIB,
                    "note": f"nightly verify (24 h window) after a year: {size['year_lines']:,} lines, {size['segments']} "
                    f"segments; read {v['log']['lines']} lines",
                }
            )
        )
        return
    push = bench_push(args.runs)
    baseline = bench_baseline() if args.baseline else None
    section = report(size, verify, push, baseline)
    print(section)
    print(json.dumps({"size": size, "verify": verify, "push": push, "baseline": baseline}, indent=1), file=sys.stderr)
    if not args.no_docs:
        write_doc(section)


if __name__ == "__main__":
    main()
