"""The latency cycle against the number of sources: its cost should follow new data, not sources x history.

Workspaces (built by the product itself, cached under bench/.data/rollup_scale/<label>/, one set per
checkout of the code, so the same script measures an older checkout with --code):

  s10    10 sources      90 days of hourly rollups (21,600 rows), 24 h of raw samples and SLO windows
                         (one sample per source per 15 min); the timed cycle reads 150 new samples
                         (15 min x 10 sources x 1/min)
  s1000  1,000 sources   90 days of rollups (2,160,000 rows), 24 h of raw samples and windows as above;
                         timed with 150 new samples (15 sources x 10) -- "s1000-150" --, and with
                         15,000 (15 min x 1,000 sources x 1/min) -- "s1000-15k"

The rollup history is written as the latency job's old single file (observability.samplegen.weekly,
the rows weekly and dashboard tests use), then one untimed preparation cycle ingests the 24 h of
samples at 12:00 UTC, which migrates it where the code splits rollups into day files. The timed
cycle runs at 12:15:30 on a fresh copy (the copy is not timed): the first cycle of the hour.

Each run is a whole process (``python -m observability latency sample``); wall time, CPU time (user +
sys) and peak RSS come from os.wait4 for that process alone. One warm-up round, then --repeat rounds
with the variants interleaved; medians are reported.

Usage: python bench/rollup_scale.py [--repeat N] [--code CHECKOUT] [--only s10,s1000-150,...] [--json]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = HERE / ".data" / "rollup_scale"
LOG = "logs/signal_notifier.csv"
PREP_AT = datetime(2026, 3, 2, 12, 0, 30)
T0 = datetime(2026, 3, 2, 12, 0)  # the prepared samples end here; the timed cycle reads 12:00-12:15
TIMED_NOW = "2026-03-02T12:15:30Z"
VERSION = 4
MIB = 1024 * 1024

# variant -> (workspace, number of sources, new samples per source-minute pattern)
VARIANTS = {
    "s10": ("s10", 10, 150),
    "s1000-150": ("s1000", 1000, 150),
    "s1000-15k": ("s1000", 1000, 15000),
}


def _env(code: Path, now: str | None = None) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GITHUB_", "OBS_", "LATENCY_")) and k not in ("RUNNER_TEMP", "PYTHONDONTWRITEBYTECODE")
    }
    env["PYTHONPATH"] = str(code)
    env["PYTHONPYCACHEPREFIX"] = str(DATA / "pycache" / hashlib.sha256(str(code).encode()).hexdigest()[:12])
    if now:
        env["OBS_NOW"] = now
    return env


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _sources(n: int) -> list[str]:
    return [f"feed_{i:04d}" for i in range(n)]


def _log_lines(rows) -> str:
    return "".join(f"{_iso(t)},{v:.3f},success,,{s}\n" for t, s, v in rows)


def _latency(i: int, j: int) -> float:
    return 1500.0 + (i * 7919 + j * 104729) % 1000  # deterministic, spread, below the 5 s default SLO


def prepare(label: str, sources: int, code: Path) -> Path:
    """The cached workspace for ``label`` built with ``code``: rollups, raw store, state, empty log tail."""
    key = hashlib.sha256(f"{VERSION}:{code}:{label}".encode()).hexdigest()[:10]
    path = DATA / f"{label}-{key}"
    if (path / "ready").exists():
        return path
    if path.exists():
        shutil.rmtree(path)
    (path / "ops").mkdir(parents=True)
    (path / "logs").mkdir()
    names = _sources(sources)
    script = (
        "import sys; from datetime import datetime, timezone; from pathlib import Path\n"
        "from observability.samplegen.weekly import write_rollups\n"
        "end = datetime(2026, 3, 1, 12, tzinfo=timezone.utc)\n"
        "write_rollups(Path(sys.argv[1]), end=end, days=89, sources=tuple(sys.argv[2:]), slo_ms=5000.0)\n"
    )
    subprocess.run(
        [sys.executable, "-c", script, str(path / "ops" / "signal_latency_rollup.csv"), *names],
        check=True,
        env=_env(code),
        cwd=path,
    )  # cwd: not this checkout first on sys.path
    rows = [
        (T0 - timedelta(minutes=15 * k) + timedelta(seconds=i % 60), s, _latency(i, k))
        for k in range(96, 0, -1)
        for i, s in enumerate(names)
    ]
    (path / LOG).write_text("timestamp_utc,latency_ms,status,detail,source\n" + _log_lines(rows), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "observability", "latency", "sample", "--workspace", str(path), "--input", LOG],
        capture_output=True,
        text=True,
        env=_env(code, _iso(PREP_AT)),
        cwd=path,
    )
    if done.returncode != 0:
        raise SystemExit(f"preparation of {label} failed:\n{done.stdout}\n{done.stderr}")
    (path / "ready").write_text("")
    return path


def timed_rows(sources: int, new: int) -> list:
    names = _sources(sources)
    if new >= sources:  # every source, one sample a minute
        per = new // sources
        return [
            (T0 + timedelta(minutes=m, seconds=i % 60), s, _latency(i, m + 1000))
            for m in range(per)
            for i, s in enumerate(names)
        ]
    return [
        (T0 + timedelta(minutes=m, seconds=i), s, _latency(i, m + 1000))  # the first 15 sources, 10 each
        for m in range(10)
        for i, s in enumerate(names[: new // 10])
    ]


def _spawn_and_measure(cmd, env, cwd):
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=cwd)
    # read the pipes without reaping the child, then reap it with wait4 for its own rusage
    out = proc.stdout.read()
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    return wall, usage, proc.returncode, out, err


def measure(variant: str, workspace: Path, code: Path, scratch: Path) -> dict:
    _, sources, new = VARIANTS[variant]
    copy = scratch / variant
    if copy.exists():
        shutil.rmtree(copy)
    shutil.copytree(workspace, copy)
    with open(copy / LOG, "a", encoding="utf-8") as handle:
        handle.write(_log_lines(timed_rows(sources, new)))
    cmd = [sys.executable, "-m", "observability", "latency", "sample", "--workspace", str(copy), "--input", LOG]
    wall, usage, code_, out, err = _spawn_and_measure(cmd, _env(code, TIMED_NOW), copy)
    summary = json.loads(out) if out.strip() else {}
    if code_ != 0 or summary.get("samples_written") != new or summary.get("status") != "ok":
        raise SystemExit(
            f"{variant}: exit {code_}, status {summary.get('status')}, "
            f"samples_written={summary.get('samples_written')}\n{err.decode()[-2000:]}"
        )
    shutil.rmtree(copy)
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "rss_mib": usage.ru_maxrss / 1024}


def bench(repeat: int, code: Path, only: list[str]) -> dict[str, dict]:
    scratch = DATA / "scratch"
    scratch.mkdir(parents=True, exist_ok=True)
    spaces = {}
    for variant in only:
        label, sources, _ = VARIANTS[variant]
        if label not in spaces:
            print(f"preparing {label} ({sources} sources) with {code} ...", file=sys.stderr)
            spaces[label] = prepare(label, sources, code)
    runs: dict[str, list[dict]] = {v: [] for v in only}
    for i in range(repeat + 1):
        for variant in only:
            result = measure(variant, spaces[VARIANTS[variant][0]], code, scratch)
            if i:
                runs[variant].append(result)
    out = {}
    for variant, rs in runs.items():
        out[variant] = {k: statistics.median(r[k] for r in rs) for k in ("wall", "cpu", "rss_mib")}
        out[variant]["wall_range"] = (min(r["wall"] for r in rs), max(r["wall"] for r in rs))
    return out


def figure(key: str, results: dict[str, dict]) -> dict:
    """The row of bench/run.py's targets table: value (wall), cpu, rss, ok, note."""
    if key == "sources_1000_vs_10":
        big, small = results["s1000-150"], results["s10"]
        wall, cpu = big["wall"] / small["wall"], big["cpu"] / small["cpu"]
        return {
            "value": f"{wall:.2f}× ({big['wall']:.3f} s vs {small['wall']:.3f} s)",
            "cpu": f"{cpu:.2f}× ({big['cpu']:.3f} s vs {small['cpu']:.3f} s)",
            "rss": f"{big['rss_mib']:.0f} vs {small['rss_mib']:.0f} MiB",
            "ok": wall <= 2,
            "note": "bench/rollup_scale.py: 90 days of rollups, 24 h of SLO windows per source",
        }
    r = results["s1000-15k"]
    return {
        "value": f"{r['wall']:.3f} s",
        "cpu": f"{r['cpu']:.3f} s",
        "rss": f"{r['rss_mib']:.0f} MiB",
        "ok": r["wall"] <= 1 and r["rss_mib"] <= 150,
        "note": "bench/rollup_scale.py: 90 days of rollups, 24 h of SLO windows per source",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--code", type=Path, default=ROOT, help="checkout whose observability package is run")
    parser.add_argument("--only", default=",".join(VARIANTS))
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--figure",
        choices=("sources_1000_vs_10", "sources_1000_15k"),
        help="print one row of bench/run.py's targets table as a JSON line",
    )
    args = parser.parse_args()
    only = [v for v in args.only.split(",") if v]
    if args.figure == "sources_1000_vs_10":
        only = ["s10", "s1000-150"]
    elif args.figure == "sources_1000_15k":
        only = ["s1000-15k"]
    results = bench(args.repeat, args.code.resolve(), only)
    if args.figure:
        print(json.dumps(figure(args.figure, results)))
        return
    if args.json:
        print(json.dumps(results))
        return
    for variant, r in results.items():
        print(
            f"{variant:10s} wall {r['wall']:.3f} s ({r['wall_range'][0]:.3f}-{r['wall_range'][1]:.3f})  "
            f"cpu {r['cpu']:.3f} s  peak RSS {r['rss_mib']:.0f} MiB"
        )
    if "s10" in results:
        for variant in ("s1000-150", "s1000-15k"):
            if variant in results:
                print(
                    f"{variant} / s10: wall {results[variant]['wall'] / results['s10']['wall']:.2f}x, "
                    f"cpu {results[variant]['cpu'] / results['s10']['cpu']:.2f}x"
                )


if __name__ == "__main__":
    main()
