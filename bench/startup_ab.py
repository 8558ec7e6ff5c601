"""Start-up before/after: the nominal cycle, `observability --help` and `python -c pass`, with the
code of another git revision and with this tree, alternated run by run (A B A B ...) so load on a
shared machine hits both alike; medians of wall and CPU time (user + sys, from wait4).

The other revision's observability/, schemas/ and ops-template/ are exported with `git archive`
into bench/.data/ab-<rev>/ and put first on PYTHONPATH for its runs.

Usage: python bench/startup_ab.py [--rev main] [--repeat 15]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import generate  # noqa: E402
import run  # noqa: E402


def export(rev: str) -> Path:
    sha = subprocess.run(
        ["git", "-C", str(run.ROOT), "rev-parse", "--short", rev], capture_output=True, text=True, check=True
    ).stdout.strip()
    tree = generate.DATA / f"ab-{sha}"
    if not (tree / "observability").is_dir():
        shutil.rmtree(tree, ignore_errors=True)
        tree.mkdir(parents=True)
        archive = subprocess.run(
            [
                "git",
                "-C",
                str(run.ROOT),
                "archive",
                sha,
                "observability",
                "schemas",
                "ops-template",
                "docs/credentials.md",
            ],
            capture_output=True,
            check=True,
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    return tree


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rev", default="main", help="the revision to compare with (default: main)")
    parser.add_argument("--repeat", type=int, default=15, help="timed rounds after one warm-up round")
    args = parser.parse_args()
    other = export(args.rev)
    paths = generate.ensure()
    run.SCRATCH.mkdir(parents=True, exist_ok=True)

    def env(tree: Path | None, now=None) -> dict:
        e = generate.process_env() if now is None else generate.clean_env(now)
        if tree is not None:
            e["PYTHONPATH"] = str(tree)
        return e

    found: dict[str, list[tuple[float, float]]] = {}
    sides = ((args.rev, other), ("this tree", None))
    for i in range(args.repeat + 1):
        for label, tree in sides:
            copy = run.SCRATCH / "ab"
            shutil.rmtree(copy, ignore_errors=True)
            generate.fresh_copy(paths["nominal"], copy)
            wall, done = run.run_process(
                generate.timed_command(copy, "nominal", tree or run.ROOT),
                env=env(tree, generate.RUN_AT["nominal"]),
                cwd=copy,
            )
            problems = generate.check_cycle(json.loads(done.stdout or "{}"), done.returncode)
            if problems:
                raise SystemExit(f"{label}: {problems}\n{done.stderr}")
            shutil.rmtree(copy)
            runs = [("cycle", wall, run.LAST_CPU[0])]
            # as the console script runs it (observability/entry.py), with that revision's code
            wall, done = run.run_process(
                [*generate.job_command(tree or run.ROOT), "--help"], env=env(tree), cwd=run.SCRATCH
            )
            runs.append(("observability --help", wall, run.LAST_CPU[0]))
            wall, done = run.run_process([run.PY, "-c", "pass"], env=env(tree))
            runs.append(("python -c pass", wall, run.LAST_CPU[0]))
            if i:
                for what, w, c in runs:
                    found.setdefault(f"{what} [{label}]", []).append((w, c))
    print(f"{'what':40s} {'wall median':>12s} {'CPU median':>11s}")
    for key, values in found.items():
        print(
            f"{key:40s} {statistics.median(w for w, _ in values):10.3f} s {statistics.median(c for _, c in values):9.3f} s"
        )
    print("load average after: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))


if __name__ == "__main__":
    main()
