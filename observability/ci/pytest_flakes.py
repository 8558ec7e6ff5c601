"""The pytest flake telemetry plugin (entry point ``observability-flakes``): with ``--flake-log-file PATH``
or ``PYTEST_FLAKE_LOG`` each session writes one JSON document (schemas/ci_flake_telemetry.schema.json) of
its failing, erroring, rerun and flaky tests, with the earlier sessions found in that file (docs/ci.md).

Off, it only registers its option. On, it records reports on the xdist controller (workers forward their
reports there) and writes once at the end of the session. It never changes the session's outcome: any
error of its own is one warning line on the terminal.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

OPTION = "--flake-log-file"
ENV = "PYTEST_FLAKE_LOG"
SCHEMA_VERSION = 1
TRACE_LIMIT = 4096  # bytes of a failure trace kept (its tail: where the assertion is)
SCRUB_WINDOW = 4 * TRACE_LIMIT  # bytes of a trace's tail scrubbed (more than TRACE_LIMIT + the longest secret)
HISTORY_LIMIT = 200  # earlier sessions kept in the document
EVENTS_LIMIT = 500  # events of one session kept (a mass failure is told by its counts)
HISTORY_EVENTS_LIMIT = 200  # events of a history entry
PREVIOUS_MAX_BYTES = 64 << 20  # an earlier document larger than this is none the plugin wrote: set aside
FAILING = ("failed", "error")
OUTCOMES = ("failed", "error", "rerun", "flaky")
PHASES = ("setup", "call", "teardown")  # of a test report (a collection report's is "collect")


def pytest_addoption(parser) -> None:
    group = parser.getgroup("flake-telemetry", "flake telemetry (observability)")
    group.addoption(
        OPTION,
        dest="flake_log_file",
        metavar="PATH",
        default=None,
        help=f"Write flake telemetry (failing, rerun and flaky tests, with earlier sessions) to PATH "
        f"after the session (env {ENV}).",
    )


def pytest_configure(config) -> None:
    path = config.getoption("flake_log_file", None) or os.environ.get("PYTEST_FLAKE_LOG", "")
    # xdist workers forward their reports to the controller: only the controller records and writes
    if path and not hasattr(config, "workerinput"):
        config.pluginmanager.register(Recorder(config, path), "observability-flakes-recorder")


class _Test:
    __slots__ = ("attempts", "duration", "outcome", "passed", "phase", "trace")

    def __init__(self) -> None:
        self.attempts = 0  # reruns seen (the final attempt is added when the document is written)
        self.duration = 0.0
        self.outcome: str | None = None  # failed | error | rerun (the last failing report's)
        self.passed = False  # its call phase passed (last attempt)
        self.phase = "call"
        self.trace: str | None = None


class Recorder:
    """Collects the session's reports, then writes the document (never raising)."""

    def __init__(self, config, path: str) -> None:
        import time

        self.config = config
        self.path = path
        self.tests: dict[str, _Test] = {}
        self.reruns = 0
        self.skipped = 0
        self.started = time.time()
        self.monotonic = time.monotonic()
        self._scrubber: Callable[[str], str] | None = None

    def _test(self, nodeid: str) -> _Test:
        test = self.tests.get(nodeid)
        if test is None:
            test = self.tests[nodeid] = _Test()
        return test

    def pytest_runtest_logreport(self, report) -> None:
        try:
            self._record(report)
        except Exception as exc:  # the telemetry never breaks a session
            self._warn(f"a report of {getattr(report, 'nodeid', '?')} was not recorded ({exc!r})")

    def _record(self, report) -> None:
        outcome = report.outcome
        test = self._test(report.nodeid)
        when = report.when if report.when in PHASES else "call"  # a crashed xdist worker's report says "???"
        test.duration += float(getattr(report, "duration", 0.0) or 0.0)
        if outcome == "rerun":  # pytest-rerunfailures: this attempt failed, another follows
            self.reruns += 1
            test.attempts += 1
            test.outcome, test.phase, test.passed = "rerun", when, False
            if test.trace is None:
                test.trace = _text(report)
        elif outcome == "failed":
            test.outcome = "failed" if when == "call" else "error"
            test.phase, test.passed, test.trace = when, False, _text(report)
        elif outcome == "passed" and when == "call":
            test.passed = True
        elif outcome == "skipped" and not hasattr(report, "wasxfail") and when in ("setup", "call"):
            self.skipped += 1

    def pytest_collectreport(self, report) -> None:
        try:
            if report.failed:
                test = self._test(report.nodeid or "<collection>")
                test.outcome, test.phase, test.trace = "error", "collect", _text(report)
        except Exception as exc:
            self._warn(f"a collection report was not recorded ({exc!r})")

    def pytest_sessionfinish(self, session, exitstatus) -> None:
        try:
            self._write(session, int(exitstatus))
        except Exception as exc:
            self._warn(f"not written to {self.path} ({type(exc).__name__}: {exc})")

    def _warn(self, message: str) -> None:
        try:
            line = f"flake telemetry: warning: {self._scrub(message)}"
            reporter = self.config.pluginmanager.get_plugin("terminalreporter")
            if reporter is not None:
                reporter.write_line(line, yellow=True)
            else:
                import sys

                sys.stderr.write(line + "\n")
        except Exception:
            pass

    def _scrubbed_tail(self, text: str) -> str:
        """The trace's last TRACE_LIMIT bytes, secrets scrubbed. Only its last SCRUB_WINDOW bytes are
        scrubbed: a trace of many MB (a huge repr) scrubbed whole slowed the session's end for every
        secret; a secret cut by that window is in the part clipped after scrubbing."""
        data = text.encode("utf-8")
        window = data[-SCRUB_WINDOW:].decode("utf-8", "ignore") if len(data) > SCRUB_WINDOW else text
        scrubbed = self._scrub(window)
        kept = scrubbed.encode("utf-8")
        if len(data) <= TRACE_LIMIT and len(kept) <= TRACE_LIMIT:
            return scrubbed
        tail = kept[-TRACE_LIMIT:].decode("utf-8", "ignore")
        return f"[... {max(len(data) - len(tail.encode('utf-8')), 0)} bytes clipped]\n" + tail

    def _scrub(self, text: str) -> str:
        if self._scrubber is None:
            from observability import secrets

            self._scrubber = secrets.scrubber()  # once per session: the environment's secrets, compiled
        return self._scrubber(text)

    def _write(self, session, exitstatus: int) -> None:
        # Two sessions writing one file (tox environments in parallel, two terminals): each reads the
        # earlier document and writes it back with its own session, so without the lock the one that
        # writes last drops the other's session.
        with locked(self.path, self._warn):
            self._write_locked(session, exitstatus)

    def _write_locked(self, session, exitstatus: int) -> None:
        import time

        previous, warning = load_previous(self.path)
        if warning:
            self._warn(warning)
        history = previous_history(previous)
        meta = session_meta(
            started=self.started,
            duration=time.monotonic() - self.monotonic,
            exit_status=exitstatus,
            counts=self._counts(session),
            rootdir=str(getattr(self.config, "rootpath", "") or ""),
        )
        document = {
            "schema_version": SCHEMA_VERSION,
            "meta": meta,
            "events": self._events(meta, history),
            "history": history,
        }
        write_atomically(self.path, document)

    def _counts(self, session) -> dict[str, int]:
        failed = sum(1 for t in self.tests.values() if t.outcome == "failed" and not t.passed)
        errors = sum(1 for t in self.tests.values() if t.outcome == "error")
        passed = sum(1 for t in self.tests.values() if t.passed and t.outcome != "error")
        collected = int(getattr(session, "testscollected", 0) or 0)
        return {
            "collected": max(collected, passed + failed),
            "passed": passed,
            "failed": failed,
            "errors": errors,
            "skipped": self.skipped,
            "rerun": self.reruns,
        }

    def _events(self, meta: dict[str, Any], history: list[dict[str, Any]]) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        earlier = _failed_earlier_on(meta.get("commit"), history)
        for raw_nodeid, test in self.tests.items():
            if test.outcome is None and not (test.passed and earlier):
                continue  # passed, and nothing failed earlier on this commit
            # A parametrize id is the parameter's value: a credential passed as one is in the nodeid.
            nodeid = self._scrub(raw_nodeid)
            if test.outcome == "error":
                outcome = "error"
            elif test.outcome in ("failed", "rerun") and test.passed:
                outcome = "flaky"  # failed, then passed on a rerun
            elif test.outcome is not None:
                outcome = test.outcome  # failed; rerun when the session ended before its last attempt
            elif test.passed and nodeid in earlier:
                outcome = "flaky"  # failed in an earlier session on this commit, passes now
            else:
                continue
            previous = earlier.get(nodeid) if outcome == "flaky" and test.outcome is None else None
            events.append(
                {
                    "nodeid": nodeid,
                    "outcome": outcome,
                    "phase": test.phase,
                    "duration": round(test.duration, 3),
                    "attempts": test.attempts + 1,
                    "trace": self._scrubbed_tail(test.trace) if test.trace else None,
                    "earlier_run_url": previous.get("run_url") if previous else None,
                    "earlier_started_at": previous.get("started_at") if previous else None,
                }
            )
        order = {"error": 0, "failed": 1, "rerun": 2, "flaky": 3}
        events.sort(key=lambda e: (order[e["outcome"]], e["nodeid"]))
        return events[:EVENTS_LIMIT]


LOCK_WAIT = 60.0  # seconds a session waits for another one writing the same file, then writes anyway
LOCK_PAUSE = 0.05


def _pause(seconds: float) -> None:
    import time

    time.sleep(seconds)


@contextmanager
def locked(path: str, warn: Callable[[str], None]) -> Iterator[None]:
    """Hold an exclusive flock on the directory of ``path`` (no lock file is left behind) while the
    earlier document is read and the new one written; where there is no flock (Windows) or the
    directory cannot be opened, go on unlocked (the write then reports its own error)."""
    import time

    try:
        import fcntl

        directory = os.path.dirname(os.path.abspath(path))
        os.makedirs(directory, exist_ok=True)
        fd = os.open(directory, os.O_RDONLY)
    except (ImportError, OSError):
        yield
        return
    try:
        deadline = time.monotonic() + LOCK_WAIT
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    warn(f"another session held {directory} for {LOCK_WAIT:g} s; writing without waiting more")
                    break
                _pause(LOCK_PAUSE)
            except OSError:
                break  # a file system without flock
        yield
    finally:
        os.close(fd)  # releases the lock


def _text(report) -> str | None:
    try:
        text = report.longreprtext
    except Exception:
        return None
    return text or None


def clip(text: str, limit: int = TRACE_LIMIT) -> str:
    """The last ``limit`` bytes of ``text`` (UTF-8, never a split character), marked when cut."""
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    marker = f"[... {len(data) - limit} bytes clipped]\n"
    return marker + data[-limit:].decode("utf-8", "ignore")


def _failed_earlier_on(commit: str | None, history: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """nodeid -> the newest earlier session on ``commit`` where it failed or errored."""
    found: dict[str, dict[str, Any]] = {}
    if not commit:
        return found
    for entry in history:  # newest first
        if entry.get("commit") != commit:
            continue
        for event in entry.get("events", []):
            if event.get("outcome") in FAILING and event.get("nodeid") not in found:
                found[event["nodeid"]] = entry
    return found


# --- the document: shared with `observability ci flakes` ------------------------------------------------


def session_key(entry: dict[str, Any]) -> tuple:
    """What tells one session from another: the GitHub run (id, attempt) and its start, else start + commit.
    The start stays in the key under Actions because a matrix's jobs share one run id and attempt."""
    if entry.get("run_id"):
        return ("run", str(entry["run_id"]), str(entry.get("run_attempt")), entry.get("started_at"))
    return ("local", entry.get("started_at"), entry.get("commit"))


def history_entry(document: dict[str, Any]) -> dict[str, Any]:
    """The history entry of a document's own session (meta and the outcome of each event)."""
    meta = document["meta"]
    return {
        "started_at": meta["started_at"],
        "finished_at": meta.get("finished_at"),
        "commit": meta.get("commit"),
        "branch": meta.get("branch"),
        "run_id": meta.get("run_id"),
        "run_attempt": meta.get("run_attempt"),
        "run_url": meta.get("run_url"),
        "exit_status": meta.get("exit_status"),
        "events": [{"nodeid": e["nodeid"], "outcome": e["outcome"]} for e in document["events"][:HISTORY_EVENTS_LIMIT]],
    }


def load_previous(path: str) -> tuple[dict[str, Any] | None, str | None]:
    """The document an earlier session left at ``path`` (None when absent) and a warning when it was
    damaged: then it is renamed aside (``<path>.damaged-<UTC time>``) and a fresh history starts."""
    import json

    try:
        with open(path, "rb") as handle:
            raw = handle.read(PREVIOUS_MAX_BYTES + 1)
    except FileNotFoundError:
        return None, None
    problem = None
    if len(raw) > PREVIOUS_MAX_BYTES:
        problem = f"more than {PREVIOUS_MAX_BYTES:,} bytes (this plugin writes a few MiB at most)"
    else:
        try:
            document = json.loads(raw)
            problem = shape_problem(document) or _schema_problem(document)
        except (ValueError, RecursionError) as exc:
            problem = f"not valid JSON ({exc})"
    if problem is None:
        return document, None
    import time

    aside = f"{path}.damaged-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}"
    os.replace(path, aside)
    return None, f"{path}: {problem}; kept aside as {aside}, a fresh history starts"


def shape_problem(document: Any) -> str | None:
    """What makes ``document`` unusable as earlier telemetry (None: usable): the fields this plugin reads."""
    if not isinstance(document, dict):
        return "not a JSON object"
    if not isinstance(document.get("meta"), dict) or not isinstance(document["meta"].get("started_at"), str):
        return "field meta.started_at: missing or not a string"
    for field in ("events", "history"):
        if not isinstance(document.get(field), list):
            return f"field {field}: missing or not a list"
    for i, event in enumerate(document["events"]):
        if (
            not isinstance(event, dict)
            or not isinstance(event.get("nodeid"), str)
            or event.get("outcome") not in OUTCOMES
        ):
            return f"field events[{i}]: not an event with a nodeid and an outcome"
    for i, entry in enumerate(document["history"]):
        if not isinstance(entry, dict) or not isinstance(entry.get("events"), list):
            return f"field history[{i}]: not an entry with events"
        if not isinstance(entry.get("started_at"), str):
            return f"field history[{i}].started_at: missing or not a string"
        for j, event in enumerate(entry["events"]):
            if not isinstance(event, dict) or not isinstance(event.get("nodeid"), str):
                return f"field history[{i}].events[{j}]: not an event with a nodeid"
    return None


def _schema_problem(document: Any) -> str | None:
    """The first field of ``document`` that schemas/ci_flake_telemetry.schema.json refuses: its fields are
    copied into the new document's history, so one wrong type would make every later file unreadable to
    ``ci flakes`` (or, a value that is not hashable, stop the plugin writing at all)."""
    from observability import schemas

    problems = schemas.errors("ci_flake_telemetry", document)
    if not problems:
        return None
    where, message = problems[0]
    return f"field {schemas.json_path(where)}: {message[:200]}"


def previous_history(previous: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The history of the new document: the earlier document's session, then its history, newest first."""
    if previous is None:
        return []
    entries = [history_entry(previous), *previous["history"]]
    seen: set[tuple] = set()
    kept = []
    for entry in sorted(entries, key=lambda e: e["started_at"], reverse=True):
        key = session_key(entry)
        if key not in seen:
            seen.add(key)
            kept.append(entry)
    return kept[:HISTORY_LIMIT]


def _iso(seconds: float) -> str:
    import time

    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def _git(rootdir: str, *args: str) -> str | None:
    import subprocess

    try:
        done = subprocess.run(
            ["git", *args], cwd=rootdir or None, capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    out = done.stdout.strip()
    return out if done.returncode == 0 and out else None


def session_meta(
    *, started: float, duration: float, exit_status: int, counts: dict[str, int], rootdir: str, environ=os.environ
) -> dict[str, Any]:
    import platform
    import sys

    commit = environ.get("GITHUB_SHA") or _git(rootdir, "rev-parse", "HEAD")
    branch = environ.get("GITHUB_HEAD_REF") or environ.get("GITHUB_REF_NAME")
    if not branch:
        branch = _git(rootdir, "rev-parse", "--abbrev-ref", "HEAD")
        branch = None if branch == "HEAD" else branch
    actions = environ.get("GITHUB_ACTIONS") == "true"
    run_id = environ.get("GITHUB_RUN_ID") if actions else None
    attempt = environ.get("GITHUB_RUN_ATTEMPT") if actions else None
    run_url = None
    if run_id:
        server = environ.get("GITHUB_SERVER_URL", "https://github.com").rstrip("/")
        run_url = f"{server}/{environ.get('GITHUB_REPOSITORY', '')}/actions/runs/{run_id}"
        if attempt:
            run_url += f"/attempts/{attempt}"
    return {
        "started_at": _iso(started),
        "finished_at": _iso(started + duration),
        "duration": round(duration, 3),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": sys.platform,
        "exit_status": exit_status,
        **counts,
        "commit": commit or None,
        "branch": branch or None,
        "run_id": run_id or None,
        "run_attempt": int(attempt) if attempt and attempt.isdigit() else None,
        "run_url": run_url,
        "workflow": (environ.get("GITHUB_WORKFLOW") or None) if actions else None,
        "job": (environ.get("GITHUB_JOB") or None) if actions else None,
    }


def write_atomically(path: str, document: dict[str, Any]) -> None:
    """Temp file beside ``path``, fsync, os.replace (observability.fsio): the old document or the new one."""
    from pathlib import Path

    from observability import fsio

    fsio.atomic_write_text(Path(path), fsio.canonical_json(document, indent=2))
