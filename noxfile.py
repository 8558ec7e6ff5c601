"""Developer sessions: `nox -s tests`, `lint`, `typecheck`, `bench`, `drift` (CONTRIBUTING.md).

Each session runs in the checkout's own environment (.venv with the [test,lint] extras installed),
not in a virtualenv nox builds: no network is needed, and a session checks what CI checks.
Run them with `.venv/bin/nox -s NAME`, or `.venv/bin/nox` for tests, lint and typecheck.
"""

from __future__ import annotations

import os
from pathlib import Path

import nox

nox.options.default_venv_backend = "none"
# The checkout's environment first on PATH: its ruff, mypy, lint-imports and python, whatever the shell has.
BIN = Path(__file__).resolve().parent / ".venv" / "bin"
os.environ["PATH"] = os.pathsep.join([str(BIN), os.environ.get("PATH", "")])
nox.options.sessions = ["lint", "typecheck", "tests"]

# The coverage gate: the whole suite measured across its subprocesses (pyproject.toml [tool.coverage]).
COVERAGE_FLOOR = "93"


@nox.session
def tests(session: nox.Session) -> None:
    """The whole suite in parallel with the coverage gate; extra arguments go to pytest."""
    args = session.posargs or ["--cov=observability", "--cov-report=term", f"--cov-fail-under={COVERAGE_FLOOR}"]
    session.run("python", "-m", "pytest", "-q", "-n", "auto", *args)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff's lint rules, the format check and the import layering."""
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("lint-imports")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy over the package ([tool.mypy] in pyproject.toml)."""
    session.run("mypy")


@nox.session
def bench(session: nox.Session) -> None:
    """The whole-process benchmarks (bench/run.py); extra arguments go to it (e.g. --repeat 3 --no-docs)."""
    session.run("python", "bench/run.py", *session.posargs)


@nox.session
def drift(session: nox.Session) -> None:
    """The drift tests: commands, docs, env vars, action inputs, schemas and workflows agree."""
    session.run(
        "python",
        "-m",
        "pytest",
        "-q",
        "tests/test_drift.py",
        "tests/test_verify_docs.py",
        "tests/test_workflows.py",
        "tests/test_actions.py",
        "tests/test_layering.py",
        *session.posargs,
    )
