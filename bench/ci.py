"""``ci metrics`` and ``ci health`` as whole processes: a large Cobertura report, a full history.

Workspaces (under bench/.data/ci/<files>/): ``coverage.xml`` in coverage.py's layout with FILES source
files of 200 lines each (every line a ``<line>`` element), a JUnit report of 5,000 test cases, and
``ops/ci/ci_metrics.json`` holding ``history_limit`` (500) entries, so every run also drops the oldest.
Each run is a whole process (``python -m observability ci metrics ...`` then ``ci health``); one
warm-up, then --repeat runs, median reported.

Usage: python bench/ci.py [--repeat N] [--files 100,1000,5000]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import generate  # noqa: E402
import run  # noqa: E402

DATA = HERE / ".data" / "ci"
NOW = "2026-11-28T12:00:00Z"
LINES = 200


def make(path: Path, files: int) -> None:
    if (path / "done").exists():
        return
    shutil.rmtree(path, ignore_errors=True)
    (path / "ops" / "ci").mkdir(parents=True)
    # written piece by piece: a 35 MB string in this process would show in the children's peak RSS
    valid = files * LINES
    covered = sum(1 for f in range(files) for n in range(1, LINES + 1) if (n * 7 + f) % 10)
    with (path / "coverage.xml").open("w") as out:
        out.write(
            '<?xml version="1.0" ?>\n'
            f'<coverage version="7.17" timestamp="1" lines-valid="{valid}" lines-covered="{covered}" '
            f'line-rate="{covered / valid:.4f}" branches-covered="0" branches-valid="0" branch-rate="0" '
            'complexity="0">\n\t<sources><source>/src</source></sources>\n\t<packages>\n'
            '\t\t<package name="pkg" line-rate="0.9" branch-rate="0" complexity="0">\n\t\t\t<classes>\n'
        )
        for f in range(files):
            out.write(
                f'\t\t\t\t<class name="m{f}.py" filename="pkg/m{f}.py" complexity="0" line-rate="0.9" '
                'branch-rate="0">\n\t\t\t\t\t<methods/>\n\t\t\t\t\t<lines>\n'
            )
            for n in range(1, LINES + 1):
                out.write(f'\t\t\t\t\t\t<line number="{n}" hits="{1 if (n * 7 + f) % 10 else 0}"/>\n')
            out.write("\t\t\t\t\t</lines>\n\t\t\t\t</class>\n")
        out.write("\t\t\t</classes>\n\t\t</package>\n\t</packages>\n</coverage>\n")
    cases = "".join(
        f'<testcase classname="tests.test_m{i % 500}" name="test_{i}" time="0.0{i % 10}"/>' for i in range(5000)
    )
    (path / "junit.xml").write_text(
        f'<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest" tests="5000" time="61.2">{cases}'
        "</testsuite></testsuites>"
    )
    entry = {
        "run_attempt": 1,
        "run_url": "https://github.com/o/r/actions/runs/1",
        "commit": "0123456789abcdef0123456789abcdef01234567",
        "branch": "main",
        "conclusion": "success",
        "job_id": "20261101T000000Z-ci-00000000",
        "coverage": {"line_pct": 90.0, "branch_pct": None},
        "tests": {"total": 5000, "passed": 5000, "failed": 0, "errors": 0, "skipped": 0, "duration_seconds": 61.2},
        "formatters": [{"name": "ruff-format", "mode": "enforced", "result": "pass"}],
    }
    entries = [
        {**entry, "run_id": str(1000 + i), "recorded_at": f"2026-11-{1 + i // 20:02d}T{i % 20:02d}:00:00Z"}
        for i in range(500)
    ]
    (path / "ops" / "ci" / "ci_metrics.json").write_text(json.dumps({"version": 1, "entries": entries}))
    (path / "done").write_text("")


def run_once(path: Path, args: list[str]) -> tuple[float, float, int]:
    """One whole process (bench/run.py's run_process): wall s, CPU s, peak RSS MiB."""
    env = {**generate.process_env(), "OBS_NOW": NOW}
    wall, done = run.run_process(
        [sys.executable, "-m", "observability", "ci", *args, "--workspace", str(path)], env=env
    )
    if done.returncode != 0:
        raise SystemExit(f"ci {args[0]} failed in {path}: {done.stderr[-500:]}")
    return wall, run.LAST_CPU[0], int(run.LAST_RSS[0])


METRICS = [
    "metrics",
    "--run-id",
    "9999",
    "--branch",
    "main",
    "--coverage-xml",
    "coverage.xml",
    "--junit-xml",
    "junit.xml",
]


def row(path: Path, command: list[str], repeat: int) -> str:
    """One table row: a warm-up, then ``repeat`` runs; the median wall and CPU time, the highest peak RSS."""
    run_once(path, command)
    walls, cpus, peaks = zip(*(run_once(path, command) for _ in range(repeat)), strict=True)
    files = int(path.name[1:])
    size = (path / "coverage.xml").stat().st_size / 1024 / 1024
    return (
        f"| ci {command[0]} | {files:,} | {size:.1f} | {statistics.median(walls):.2f} | "
        f"{statistics.median(cpus):.2f} | {max(peaks)} |"
    )


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    options.add_argument("--repeat", type=int, default=3, help="timed runs per row (after one warm-up)")
    options.add_argument("--files", default="100,1000,5000", help="source files of the coverage reports")
    given = options.parse_args()
    table = ["| command | source files | coverage.xml MiB | wall s (median) | CPU s | peak RSS MiB |"]
    table.append("| --- | ---: | ---: | ---: | ---: | ---: |")
    for files in map(int, given.files.split(",")):
        make(DATA / f"f{files}", files)
        table += [row(DATA / f"f{files}", command, given.repeat) for command in (METRICS, ["health"])]
    print("\n".join(table))


if __name__ == "__main__":
    main()
