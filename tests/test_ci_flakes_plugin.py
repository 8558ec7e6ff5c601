"""The pytest flake telemetry plugin (observability.ci.pytest_flakes), run for real: pytest in a subprocess
on a small generated suite with a test that fails on its first attempt only, under pytest-rerunfailures
and pytest-xdist; then a second session on the same commit, a damaged earlier file, an unwritable path.
One pytest process per scenario (the suite's CPU budget): each asserts everything it shows."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from jsonschema import Draft202012Validator, FormatChecker

from _support_robust import clean_env

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = json.loads((ROOT / "schemas" / "ci_flake_telemetry.schema.json").read_text())
TOKEN = "ghp_" + "Q7x" * 12  # token-shaped: scrubbed by its shape
SERVICE_SECRET = "s3cr3t-service-value-9f8e"  # scrubbed because its variable's name says TOKEN
SHA = "0123456789abcdef0123456789abcdef01234567"

SUITE = """
import os
from pathlib import Path

import pytest

MARKS = Path(os.environ["FLAKE_MARKS"])


def test_passes():
    pass


def test_flaky_first_attempt():
    marker = MARKS / "flaky_first_attempt"
    if not marker.exists():
        marker.write_text("failed once")
        assert False, "first attempt fails"


def test_leaks_a_secret():
    if os.environ.get("FIX_IT") != "1":
        raise AssertionError("upstream said " + os.environ["MY_SERVICE_TOKEN"] + " and " + os.environ["SHAPED"])


@pytest.fixture
def broken():
    raise RuntimeError("setup broke")


def test_setup_error(broken):
    pass


@pytest.mark.skip(reason="not here")
def test_skipped():
    pass


def test_long_trace():
    if os.environ.get("FIX_IT") != "1":
        raise AssertionError("x" * 9000 + " end of a long message")
"""


def _validate(document: dict) -> None:
    errors = sorted(Draft202012Validator(SCHEMA, format_checker=FormatChecker()).iter_errors(document), key=str)
    assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors]


def _pytest(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    suite = tmp_path / "suite"
    suite.mkdir(exist_ok=True)
    (suite / "test_generated.py").write_text(SUITE)
    marks = tmp_path / "marks"
    marks.mkdir(exist_ok=True)
    environ = {k: v for k, v in clean_env().items() if k not in ("PYTEST_FLAKE_LOG", "PYTEST_ADDOPTS")}
    environ |= {"FLAKE_MARKS": str(marks), "MY_SERVICE_TOKEN": SERVICE_SECRET, "SHAPED": TOKEN, **env}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly", *args]
    return subprocess.run(command, cwd=suite, env=environ, capture_output=True, text=True, timeout=120, check=False)


def _actions(run_id: str, attempt: str) -> dict[str, str]:
    return {
        "GITHUB_ACTIONS": "true",
        "GITHUB_SHA": SHA,
        "GITHUB_REF_NAME": "main",
        "GITHUB_SERVER_URL": "https://github.example",
        "GITHUB_REPOSITORY": "acme/research",
        "GITHUB_RUN_ID": run_id,
        "GITHUB_RUN_ATTEMPT": attempt,
        "GITHUB_WORKFLOW": "CI",
        "GITHUB_JOB": "tests",
    }


def test_reruns_a_second_attempt_on_the_same_commit_and_the_digest(tmp_path):
    log = tmp_path / "telemetry" / "flake_runs.json"
    first = _pytest(tmp_path, "-p", "rerunfailures", "--reruns", "1", f"--flake-log-file={log}", **_actions("77", "1"))
    assert first.returncode == 1, first.stdout + first.stderr
    assert "flake telemetry: warning" not in first.stdout + first.stderr
    text = log.read_text()
    assert SERVICE_SECRET not in text and TOKEN not in text
    document = json.loads(text)
    _validate(document)
    meta = document["meta"]
    assert meta["exit_status"] == 1 and meta["commit"] == SHA and meta["branch"] == "main"
    assert meta["run_id"] == "77" and meta["run_attempt"] == 1 and meta["workflow"] == "CI" and meta["job"] == "tests"
    assert meta["run_url"] == "https://github.example/acme/research/actions/runs/77/attempts/1"
    assert (meta["collected"], meta["passed"], meta["failed"], meta["errors"], meta["skipped"]) == (6, 2, 2, 1, 1)
    assert meta["rerun"] == 4  # the flaky test once, the two failures and the setup error once each
    assert meta["started_at"] <= meta["finished_at"] and meta["python"].startswith(f"{sys.version_info[0]}.")
    events = {e["nodeid"].split("::")[1]: e for e in document["events"]}
    assert set(events) == {"test_flaky_first_attempt", "test_leaks_a_secret", "test_setup_error", "test_long_trace"}
    flaky = events["test_flaky_first_attempt"]
    assert (flaky["outcome"], flaky["attempts"], flaky["phase"]) == ("flaky", 2, "call")
    assert "first attempt fails" in flaky["trace"] and flaky["earlier_run_url"] is None
    leak = events["test_leaks_a_secret"]
    assert leak["outcome"] == "failed" and leak["attempts"] == 2 and "upstream said *** and ***" in leak["trace"]
    error = events["test_setup_error"]
    assert (error["outcome"], error["phase"]) == ("error", "setup") and "setup broke" in error["trace"]
    long = events["test_long_trace"]["trace"]
    assert len(long.encode()) <= 4096 + 64 and long.startswith("[... ") and "end of a long message" in long
    assert document["history"] == []

    # A re-run attempt on the same commit: the failure is fixed, so that test is flaky across sessions.
    second = _pytest(tmp_path, f"--flake-log-file={log}", FIX_IT="1", **_actions("77", "2"))
    assert second.returncode == 1, second.stdout + second.stderr  # only the setup error is left
    document = json.loads(log.read_text())
    _validate(document)
    events = {e["nodeid"].split("::")[1]: e for e in document["events"]}
    assert set(events) == {"test_leaks_a_secret", "test_setup_error", "test_long_trace"}
    for name in ("test_leaks_a_secret", "test_long_trace"):
        assert events[name]["outcome"] == "flaky" and events[name]["trace"] is None
        assert events[name]["earlier_run_url"] == "https://github.example/acme/research/actions/runs/77/attempts/1"
    assert events["test_setup_error"]["outcome"] == "error"
    [entry] = document["history"]
    assert entry["run_attempt"] == 1 and entry["exit_status"] == 1 and entry["commit"] == SHA
    assert {e["nodeid"].split("::")[1]: e["outcome"] for e in entry["events"]}["test_flaky_first_attempt"] == "flaky"
    assert not [p for p in log.parent.iterdir() if p.name != log.name], "a temp file was left behind"

    # The digest of that file (the real document, not a hand-made one).
    from click.testing import CliRunner

    from _support_cli import Run
    from observability.cli import cli

    workspace = tmp_path / "ws"
    (workspace / "ops").mkdir(parents=True)
    summary = tmp_path / "summary.md"
    env = {"OBS_NOW": document["meta"]["finished_at"], "GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}
    env |= {"GITHUB_OUTPUT": str(tmp_path / "output"), "GITHUB_SHA": None, "OBS_FAIL_ON": None}
    run = Run(
        CliRunner().invoke(cli, ["ci", "flakes", "--workspace", str(workspace), "--telemetry", str(log)], env=env)
    )
    assert run.exit_code == 0, run
    assert run.summary["sessions"] == 2 and run.summary["flaky_tests"] == 3
    digest = json.loads((workspace / "out" / "ci" / "flakes.json").read_text())
    rows = {t["nodeid"].split("::")[1]: t for t in digest["tests"]}
    assert rows["test_leaks_a_secret"]["flaky"] == 1 and rows["test_leaks_a_secret"]["failures"] == 1
    assert rows["test_leaks_a_secret"]["flake_rate"] == 0.5
    assert rows["test_setup_error"]["failures"] == 2 and rows["test_setup_error"]["flaky"] == 0
    assert rows["test_flaky_first_attempt"]["last_run_url"].endswith("/runs/77/attempts/1")
    markdown = summary.read_text()
    assert (
        "Flaky tests, last 14 day(s)" in markdown
        and "](https://github.example/acme/research/actions/runs/77" in markdown
    )
    assert SERVICE_SECRET not in markdown and TOKEN not in markdown


def test_under_xdist_only_the_controller_records_and_writes(tmp_path):
    log = tmp_path / "flake_runs.json"
    done = _pytest(tmp_path, "-n", "2", "-p", "rerunfailures", "--reruns", "1", f"--flake-log-file={log}", FIX_IT="1")
    assert done.returncode == 1, done.stdout + done.stderr
    document = json.loads(log.read_text())
    _validate(document)
    meta = document["meta"]
    assert meta["run_id"] is None and meta["run_url"] is None and meta["workflow"] is None  # not under Actions
    assert (meta["collected"], meta["passed"], meta["errors"], meta["rerun"]) == (6, 4, 1, 2)
    outcomes = {e["nodeid"].split("::")[1]: (e["outcome"], e["attempts"]) for e in document["events"]}
    assert outcomes == {"test_flaky_first_attempt": ("flaky", 2), "test_setup_error": ("error", 2)}
    assert [p.name for p in tmp_path.iterdir() if p.is_file()] == ["flake_runs.json"]


def test_a_damaged_earlier_file_is_kept_aside_and_a_fresh_history_starts(tmp_path):
    log = tmp_path / "flake_runs.json"
    log.write_text('{"meta": {"started_at": "2026-01-01T00:00:00Z"}, "events": "not a list", "history": []}')
    done = _pytest(tmp_path, "-k", "passes or flaky", PYTEST_FLAKE_LOG=str(log))  # on by the variable alone
    assert done.returncode == 1, done.stdout + done.stderr  # the flaky test fails: no rerun plugin
    assert "flake telemetry: warning:" in done.stdout and "field events: missing or not a list" in done.stdout
    [aside] = [p for p in tmp_path.iterdir() if p.name.startswith("flake_runs.json.damaged-")]
    assert '"not a list"' in aside.read_text()
    document = json.loads(log.read_text())
    _validate(document)
    assert document["history"] == [] and [e["outcome"] for e in document["events"]] == ["failed"]


def test_a_plugin_failure_leaves_the_session_outcome_alone(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("a file where a directory should be")
    done = _pytest(tmp_path, "-k", "passes", f"--flake-log-file={blocker / 'flake_runs.json'}")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "flake telemetry: warning: not written to" in done.stdout and "1 passed" in done.stdout


def test_importing_the_plugin_imports_nothing_else_of_the_package():
    code = "import sys, observability.ci.pytest_flakes; print(sorted(m for m in sys.modules if m.startswith('observability')))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "['observability', 'observability.ci', 'observability.ci.pytest_flakes']"


def test_off_without_the_option_or_the_variable(monkeypatch):
    from observability.ci import pytest_flakes

    registered = []

    class Config:  # the two things pytest_configure asks of pytest's Config
        def getoption(self, name, default=None):
            return None

        class pluginmanager:  # noqa: N801
            register = staticmethod(lambda plugin, name: registered.append(name))

    monkeypatch.delenv("PYTEST_FLAKE_LOG", raising=False)
    pytest_flakes.pytest_configure(Config())
    assert registered == []
    monkeypatch.setenv("PYTEST_FLAKE_LOG", "x.json")
    pytest_flakes.pytest_configure(Config())
    assert registered == ["observability-flakes-recorder"]


def test_the_scrubber_finds_secrets_by_variable_name_spelling_and_shape():
    from observability import secrets

    environ = {
        "DEPLOY_PASSWORD": "pa ss/wörd&1",
        "SLACK_CI_WEBHOOK": "https://hooks.slack.com/services/T0/B0/abcdefgh",
        "SHORT_TOKEN": "abc",  # under secrets.MIN_LENGTH: would garble ordinary text
        "PATH": "/usr/bin",
    }
    scrub = secrets.scrubber(environ)
    text = (
        'raw pa ss/wörd&1, encoded pa%20ss%2Fw%C3%B6rd%261, json "pa ss/w\\u00f6rd&1", '
        "hook https://hooks.slack.com/services/T1/B1/zzzz, url https://bob:hunter22@db.example/x, "
        "aws AKIAABCDEFGHIJKLMNOP, header Bearer eyJhbGciOi.abc, abc stays, /usr/bin stays"
    )
    assert scrub(text) == (
        'raw ***, encoded ***, json "***", hook ***, url https://***@db.example/x, '
        "aws ***, header ***, abc stays, /usr/bin stays"
    )


def test_a_secret_in_a_parametrize_id_is_scrubbed_from_the_nodeid(tmp_path):
    """A parametrize id is the parameter's value: a credential given as a parameter was written into the
    telemetry (events and, from there, every later history, digest and CI health page) in clear."""
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "test_param.py").write_text(
        "import os, pytest\n\n"
        "@pytest.mark.parametrize('token', [os.environ['MY_SERVICE_TOKEN'], os.environ['SHAPED']])\n"
        "def test_with(token):\n    assert token == 'right'\n"
    )
    log = tmp_path / "flake_runs.json"
    done = _pytest(tmp_path, "test_param.py", f"--flake-log-file={log}")
    assert done.returncode == 1, done.stdout + done.stderr
    text = log.read_text()
    assert SERVICE_SECRET not in text and TOKEN not in text
    document = json.loads(text)
    _validate(document)
    assert [e["nodeid"] for e in document["events"]] == ["test_param.py::test_with[***]"] * 2


def test_an_earlier_file_of_the_right_shape_but_wrong_types_is_kept_aside(tmp_path):
    """The earlier document's fields are copied into the new one's history. Checked only for the fields the
    plugin reads, a wrong type was carried along: an object as commit stopped every later session from
    writing (unhashable), a string as exit status made every later file one `ci flakes` refuses."""
    log = tmp_path / "flake_runs.json"
    earlier = {
        "schema_version": 1,
        "meta": {"started_at": "2026-01-01T00:00:00Z", "commit": {"sha": SHA}, "exit_status": "bad"},
        "events": [],
        "history": [],
    }
    log.write_text(json.dumps(earlier))
    done = _pytest(tmp_path, "-k", "passes", PYTEST_FLAKE_LOG=str(log))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "flake telemetry: warning:" in done.stdout and "field meta" in done.stdout, done.stdout
    assert "not written" not in done.stdout
    [aside] = [p for p in tmp_path.iterdir() if p.name.startswith("flake_runs.json.damaged-")]
    assert json.loads(aside.read_text()) == earlier
    document = json.loads(log.read_text())
    _validate(document)
    assert document["history"] == []


def test_an_earlier_file_too_large_is_kept_aside_unread(tmp_path, monkeypatch):
    from observability.ci import pytest_flakes

    monkeypatch.setattr(pytest_flakes, "PREVIOUS_MAX_BYTES", 1000)
    log = tmp_path / "flake_runs.json"
    log.write_text(json.dumps({"meta": {"started_at": "2026-01-01T00:00:00Z"}, "pad": "x" * 2000}))
    previous, warning = pytest_flakes.load_previous(str(log))
    assert previous is None and warning is not None and "more than 1,000 bytes" in warning
    assert not log.exists() and len(list(tmp_path.glob("flake_runs.json.damaged-*"))) == 1


def test_the_scrubber_finds_a_secret_in_base64_and_cut_in_the_middle():
    """A Basic auth header carries base64("user:" + token), and pytest shows a long value cut in the middle
    ("assert 'sekrit-value...-zzzzzz' == ..."): both showed the secret, or most of it, in the trace."""
    import base64

    from observability import secrets

    value = "sekrit-value-0123456789abcdefghij-zzzzzz"
    scrub = secrets.scrubber({"MY_API_TOKEN": value})
    for before in ("", "u", "us", "user:"):
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            encoded = encode((before + value + "!").encode()).decode()
            scrubbed = scrub(f"Authorization: Basic {encoded}")
            assert "***" in scrubbed and len(scrubbed) < len(encoded), (before, scrubbed)
            assert "MDEyMzQ1Njc4OWFiY2RlZmdoaW" not in scrubbed and "AxMjM0NTY3ODlhYmNkZWZnaGlq" not in scrubbed
    cut = "E  AssertionError: assert 'sekrit-value...efghij-zzzzzz' == 'sekrit-other...00'"
    assert scrub(cut) == "E  AssertionError: assert '***...***' == 'sekrit-other...00'"
    assert scrub("nothing ... of it...here, sekrit") == "nothing ... of it...here, sekrit"


def test_a_crashed_xdist_worker_is_a_failed_test_in_a_valid_document(tmp_path):
    """xdist reports a test whose worker died (a segfault, os._exit, the OOM killer) with phase "???": the
    plugin wrote that phase (not in the schema, so `ci flakes` refused the file and the next session set
    it aside with its history) and counted the test as a setup/teardown error, not a failure."""
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "test_crash.py").write_text("import os\n\n\ndef test_crashes():\n    os._exit(3)\n")
    log = tmp_path / "flake_runs.json"
    done = _pytest(tmp_path, "test_crash.py", "-n", "1", f"--flake-log-file={log}")
    assert done.returncode == 1 and "crashed" in done.stdout, done.stdout + done.stderr
    document = json.loads(log.read_text())
    _validate(document)
    [event] = document["events"]
    assert (event["nodeid"], event["outcome"], event["phase"]) == ("test_crash.py::test_crashes", "failed", "call")
    assert "crashed" in event["trace"] and (document["meta"]["failed"], document["meta"]["errors"]) == (1, 0)


def test_two_sessions_writing_one_file_keep_both_sessions(tmp_path, monkeypatch):
    """Each session reads the earlier document and writes it back with its own session: two sessions
    finishing together (parallel tox environments on one PYTEST_FLAKE_LOG) each read the file before the
    other wrote it, and the last to write dropped the other's session. The second session here finishes
    while the first is between its read and its write."""
    import threading

    from observability.ci import pytest_flakes as plugin

    class Config:
        rootpath = tmp_path

        class pluginmanager:  # noqa: N801
            get_plugin = staticmethod(lambda name: None)

    class Session:
        testscollected = 1

    log = str(tmp_path / "flake_runs.json")
    first, second = plugin.Recorder(Config(), log), plugin.Recorder(Config(), log)
    second.started = first.started + 2  # another session: its own start
    waiting_or_done = threading.Event()
    real_write = plugin.write_atomically
    threads: list[threading.Thread] = []

    def second_session() -> None:
        second.pytest_sessionfinish(Session(), 0)
        waiting_or_done.set()

    def write(path, document):
        if not threads:  # the first session, between its read and its write: the second one finishes
            threads.append(threading.Thread(target=second_session))
            threads[0].start()
            waiting_or_done.wait()
        real_write(path, document)

    def pause(seconds):  # the second session waits for the first one's lock
        waiting_or_done.set()

    monkeypatch.setattr(plugin, "write_atomically", write)
    monkeypatch.setattr(plugin, "_pause", pause, raising=False)
    first.pytest_sessionfinish(Session(), 0)
    threads[0].join()
    document = json.loads((tmp_path / "flake_runs.json").read_text())
    _validate(document)
    assert document["meta"]["started_at"] == plugin._iso(second.started)
    assert [entry["started_at"] for entry in document["history"]] == [plugin._iso(first.started)]


def test_only_the_tail_of_a_huge_trace_is_scrubbed_and_a_secret_cut_by_it_is_clipped(tmp_path):
    """Every failing test's whole trace went through the scrubber (every secret, every spelling, every
    "..."), then was clipped to 4 KiB: a few traces of many MB (a huge repr) slowed the end of the session
    by that much. Only a window of the tail (16 KiB) is scrubbed now; what it cuts is clipped anyway."""
    from observability import secrets
    from observability.ci import pytest_flakes as plugin

    window = 16 * 1024
    seen: list[int] = []

    class Config:
        rootpath = tmp_path

        class pluginmanager:  # noqa: N801
            get_plugin = staticmethod(lambda name: None)

    recorder = plugin.Recorder(Config(), str(tmp_path / "flake_runs.json"))
    scrub = secrets.scrubber({"MY_SERVICE_TOKEN": SERVICE_SECRET})

    def counting(text: str) -> str:
        seen.append(len(text))
        return scrub(text)

    recorder._scrubber = counting
    huge = ("x" * 99 + "\n") * 50_000 + f"E   AssertionError: {SERVICE_SECRET} ...{SERVICE_SECRET[-8:]}\n"
    for nodeid, trace in (
        ("t.py::test_huge", huge),
        ("t.py::test_cut", SERVICE_SECRET + "y" * (window - len(SERVICE_SECRET) // 2)),  # half in the window
    ):
        test = recorder._test(nodeid)
        test.outcome, test.trace = "failed", trace
    events = {e["nodeid"]: e["trace"] for e in recorder._events({"commit": None}, [])}
    assert max(seen) <= window, seen
    kept = events["t.py::test_huge"]
    assert SERVICE_SECRET not in kept and SERVICE_SECRET[-8:] not in kept and kept.endswith("*** ...***\n")
    clipped = len(huge.encode()) - len(kept.split("\n", 1)[1].encode())
    assert kept.startswith(f"[... {clipped} bytes clipped]\n")
    cut = events["t.py::test_cut"]
    assert SERVICE_SECRET[len(SERVICE_SECRET) // 2 :] not in cut and len(cut.encode()) <= 4096 + 40
