"""The latency benchmark: whole-process timings against the targets; rewrites docs/performance.md.

Every scenario runs as a separate process (``python -m observability ...`` or a script), so
interpreter start-up and imports are included, as on a runner. Each is run once to warm up
(page cache, .pyc files), then 5 times; the median is reported (min and max alongside).
Job runs get a fresh copy of a cached workspace (bench/generate.py) before every run; the copy
is not timed.

Usage: python bench/run.py [--repeat N] [--no-docs]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import generate  # noqa: E402

DOC = ROOT / "docs" / "performance.md"
SCRATCH = generate.DATA / "scratch"
PY = sys.executable
MIB = 1024 * 1024

TARGET_CYCLE_S = 0.3
TARGET_RATIO = 1.5
TARGET_HELP_S = 0.15


class Timing:
    def __init__(self, name: str, times: list[float], extra: dict | None = None, cpu: list[float] | None = None):
        self.name = name
        self.times = times
        self.extra = extra or {}
        self.cpu = cpu or []

    @property
    def cpu_median(self) -> str:
        return f"{statistics.median(self.cpu):.3f} s" if self.cpu else ""

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    def spread(self) -> str:
        return f"{min(self.times):.3f}–{max(self.times):.3f}"


LAST_CPU = [0.0]


def run_process(cmd: list[str], *, env: dict | None = None, cwd: Path | None = None) -> tuple[float, subprocess.CompletedProcess]:
    """Wall time of the whole process; its CPU time (user + sys, children included) goes to LAST_CPU."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env=env or generate.process_env(), cwd=cwd)
    elapsed = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    LAST_CPU[0] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, done


def run_cycle(variant: str, workspace: Path) -> tuple[float, int]:
    """One 15-minute cycle (150 new samples) on a fresh copy of ``workspace``: (seconds, job duration_ms)."""
    copy = SCRATCH / f"run-{variant}"
    if copy.exists():
        shutil.rmtree(copy)
    shutil.copytree(workspace, copy)
    elapsed, done = run_process(generate.timed_command(copy, variant), env=generate.clean_env(generate.RUN_AT[variant]),
                                cwd=copy)
    try:
        summary = json.loads(done.stdout)
    except ValueError:
        summary = {}
    problems = generate.check_cycle(summary, done.returncode, rotation=variant == "rotation")
    if problems:
        raise SystemExit(f"{variant} cycle did not do the expected work: {problems}\n{done.stderr}")
    shutil.rmtree(copy)
    return elapsed, summary["duration_ms"], LAST_CPU[0]


def bench_cycles(variants: dict[str, Path], repeat: int) -> dict[str, Timing]:
    """Round 0 warms up; the variants alternate run by run so drift in machine load hits them alike."""
    runs: dict[str, list[tuple[float, int, float]]] = {v: [] for v in variants}
    for i in range(repeat + 1):
        for variant, path in variants.items():
            result = run_cycle(variant, path)
            if i:
                runs[variant].append(result)
    return {v: Timing(v, [t for t, _, _ in rs], {"job_ms": statistics.median(ms for _, ms, _ in rs)},
                      [c for _, _, c in rs]) for v, rs in runs.items()}


def bench_command(name: str, cmd: list[str], repeat: int, cwd: Path | None = None) -> Timing:
    times, cpu, stderr = [], [], []
    for i in range(repeat + 1):
        elapsed, done = run_process(cmd, cwd=cwd)
        if done.returncode != 0:
            raise SystemExit(f"{name}: exit {done.returncode}\n{done.stderr}")
        if i:
            times.append(elapsed)
            cpu.append(LAST_CPU[0])
            stderr.append(done.stderr)
    return Timing(name, times, {"stderr": stderr}, cpu=cpu)


# What the profile breakdown lists: (label, file suffix, function name), matched in pstats keys.
PROFILE_ITEMS = {
    "nominal": [
        ("import observability.cli (click)", "observability/cli/__init__.py", "<module>"),
        ("import observability.latency.job (lazy, in the command)", "observability/latency/job.py", "<module>"),
        ("import jsonschema (first validation)", "jsonschema/__init__.py", "<module>"),
        ("import yaml", "yaml/__init__.py", "<module>"),
        ("import filelock", "filelock/__init__.py", "<module>"),
        ("schemas._validator x2 (its first call imports jsonschema; builds the validator)", "observability/schemas.py", "_validator"),
        ("config.load_latency (YAML + schema validation, incl. imports)", "observability/config.py", "load_latency"),
        ("latency.job.sample (the job body)", "observability/latency/job.py", "sample"),
        ("rollup.RollupStore.update (rewrites the touched day file only)", "observability/latency/rollup.py", "update"),
        ("samples.read_new (150 new samples)", "observability/latency/samples.py", "read_new"),
        ("slo.Evaluator.run", "observability/latency/slo.py", "run"),
        ("runlog.append (schema check + locked append)", "observability/runlog.py", "append"),
        ("provenance.commit_sha (git rev-parse)", "observability/provenance.py", "commit_sha"),
        ("os.fsync (all calls)", "~", "<built-in method posix.fsync>"),
    ],
    "rotation": [
        ("latency.job.sample (the job body)", "observability/latency/job.py", "sample"),
        ("job._rotate", "observability/latency/job.py", "_rotate"),
        ("RawStore.begin_rotation", "observability/latency/rawstore.py", "begin_rotation"),
        ("rawstore.parse_rows (whole raw file, plus the touched hour)", "observability/latency/rawstore.py", "parse_rows"),
        ("rawstore.format_rows (archived + kept rows)", "observability/latency/rawstore.py", "format_rows"),
        ("rawstore.hour_key (mostly the index of kept rows)", "observability/latency/rawstore.py", "hour_key"),
        ("clock.parse_iso", "observability/clock.py", "parse_iso"),
        ("gzip.compress", "gzip.py", "compress"),
    ],
}


def profile_cycle(variant: str, workspace: Path) -> dict:
    """One extra run of the cycle under cProfile: cumulative time of the PROFILE_ITEMS (not timed above)."""
    import pstats

    copy = SCRATCH / f"profile-{variant}"
    if copy.exists():
        shutil.rmtree(copy)
    shutil.copytree(workspace, copy)
    out = SCRATCH / f"profile-{variant}.prof"
    cmd = generate.timed_command(copy, variant)
    cmd[1:1] = ["-m", "cProfile", "-o", str(out)]
    _, done = run_process(cmd, env=generate.clean_env(generate.RUN_AT[variant]), cwd=copy)
    shutil.rmtree(copy)
    if done.returncode != 0:
        raise SystemExit(f"profile {variant}: exit {done.returncode}\n{done.stderr}")
    stats = pstats.Stats(str(out)).stats
    total = max(ct for (_, _, _, ct, _) in stats.values())
    found = []
    for label, suffix, func in PROFILE_ITEMS[variant]:
        hits = [(cc, ct) for (file, _, name), (cc, _, _, ct, _) in stats.items()
                if name == func and file.replace("\\", "/").endswith(suffix)]
        if hits:
            found.append((label, sum(ct for _, ct in hits), sum(cc for cc, _ in hits)))
    return {"total": total, "items": found}


def compare_p95(ours: Path, theirs: Path) -> dict:
    def load(path: Path) -> dict:
        with open(path, newline="") as handle:
            return {(r["hour"], r["source"]): r for r in csv.DictReader(handle)}

    a, b = load(ours), load(theirs)
    common = sorted(a.keys() & b.keys())
    diffs = {k: abs(float(a[k]["p95_ms"]) - float(b[k]["p95_ms"])) for k in common}
    counts_equal = all(int(a[k]["count"]) == int(b[k]["count"]) for k in common)
    step = max(1, len(common) // 5)
    handful = [(k, float(a[k]["p95_ms"]), float(b[k]["p95_ms"])) for k in common[::step][:5]]
    return {"groups_ours": len(a), "groups_duckdb": len(b), "groups_compared": len(common),
            "max_abs_diff_p95": max(diffs.values()) if diffs else None, "counts_equal": counts_equal,
            "max_abs_diff_all": max(abs(float(a[k][c]) - float(b[k][c])) for k in common
                                    for c in ("p50_ms", "p95_ms", "p99_ms", "max_ms")) if common else None,
            "handful": handful}


def bench_recompute(repeat: int) -> dict | None:
    try:
        import duckdb  # noqa: F401
    except ImportError:
        print("scenario 4 skipped: duckdb is not importable in this Python "
              f"({PY}); install it with `pip install duckdb` (or `pip install -e .[bench]`)", file=sys.stderr)
        return None
    import duckdb

    raw = generate.RAW_1M
    rows = sum(1 for _ in open(raw, "rb")) - 1
    out_ours, out_duck = SCRATCH / "rollup_ours.csv", SCRATCH / "rollup_duckdb.csv"
    ours = bench_command("ours", [PY, str(HERE / "recompute_ours.py"), str(raw), str(out_ours)], repeat)
    duck = bench_command("duckdb", [PY, str(HERE / "recompute_duckdb.py"), str(raw), str(out_duck)], repeat)
    return {"rows": rows, "raw_bytes": raw.stat().st_size, "ours": ours, "duckdb": duck,
            "duckdb_version": duckdb.__version__, "agreement": compare_p95(out_ours, out_duck)}


ARCHIVE_SCAN_SCRIPT = r"""
import json, sys, time
from pathlib import Path
from observability.latency.rawstore import RawStore
from observability.workspace import Workspace

root, template, counts = Path(sys.argv[1]), Path(sys.argv[2]), [int(c) for c in sys.argv[3:]]
ws = Workspace(root)
store = RawStore(root / "ops" / "signal_latency.csv", root / "ops" / "signal_latency_archive", ws.rel)
store.archive_dir.mkdir(parents=True)
entry = json.loads(template.read_text().splitlines()[0])
made, out = 0, {}
for count in counts:
    with open(store.manifest, "a") as manifest:
        while made < count:
            path = store.archive_dir / f"{2026 + made // 365}" / f"{made % 12 + 1:02d}" / f"day{made}.csv.gz"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"")
            manifest.write(json.dumps(dict(entry, path=ws.rel(path))) + "\n")
            made += 1
    times = []
    for _ in range(7):
        t0 = time.perf_counter()
        assert store.discard_orphans() == []
        times.append(time.perf_counter() - t0)
    out[count] = sorted(times)[3]
print(json.dumps(out))
"""


def bench_archive_scan() -> dict[int, float]:
    """In-process: RawStore.discard_orphans (run by every cycle) against the number of daily archives."""
    root = SCRATCH / "archive-scan"
    if root.exists():
        shutil.rmtree(root)
    (root / "ops").mkdir(parents=True)
    template = generate.WORKSPACES / "nominal" / "ops" / "signal_latency_archive" / "manifest.jsonl"
    _, done = run_process([PY, "-c", ARCHIVE_SCAN_SCRIPT, str(root), str(template), "75", "365", "1825"])
    shutil.rmtree(root)
    if done.returncode != 0:
        raise SystemExit(f"archive scan: {done.stderr}")
    return {int(k): v for k, v in json.loads(done.stdout).items()}


def machine() -> dict:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "cpu": cpu or "unknown", "python": platform.python_version(),
            "platform": platform.platform(), "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "code": code_version()}


def code_version() -> str:
    """The commit measured, and whether the working tree differed from it (read-only git calls)."""
    try:
        sha = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--", "observability"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    if not sha:
        return "unknown"
    return f"commit {sha}" + (" with uncommitted changes under observability/" if dirty else "")


def loadavg() -> str:
    try:
        return "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    except OSError:
        return "n/a"


def verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def render(results: dict, info: dict, m: dict, repeat: int) -> tuple[str, str]:
    """(terminal table, docs/performance.md text)."""
    cyc, big, small, hlp = results["cycle"], results["big"], results["small"], results["help"]
    ratio = big.median / small.median
    def row(label: str, t: Timing, target: str = "", ok: bool | None = None) -> tuple:
        return (label, f"{t.median:.3f} s", t.spread(), t.cpu_median, target, "" if ok is None else verdict(ok))

    rows = [
        row("1. one 15-min cycle, nominal workspace (150 new samples)", cyc, f"≤ {TARGET_CYCLE_S} s",
            cyc.median <= TARGET_CYCLE_S),
        row(f"2a. same cycle, raw file {info['big']['raw_bytes'] / MIB:.1f} MiB", big),
        row(f"2b. same cycle, raw file {info['small']['raw_bytes'] / 1024:.0f} KiB", small),
        ("2. ratio 2a / 2b (wall)", f"{ratio:.2f}", "", "", f"≤ {TARGET_RATIO}", verdict(ratio <= TARGET_RATIO)),
        ("2'. ratio 2a / 2b (CPU)", "", "", f"{statistics.median(big.cpu) / statistics.median(small.cpu):.2f}",
         f"≤ {TARGET_RATIO}", verdict(statistics.median(big.cpu) / statistics.median(small.cpu) <= TARGET_RATIO)),
        row(f"(supplementary) daily rotation cycle: 150 new samples + 1 day archived from a "
            f"{info['rotation']['raw_bytes'] / MIB:.1f} MiB raw file", results["rotation"], "none set"),
        row("3. `python -m observability --help`", hlp, f"≤ {TARGET_HELP_S} s", hlp.median <= TARGET_HELP_S),
    ]
    if "help_script" in results:
        hs = results["help_script"]
        rows.append(row("3'. `observability --help` (console script)", hs, f"≤ {TARGET_HELP_S} s",
                        hs.median <= TARGET_HELP_S))
    rows.append(row("(reference) `python -c pass`", results["bare"]))
    rc = results.get("recompute")
    if rc:
        r = rc["ours"].median / rc["duckdb"].median
        rows += [
            row(f"4a. full rollup recompute, {rc['rows']:,} samples, ours (recompute.hourly_stats, pure Python)", rc["ours"]),
            row(f"4b. same with DuckDB {rc['duckdb_version']} quantile_cont", rc["duckdb"]),
            ("4. ratio ours / DuckDB (wall)", f"{r:.1f}", "", "", "reported", ""),
        ]
    head = ("scenario", "median wall", "min–max wall", "median CPU", "target", "")
    widths = [max(len(str(r[i])) for r in rows + [head]) for i in range(len(head))]
    term = "\n".join("  ".join(str(c).ljust(w) for c, w in zip(r, widths)) for r in [head] + rows)

    md = ["## Latency job (`observability latency sample`)", "",
          "Measured by the latency benchmark in `bench/` (not by timed tests). Rerun with:", "",
          "```sh", "pip install -e '.[bench]'     # duckdb, for scenario 4 only", "python bench/run.py",
          "```", "",
          "`bench/run.py` builds (once, cached under `bench/.data/`) the workspaces with `bench/generate.py`, "
          "then times each scenario as a whole process (interpreter start-up and imports included, as on a "
          f"runner): one warm-up run, then {repeat} runs; the median wall-clock time is reported, min–max beside "
          "it, and the median CPU time (user + sys of the process and its children), which other load on the "
          "machine disturbs less. Targets are on wall time. Every job "
          "run gets a fresh copy of the prepared workspace (the copy is not timed). The figures below are "
          "rewritten by each run; they are the only figures here and all were measured.", "",
          "### Machine", "",
          f"- date: {m['date']}", f"- CPU: {m['cpu']}, nproc = {m['nproc']}", f"- Python {m['python']} "
          f"({m['platform']})", f"- code: {m['code']}",
          f"- load average (1/5/15 min) before the run: {m['load_before']}, after: {m['load_after']} "
          "(other work on the machine shows up as run-to-run spread)", "",
          "### Results", "",
          "| scenario | median wall | min–max wall | median CPU | target | |", "|---|---:|---:|---:|---:|---|"]
    md += [f"| {' | '.join(str(c) for c in r)} |" for r in rows]
    md += ["", f"Job-internal time (`duration_ms` of the JSON summary: from the start of `run_job`, so without "
               f"interpreter start-up and the click/CLI/job-module imports before it, but with the imports made "
               f"inside the job: jsonschema, yaml, filelock): nominal {cyc.extra['job_ms']:.0f} ms, 10 MiB raw {big.extra['job_ms']:.0f} ms, "
               f"100 KiB raw {small.extra['job_ms']:.0f} ms, daily rotation cycle "
               f"{results['rotation'].extra['job_ms']:.0f} ms (medians).", "",
          "Bytecode: the benchmarked processes use Python's default .pyc caching (kept under "
          "`bench/.data/pycache` via `PYTHONPYCACHEPREFIX`; `PYTHONDONTWRITEBYTECODE` is removed from their "
          "environment), so after the warm-up no module is compiled, as with an installed package.", ""]
    scan = results["archive_scan"]
    md += ["Archive scan: a cycle's recovery step (`RawStore.discard_orphans`) lists the archive folder only "
           "after an interrupted rotation (the rewritten raw file is still there), so a normal cycle's cost does "
           "not grow with the number of archives (one a day, never deleted). Measured in-process (median of 7) "
           "with empty archive files: "
           + ", ".join(f"{n:,} archives {t * 1000:.1f} ms" for n, t in sorted(scan.items()))
           + " (75 is the nominal workspace; 1,825 is five years).", ""]
    md += ["### Where the time goes", "",
           "One extra run of each cycle under cProfile (`python -m cProfile -m observability latency sample ...`), "
           "cumulative seconds per item (items overlap: imports inside a function count in both). The profiler "
           "adds per-call overhead, so these are larger than the unprofiled figures above; use them for "
           "proportions.", ""]
    for variant, title in (("nominal", "15-minute cycle, nominal workspace"),
                           ("rotation", "daily rotation cycle")):
        prof = results["profile"][variant]
        md += [f"{title}: whole process {prof['total']:.3f} s under the profiler.", "",
               "| item | cumulative s | calls |", "|---|---:|---:|"]
        md += [f"| {label} | {sec:.3f} | {calls:,} |" for label, sec, calls in prof["items"]]
        md.append("")
    if rc:
        docs = [json.loads(e.strip().splitlines()[-1]) for e in rc["ours"].extra["stderr"]]
        phases = {k: statistics.median(d[k] for d in docs) for k in docs[0] if k != "engine"}
        md += ["Scenario 4, ours, phases timed inside the process (median of the timed runs, no profiler): "
               + ", ".join(f"{k} {v:.3f} s" for k, v in phases.items()) + ".", ""]
    nom = info["nominal"]
    md += ["### Workspaces", "",
           "Prepared by the product itself: `observability latency sample` run with `OBS_NOW` as the clock over "
           "a generated notifier log (`observability.samplegen.rows`/`write_current`, current format), in daily "
           "chunks over 91 days (the log rotated as logrotate would between chunks) and then in 15-minute "
           "cycles for the last two hours. 10 sources (`feed_0`…`feed_9`), one sample per source per minute. "
           "Each workspace holds the config from `ops-template/`; its notifier log holds the next 150 "
           "unread samples (15 minutes × 10 sources). Every timed run is checked: exit 0, `status` ok, "
           "`samples_written` = 150, no warning, and no rotation (exactly one in the `rotation` workspace).", "",
           "| workspace | raw file | raw rows | rollup file | rollup rows | state | archives | timed-run flags |",
           "|---|---:|---:|---:|---:|---:|---:|---|"]
    for name in ("nominal", "big", "small", "rotation"):
        i = info[name]
        md.append(f"| {name} | {i['raw_bytes'] / MIB:.2f} MiB | {i['raw_rows']:,} | {i['rollup_bytes'] / 1024:.0f} KiB"
                  f" | {i['rollup_rows']:,} | {i['state_bytes'] / 1024:.0f} KiB | {i['archives']} | "
                  f"`{' '.join(i['timed_flags']) or '(defaults)'}` |")
    md += ["", "The preparation chain ran with `--raw-retention-days 16 --max-raw-bytes 67108864`; each workspace "
               "then got its own last preparation cycle (the first after midnight, which archives the oldest raw "
               "day).", "",
           f"- nominal: 14 days of raw samples ({nom['raw_rows']:,} rows), 90 days of hourly rollups; its last "
           "preparation cycle ran with `--raw-retention-days 14` (and 64 MiB, since the 16-day file was over 10 MiB); "
           "the timed cycle uses the default flags (14-day retention, 10 MiB rotation threshold) and rotates "
           "nothing.",
           "- rotation: the chain before its last cycle; the timed run is that cycle, which also moves one day "
           "of raw rows into a gzip archive (`rotated` has one entry) — the cost paid once a day.",
           "- scenario 2: `big` and `small` share the whole preparation chain except its last cycle, which ran "
           "with `--max-raw-bytes 240 KiB` for `small` (the product's size rotation left the newest hours). "
           "Both timed runs use the same flags (`--max-raw-bytes` 64 MiB so nothing rotates), the same 150 new "
           "samples and the same rollup file; only the raw history (and the hour index in the state) differs.",
           ""]
    if rc:
        ag = rc["agreement"]
        md += ["### Scenario 4: full rollup recompute", "",
               f"{rc['rows']:,} raw samples ({rc['raw_bytes'] / MIB:.1f} MiB, our raw CSV format, 10 sources, "
               f"{ag['groups_compared']:,} hour × source groups). Both are whole processes that read the CSV, "
               "parse timestamps, group per hour and source, compute count, p50/p95/p99 (linear interpolation) "
               "and max, and write the groups to a CSV:", "",
               "- ours: `bench/recompute_ours.py` — `observability.latency.recompute.hourly_stats` over the raw "
               "bytes (no csv row, datetime or Sample per row; single-threaded);",
               f"- DuckDB: `bench/recompute_duckdb.py` — `read_csv` + `quantile_cont`, GROUP BY hour, source "
               f"(DuckDB uses all {m['nproc']} cores).", "",
               f"Agreement: {ag['groups_compared']:,} groups in both ({ag['groups_ours']:,} ours, "
               f"{ag['groups_duckdb']:,} DuckDB), counts {'equal' if ag['counts_equal'] else '**differ**'}; "
               f"max |p95 ours − p95 DuckDB| = {ag['max_abs_diff_p95']:.3g} ms over all groups "
               f"(max over p50/p95/p99/max: {ag['max_abs_diff_all']:.3g} ms). A handful:", "",
               "| hour | source | p95 ours (ms) | p95 DuckDB (ms) |", "|---|---|---:|---:|"]
        md += [f"| {k[0]} | {k[1]} | {a:.3f} | {b:.3f} |" for k, a, b in ag["handful"]]
        md.append("")
    else:
        md += ["### Scenario 4: full rollup recompute", "", "Not measured in this run: duckdb was not importable.",
               ""]
    return term, "\n".join(md)


def main() -> None:
    parser = argparse.ArgumentParser(description="latency benchmark")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per scenario (after 1 warm-up)")
    parser.add_argument("--no-docs", action="store_true", help="do not rewrite docs/performance.md")
    args = parser.parse_args()

    paths = generate.ensure()
    load_before = loadavg()
    info = {v: json.loads((p / "bench_info.json").read_text()) for v, p in paths.items()}
    SCRATCH.mkdir(parents=True, exist_ok=True)
    results: dict = {}
    print("scenario 1: one cycle on the nominal workspace ...", file=sys.stderr)
    results["cycle"] = bench_cycles({"nominal": paths["nominal"]}, args.repeat)["nominal"]
    print("scenario 2: 10 MiB vs 100 KiB raw file (interleaved) ...", file=sys.stderr)
    pair = bench_cycles({"big": paths["big"], "small": paths["small"]}, args.repeat)
    results.update(pair)
    print("supplementary: the once-a-day cycle that rotates a day of raw rows ...", file=sys.stderr)
    results["rotation"] = bench_cycles({"rotation": paths["rotation"]}, args.repeat)["rotation"]
    print("scenario 3: --help ...", file=sys.stderr)
    results["help"] = bench_command("help", [PY, "-m", "observability", "--help"], args.repeat, cwd=ROOT)
    script = Path(PY).with_name("observability")
    if script.exists():
        results["help_script"] = bench_command("help_script", [str(script), "--help"], args.repeat, cwd=ROOT)
    results["bare"] = bench_command("bare", [PY, "-c", "pass"], args.repeat)
    results["archive_scan"] = bench_archive_scan()
    print("profiles: one extra nominal cycle and one rotation cycle under cProfile ...", file=sys.stderr)
    results["profile"] = {v: profile_cycle(v, paths[v]) for v in ("nominal", "rotation")}
    print("scenario 4: full rollup recompute, ours vs DuckDB ...", file=sys.stderr)
    results["recompute"] = bench_recompute(args.repeat)

    m = machine()
    m["load_before"], m["load_after"] = load_before, loadavg()
    term, md = render(results, info, m, args.repeat)
    print(term)
    rc = results["recompute"]
    if rc:
        ag = rc["agreement"]
        print(f"\nscenario 4 agreement: {ag['groups_compared']} groups, counts equal: {ag['counts_equal']}, "
              f"max |p95 diff| = {ag['max_abs_diff_p95']:.3g} ms")
        for k, a, b in ag["handful"]:
            print(f"  {k[0]} {k[1]}: ours {a:.3f}  duckdb {b:.3f}")
    for variant, prof in results["profile"].items():
        print(f"\nprofile, {variant} cycle (cumulative s under cProfile; whole process {prof['total']:.3f} s):")
        for label, sec, calls in prof["items"]:
            print(f"  {sec:7.3f}  {label} ({calls} calls)")
    print("\ndiscard_orphans per cycle: " + ", ".join(f"{n} archives {t * 1000:.1f} ms"
                                                    for n, t in sorted(results["archive_scan"].items())))
    print(f"\n{m['date']}, nproc {m['nproc']}, Python {m['python']}, {m['cpu']}")
    print(f"load average before {m['load_before']}, after {m['load_after']}")
    if not args.no_docs:
        write_doc(md)
        print(f"wrote {DOC.relative_to(ROOT)}")


START, END = "<!-- latency benchmark: start (rewritten by bench/run.py) -->", "<!-- latency benchmark: end -->"


def write_doc(section: str) -> None:
    """Rewrite our marked section of docs/performance.md, keeping anything else in the file."""
    block = f"{START}\n{section.rstrip()}\n{END}\n"
    try:
        text = DOC.read_text(encoding="utf-8")
    except FileNotFoundError:
        text = ""
    if START in text and END in text:
        before, rest = text.split(START, 1)
        after = rest.split(END, 1)[1].lstrip("\n")
        text = before + block + (("\n" + after) if after else "")
    elif text.strip():
        text = text.rstrip() + "\n\n" + block
    else:
        text = "# Performance\n\nFigures measured by the benchmarks in `bench/` (not by timed tests).\n\n" + block
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(text, encoding="utf-8")


# --- rows measured by bench/rollup_scale.py (the rollup layout; registered where the targets registry
# of bench/run.py exists: @measures / external_figure). Run it alone: python bench/rollup_scale.py
if "measures" in globals() and "external_figure" in globals():
    @measures("sources_1000_vs_10")  # noqa: F821
    def _sources_1000_vs_10(b):
        return external_figure("rollup_scale.py", "--figure", "sources_1000_vs_10", "--repeat", str(b.repeat))  # noqa: F821

    @measures("sources_1000_15k")  # noqa: F821
    def _sources_1000_15k(b):
        return external_figure("rollup_scale.py", "--figure", "sources_1000_15k", "--repeat", str(b.repeat))  # noqa: F821


if __name__ == "__main__":
    main()
