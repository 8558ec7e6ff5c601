"""The performance targets table: whole-process timings against every target of issue 11, with the
DuckDB and interpreter baselines measured in the same run; rewrites its section of docs/performance.md.

The rows are a registry (TARGETS, and one @measures function per measured row; see "the targets
table" below and bench/README.md for how to add one). A row with no function prints "not measured".

Every scenario runs as a separate process (``python -c observability.ENTRY ...``, as the workflows
launcher runs a job, or a script), so interpreter start-up and imports are included, as on a runner. Each is run
once to warm up (page cache, .pyc files), then 5 times; the median is reported (min and max
alongside). Job runs get a fresh copy of a cached workspace (bench/generate.py) before every run,
flushed to disk as ``state pull`` leaves a runner's; the copy is not timed.

Usage: python bench/run.py [--repeat N] [--no-docs]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import generate  # noqa: E402

DOC = ROOT / "docs" / "performance.md"
SCRATCH = generate.DATA / "scratch"
PY = sys.executable
MIB = 1024 * 1024


class Timing:
    def __init__(
        self,
        name: str,
        times: list[float],
        extra: dict | None = None,
        cpu: list[float] | None = None,
        rss: list[float] | None = None,
    ):
        self.name = name
        self.times = times
        self.extra = extra or {}
        self.cpu = cpu or []
        self.rss = rss or []

    @property
    def cpu_median(self) -> str:
        return f"{statistics.median(self.cpu):.3f} s" if self.cpu else ""

    @property
    def cpu_s(self) -> float:
        return statistics.median(self.cpu)

    @property
    def rss_text(self) -> str:
        return f"{max(self.rss):.0f} MiB" if self.rss else ""

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    def spread(self) -> str:
        return f"{min(self.times):.3f}–{max(self.times):.3f}"


LAST_CPU = [0.0]
LAST_RSS = [0.0]  # peak resident set of the last process, MiB


def run_process(
    cmd: list[str], *, env: dict | None = None, cwd: Path | None = None
) -> tuple[float, subprocess.CompletedProcess]:
    """Wall time of the whole process; its own CPU time (user + sys, its children included) goes to
    LAST_CPU and its peak RSS to LAST_RSS (os.wait4: this process's figures, not the bench's other
    children)."""
    import tempfile

    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env or generate.process_env(), cwd=cwd)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        done = subprocess.CompletedProcess(
            cmd, proc.returncode, out.read().decode("utf-8", "replace"), err.read().decode("utf-8", "replace")
        )
    LAST_CPU[0] = usage.ru_utime + usage.ru_stime
    LAST_RSS[0] = usage.ru_maxrss / 1024  # KiB on Linux
    return elapsed, done


def run_cycle(variant: str, workspace: Path) -> tuple[float, int, float, float]:
    """One 15-minute cycle (150 new samples) on a fresh copy of ``workspace``:
    (seconds, job duration_ms, CPU seconds, peak RSS MiB)."""
    copy = SCRATCH / f"run-{variant}"
    if copy.exists():
        shutil.rmtree(copy)
    generate.fresh_copy(workspace, copy)
    elapsed, done = run_process(
        generate.timed_command(copy, variant), env=generate.clean_env(generate.RUN_AT[variant]), cwd=copy
    )
    try:
        summary = json.loads(done.stdout)
    except ValueError:
        summary = {}
    problems = generate.check_cycle(summary, done.returncode, rotation=variant == "rotation")
    if problems:
        raise SystemExit(f"{variant} cycle did not do the expected work: {problems}\n{done.stderr}")
    shutil.rmtree(copy)
    return elapsed, summary["duration_ms"], LAST_CPU[0], LAST_RSS[0]


def bench_cycles(variants: dict[str, Path], repeat: int) -> dict[str, Timing]:
    """Round 0 warms up; the variants alternate run by run so drift in machine load hits them alike."""
    runs: dict[str, list[tuple[float, int, float, float]]] = {v: [] for v in variants}
    for i in range(repeat + 1):
        for variant, path in variants.items():
            result = run_cycle(variant, path)
            if i:
                runs[variant].append(result)
    return {
        v: Timing(
            v,
            [r[0] for r in rs],
            {"job_ms": statistics.median(r[1] for r in rs)},
            [r[2] for r in rs],
            [r[3] for r in rs],
        )
        for v, rs in runs.items()
    }


def interleaved(jobs: dict[str, callable], repeat: int) -> dict[str, Timing]:
    """Run each job once to warm up, then ``repeat`` rounds of all of them in turn, so that drift in
    the machine's load hits every job of a comparison alike. A job returns (wall, cpu, rss, extra)."""
    runs: dict[str, list] = {name: [] for name in jobs}
    for i in range(repeat + 1):
        for name, job in jobs.items():
            result = job()
            if i:
                runs[name].append(result)
    out = {}
    for name, rs in runs.items():
        extra = {}
        for r in rs:
            for k, v in (r[3] or {}).items():
                extra.setdefault(k, []).append(v)
        out[name] = Timing(
            name,
            [r[0] for r in rs],
            {k: statistics.median(v) for k, v in extra.items()},
            [r[1] for r in rs],
            [r[2] for r in rs],
        )
    return out


def command_job(name: str, cmd: list[str], cwd: Path | None = None, env: dict | None = None, stderr_json: bool = False):
    """A job for interleaved(): one run of ``cmd``, which must exit 0. With ``stderr_json``, the
    numbers of the JSON object on its last stderr line are kept (their medians land in extra)."""

    def job():
        elapsed, done = run_process(cmd, cwd=cwd, env=env)
        if done.returncode != 0:
            raise SystemExit(f"{name}: exit {done.returncode}\n{done.stderr}")
        extra = None
        if stderr_json:
            doc = json.loads(done.stderr.strip().splitlines()[-1])
            extra = {k: v for k, v in doc.items() if isinstance(v, (int, float))}
        return elapsed, LAST_CPU[0], LAST_RSS[0], extra

    return job


def cycle_job(variant: str, workspace: Path):
    """A job for interleaved(): one checked 15-minute cycle on a fresh copy of ``workspace``."""

    def job():
        elapsed, ms, cpu, rss = run_cycle(variant, workspace)
        return elapsed, cpu, rss, {"job_ms": ms}

    return job


# What the profile breakdown lists: (label, file suffix, function name), matched in pstats keys.
PROFILE_ITEMS = {
    "nominal": [
        ("import observability.cli (click)", "observability/cli/__init__.py", "<module>"),
        ("import observability.latency.job (lazy, in the command)", "observability/latency/job.py", "<module>"),
        ("import yaml (only for a config plainyaml declines, or an error)", "yaml/__init__.py", "<module>"),
        ("plainyaml.load (the config, without PyYAML)", "observability/plainyaml.py", "load"),
        ("import jsonschema (only for a document the compiled check rejects)", "jsonschema/__init__.py", "<module>"),
        ("import filelock (only where flock is unavailable)", "filelock/__init__.py", "<module>"),
        ("schemas.fast_check (compiles a schema once per process)", "observability/schemas.py", "fast_check"),
        ("schemas._validator (jsonschema, only after a rejection)", "observability/schemas.py", "_validator"),
        ("config.load_latency (config read + schema check)", "observability/config.py", "load_latency"),
        ("latency.job.sample (the job body)", "observability/latency/job.py", "sample"),
        ("rollup.RollupStore.update (rewrites the touched day file only)", "observability/latency/rollup.py", "update"),
        ("signal_log.read_new (150 new samples)", "observability/upstream/signal_log.py", "read_new"),
        ("slo.Evaluator.run", "observability/latency/slo.py", "run"),
        ("fsio.canonical_json (state, heartbeat, summary)", "observability/fsio.py", "canonical_json"),
        ("runlog.append (schema check + locked append)", "observability/runlog.py", "append"),
        (
            "provenance.commit_sha (HEAD read from the .git files: no GITHUB_SHA here)",
            "observability/provenance.py",
            "commit_sha",
        ),
        ("os.fsync (all calls)", "~", "<built-in method posix.fsync>"),
    ],
    "rotation": [
        ("latency.job.sample (the job body)", "observability/latency/job.py", "sample"),
        ("job._rotate", "observability/latency/job.py", "_rotate"),
        (
            "RawStore.begin_rotation (split the raw file at the cutoff, write the kept rows and the archive)",
            "observability/latency/rawstore.py",
            "begin_rotation",
        ),
        (
            "RawStore._records (every record of the raw file, split at the byte level; nothing is parsed)",
            "observability/latency/rawstore.py",
            "_records",
        ),
        ("gzip.compress (the archived day)", "gzip.py", "compress"),
        (
            "fsio.atomic_write_bytes (rewritten raw file, archive, rollups, state)",
            "observability/fsio.py",
            "atomic_write_bytes",
        ),
        (
            "RawStore.finish_rotation (manifest line, swap in the rewritten raw file)",
            "observability/latency/rawstore.py",
            "finish_rotation",
        ),
        (
            "rawstore.parse_rows (the new samples only: rotation never parses rows)",
            "observability/latency/rawstore.py",
            "parse_rows",
        ),
    ],
}


def profile_cycle(variant: str, workspace: Path) -> dict:
    """One extra run of the cycle under cProfile: cumulative time of the PROFILE_ITEMS (not timed above)."""
    import pstats

    copy = SCRATCH / f"profile-{variant}"
    if copy.exists():
        shutil.rmtree(copy)
    generate.fresh_copy(workspace, copy)
    out = SCRATCH / f"profile-{variant}.prof"
    cmd = generate.timed_command(copy, variant)
    cmd[1:3] = ["-m", "cProfile", "-o", str(out), "-m", "observability"]  # python -c ENTRY ... under cProfile
    _, done = run_process(cmd, env=generate.clean_env(generate.RUN_AT[variant]), cwd=copy)
    shutil.rmtree(copy)
    if done.returncode != 0:
        raise SystemExit(f"profile {variant}: exit {done.returncode}\n{done.stderr}")
    stats = pstats.Stats(str(out)).stats
    total = max(ct for (_, _, _, ct, _) in stats.values())
    found = []
    for label, suffix, func in PROFILE_ITEMS[variant]:
        hits = [
            (cc, ct)
            for (file, _, name), (cc, _, _, ct, _) in stats.items()
            if name == func and file.replace("\\", "/").endswith(suffix)
        ]
        # An item never reached shows 0 calls: that it is not on the path is the point of some rows.
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
    return {
        "groups_ours": len(a),
        "groups_duckdb": len(b),
        "groups_compared": len(common),
        "max_abs_diff_p95": max(diffs.values()) if diffs else None,
        "counts_equal": counts_equal,
        "max_abs_diff_all": max(
            abs(float(a[k][c]) - float(b[k][c])) for k in common for c in ("p50_ms", "p95_ms", "p99_ms", "max_ms")
        )
        if common
        else None,
        "handful": handful,
    }


def bench_recompute(repeat: int) -> dict | None:
    if duckdb_version() is None:
        print(
            "the DuckDB baselines are skipped: duckdb is not importable in this Python "
            f"({PY}); install it with `pip install duckdb` (or `pip install -e .[bench]`)",
            file=sys.stderr,
        )
        return None
    raw = generate.RAW_1M
    with open(raw, "rb") as handle:
        rows = sum(1 for _ in handle) - 1
    out_ours, out_duck = SCRATCH / "rollup_ours.csv", SCRATCH / "rollup_duckdb.csv"
    pair = interleaved(
        {
            "ours": command_job(
                "ours", [PY, str(HERE / "recompute_ours.py"), str(raw), str(out_ours)], stderr_json=True
            ),
            "duckdb": command_job("duckdb", [PY, str(HERE / "recompute_duckdb.py"), str(raw), str(out_duck)]),
        },
        repeat,
    )
    ours, duck = pair["ours"], pair["duckdb"]
    return {
        "rows": rows,
        "raw_bytes": raw.stat().st_size,
        "ours": ours,
        "duckdb": duck,
        "duckdb_version": duckdb_version(),
        "agreement": compare_p95(out_ours, out_duck),
    }


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
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu or "unknown",
        "python": platform.python_version(),
        "platform": platform.platform(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "code": code_version(),
    }


def code_version() -> str:
    """The commit measured, and whether the working tree differed from it (read-only git calls)."""
    try:
        sha = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=10
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--", "observability"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
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


# --- the targets table (issue 11) ---------------------------------------------------------------
#
# One row per target of the issue, in its order, then the baselines measured in the same run, then
# supplementary rows. A row is measured by the function registered for its key with @measures;
# a row with none prints "not measured". To add a row's measurement (e.g. from another bench
# script), write a function taking the Bench and returning a Figure, decorated with
# @measures("<key>"), in this file; external_figure() runs a bench script that prints one JSON
# object as its last stdout line ({"value": ..., "cpu": ..., "rss": ..., "ok": ..., "note": ...})
# for the case where the scenario lives in its own script. See bench/README.md.


class Figure:
    """What a row shows: the measured figure (wall), the same on CPU time, peak RSS, and whether the
    target is met (None: no target, or not judged)."""

    def __init__(self, value: str, cpu: str = "", rss: str = "", ok: bool | None = None, note: str = ""):
        self.value, self.cpu, self.rss, self.ok, self.note = value, cpu, rss, ok, note


class Target:
    def __init__(self, key: str, what: str, today: str = "", target: str = "", kind: str = "target"):
        self.key, self.what, self.today, self.target, self.kind = key, what, today, target, kind
        self.measure = None


TARGETS = [
    Target(
        "cycle_vs_duckdb",
        "nominal 15-min cycle vs the DuckDB one-liner over the same raw file",
        "0.95× as fast",
        "≥ 2× faster",
    ),
    Target("cycle_vs_python", "nominal cycle vs `python -c pass`", "19.9×", "≤ 8×"),
    Target("sources_1000_vs_10", "1,000 sources, 150 new samples, vs 10 sources", "18.4×", "≤ 2×"),
    Target("sources_1000_15k", "1,000 sources, 15,000 new samples", "4.2 s, 746 MiB", "≤ 1 s, ≤ 150 MiB"),
    Target("recompute_1m", "full recompute of 1M samples vs DuckDB `quantile_cont`", "8.7×", "≤ 3×"),
    Target(
        "dashboard_10k",
        "dashboard export, 10,000 runs, cold / unchanged",
        "19.8 s / 1.8 s, 930 MiB",
        "≤ 6 s / ≤ 0.5 s, ≤ 200 MiB",
    ),
    Target("verify_year", "`verify` on a year of automation log (after rotation)", "33.7 s, 1 GiB", "≤ 2 s, ≤ 150 MiB"),
    Target("help", "`observability --help`", "0.055 s", "≤ 0.06 s"),
    Target("base_python", "baseline: `python -c pass`", kind="baseline"),
    Target(
        "base_duckdb_14d",
        "baseline: the DuckDB one-liner, hourly `quantile_cont` over the nominal 14-day raw "
        "file (bench/recompute_duckdb.py)",
        kind="baseline",
    ),
    Target("base_duckdb_1m", "baseline: DuckDB `quantile_cont` over the 1M-sample raw file", kind="baseline"),
    Target(
        "cycle", "nominal cycle, absolute (150 new samples, 14-day raw file)", "0.23 s", "≤ 0.3 s", kind="supplementary"
    ),
    Target("raw_size", "same cycle, 10.1 MiB vs 108 KiB raw file (ratio)", "", "≤ 1.5", kind="supplementary"),
    Target("rotation", "daily rotation cycle (150 new samples + 1 day archived)", kind="supplementary"),
    Target("help_m", "`python -m observability --help`", "", "≤ 0.15 s", kind="supplementary"),
]
_BY_KEY = {t.key: t for t in TARGETS}


def measures(key: str):
    """Register the function that measures the row ``key`` (a function of the Bench, returning a Figure)."""

    def register(fn):
        _BY_KEY[key].measure = fn
        return fn

    return register


def external_figure(script: str, *args: str) -> Figure:
    """Run ``bench/<script> *args``; its last stdout line is a JSON object with the Figure's fields."""
    _, done = run_process([PY, str(HERE / script), *args], cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"{script}: exit {done.returncode}\n{done.stderr}")
    doc = json.loads(done.stdout.strip().splitlines()[-1])
    return Figure(
        str(doc["value"]), str(doc.get("cpu", "")), str(doc.get("rss", "")), doc.get("ok"), str(doc.get("note", ""))
    )


class Bench:
    """What the row functions share: the options, the prepared workspaces, and results computed
    once and used by several rows (so a ratio's two sides come from the same interleaved runs)."""

    def __init__(self, repeat: int, paths: dict[str, Path], info: dict):
        self.repeat, self.paths, self.info = repeat, paths, info
        self._cache: dict[str, object] = {}

    def once(self, name: str, compute):
        if name not in self._cache:
            self._cache[name] = compute()
        return self._cache[name]

    def start_up(self) -> dict[str, Timing]:
        """The nominal cycle, the interpreter, the DuckDB one-liner and --help, interleaved run by run."""

        def compute():
            print(
                "start-up group: nominal cycle, python -c pass, DuckDB one-liner, --help (interleaved) ...",
                file=sys.stderr,
            )
            jobs = {
                "cycle": cycle_job("nominal", self.paths["nominal"]),
                "python": command_job("python", [PY, "-c", "pass"]),
            }
            if duckdb_version():
                raw = self.paths["nominal"] / "ops" / "signal_latency.csv"
                jobs["duckdb_14d"] = command_job(
                    "duckdb_14d", [PY, str(HERE / "recompute_duckdb.py"), str(raw), str(SCRATCH / "duckdb_14d.csv")]
                )
            script = Path(PY).with_name("observability")
            if script.exists():
                jobs["help"] = command_job("help", [str(script), "--help"], cwd=SCRATCH)
            jobs["help_m"] = command_job("help_m", [PY, "-m", "observability", "--help"], cwd=SCRATCH)
            return interleaved(jobs, self.repeat)

        return self.once("start_up", compute)

    def recompute(self) -> dict | None:
        def compute():
            print("full rollup recompute, ours vs DuckDB (interleaved) ...", file=sys.stderr)
            return bench_recompute(self.repeat)

        return self.once("recompute", compute)


def duckdb_version() -> str | None:
    """Without importing duckdb here: this process's RSS when it forks a child counts in the child's
    ru_maxrss (Linux keeps the high-water mark across exec), so the bench stays small."""
    import importlib.metadata
    import importlib.util

    if importlib.util.find_spec("duckdb") is None:
        return None
    try:
        return importlib.metadata.version("duckdb")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _cpu_ratio(a: Timing, b: Timing) -> float:
    return a.cpu_s / b.cpu_s


NO_DUCKDB = Figure("not measured: duckdb is not importable (`pip install -e '.[bench]'`)")


@measures("cycle_vs_duckdb")
def _cycle_vs_duckdb(b: Bench) -> Figure:
    g = b.start_up()
    if "duckdb_14d" not in g:
        return NO_DUCKDB
    cyc, duck = g["cycle"], g["duckdb_14d"]
    speed = duck.median / cyc.median
    return Figure(
        f"{speed:.2f}× as fast ({cyc.median:.3f} s vs {duck.median:.3f} s)",
        f"{_cpu_ratio(duck, cyc):.2f}× ({cyc.cpu_s:.3f} s vs {duck.cpu_s:.3f} s)",
        f"{cyc.rss_text} vs {duck.rss_text}",
        speed >= 2,
    )


@measures("cycle_vs_python")
def _cycle_vs_python(b: Bench) -> Figure:
    g = b.start_up()
    cyc, py = g["cycle"], g["python"]
    ratio = cyc.median / py.median
    return Figure(
        f"{ratio:.1f}× ({cyc.median:.3f} s vs {py.median:.3f} s)",
        f"{_cpu_ratio(cyc, py):.1f}× ({cyc.cpu_s:.3f} s vs {py.cpu_s:.3f} s)",
        "",
        ratio <= 8,
    )


@measures("recompute_1m")
def _recompute_1m(b: Bench) -> Figure:
    rc = b.recompute()
    if not rc:
        return NO_DUCKDB
    ours, duck = rc["ours"], rc["duckdb"]
    ratio = ours.median / duck.median
    return Figure(
        f"{ratio:.1f}× ({ours.median:.3f} s vs {duck.median:.3f} s; pure-Python path)",
        f"{_cpu_ratio(ours, duck):.1f}× ({ours.cpu_s:.3f} s vs {duck.cpu_s:.3f} s)",
        f"{ours.rss_text} vs {duck.rss_text}",
        ratio <= 3,
    )


@measures("help")
def _help(b: Bench) -> Figure:
    g = b.start_up()
    if "help" not in g:
        return Figure("not measured: no `observability` console script beside this Python")
    h = g["help"]
    return Figure(f"{h.median:.3f} s ({h.spread()})", h.cpu_median, h.rss_text, h.median <= 0.06)


@measures("base_python")
def _base_python(b: Bench) -> Figure:
    t = b.start_up()["python"]
    return Figure(f"{t.median:.3f} s ({t.spread()})", t.cpu_median, t.rss_text)


@measures("base_duckdb_14d")
def _base_duckdb_14d(b: Bench) -> Figure:
    g = b.start_up()
    if "duckdb_14d" not in g:
        return NO_DUCKDB
    t = g["duckdb_14d"]
    return Figure(
        f"{t.median:.3f} s ({t.spread()})",
        t.cpu_median,
        t.rss_text,
        note=f"DuckDB {duckdb_version()}, {os.cpu_count()} threads",
    )


@measures("base_duckdb_1m")
def _base_duckdb_1m(b: Bench) -> Figure:
    rc = b.recompute()
    if not rc:
        return NO_DUCKDB
    t = rc["duckdb"]
    return Figure(f"{t.median:.3f} s ({t.spread()})", t.cpu_median, t.rss_text)


@measures("cycle")
def _cycle(b: Bench) -> Figure:
    t = b.start_up()["cycle"]
    return Figure(
        f"{t.median:.3f} s ({t.spread()})",
        t.cpu_median,
        t.rss_text,
        t.median <= 0.3,
        note=f"job-internal {t.extra['job_ms']:.0f} ms",
    )


@measures("raw_size")
def _raw_size(b: Bench) -> Figure:
    def compute():
        print("raw-size pair: 10 MiB vs 100 KiB raw file (interleaved) ...", file=sys.stderr)
        return bench_cycles({"big": b.paths["big"], "small": b.paths["small"]}, b.repeat)

    pair = b.once("raw_size", compute)
    big, small = pair["big"], pair["small"]
    ratio = big.median / small.median
    return Figure(
        f"{ratio:.2f} ({big.median:.3f} s vs {small.median:.3f} s)",
        f"{_cpu_ratio(big, small):.2f} ({big.cpu_s:.3f} s vs {small.cpu_s:.3f} s)",
        f"{big.rss_text} vs {small.rss_text}",
        ratio <= 1.5,
    )


@measures("rotation")
def _rotation(b: Bench) -> Figure:
    def compute():
        print("the once-a-day cycle that rotates a day of raw rows ...", file=sys.stderr)
        return bench_cycles({"rotation": b.paths["rotation"]}, b.repeat)["rotation"]

    t = b.once("rotation", compute)
    return Figure(
        f"{t.median:.3f} s ({t.spread()})", t.cpu_median, t.rss_text, note=f"job-internal {t.extra['job_ms']:.0f} ms"
    )


@measures("help_m")
def _help_m(b: Bench) -> Figure:
    t = b.start_up()["help_m"]
    return Figure(f"{t.median:.3f} s ({t.spread()})", t.cpu_median, t.rss_text, t.median <= 0.15)


@measures("dashboard_10k")
def _dashboard_10k(b: Bench) -> Figure:
    """bench/dashboard.py: cold and unchanged export of 10,000 runs x 2,000 daily rows (716 MiB)."""
    return external_figure("dashboard.py", "--repeat", str(b.repeat), "--scenarios", "cold,unchanged", "--figure")


@measures("verify_year")
def _verify_year(b: Bench) -> Figure:
    """bench/automation_log.py: the nightly verify after a simulated year of automation log, rotated."""
    return external_figure("automation_log.py", "--repeat", str(b.repeat), "--figure")


def measure_all(b: Bench) -> list[tuple[Target, Figure]]:
    out = []
    for target in TARGETS:
        if target.measure is None:
            figure = Figure("not measured (no scenario in bench/ yet)")
        else:
            figure = target.measure(b)
        out.append((target, figure))
    return out


def table_rows(measured: list[tuple[Target, Figure]]) -> list[tuple]:
    rows = []
    for target, f in measured:
        judged = "" if f.ok is None else verdict(f.ok)
        what = target.what + (f" ({f.note})" if f.note else "")
        rows.append((what, f.value, f.cpu, f.rss, target.today, target.target, judged))
    return rows


TABLE_HEAD = (
    "what",
    "measured (wall, median)",
    "CPU time (user+sys, median)",
    "peak RSS",
    "issue: before",
    "target",
    "",
)


def render(measured: list[tuple[Target, Figure]], results: dict, info: dict, m: dict, repeat: int) -> tuple[str, str]:
    """(terminal table, docs/performance.md text)."""
    rows = table_rows(measured)
    head = TABLE_HEAD
    widths = [max(len(str(r[i])) for r in rows + [head]) for i in range(len(head))]
    term_lines = ["  ".join(str(c).ljust(w) for c, w in zip(head, widths, strict=True)).rstrip()]
    kind = None
    for (target, _), r in zip(measured, rows, strict=True):
        if target.kind != kind:
            kind = target.kind
            term_lines.append(
                "-- "
                + {
                    "target": "targets (issue 11)",
                    "baseline": "baselines (same run)",
                    "supplementary": "supplementary",
                }[kind]
            )
        term_lines.append("  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    term = "\n".join(term_lines)
    cyc = results["start_up"]["cycle"]

    md = [
        "## Latency job and the performance targets (`bench/run.py`)",
        "",
        "Measured by `bench/run.py` (not by timed tests). Rerun with:",
        "",
        "```sh",
        "pip install -e '.[bench]'     # duckdb, for the DuckDB baselines",
        "python bench/run.py",
        "```",
        "",
        "`bench/run.py` builds (once, cached under `bench/.data/`) the workspaces with `bench/generate.py`, "
        "then times each scenario as a whole process (interpreter start-up and imports included, as on a "
        f"runner): one warm-up run, then {repeat} runs; the median wall-clock time is reported, and the median "
        "CPU time (user + sys of the process and its children, from `wait4`), which other load on the machine "
        "disturbs less, and the peak RSS (the child's `ru_maxrss`; Linux keeps the forking bench process's "
        "high-water mark across `exec`, so no figure is below about 16 MiB: see `python -c pass`). The two sides of each ratio run interleaved, run by run, in the same "
        "minutes (the nominal cycle, `python -c pass`, the DuckDB one-liner and `--help` form one interleaved "
        "group; the 1M-sample recompute, ours and DuckDB, another). Targets are on wall time. A cycle runs as "
        "the workflows run it: `python -c observability.ENTRY ...`, as the launcher `actions/_lib/install.sh` "
        "writes (not `python -m observability`, whose runpy start-up no runner pays). Every job run gets a fresh copy of "
        "the prepared workspace, flushed to disk (`os.sync`) as a runner's is after `state pull` fsyncs each "
        "file it restores, so the job's fsyncs flush only what it wrote (the copy is not timed). The figures below are rewritten "
        "by each run; they are the only figures here and all were measured. Rows whose scenario is not built "
        'in `bench/` yet say "not measured".',
        "",
        "### Machine",
        "",
        f"- date: {m['date']}",
        f"- CPU: {m['cpu']}, nproc = {m['nproc']}",
        f"- Python {m['python']} ({m['platform']})",
        f"- DuckDB {duckdb_version() or 'not installed'}",
        f"- code: {m['code']}",
        f"- load average (1/5/15 min) before the run: {m['load_before']}, after: {m['load_after']} "
        "(other work on the machine shows up as run-to-run spread; compare CPU time when it is high)",
        "",
        "### Targets, baselines and supplementary rows",
        "",
        '"issue: before" is the figure the issue reported before this work; ratios are ours ÷ theirs unless the '
        'row says "as fast" (theirs ÷ ours).',
        "",
        "| " + " | ".join(head) + " |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    md += [f"| {' | '.join(str(c).replace('|', '/') for c in r)} |" for r in rows]
    md += [
        "",
        f"Job-internal time (`duration_ms` of the JSON summary: from the start of `run_job`, so without "
        f"interpreter start-up and the click/CLI/job-module imports before it, but with the imports made "
        f"inside the job, yaml among them): nominal {cyc.extra['job_ms']:.0f} ms (median).",
        "",
        "Bytecode: the benchmarked processes use Python's default .pyc caching (kept under "
        "`bench/.data/pycache` via `PYTHONPYCACHEPREFIX`; `PYTHONDONTWRITEBYTECODE` is removed from their "
        "environment), so after the warm-up no module is compiled, as with an installed package.",
        "",
    ]
    scan = results["archive_scan"]
    md += [
        "Archive scan: a cycle's recovery step (`RawStore.discard_orphans`) lists the archive folder only "
        "after an interrupted rotation (the rewritten raw file is still there), so a normal cycle's cost does "
        "not grow with the number of archives (one a day, never deleted). Measured in-process (median of 7) "
        "with empty archive files: "
        + ", ".join(f"{n:,} archives {t * 1000:.1f} ms" for n, t in sorted(scan.items()))
        + " (75 is the nominal workspace; 1,825 is five years).",
        "",
    ]
    md += [
        "### Where the time goes",
        "",
        "One extra run of each cycle under cProfile (`python -m cProfile -m observability latency sample ...`), "
        "cumulative seconds per item (items overlap: imports inside a function count in both). The profiler "
        "adds per-call overhead, so these are larger than the unprofiled figures above; use them for "
        "proportions.",
        "",
    ]
    for variant, title in (("nominal", "15-minute cycle, nominal workspace"), ("rotation", "daily rotation cycle")):
        prof = results["profile"][variant]
        md += [
            f"{title}: whole process {prof['total']:.3f} s under the profiler.",
            "",
            "| item | cumulative s | calls |",
            "|---|---:|---:|",
        ]
        md += [f"| {label} | {sec:.3f} | {calls:,} |" for label, sec, calls in prof["items"]]
        md.append("")
    rc = results["recompute"]
    if rc:
        phases = {k: v for k, v in rc["ours"].extra.items()}
        md += [
            "1M-sample recompute, ours, phases timed inside the process (median of the timed runs, no profiler): "
            + ", ".join(f"{k} {v:.3f} s" for k, v in phases.items())
            + ".",
            "",
        ]
    nom = info["nominal"]
    md += [
        "### The DuckDB one-liner",
        "",
        "What a data engineer would run instead of a cycle: `bench/recompute_duckdb.py` over the nominal "
        f"workspace's raw file (`ops/signal_latency.csv`, {nom['raw_rows']:,} rows, 14 days): one `COPY (SELECT "
        "... quantile_cont ... GROUP BY hour, source) TO ...` statement recomputing every hourly p50/p95/p99, "
        "as a whole Python process (`import duckdb` included), DuckDB using every core.",
        "",
        "### Workspaces",
        "",
        "Prepared by the product itself: `observability latency sample` run with `OBS_NOW` as the clock over "
        "a generated notifier log (`observability.samplegen.notifier.rows`/`write_current`, current format), in daily "
        "chunks over 91 days (the log rotated as logrotate would between chunks) and then in 15-minute "
        "cycles for the last two hours. 10 sources (`feed_0`…`feed_9`), one sample per source per minute. "
        "Each workspace holds the config from `ops-template/`; its notifier log holds the next 150 "
        "unread samples (15 minutes × 10 sources). Every timed run is checked: exit 0, `status` ok, "
        "`samples_written` = 150, no warning, and no rotation (exactly one in the `rotation` workspace).",
        "",
        "| workspace | raw file | raw rows | rollup file | rollup rows | state | archives | timed-run flags |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for name in ("nominal", "big", "small", "rotation"):
        i = info[name]
        md.append(
            f"| {name} | {i['raw_bytes'] / MIB:.2f} MiB | {i['raw_rows']:,} | {i['rollup_bytes'] / 1024:.0f} KiB"
            f" | {i['rollup_rows']:,} | {i['state_bytes'] / 1024:.0f} KiB | {i['archives']} | "
            f"`{' '.join(i['timed_flags']) or '(defaults)'}` |"
        )
    md += [
        "",
        "The preparation chain ran with `--raw-retention-days 16 --max-raw-bytes 67108864`; each workspace "
        "then got its own last preparation cycle (the first after midnight, which archives the oldest raw "
        "day).",
        "",
        f"- nominal: 14 days of raw samples ({nom['raw_rows']:,} rows), 90 days of hourly rollups; its last "
        "preparation cycle ran with `--raw-retention-days 14` (and 64 MiB, since the 16-day file was over 10 MiB); "
        "the timed cycle uses the default flags (14-day retention, 10 MiB rotation threshold) and rotates "
        "nothing.",
        "- rotation: the chain before its last cycle; the timed run is that cycle, which also moves one day "
        "of raw rows into a gzip archive (`rotated` has one entry) — the cost paid once a day.",
        "- raw-size pair (`big`, `small`): they share the whole preparation chain except its last cycle, which ran "
        "with `--max-raw-bytes 240 KiB` for `small` (the product's size rotation left the newest hours). "
        "Both timed runs use the same flags (`--max-raw-bytes` 64 MiB so nothing rotates), the same 150 new "
        "samples and the same rollup file; only the raw history (and the hour index in the state) differs.",
        "",
    ]
    if rc:
        ag = rc["agreement"]
        md += [
            "### Full rollup recompute of 1M samples",
            "",
            f"{rc['rows']:,} raw samples ({rc['raw_bytes'] / MIB:.1f} MiB, our raw CSV format, 10 sources, "
            f"{ag['groups_compared']:,} hour × source groups). Both are whole processes that read the CSV, "
            "parse timestamps, group per hour and source, compute count, p50/p95/p99 (linear interpolation) "
            "and max, and write the groups to a CSV:",
            "",
            "- ours: `bench/recompute_ours.py` — `observability.latency.recompute.hourly_stats` over the raw "
            "bytes (no csv row, datetime or Sample per row; single-threaded);",
            f"- DuckDB: `bench/recompute_duckdb.py` — `read_csv` + `quantile_cont`, GROUP BY hour, source "
            f"(DuckDB uses all {m['nproc']} cores).",
            "",
            f"Agreement: {ag['groups_compared']:,} groups in both ({ag['groups_ours']:,} ours, "
            f"{ag['groups_duckdb']:,} DuckDB), counts {'equal' if ag['counts_equal'] else '**differ**'}; "
            f"max |p95 ours − p95 DuckDB| = {ag['max_abs_diff_p95']:.3g} ms over all groups "
            f"(max over p50/p95/p99/max: {ag['max_abs_diff_all']:.3g} ms). A handful:",
            "",
            "| hour | source | p95 ours (ms) | p95 DuckDB (ms) |",
            "|---|---|---:|---:|",
        ]
        md += [f"| {k[0]} | {k[1]} | {a:.3f} | {b:.3f} |" for k, a, b in ag["handful"]]
        md.append("")
    else:
        md += [
            "### Full rollup recompute of 1M samples",
            "",
            "Not measured in this run: duckdb was not importable.",
            "",
        ]
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
    bench = Bench(args.repeat, paths, info)
    measured = measure_all(bench)
    results: dict = {"start_up": bench.start_up(), "recompute": bench.recompute()}
    results["archive_scan"] = bench_archive_scan()
    print("profiles: one extra nominal cycle and one rotation cycle under cProfile ...", file=sys.stderr)
    results["profile"] = {v: profile_cycle(v, paths[v]) for v in ("nominal", "rotation")}

    m = machine()
    m["load_before"], m["load_after"] = load_before, loadavg()
    term, md = render(measured, results, info, m, args.repeat)
    print(term)
    rc = results["recompute"]
    if rc:
        ag = rc["agreement"]
        print(
            f"\n1M recompute agreement: {ag['groups_compared']} groups, counts equal: {ag['counts_equal']}, "
            f"max |p95 diff| = {ag['max_abs_diff_p95']:.3g} ms"
        )
        for k, a, b in ag["handful"]:
            print(f"  {k[0]} {k[1]}: ours {a:.3f}  duckdb {b:.3f}")
    for variant, prof in results["profile"].items():
        print(f"\nprofile, {variant} cycle (cumulative s under cProfile; whole process {prof['total']:.3f} s):")
        for label, sec, calls in prof["items"]:
            print(f"  {sec:7.3f}  {label} ({calls} calls)")
    print(
        "\ndiscard_orphans per cycle: "
        + ", ".join(f"{n} archives {t * 1000:.1f} ms" for n, t in sorted(results["archive_scan"].items()))
    )
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
