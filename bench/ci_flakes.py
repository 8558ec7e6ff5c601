"""The pytest flake telemetry plugin and ``ci flakes``, as whole processes.

1. pytest on a generated suite of 400 tests (6 failing, 4 flaky under ``--reruns 1``): the plugin off
   (installed, no path), on with no earlier file, and on with a 200-session history in the file;
2. ``observability ci flakes`` merging that document into a 2,000-session ``ops/ci/flake_history.json``.

Each a separate process, median of --repeat runs after one warm-up, the sides interleaved run by run.
Rewrites the section "CI flake telemetry" of docs/performance.md unless --no-docs.

Usage: python bench/ci_flakes.py [--repeat N] [--no-docs]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from log_tools import write_doc  # noqa: E402

TITLE = "## CI flake telemetry (`bench/ci_flakes.py`)"
PY = sys.executable
TESTS = 400

SUITE = """
import os
from pathlib import Path

import pytest

MARKS = Path(os.environ["FLAKE_MARKS"])


@pytest.mark.parametrize("n", range({n}))
def test_many(n):
    if n % 100 == 7:
        marker = MARKS / f"flaky-{{n}}"
        if not marker.exists():
            marker.write_text("x")
            raise AssertionError("first attempt")
    if n % 67 == 3:
        raise AssertionError(f"broken {{n}}")
"""


def _env(marks: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "OBS_", "PYTEST_", "COVERAGE_"))}
    return env | {"FLAKE_MARKS": str(marks), "PYTHONDONTWRITEBYTECODE": "1", **extra}


def _timed(cmd: list[str], cwd: Path, env: dict[str, str], *, expect: int = 1) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != expect or "flake telemetry: warning" in done.stdout:
        raise SystemExit(f"{cmd[2:5]}: exit {done.returncode}\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _history(sessions: int) -> list[dict]:
    return [
        {
            "started_at": f"2026-{1 + i // 600:02d}-{1 + (i // 24) % 25:02d}T{i % 24:02d}:{i % 60:02d}:00Z",
            "finished_at": None,
            "commit": f"{i:040x}",
            "branch": "main",
            "run_id": str(1000 + i),
            "run_attempt": 1,
            "run_url": f"https://github.com/acme/research/actions/runs/{1000 + i}/attempts/1",
            "exit_status": 1,
            "events": [{"nodeid": f"tests/test_x.py::test_{j}", "outcome": "failed"} for j in range(i % 7)],
        }
        for i in range(sessions)
    ]


def bench(repeat: int) -> list[dict]:
    work = Path(tempfile.mkdtemp(prefix="bench-ci-flakes-"))
    try:
        suite = work / "suite"
        suite.mkdir()
        (suite / "test_bench.py").write_text(SUITE.format(n=TESTS))
        log = work / "flake_runs.json"
        base = [PY, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "rerunfailures", "--reruns", "1"]
        seeded = None
        sides = {
            "pytest, plugin off": (base, None),
            "pytest, plugin on, no earlier file": ([*base, f"--flake-log-file={log}"], "empty"),
            "pytest, plugin on, 200 sessions in the file": ([*base, f"--flake-log-file={log}"], "seeded"),
        }
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in sides}
        for run in range(repeat + 1):
            for name, (cmd, start) in sides.items():
                marks = work / f"marks-{run}-{len(times[name])}-{name[:12].replace(' ', '')}"
                shutil.rmtree(marks, ignore_errors=True)
                marks.mkdir()
                if start == "empty":
                    log.unlink(missing_ok=True)
                elif start == "seeded":
                    if seeded is None:
                        subprocess.run(cmd, cwd=suite, env=_env(marks), capture_output=True, check=False)
                        document = json.loads(log.read_text())
                        document["history"] = _history(200)
                        seeded = json.dumps(document)
                        shutil.rmtree(marks)
                        marks.mkdir()
                    log.write_text(seeded)
                figure = _timed(cmd, suite, _env(marks))
                if run:
                    times[name].append(figure)
        ws = work / "ws"
        (ws / "ops" / "ci").mkdir(parents=True)
        history = json.dumps({"schema_version": 1, "sessions": _history(2000)[::-1]})
        digest = []
        for run in range(repeat + 1):
            (ws / "ops" / "ci" / "flake_history.json").write_text(history)
            log.write_text(seeded or "")
            figure = _timed(
                [PY, "-m", "observability", "ci", "flakes", "--workspace", str(ws), "--telemetry", str(log)],
                ws,
                _env(work, OBS_NOW="2026-04-30T00:00:00Z"),
                expect=0,
            )
            if run:
                digest.append(figure)
        times["ci flakes: 201 sessions into a 2,000-session history"] = digest
        return [
            {
                "what": name,
                "wall": statistics.median(w for w, _ in runs),
                "cpu": statistics.median(c for _, c in runs),
            }
            for name, runs in times.items()
        ]
    finally:
        shutil.rmtree(work, ignore_errors=True)


def render(rows: list[dict], repeat: int) -> str:
    lines = [
        TITLE,
        "",
        f"A generated suite of {TESTS} tests (6 failing, 4 flaky; `-p rerunfailures --reruns 1`, no xdist), each "
        f"run a separate process, median of {repeat} runs after a warm-up ({time.strftime('%Y-%m-%d')}, shared "
        "2-core machine):",
        "",
        "| what | wall | CPU |",
        "| --- | ---: | ---: |",
    ]
    lines += [f"| {r['what']} | {r['wall']:.2f} s | {r['cpu']:.2f} s |" for r in rows]
    lines += [
        "",
        "Off, the plugin costs its option (the module imports nothing of the package and no module pytest has not imported already). On, it records each report in "
        "memory and writes once at the end: reading the earlier file, `git rev-parse` when `GITHUB_SHA` is "
        "unset, scrubbing the traces and the atomic write.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-docs", action="store_true")
    args = parser.parse_args()
    rows = bench(args.repeat)
    section = render(rows, args.repeat)
    print(section)
    if args.no_docs:
        return
    write_doc(section, TITLE)


if __name__ == "__main__":
    main()
