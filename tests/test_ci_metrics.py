"""`observability ci metrics` (issue 14 item 3): reports from a real pytest-cov run, the trend history
(one entry per run attempt, bounded), the coverage-drop alert, hostile XML and bad usage."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from _support_ci import real_reports, run_ci
from _support_robust import clean_env, unmeasured
from observability import alertitem, schemas
from observability.alerts.sources import AlertFileSource
from observability.state import scopes
from observability.workspace import Workspace

METRICS = "ops/ci/ci_metrics.json"


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> tuple[Path, Path]:
    return real_reports(tmp_path_factory.mktemp("pytest_cov"))


@pytest.fixture
def ws(tmp_path, reports) -> Path:
    (tmp_path / "ops").mkdir()
    for report in reports:
        (tmp_path / report.name).write_bytes(report.read_bytes())
    return tmp_path


def _history(ws: Path) -> list[dict]:
    doc = json.loads((ws / METRICS).read_text())
    assert schemas.errors("ci_metrics", doc) == []
    return doc["entries"]


def _lowered(ws: Path, covered_delta: int, name: str = "low.xml") -> str:
    """The real report with fewer lines covered (what a change that drops tests leaves)."""
    tree = ET.parse(ws / "coverage.xml")
    root = tree.getroot()
    root.set("lines-covered", str(int(root.get("lines-covered")) - covered_delta))
    tree.write(ws / name)
    return name


def test_a_real_pytest_cov_and_junit_run_becomes_one_schema_checked_entry(ws):
    root = ET.parse(ws / "coverage.xml").getroot()
    expected_pct = round(100 * int(root.get("lines-covered")) / int(root.get("lines-valid")), 2)
    code, summary, stderr = run_ci(
        ws,
        "metrics",
        "--coverage-xml",
        "coverage.xml",
        "--junit-xml",
        "junit.xml",
        "--formatter",
        "ruff-format",
        "--formatter-mode",
        "advisory",
        "--formatter-result",
        "fail",
        "--formatter",
        "ruff",
        "--formatter-mode",
        "enforced",
        "--formatter-result",
        "pass",
        GITHUB_RUN_ID="7001",
        GITHUB_RUN_ATTEMPT="2",
        GITHUB_SERVER_URL="https://github.example",
        GITHUB_REPOSITORY="acme/research",
        GITHUB_SHA="0123456789abcdef0123456789abcdef01234567",
        GITHUB_REF_NAME="12/merge",
        GITHUB_HEAD_REF="feature/x",
    )
    assert code == 0 and summary["status"] == "ok", stderr
    [entry] = _history(ws)
    assert entry["run_id"] == "7001" and entry["run_attempt"] == 2
    assert entry["run_url"] == "https://github.example/acme/research/actions/runs/7001"
    assert entry["branch"] == "feature/x" and entry["commit"].startswith("0123456")
    assert entry["coverage"]["line_pct"] == expected_pct and 0 < expected_pct < 100  # unused() is never run
    assert entry["coverage"]["branch_pct"] is not None and entry["coverage"]["branches_valid"] > 0
    assert entry["coverage"]["baseline_pct"] is None  # nothing on main yet
    tests = entry["tests"]
    assert (tests["total"], tests["passed"], tests["failed"], tests["errors"], tests["skipped"]) == (3, 1, 1, 0, 1)
    assert {s["test"] for s in tests["slowest"]} == {
        "test_calc::test_positive",
        "test_calc::test_wrong_on_purpose",
        "test_calc::test_skipped",
    }
    assert entry["conclusion"] == "failure"  # derived: the JUnit report has a failure
    assert entry["formatters"] == [
        {"name": "ruff-format", "mode": "advisory", "result": "fail"},
        {"name": "ruff", "mode": "enforced", "result": "pass"},
    ]
    assert summary["diagnostics"]["inputs"] == ["coverage.xml", "junit.xml"]
    assert summary["artefacts"] == [METRICS]  # no heartbeat: CI follows pushes, verify would call it stale
    assert not (ws / "ops" / "ci_heartbeat.json").exists()


def test_a_replay_replaces_its_entry_another_attempt_adds_one_and_the_history_is_bounded(ws):
    config = ws / "configs" / "observability"
    config.mkdir(parents=True)
    (config / "ci.yaml").write_text("history_limit: 10\n")
    for conclusion in ("failure", "success"):  # the same run recorded twice: the second wins
        code, summary, _ = run_ci(ws, "metrics", "--run-id", "1", "--branch", "main", "--conclusion", conclusion)
        assert code == 0
    assert summary["replaced"] is True
    assert [(e["run_id"], e["conclusion"]) for e in _history(ws)] == [("1", "success")]
    run_ci(ws, "metrics", "--run-id", "1", "--run-attempt", "2", "--branch", "main")
    assert [(e["run_id"], e["run_attempt"]) for e in _history(ws)] == [("1", 1), ("1", 2)]
    for run in range(2, 13):
        run_ci(ws, "metrics", "--run-id", str(run), "--branch", "main")
    kept = [e["run_id"] for e in _history(ws)]
    assert kept == [str(r) for r in range(3, 13)]  # 13 recorded, the 3 oldest dropped


def test_the_coverage_drop_alert_fires_holds_through_a_replay_and_resolves(ws):
    def record(run: str, coverage: str, branch: str = "main"):
        code, summary, stderr = run_ci(
            ws,
            "metrics",
            "--run-id",
            run,
            "--branch",
            branch,
            "--coverage-xml",
            coverage,
            now=f"2026-11-2{run}T10:00:00Z",
        )
        assert code == 0, stderr
        return summary

    for run in ("1", "2", "3"):
        assert record(run, "coverage.xml")["alerts"] == []
    assert (
        not (ws / "ops" / "ci_alerts.json").exists()
        or json.loads((ws / "ops/ci_alerts.json").read_text())["alerts"] == []
    )
    low = _lowered(ws, 1)  # one line of the tiny project is ~7 points
    assert record("4", low, branch="feature")["status"] == "ok"  # another branch never fires it
    fired = record("5", low)
    assert fired["status"] == "warning" and fired["coverage"]["delta_pct"] < -1
    [alert] = fired["alerts"]
    assert alert["status"] == "firing" and alert["severity"] == "warning" and alert["rule"] == "coverage_drop"
    assert alert["id"] == alertitem.fingerprint("ci", "coverage_drop", "main")
    assert alert["evidence"]["baseline_pct"] == fired["coverage"]["baseline_pct"]
    # the alert inbox reads it like any other job's alert file
    source = AlertFileSource("ci", "ops/ci_alerts.json", "ci-oncall", "docs/ci.md")
    report = source.collect(Workspace.open(str(ws)))
    assert report.authoritative and [a.fingerprint for a in report.alerts] == [alert["id"]]
    replay = record("5", low)  # the same run again: still one breach
    assert replay["alerts"][0]["breach_count"] == 1 and replay["alerts"][0]["started_at"] == alert["started_at"]
    again = record("6", low)  # the baseline (median of earlier runs) is still the old coverage
    assert again["alerts"][0]["breach_count"] == 2 and again["alerts"][0]["breach_streak"] == 2
    resolved = record("7", "coverage.xml")
    assert resolved["status"] == "ok" and resolved["alerts"][0]["status"] == "resolved"
    report = source.collect(Workspace.open(str(ws)))
    assert report.alerts == [] and report.resolved_at == {alert["id"]: "2026-11-27T10:00:00Z"}
    assert record("8", "coverage.xml")["alerts"] == []


BILLION_LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE coverage [\n <!ENTITY a "aaaaaaaaaa">\n'
    ' <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">\n]>\n<coverage line-rate="&b;"/>\n'
)
EXTERNAL = (
    '<?xml version="1.0"?>\n<!DOCTYPE coverage [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n<coverage>&x;</coverage>\n'
)
PARAMETER = '<?xml version="1.0"?>\n<!DOCTYPE c [<!ENTITY % p SYSTEM "http://127.0.0.1:9/x.dtd"> %p;]>\n<coverage/>\n'
SUBSET = '<?xml version="1.0"?>\n<!DOCTYPE coverage [<!ELEMENT coverage ANY>]>\n<coverage line-rate="1"/>\n'
UNDECLARED = '<?xml version="1.0"?>\n<!DOCTYPE coverage SYSTEM "coverage-04.dtd">\n<coverage>&x;</coverage>\n'


@pytest.mark.parametrize(
    "option,text,expected",
    [
        (
            "--coverage-xml",
            BILLION_LAUGHS,
            r"x\.xml:\d+: coverage report refused: a DOCTYPE with an internal DTD subset",
        ),
        ("--coverage-xml", EXTERNAL, r"x\.xml:\d+: coverage report refused"),
        ("--coverage-xml", PARAMETER, r"x\.xml:\d+: coverage report refused"),
        ("--coverage-xml", SUBSET, r"x\.xml:2: coverage report refused: a DOCTYPE with an internal DTD subset"),
        ("--coverage-xml", UNDECLARED, r"x\.xml:3: coverage report refused: a reference to an entity"),
        ("--junit-xml", BILLION_LAUGHS.replace("coverage", "testsuites"), r"x\.xml:\d+: JUnit report refused"),
        ("--coverage-xml", "<coverage line-rate='0.5'>", r"x\.xml:1: coverage report is not well-formed XML"),
        ("--coverage-xml", "<report/>", r"x\.xml: not a Cobertura coverage report \(root element <report>"),
        ("--coverage-xml", '<coverage line-rate="1.5"/>', r"x\.xml: attribute line-rate=1\.5 of <coverage> must be"),
        ("--coverage-xml", '<coverage line-rate="nan"/>', r"x\.xml: attribute line-rate='nan' of <coverage> must be"),
        (
            "--coverage-xml",
            '<coverage lines-valid="3" lines-covered="4"/>',
            r"x\.xml: lines-covered=4 is more than lines-valid=3",
        ),
        ("--junit-xml", "<coverage/>", r"x\.xml: not a JUnit report \(root element <coverage>"),
        ("--junit-xml", '<testsuite><testcase name="a" time="-1"/></testsuite>', r"attribute time='-1' of <testcase>"),
    ],
    ids=lambda v: v if isinstance(v, str) and len(v) < 20 else None,
)
def test_hostile_or_malformed_xml_is_refused_naming_the_file_and_nothing_is_written(tmp_path, option, text, expected):
    (tmp_path / "ops").mkdir()
    (tmp_path / "x.xml").write_text(text)
    code, summary, stderr = run_ci(tmp_path, "metrics", "--run-id", "1", option, "x.xml")
    assert code == 1 and summary["status"] == "error", stderr
    assert re.search(expected, summary["diagnostics"]["error_message"]), summary["diagnostics"]
    assert not (tmp_path / METRICS).exists()


def test_a_missing_report_is_missing_input(tmp_path):
    (tmp_path / "ops").mkdir()
    code, summary, _ = run_ci(tmp_path, "metrics", "--run-id", "1", "--coverage-xml", "nowhere.xml")
    assert code == 1 and summary["diagnostics"]["error_code"] == "missing_input"
    assert summary["diagnostics"]["error_message"] == "nowhere.xml: coverage report not found"


@pytest.mark.parametrize(
    "config,args,expected",
    [
        (
            "coverage:\n  drop_treshold_pct: 2\n",
            [],
            r"ci\.yaml:2: field coverage: Additional properties .*did you mean 'drop_threshold_pct'",
        ),
        (
            "coverage:\n  drop_threshold_pct: -1\n",
            [],
            r"ci\.yaml:2: field coverage\.drop_threshold_pct: -1 is less than or equal",
        ),
        ("history_limit: 5\n", [], r"ci\.yaml:1: field history_limit: 5 is less than the minimum of 10"),
        ("health:\n  trend_runs: .nan\n", [], r"ci\.yaml:2: field health\.trend_runs: not a finite number"),
        (
            "",
            ["--formatter", "ruff", "--formatter-mode", "enforced"],
            r"--formatter given 1 time\(s\), --formatter-mode 1, --formatter-result 0",
        ),
        (
            "",
            ["--formatter", "ruff", "--formatter-mode", "enforced", "--formatter-result", "pass"] * 2,
            r"--formatter 'ruff': given twice",
        ),
        (
            "",
            ["--formatter", "bad name", "--formatter-mode", "enforced", "--formatter-result", "pass"],
            r"--formatter 'bad name'",
        ),
        ("", ["--conclusion", "exploded"], r"--conclusion 'exploded': one of success, failure"),
        ("", ["--commit", "not-a-sha"], r"--commit 'not-a-sha': a commit SHA"),
        ("", ["--run-url", "javascript:alert(1)"], r"--run-url"),
    ],
)
def test_bad_configuration_and_usage_exit_2_naming_the_file_line_and_field(tmp_path, config, args, expected):
    (tmp_path / "ops").mkdir()
    if config:
        (tmp_path / "configs" / "observability").mkdir(parents=True)
        (tmp_path / "configs" / "observability" / "ci.yaml").write_text(config)
    code, summary, stderr = run_ci(tmp_path, "metrics", "--run-id", "1", *args)
    assert code == 2 and summary["diagnostics"]["error_code"] == "invalid_config", stderr
    assert re.search(expected, summary["diagnostics"]["error_message"]), summary["diagnostics"]["error_message"]
    assert not (tmp_path / METRICS).exists()


def test_without_a_run_id_off_github_it_says_what_to_pass(tmp_path):
    (tmp_path / "ops").mkdir()
    code, summary, _ = run_ci(tmp_path, "metrics")
    assert code == 2 and "pass --run-id" in summary["diagnostics"]["error_message"]


def test_a_damaged_history_fails_the_run_names_the_file_and_is_left_as_it_is(tmp_path):
    (tmp_path / "ops" / "ci").mkdir(parents=True)
    (tmp_path / METRICS).write_text('{"version": 1, "entries": [{"run_id": 5}]}')
    code, summary, _ = run_ci(tmp_path, "metrics", "--run-id", "1")
    assert code == 1 and summary["diagnostics"]["error_message"].startswith(f"{METRICS}: field entries[0]")
    assert (tmp_path / METRICS).read_text() == '{"version": 1, "entries": [{"run_id": 5}]}'
    (tmp_path / METRICS).write_text("{not json")
    code, summary, _ = run_ci(tmp_path, "metrics", "--run-id", "1")
    assert code == 1 and "move it aside" in summary["diagnostics"]["error_message"]


def test_the_ci_state_scope_carries_its_history_and_alert_file_and_the_alerts_scope_reads_it():
    ci = scopes.get("ci")
    for path in ("ops/ci/ci_metrics.json", "ops/ci_alerts.json", "ops/alert_inbox.json", "ops/ci_heartbeat.json"):
        assert ci.pulls(path), path
    assert not ci.pulls("ops/latency_state.json")
    assert scopes.get("alerts").pulls("ops/ci_alerts.json")


def test_the_history_survives_between_runs_through_the_state_store(ws):
    """Two cycles on a file:// store, the workspace's ops/ci wiped between them: the second run's
    history still holds the first run's entry (the `ci` scope pulled and pushed it)."""
    import shutil

    from _support_inprocess import run_cli_in_process
    from _support_robust import clean_env

    store = f"file://{ws.parent / 'store'}"
    env = clean_env(OBS_NOW="2026-11-20T10:00:00Z")
    assert run_cli_in_process(["state", "init", "--store", store], env=env).returncode == 0
    for run in ("1", "2"):
        args = ["cycle", "--store", store, "--workspace", str(ws), "--", "ci", "metrics", "--run-id", run]
        done = run_cli_in_process([*args, "--branch", "main", "--coverage-xml", "coverage.xml"], env=env)
        assert done.returncode == 0, done.stderr
        assert [e["run_id"] for e in _history(ws)][-1] == run
        shutil.rmtree(ws / "ops" / "ci")
    done = run_cli_in_process(["state", "pull", "--store", store, "--workspace", str(ws), "--for", "ci"], env=env)
    assert done.returncode == 0, done.stderr
    assert [e["run_id"] for e in _history(ws)] == ["1", "2"]


def test_the_template_config_holds_the_defaults_and_init_writes_it(tmp_path):
    from observability.config.ci import CiConfig, load_ci
    from observability.scaffold import scaffold

    template = Path(__file__).resolve().parents[1] / "ops-template" / "configs" / "observability" / "ci.yaml"
    assert load_ci(template, display="ci.yaml") == CiConfig()
    written = scaffold(tmp_path / "new", repository="acme/ops", ref="0" * 40)
    assert "configs/observability/ci.yaml" in written
    assert (tmp_path / "new" / "configs/observability/ci.yaml").read_text() == template.read_text()


def test_given_another_run_id_the_environment_never_describes_it(tmp_path):
    """Under workflow_run the environment is the recording workflow's: its SHA, branch and URL would be
    wrong for the run recorded, so only the options describe a run named by --run-id."""
    (tmp_path / "ops").mkdir()
    github = {
        "GITHUB_RUN_ID": "900",
        "GITHUB_RUN_ATTEMPT": "3",
        "GITHUB_SHA": "f" * 40,
        "GITHUB_REF_NAME": "main",
        "GITHUB_REPOSITORY": "acme/research",
    }
    code, _, stderr = run_ci(tmp_path, "metrics", "--run-id", "77", **github)
    assert code == 0, stderr
    [entry] = _history(tmp_path)
    assert (entry["run_id"], entry["run_attempt"], entry["run_url"], entry["commit"], entry["branch"]) == (
        "77",
        1,
        None,
        None,
        None,
    )
    args = ["--run-attempt", "2", "--run-url", "https://github.com/acme/research/actions/runs/78"]
    code, _, stderr = run_ci(
        tmp_path, "metrics", "--run-id", "78", *args, "--commit", "ABCDEF1", "--branch", "dev", **github
    )
    assert code == 0, stderr
    entry = _history(tmp_path)[-1]
    assert (entry["run_attempt"], entry["commit"], entry["branch"]) == (2, "abcdef1", "dev")
    assert entry["run_url"].endswith("/runs/78")


def test_a_rerun_test_counts_once_with_its_last_attempts_outcome(tmp_path):
    """pytest-rerunfailures writes one <testcase> per attempt into the JUnit report (the earlier ones
    empty, as if passed): a flaky test and a test failing on every attempt are 2 tests, not 4."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "pytest.ini").write_text("[pytest]\n")
    (project / "test_r.py").write_text(
        "from pathlib import Path\n"
        "MARK = Path(__file__).with_name('failed-once')\n"
        "def test_flaky():\n"
        "    if not MARK.exists():\n"
        "        MARK.write_text('x')\n"
        "        assert False, 'first attempt'\n"
        "def test_broken():\n"
        "    assert False, 'every attempt'\n"
        "def test_fine():\n"
        "    pass\n"
    )
    junit_xml = tmp_path / "junit.xml"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "rerunfailures", "--reruns", "1"]
        + [f"--junitxml={junit_xml}", "test_r.py"],
        cwd=project,
        env=unmeasured(clean_env(PYTEST_ADDOPTS="")),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1 and "2 rerun" in done.stdout, done.stdout + done.stderr
    assert len(list(ET.parse(junit_xml).getroot().iter("testcase"))) == 5  # what pytest-rerunfailures writes
    (tmp_path / "ws" / "ops").mkdir(parents=True)
    code, summary, stderr = run_ci(
        tmp_path / "ws", "metrics", "--run-id", "5", "--branch", "main", "--junit-xml", str(junit_xml)
    )
    assert code == 0, stderr
    [entry] = _history(tmp_path / "ws")
    tests = entry["tests"]
    assert (tests["total"], tests["passed"], tests["failed"], tests["errors"], tests["skipped"]) == (3, 2, 1, 0, 0)
    assert entry["conclusion"] == "failure"
    assert len({s["test"] for s in tests["slowest"]}) == len(tests["slowest"]) == 3  # each test once


def test_a_junit_report_of_very_many_cases_is_read_in_bounded_memory(tmp_path, monkeypatch):
    """Every test case was kept (name and seconds) to pick the five slowest: a report within the 256 MB
    read limit holds some 20 million cases, gigabytes in memory. Only the slowest are kept now; the
    counts, the total duration and the slowest five are the same."""
    import tracemalloc

    from observability.ci import xmlreports

    # Rerun attempts are folded by test id: at most DEDUP_LIMIT ids are remembered (200,000; lowered
    # here so a small report goes past it), the cases beyond are counted without being kept.
    monkeypatch.setattr(xmlreports, "DEDUP_LIMIT", 1_000)
    cases = 30_000
    body = "".join(f'<testcase classname="t" name="test_{i}" time="{(i % 997) / 1000}"/>' for i in range(cases))
    report = tmp_path / "junit.xml"
    report.write_text(f"<testsuites><testsuite>{body}</testsuite></testsuites>")
    tracemalloc.start()
    try:
        tests = xmlreports.junit(report, display="junit.xml")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (tests.total, tests.passed) == (cases, cases)
    assert tests.duration_seconds == round(sum((i % 997) / 1000 for i in range(cases)), 3)
    every = sorted(((f"t::test_{i}", (i % 997) / 1000) for i in range(cases)), key=lambda c: (-c[1], c[0]))
    assert list(tests.slowest) == every[:5]
    assert peak < 1_500_000, peak  # every case kept: some 4.5 MB
