"""CPU time per test, for finding what the suite spends (docs/testing.md, "How long the suite takes").

A pytest plugin, not loaded by default. Each test's CPU (user + system) is logged twice: in the test
process itself (tracing included under --cov) and in the child processes it started and waited for
(git, ``python -m observability``, act and its steps...), with the wall time beside them, one line per
test in ``$OBS_CPU_PER_TEST_DIR/<xdist worker>.tsv``. CPU time, not wall time, is the figure to
compare on a shared machine. Use:

    OBS_CPU_PER_TEST_DIR=/tmp/cpu PYTHONPATH=tests python -m pytest -p _cpu_per_test -n 2 --cov=observability
    python tests/_cpu_per_test.py /tmp/cpu            # CPU per file, the largest first

The lines of one run add up to less than the run's own CPU: collection, session fixtures built before
the first test of a worker, and coverage's combine at the end are outside every test.
"""

from __future__ import annotations

import os
import resource
import sys
import time
from collections import defaultdict
from pathlib import Path

import pytest

_log = None


def _cpu() -> tuple[float, float]:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    global _log
    if _log is None:
        directory = Path(os.environ.get("OBS_CPU_PER_TEST_DIR", "cpu-per-test"))
        directory.mkdir(parents=True, exist_ok=True)
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        _log = (directory / f"{worker}.tsv").open("a", encoding="utf-8", buffering=1)
    own, children = _cpu()
    started = time.monotonic()
    yield
    own_after, children_after = _cpu()
    _log.write(
        f"{item.nodeid}\t{own_after - own:.3f}\t{children_after - children:.3f}\t{time.monotonic() - started:.3f}\n"
    )


def per_file(directory: Path) -> list[tuple[str, float, float, int]]:
    """(file, CPU in the test processes, CPU in their children, tests) from a run's logs."""
    totals: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0])
    for log in directory.glob("*.tsv"):
        for line in log.read_text(encoding="utf-8").splitlines():
            nodeid, own, children, _wall = line.split("\t")
            row = totals[nodeid.split("::", 1)[0]]
            row[0] += float(own)
            row[1] += float(children)
            row[2] += 1
    return sorted(((f, o, c, int(n)) for f, (o, c, n) in totals.items()), key=lambda r: -(r[1] + r[2]))


if __name__ == "__main__":
    rows = per_file(Path(sys.argv[1]))
    print(f"{'CPU s':>7} {'own':>7} {'children':>8} {'tests':>5}  file")
    for file, own, children, tests in rows:
        print(f"{own + children:7.1f} {own:7.1f} {children:8.1f} {tests:5d}  {file}")
    own, children = sum(r[1] for r in rows), sum(r[2] for r in rows)
    print(f"{own + children:7.1f} {own:7.1f} {children:8.1f} {sum(r[3] for r in rows):5d}  (every test)")
