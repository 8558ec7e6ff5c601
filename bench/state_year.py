"""A scheduled latency run after a simulated year of history: bytes moved each way and whole-process time.

The store holds a year of state (built once under bench/.data/year-<variant>/, not timed): the
latency workspace of bench/generate.py (raw samples, 90 days of rollups, the job state, real
archives) plus a year of what other jobs leave behind: latency gz archives for every day,
365 dashboard history bundles and their prune record, 52 weekly payloads with signatures,
10 strategies x 365 state_archive snapshots, twelve months of rotated automation-log segments,
and a live log of 512 KiB (the size at which the log rotates). Archive, bundle and segment
contents are incompressible filler: they are only ever moved, never parsed.

Each timed run starts from a fresh copy of that store and an empty runner workspace (configs and
the notifier log, as after a checkout), then runs, as one whole process,

    observability cycle --for latency --alerts-source latency --dry-run-alerts -- latency sample ...

(pull of the latency scope + 150 new samples + alert inbox plan + push), against a file:// store
and a moto S3 server on 127.0.0.1. For comparison, the same work as before scopes and `cycle`:
four processes (state pull of everything, latency sample, alerts sync --dry-run, state push).
One warm-up, then --repeat runs (the "before" path: one run after the warm-up); medians (min–max).
Targets: < 2 MiB each way, < 1 s.

Variants: ``nominal`` (14 days of raw samples, ~8.9 MiB, the default retention) and ``small``
(raw rotated at 240 KiB, as generate.py's small workspace): the raw file is the one file the
latency job must read and rewrite every run, so it decides whether the targets can be met.

Usage: python bench/state_year.py [--repeat N] [--variants nominal,small] [--no-s3] [--no-baseline]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import gzip
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import generate  # noqa: E402

PY = sys.executable
YEAR_VERSION = 1
SCRATCH = generate.DATA / "state_year"
MIB = 1024 * 1024
TARGET_BYTES = 2 * MIB
TARGET_SECONDS = 1.0
LIVE_LOG_BYTES = 512 * 1024  # runlog rotation threshold (the log-rotation work): worst case just before a cut
SECRET = "bench-secret-key"


def _filler(rng: random.Random, size: int) -> bytes:
    return rng.randbytes(size)


def _write(path: Path, data: bytes | str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    path.write_bytes(data)


def build_year(variant: str) -> Path:
    """The workspace a year of runs leaves (cached); its ops/ is what the seeded store holds."""
    target = generate.DATA / f"year-{variant}"
    marker = target / ".year_version"
    if marker.exists() and marker.read_text() == str(YEAR_VERSION):
        return target
    base = generate.ensure()[variant]
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(base, target)
    ops = target / "ops"
    rng = random.Random(20260302)
    end = date(2026, 3, 1)
    days = [end - timedelta(days=i) for i in range(365)]
    existing = {p.name[:8] for p in (ops / "signal_latency_archive").rglob("*.csv.gz")}
    for day in days:
        stamp = day.strftime("%Y%m%d")
        if stamp not in existing:
            _write(
                ops / "signal_latency_archive" / f"{day:%Y}" / f"{day:%m}" / f"{stamp}T000030Z-latency.csv.gz",
                _filler(rng, 112 * 1024),
            )
        job = f"{stamp}T060000Z-dashboard"
        bundle = ops / "dashboard_export_history" / job
        for name in ("ev_history", "latency", "router", "portfolio", "strategies"):
            _write(bundle / f"{name}.json", _filler(rng, 12 * 1024))
        _write(bundle / "manifest.json", json.dumps({"job_id": job, "datasets": 5}) + "\n")
        for strategy in range(10):
            _write(
                ops
                / "state_archive"
                / f"strategy_{strategy}.Strategy"
                / "USDJPY"
                / "conservative"
                / f"{stamp}_003000.json",
                json.dumps({"day": stamp, "ev": rng.random(), "pad": "x" * 1500}),
            )
    _write(
        ops / "dashboard_export_archive_manifest.jsonl",
        "".join(
            json.dumps({"pruned": f"ops/dashboard_export_history/{d:%Y%m%d}T060000Z-dashboard"}) + "\n"
            for d in days[::7]
        ),
    )
    _write(ops / "dashboard_export.sequence", "365\n")
    _write(ops / "dashboard_export_heartbeat.json", json.dumps({"job_id": f"{end:%Y%m%d}T060000Z-dashboard"}))
    for week in range(52):
        monday = end - timedelta(days=end.weekday() + 7 * (week + 1))
        _write(ops / "weekly_report_history" / f"{monday}.json", _filler(rng, 8 * 1024).hex()[:8192])
        _write(ops / "weekly_report_history" / f"{monday}.sig", "v1," + _filler(rng, 32).hex() + "\n")
    _write(ops / "weekly_report_heartbeat.json", json.dumps({"job_id": f"{end:%Y%m%d}T080000Z-weekly"}))
    _write(ops / "verify_heartbeat.json", json.dumps({"job_id": f"{end:%Y%m%d}T030000Z-verify"}))
    _write(ops / "verify_alerts.json", json.dumps({"alerts": [], "job_id": f"{end:%Y%m%d}T030000Z-verify"}))
    # Rotated log segments: ~100-130 MB of lines a year, about a tenth of that gzipped.
    for month in range(12):
        first = end.replace(day=1) - timedelta(days=31 * month)
        for part in range(4):
            _write(
                ops
                / "automation_runs"
                / f"{first:%Y}"
                / f"{first:%m}"
                / f"{month:06d}{part:06d}-{month:06d}{part + 1:06d}_{first:%Y%m%d}T000000Z-{first:%Y%m%d}T235959Z.jsonl.gz",
                _filler(rng, 256 * 1024),
            )
    # The live log: real lines of the preparation runs, repeated up to the rotation size, renumbered.
    lines = [json.loads(line) for line in (ops / "automation_runs.log").read_text().splitlines() if line.strip()]
    out, size, sequence = [], 0, 0
    while size < LIVE_LOG_BYTES:
        record = dict(lines[sequence % len(lines)])
        sequence += 1
        record["sequence"] = sequence
        text = json.dumps(record, sort_keys=True, separators=(",", ":")) + "\n"
        out.append(text)
        size += len(text)
    _write(ops / "automation_runs.log", "".join(out))
    _write(ops / "automation_runs.sequence", f"{sequence}\n")
    marker.write_text(str(YEAR_VERSION))
    return target


def _env(now_env: dict[str, str], endpoint: str | None) -> dict[str, str]:
    env = dict(now_env)
    for key in [k for k in env if k.startswith(("AWS_", "GITHUB_"))]:
        env.pop(key)
    if endpoint:
        env.update(generate.moto_s3_env(endpoint, SECRET))
    return env


def _obs(args: list[str], env: dict[str, str], cwd: Path) -> tuple[float, dict, int]:
    t0 = time.perf_counter()
    done = subprocess.run(
        [PY, "-m", "observability", *args], capture_output=True, text=True, env=env, cwd=cwd, check=False
    )
    elapsed = time.perf_counter() - t0
    try:
        summary = json.loads(done.stdout)
    except ValueError:
        summary = {}
    if done.returncode != 0:
        raise SystemExit(
            f"{' '.join(args)} failed (exit {done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        )
    return elapsed, summary, done.returncode


def _runner(year: Path, path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    for part in ("configs", "logs"):
        shutil.copytree(year / part, path / part)
    return path


def _seed_file_store(year: Path, env: dict[str, str]) -> Path:
    """A file:// store holding the year (generation 1), built once per variant and copied per run."""
    store = SCRATCH / f"seed-store-{year.name}"
    if (store / ".seeded").exists():
        return store
    shutil.rmtree(store, ignore_errors=True)
    seed = SCRATCH / "seed"
    shutil.rmtree(seed, ignore_errors=True)
    shutil.copytree(year, seed)
    url = store.as_uri()
    for command in (["state", "init"], ["state", "pull"], ["state", "push", "--keep-generations", "0"]):
        _obs([*command, "--store", url, "--workspace", str(seed)], env, seed)
    shutil.rmtree(seed, ignore_errors=True)
    (store / ".seeded").write_text("1")
    return store


def _upload(client, bucket: str, prefix: str, store: Path) -> None:
    keys = [p for p in store.rglob("*") if p.is_file() and not p.name.startswith(".")]

    def put(path: Path) -> None:
        client.put_object(Bucket=bucket, Key=f"{prefix}/{path.relative_to(store).as_posix()}", Body=path.read_bytes())

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(put, keys))


def _cycle_args(url: str, ws: Path, flags: list[str]) -> list[str]:
    return [
        "cycle",
        "--store",
        url,
        "--for",
        "latency",
        "--alerts-source",
        "latency",
        "--dry-run-alerts",
        "--workspace",
        str(ws),
        "--keep-generations",
        "0",
        "--",
        "latency",
        "sample",
        "--input",
        generate.LOG,
        *flags,
    ]


def run_variant(variant: str, repeat: int, s3: bool, baseline: bool) -> list[dict]:
    year = build_year(variant)
    now_env = generate.clean_env(generate.TIMED_NOW)
    flags = generate.TIMED_FLAGS[variant]
    store_seed = _seed_file_store(year, _env(now_env, None))
    raw = max((store_seed / "manifests").glob("*.json")).read_bytes()
    snapshot = json.loads(gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw)
    total_bytes = sum(e["size"] for e in snapshot["files"].values())
    rows: list[dict] = []
    backends = ["file"] + (["s3"] if s3 else [])
    server = None
    client = None
    try:
        if s3:
            import logging

            import boto3
            from moto.server import ThreadedMotoServer

            logging.getLogger("werkzeug").setLevel(logging.ERROR)
            server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
            server.start()
            host, port = server.get_host_and_port()
            endpoint = f"http://{host}:{port}"
            client = boto3.client(
                "s3",
                endpoint_url=endpoint,
                region_name="us-east-1",
                aws_access_key_id="bench",
                aws_secret_access_key=SECRET,
            )
        counter = 0
        for backend in backends:
            env = _env(now_env, endpoint if backend == "s3" else None)
            modes = ["cycle"] + (["baseline"] if baseline else [])
            for mode in modes:
                samples = []
                # The "before" path moves the whole year on every run (about half a minute): one run shows it.
                for i in range(repeat + 1 if mode == "cycle" else 2):
                    counter += 1
                    if backend == "file":
                        store = SCRATCH / "store"
                        shutil.rmtree(store, ignore_errors=True)
                        shutil.copytree(store_seed, store)
                        url = store.as_uri()
                    else:
                        bucket = f"bench-year-{variant}-{counter}"  # moto keeps buckets across servers
                        client.create_bucket(Bucket=bucket)
                        _upload(client, bucket, "state", store_seed)
                        url = f"s3://{bucket}/state"
                    ws = _runner(year, SCRATCH / "runner")
                    if mode == "cycle":
                        elapsed, doc, _ = _obs(_cycle_args(url, ws, flags), env, ws)
                        steps = {s["step"]: s["summary"] for s in doc["steps"]}
                        pulled, job, pushed = steps["state-pull"], steps["latency"], steps["state-push"]
                        durations = {name: s.get("duration_ms") for name, s in steps.items()}
                    else:
                        t_pull, pulled, _ = _obs(["state", "pull", "--store", url, "--workspace", str(ws)], env, ws)
                        t_job, job, _ = _obs(
                            ["latency", "sample", "--input", generate.LOG, *flags, "--workspace", str(ws)], env, ws
                        )
                        t_alerts, _, _ = _obs(
                            ["alerts", "sync", "--source", "latency", "--dry-run", "--workspace", str(ws)], env, ws
                        )
                        t_push, pushed, _ = _obs(
                            ["state", "push", "--store", url, "--keep-generations", "0", "--workspace", str(ws)],
                            env,
                            ws,
                        )
                        elapsed = t_pull + t_job + t_alerts + t_push
                        durations = {}
                    if job.get("samples_written") != generate.TIMED_SAMPLES:
                        raise SystemExit(
                            f"{variant}/{backend}/{mode}: latency wrote {job.get('samples_written')} "
                            f"samples, expected {generate.TIMED_SAMPLES}"
                        )
                    if i:
                        samples.append(
                            {
                                "seconds": elapsed,
                                "pulled": pulled["bytes_downloaded"],
                                "pushed": pushed["bytes_uploaded"],
                                "files_pulled": pulled["files"],
                                "pulled_manifest": pulled.get("manifest_bytes", 0),
                                "pushed_manifest": pushed.get("manifest_bytes", 0),
                                "durations": durations,
                            }
                        )
                rows.append(
                    {
                        "variant": variant,
                        "backend": backend,
                        "mode": mode,
                        "samples": samples,
                        "store_files": len(snapshot["files"]),
                        "store_bytes": total_bytes,
                    }
                )
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(SCRATCH / "store", ignore_errors=True)
        shutil.rmtree(SCRATCH / "runner", ignore_errors=True)
    return rows


def _median(values: list[float]) -> float:
    return statistics.median(values)


def report(rows: list[dict]) -> str:
    out = [
        "Bytes are blobs + manifest, as transferred (compressed where stored compressed).",
        "",
        "| variant | store | how | pulled | pushed | wall time, median (min–max) | targets |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        seconds = [s["seconds"] for s in row["samples"]]
        pulled = _median([s["pulled"] + s["pulled_manifest"] for s in row["samples"]])
        pushed = _median([s["pushed"] + s["pushed_manifest"] for s in row["samples"]])
        how = "`cycle --for latency`, 1 process" if row["mode"] == "cycle" else "no scope, 4 processes"
        met = []
        met.append("bytes ✓" if pulled < TARGET_BYTES and pushed < TARGET_BYTES else "bytes ✗")
        met.append("time ✓" if _median(seconds) < TARGET_SECONDS else "time ✗")
        out.append(
            f"| {row['variant']} | {row['backend']} | {how} | {pulled / MIB:.2f} MiB "
            f"({row['samples'][0]['files_pulled']} files) | {pushed / MIB:.2f} MiB | "
            f"{_median(seconds):.3f} s ({min(seconds):.3f}–{max(seconds):.3f}) | {', '.join(met)} |"
        )
    steps = [r for r in rows if r["mode"] == "cycle"]
    if steps:
        out += [
            "",
            "Step durations inside the cycle (each step's own `duration_ms`, median):",
            "",
            "| variant | store | state-pull | latency | alerts-sync | state-push |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for row in steps:
            med = {
                name: _median([s["durations"][name] for s in row["samples"]])
                for name in ("state-pull", "latency", "alerts-sync", "state-push")
            }
            out.append(f"| {row['variant']} | {row['backend']} | " + " | ".join(f"{med[n]:.0f} ms" for n in med) + " |")
    first = rows[0]
    out.append("")
    out.append(
        f"Store: {first['store_files']} files, {first['store_bytes'] / MIB:.1f} MiB in the snapshot "
        f"({first['variant']} variant)."
    )
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--variants", default="nominal,small")
    parser.add_argument("--no-s3", action="store_true")
    parser.add_argument("--no-baseline", action="store_true")
    args = parser.parse_args()
    rows = []
    for variant in args.variants.split(","):
        rows += run_variant(variant, args.repeat, not args.no_s3, not args.no_baseline)
        print(f"[{variant} done]\n{report(rows)}\n", file=sys.stderr, flush=True)
    print(report(rows))
    print(f"\nPython {sys.version.split()[0]} on {os.uname().sysname} {os.uname().machine}, {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
