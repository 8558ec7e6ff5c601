"""``inputs pull`` as a runner does it: whole processes against real servers on 127.0.0.1.

1. Signal log, incremental: a 14-day notifier log (10 sources x 1 row/min, ~200,000 rows) served by
   an HTTP server with Range/ETag support; each repetition appends the 150 rows of one 15-minute
   run, gives a fresh runner workspace the ``ops/`` of the previous one (the latency cursor) and
   times ``observability inputs pull``; bytes on the wire are counted by the server.
2. The same log as a plain (non-incremental) input: the whole file every run.
3. Repository: runs/, reports/ and ops/state_archive/ of the bundled sample from a bare git
   repository that also holds a 50 MiB file nobody asked for (``git+file://``; shallow, blob-less).

One warm-up, then --repeat runs; medians. Prints a Markdown table for docs/performance.md.

Usage: python bench/inputs.py [--repeat N]
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
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
SOURCES = [f"feed_{i:02d}" for i in range(10)]
START = datetime(2026, 11, 14, tzinfo=UTC)
NOW = START + timedelta(days=14)


class Server:
    def __init__(self):
        self.body = b""
        self.sent = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body are separate writes: no 40 ms delayed-ACK stall

            def log_message(self, *args):
                pass

            def do_GET(self):  # noqa: N802
                body = server.body
                etag = '"' + hashlib.md5(body).hexdigest() + '"'
                if self.headers.get("If-None-Match") == etag:
                    return self._send(304, b"", etag)
                if self.headers.get("If-Match") not in (None, etag):
                    return self._send(412, b"", etag)
                wanted = self.headers.get("Range")
                if wanted:
                    start_text, _, end_text = wanted.split("=", 1)[1].partition("-")
                    start, end = int(start_text), min(int(end_text or len(body) - 1), len(body) - 1)
                    return self._send(206, body[start : end + 1], etag, f"bytes {start}-{end}/{len(body)}")
                return self._send(200, body, etag)

            def _send(self, status, payload, etag, content_range=None):
                self.send_response(status)
                self.send_header("ETag", etag)
                if content_range:
                    self.send_header("Content-Range", content_range)
                if status != 304:
                    self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if status != 304:
                    self.wfile.write(payload)
                    server.sent += len(payload)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/signal_notifier.csv"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


def rows(start: datetime, minutes: int) -> bytes:
    out = []
    for m in range(minutes):
        stamp = (start + timedelta(minutes=m)).strftime("%Y-%m-%dT%H:%M:%SZ")
        for i, source in enumerate(SOURCES):
            out.append(f"{stamp},{800 + (m * 7 + i * 13) % 900},success,,{source}\n")
    return "".join(out).encode()


def obs(ws: Path, *args: str, now: datetime) -> tuple[float, dict]:
    env = {**os.environ, "OBS_NOW": now.strftime("%Y-%m-%dT%H:%M:%SZ"), "GITHUB_ACTIONS": ""}
    t0 = time.perf_counter()
    done = subprocess.run(
        [PY, "-m", "observability", *args, "--workspace", str(ws)], capture_output=True, text=True, env=env, check=False
    )
    elapsed = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"{args}: exit {done.returncode}\n{done.stderr[-2000:]}")
    return elapsed, json.loads(done.stdout)


def runner(scratch: Path, name: str, config: str, ops_from: Path | None) -> Path:
    ws = scratch / name
    shutil.rmtree(ws, ignore_errors=True)
    (ws / "configs" / "observability").mkdir(parents=True)
    (ws / "configs" / "observability" / "inputs.yaml").write_text(config)
    if ops_from is not None:
        shutil.copytree(ops_from / "ops", ws / "ops", ignore=shutil.ignore_patterns(".*"))
    return ws


def bench_log(scratch: Path, repeat: int) -> list[tuple[str, list[float], str]]:
    server = Server()
    server.body = b"timestamp_utc,latency_ms,status,detail,source\n" + rows(START, 14 * 24 * 60 - 15 * (repeat + 1))
    incremental = (
        f"inputs:\n  - name: signal-log\n    destination: logs/signal_notifier.csv\n"
        f'    incremental: true\n    https: {{url: "{server.url}"}}\n'
    )
    whole = incremental.replace("    incremental: true\n", "")
    # First runner: the whole log, sampled once (untimed), so the cursor sits at its end.
    ws = runner(scratch, "log-0", incremental, None)
    obs(ws, "inputs", "pull", now=NOW)
    obs(ws, "latency", "sample", "--input", "logs/signal_notifier.csv", now=NOW)
    size = len(server.body)
    inc_times, inc_bytes, whole_times, whole_bytes = [], [], [], []
    clock = START + timedelta(days=14) - timedelta(minutes=15 * (repeat + 1))
    for i in range(repeat + 1):
        server.body += rows(clock, 15)
        clock += timedelta(minutes=15)
        server.sent = 0
        nxt = runner(scratch, f"log-{i + 1}", incremental, ws)
        elapsed, summary = obs(nxt, "inputs", "pull", now=NOW)
        sent = server.sent
        obs(nxt, "latency", "sample", "--input", "logs/signal_notifier.csv", now=NOW)
        plain = runner(scratch, f"whole-{i + 1}", whole, None)
        server.sent = 0
        whole_elapsed, _ = obs(plain, "inputs", "pull", now=NOW)
        if i:  # the first is the warm-up
            inc_times.append(elapsed)
            inc_bytes.append(sent)
            whole_times.append(whole_elapsed)
            whole_bytes.append(server.sent)
        ws = nxt
    mib = size / 1024 / 1024
    return [
        (
            f"signal log, incremental: 150 new rows on a {mib:.1f} MiB log "
            f"({statistics.median(inc_bytes):,.0f} bytes on the wire)",
            inc_times,
            f"{statistics.median(inc_bytes):,.0f} B",
        ),
        (
            f"signal log, whole file each run ({statistics.median(whole_bytes) / 1024 / 1024:.1f} MiB on the wire)",
            whole_times,
            f"{statistics.median(whole_bytes) / 1024 / 1024:.1f} MiB",
        ),
    ]


def bench_repository(scratch: Path, repeat: int) -> list[tuple[str, list[float], str]]:
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(scratch),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "b",
        "GIT_AUTHOR_EMAIL": "b@example.invalid",
        "GIT_COMMITTER_NAME": "b",
        "GIT_COMMITTER_EMAIL": "b@example.invalid",
    }
    work = scratch / "research"
    shutil.rmtree(work, ignore_errors=True)
    template = ROOT / "ops-template"
    for part in ("runs", "reports", "ops/state_archive"):
        shutil.copytree(template / part, work / part)
    (work / "big").mkdir()
    (work / "big" / "unrelated.bin").write_bytes(os.urandom(50 * 1024 * 1024))
    for args in (
        ["init", "-q", "-b", "main", str(work)],
        ["-C", str(work), "add", "-A"],
        ["-C", str(work), "commit", "-qm", "research"],
    ):
        subprocess.run(["git", *args], check=True, env=env)
    bare = scratch / "research.git"
    shutil.rmtree(bare, ignore_errors=True)
    subprocess.run(["git", "clone", "-q", "--bare", str(work), str(bare)], check=True, env=env)
    subprocess.run(["git", "-C", str(bare), "config", "uploadpack.allowFilter", "true"], check=True, env=env)
    config = "inputs:\n" + "".join(
        f'  - name: {n}\n    destination: {p}\n    repository: {{url: "git+file://{bare}", ref: main, path: {p}}}\n'
        for n, p in (("runs", "runs"), ("reports", "reports"), ("state-archive", "ops/state_archive"))
    )
    times, fetched = [], []
    for i in range(repeat + 1):
        ws = runner(scratch, f"repo-{i}", config, None)
        elapsed, summary = obs(ws, "inputs", "pull", now=NOW)
        if i:
            times.append(elapsed)
            fetched.append(summary["bytes_fetched"])
    return [
        (
            f"repository: runs/, reports/, ops/state_archive/ beside a 50 MiB file "
            f"({statistics.median(fetched) / 1024:.0f} KiB fetched)",
            times,
            f"{statistics.median(fetched) / 1024:.0f} KiB",
        )
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="obs-bench-inputs-"))
    try:
        results = bench_log(scratch, args.repeat) + bench_repository(scratch, args.repeat)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print("| scenario | median | min–max | moved |\n|---|---:|---:|---:|")
    for name, times, moved in results:
        print(f"| {name} | {statistics.median(times):.3f} s | {min(times):.3f}–{max(times):.3f} | {moved} |")


if __name__ == "__main__":
    main()
