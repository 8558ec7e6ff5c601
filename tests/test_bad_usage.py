"""Bad usage and unusable paths: a clear error, never a traceback (issue 10, item 10).

One table, every job: an unparseable OBS_NOW, a workspace that is a file, a malformed --repo,
an output path that is a directory (or a file where a directory should be), an input that is
a directory, deeply nested JSON or YAML. Each runs the real CLI in a real process on a copy of
the demo workspace and must end with the documented exit code (2 for usage or configuration,
1 with invalid_input for a bad input), one JSON summary on stdout whose error_code and message
name the path or variable, no traceback on stderr, and nothing written under the workspace but
what the runtime writes for every run (its log line, sequence, locks and the job's heartbeat).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests._support_inprocess import run_cli_in_process as run_cli
from tests._support_robust import clean_env, snapshot

NOW = "2026-01-08T00:07:00Z"
SIGNAL_LOG = "sample/signal_notifier.csv"
TELEMETRY = "reports/portfolio_samples/router_demo/telemetry.json"
WEEKLY = ["weekly", "report", "--dry-run-webhook", "--week-start", "2026-01-05", "--job-id", "20260108T000700Z-weekly"]
DEEP = b"[" * 100_000  # past the parser's own stack: a RecursionError before the fix
DEEPISH = b'{"a": ' + b"[" * 70 + b"]" * 70 + b"}"  # parses, but nests past the 64-level bound
REVIEW = ("out/weekly_report/20260108T000700Z-weekly.md",)  # the failure review weekly writes for a bad input


def _runtime_file(rel: str) -> bool:
    """What every run writes, failed or not: the log line, its sequence, locks, the job's heartbeat."""
    name = rel.rsplit("/", 1)[-1]
    return (
        rel.startswith("ops/")
        and rel.count("/") == 1
        and (
            name in ("automation_runs.log", "automation_runs.sequence")
            or name.endswith(".lock")
            or name.endswith("heartbeat.json")
        )
    )


# -- setups -------------------------------------------------------------------------------
def mkdir(rel: str) -> Callable[[Path], None]:
    def setup(ws: Path) -> None:
        target = ws / rel
        if target.is_file():
            target.unlink()
        target.mkdir(parents=True, exist_ok=True)
        (target / "keep").write_text("x\n", encoding="utf-8")

    return setup


def touch(rel: str) -> Callable[[Path], None]:
    def setup(ws: Path) -> None:
        target = ws / rel
        if target.is_dir():
            shutil.rmtree(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("a file\n", encoding="utf-8")

    return setup


def write(rel: str, data: bytes) -> Callable[[Path], None]:
    def setup(ws: Path) -> None:
        (ws / rel).parent.mkdir(parents=True, exist_ok=True)
        (ws / rel).write_bytes(data)

    return setup


def inputs_config(destination: str) -> Callable[[Path], None]:
    text = (
        "version: 1\ninputs:\n  - name: summary\n    destination: " + destination + "\n"
        "    repository:\n      url: git+file:///nonexistent/research.git\n      path: x.json\n"
    )
    return write("configs/observability/inputs.yaml", text.encode())


def both(*setups: Callable[[Path], None]) -> Callable[[Path], None]:
    def setup(ws: Path) -> None:
        for one in setups:
            one(ws)

    return setup


@dataclass
class Case:
    id: str
    args: list[str]
    names: tuple[str, ...]
    setup: Callable[[Path], None] | None = None
    env: dict[str, str] = field(default_factory=dict)
    exit: int = 2
    code: str = "invalid_config"
    # Written on purpose by a failed run and listed in its artefacts (weekly's failure review).
    reports: tuple[str, ...] = ()


CASES = [
    # The fixed clock
    Case(
        "obs-now-latency",
        ["latency", "sample", "--input", SIGNAL_LOG],
        ("OBS_NOW", "garbage"),
        env={"OBS_NOW": "garbage"},
    ),
    Case("obs-now-weekly", WEEKLY, ("OBS_NOW",), env={"OBS_NOW": "garbage"}),
    Case("obs-now-cycle", ["cycle", "--store", "{store}", "--", "verify"], ("OBS_NOW",), env={"OBS_NOW": "garbage"}),
    # The workspace
    Case(
        "workspace-file-latency",
        ["latency", "sample", "--workspace", "{ws}/afile", "--input", SIGNAL_LOG],
        ("afile", "--workspace"),
        setup=touch("afile"),
    ),
    Case(
        "workspace-env-file-dashboard",
        ["dashboard", "export", "--dry-run-upload"],
        ("afile", "OBS_WORKSPACE"),
        setup=touch("afile"),
        env={"OBS_WORKSPACE": "{ws}/afile"},
    ),
    Case(
        "workspace-file-cycle",
        ["cycle", "--store", "{store}", "--workspace", "{ws}/afile", "--", "verify"],
        ("afile", "--workspace"),
        setup=touch("afile"),
    ),
    # The alert inbox
    Case("alerts-repo", ["alerts", "sync", "--repo", "not-a-repo", "--dry-run"], ("--repo", "not-a-repo")),
    Case(
        "alerts-repo-env",
        ["alerts", "sync", "--dry-run"],
        ("GITHUB_REPOSITORY", "nope"),
        env={"GITHUB_REPOSITORY": "nope"},
    ),
    Case(
        "alerts-failure-repo",
        ["alerts", "report-failure", "--job", "latency", "--workflow", "w", "--repo", "x", "--dry-run"],
        ("--repo",),
    ),
    Case(
        "alerts-cache-dir",
        ["alerts", "sync", "--repo", "a/b", "--dry-run", "--cache", "adir"],
        ("--cache adir", "is a directory"),
        setup=mkdir("adir"),
    ),
    Case(
        "alerts-drill-scratch-file",
        ["alerts", "drill", "--dry-run", "--scratch", "{ws}/afile"],
        ("--scratch", "afile", "is a file"),
        setup=touch("afile"),
    ),
    # latency outputs and inputs
    Case(
        "latency-raw-output-dir",
        ["latency", "sample", "--input", SIGNAL_LOG, "--raw-output", "adir"],
        ("--raw-output adir", "is a directory"),
        setup=mkdir("adir"),
    ),
    Case(
        "latency-rollup-output-dir",
        ["latency", "sample", "--input", SIGNAL_LOG, "--rollup-output", "adir"],
        ("--rollup-output adir", "is a directory"),
        setup=mkdir("adir"),
    ),
    Case(
        "latency-raw-output-under-a-file",
        ["latency", "sample", "--input", SIGNAL_LOG, "--raw-output", "afile/x.csv"],
        ("--raw-output afile/x.csv", "afile is a file"),
        setup=touch("afile"),
    ),
    Case(
        "latency-lock-file-dir",
        ["latency", "sample", "--input", SIGNAL_LOG, "--lock-file", "adir"],
        ("--lock-file adir", "is a directory"),
        setup=mkdir("adir"),
    ),
    Case(
        "latency-input-dir",
        ["latency", "sample", "--input", "adir"],
        ("adir", "is a directory"),
        setup=mkdir("adir"),
        exit=1,
        code="invalid_input",
    ),
    Case(
        "latency-config-dir",
        ["latency", "sample", "--input", SIGNAL_LOG, "--alert-config", "adir"],
        ("adir", "is a directory"),
        setup=mkdir("adir"),
    ),
    Case(
        "latency-deep-config",
        ["latency", "sample", "--input", SIGNAL_LOG],
        ("configs/observability/latency_alert.yaml", "nested deeper"),
        setup=write("configs/observability/latency_alert.yaml", DEEP),
    ),
    Case(
        "latency-deep-state",
        ["latency", "sample", "--input", SIGNAL_LOG],
        ("ops/latency_state.json", "nested deeper"),
        setup=write("ops/latency_state.json", DEEP),
        exit=1,
        code="invalid_input",
    ),
    # weekly
    Case(
        "weekly-deep-summary",
        WEEKLY,
        ("reports/portfolio_summary.json", "nested deeper"),
        setup=write("reports/portfolio_summary.json", DEEP),
        exit=1,
        code="invalid_input",
        reports=REVIEW,
    ),
    Case(
        "weekly-deepish-summary",
        WEEKLY,
        ("reports/portfolio_summary.json", "nested deeper"),
        setup=write("reports/portfolio_summary.json", DEEPISH),
        exit=1,
        code="invalid_input",
        reports=REVIEW,
    ),
    Case(
        "weekly-deep-telemetry",
        WEEKLY,
        (TELEMETRY, "nested deeper"),
        setup=write(TELEMETRY, DEEP),
        exit=1,
        code="invalid_input",
        reports=REVIEW,
    ),
    Case(
        "weekly-deep-manifest",
        WEEKLY,
        ("out/dashboard/manifest.json", "nested deeper"),
        setup=write("out/dashboard/manifest.json", DEEP),
        exit=1,
        code="invalid_input",
        reports=REVIEW,
    ),
    Case(
        "weekly-deep-payload-schema",
        [*WEEKLY, "--payload-schema", "s.json"],
        ("--payload-schema", "s.json"),
        setup=write("s.json", DEEP),
    ),
    Case(
        "weekly-summary-dir",
        WEEKLY,
        ("reports/portfolio_summary.json", "is a directory"),
        setup=mkdir("reports/portfolio_summary.json"),
        exit=1,
        code="invalid_input",
        reports=REVIEW,
    ),
    Case(
        "weekly-out-dir-file", [*WEEKLY, "--out-dir", "afile"], ("--out-dir afile", "is a file"), setup=touch("afile")
    ),
    Case(
        "weekly-replay-out-dir-file",
        ["weekly", "replay", "--week-start", "2026-01-05", "--out-dir", "afile"],
        ("--out-dir afile", "is a file"),
        setup=touch("afile"),
    ),
    # dashboard
    Case(
        "dashboard-output-dir-file",
        ["dashboard", "export", "--dry-run-upload", "--output-dir", "afile"],
        ("--output-dir afile", "is a file"),
        setup=touch("afile"),
    ),
    Case(
        "dashboard-history-dir-file",
        ["dashboard", "export", "--dry-run-upload", "--history-dir", "afile"],
        ("--history-dir afile", "is a file"),
        setup=touch("afile"),
    ),
    Case(
        "dashboard-heartbeat-dir",
        ["dashboard", "export", "--dry-run-upload", "--heartbeat-file", "adir"],
        ("--heartbeat-file adir", "is a directory"),
        setup=mkdir("adir"),
    ),
    Case(
        "dashboard-manifest-dir",
        ["dashboard", "export", "--dry-run-upload", "--manifest", "out/dashboard/m"],
        ("--manifest out/dashboard/m", "is a directory"),
        setup=mkdir("out/dashboard/m"),
    ),
    Case(
        "dashboard-deep-provenance",
        ["dashboard", "export", "--dry-run-upload", "--provenance", "p.json"],
        ("p.json", "nested deeper"),
        setup=write("p.json", DEEP),
    ),
    Case(
        "dashboard-sync-to-file",
        ["dashboard", "export", "--dry-run-upload", "--sync-to", "file://{ws}/afile"],
        ("afile", "is a file"),
        setup=touch("afile"),
        code="invalid_store_url",
    ),
    Case(
        "dashboard-verify-history-file",
        ["dashboard", "verify", "--history-dir", "afile"],
        ("--history-dir afile", "is a file"),
        setup=touch("afile"),
    ),
    # verify
    Case(
        "verify-deep-schedules",
        ["verify", "--schedules", "s.yaml"],
        ("s.yaml", "nested deeper"),
        setup=write("s.yaml", DEEP),
    ),
    Case("verify-schedules-dir", ["verify", "--schedules", "adir"], ("adir", "is a directory"), setup=mkdir("adir")),
    # sync and state
    Case(
        "sync-bundle-dir-file",
        ["sync", "push", "--to", "{store}", "--bundle-dir", "afile"],
        ("--bundle-dir afile", "is a file"),
        setup=touch("afile"),
    ),
    Case(
        "sync-weekly-dir-file",
        ["sync", "push", "--to", "{store}", "--weekly-dir", "afile"],
        ("--weekly-dir afile", "is a file"),
        setup=touch("afile"),
    ),
    Case(
        "sync-to-file",
        ["sync", "push", "--to", "file://{ws}/afile"],
        ("--to", "afile", "is a file"),
        setup=touch("afile"),
        code="invalid_store_url",
    ),
    # (A state store URL naming a file is store_unreachable, exit 1: tests/test_state_errors.py.)
    Case(
        "state-pull-workspace-file",
        ["state", "pull", "--store", "{store}", "--workspace", "{ws}/afile"],
        ("afile", "--workspace"),
        setup=touch("afile"),
    ),
    # inputs
    Case("inputs-config-dir", ["inputs", "pull", "--config", "adir"], ("adir", "is a directory"), setup=mkdir("adir")),
    Case(
        "inputs-destination-under-a-file",
        ["inputs", "pull"],
        ("inputs.yaml", "summary", "afile", "is a file"),
        setup=both(touch("afile"), inputs_config("afile/summary.json")),
    ),
    Case(
        "inputs-out-inputs-file",
        ["inputs", "pull"],
        ("out/inputs", "is a file"),
        setup=both(touch("out/inputs"), inputs_config("reports/x.json")),
    ),
    Case(
        "inputs-deep-config",
        ["inputs", "pull"],
        ("inputs.yaml", "nested deeper"),
        setup=write("configs/observability/inputs.yaml", DEEP),
    ),
    # An empty path (an unset variable or action input): it named the workspace root, so the bundle was written
    # there and `aws s3 sync {bundle_dir} ...` would have published the whole workspace.
    Case(
        "dashboard-output-dir-empty",
        ["dashboard", "export", "--dry-run-upload", "--output-dir", ""],
        ("--output-dir", "empty"),
    ),
    Case(
        "dashboard-history-dir-empty",
        ["dashboard", "export", "--dry-run-upload", "--history-dir", " "],
        ("--history-dir", "empty"),
    ),
    Case(
        "latency-raw-output-empty",
        ["latency", "sample", "--input", SIGNAL_LOG, "--raw-output", ""],
        ("--raw-output", "empty"),
    ),
    Case("weekly-out-dir-empty", [*WEEKLY, "--out-dir", ""], ("--out-dir", "empty")),
    Case("sync-bundle-dir-empty", ["sync", "push", "--to", "{store}", "--bundle-dir", ""], ("--bundle-dir", "empty")),
    # cycle
    Case(
        "cycle-out-cycle-file",
        ["cycle", "--store", "{store}", "--", "verify"],
        ("out/cycle", "is a file"),
        setup=touch("out/cycle"),
    ),
]


# One worker runs this file (the demo workspace is made once, not once per worker under -n).
pytestmark = pytest.mark.xdist_group("bad_usage")


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    """The demo workspace (every job run once) and an initialised file:// state store beside it."""
    root = tmp_path_factory.mktemp("bad-usage")
    env = clean_env(OBS_NOW=NOW)
    done = run_cli(["demo", "--dir", str(root / "ws")], env=env, timeout=180)
    assert done.returncode == 0, done.stderr
    done = run_cli(["state", "init", "--store", f"file://{root / 'store'}", "--workspace", str(root / "ws")], env=env)
    assert done.returncode == 0, done.stderr
    return root


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_usage_is_a_clear_error_and_stores_nothing(base, tmp_path, case):
    ws = tmp_path / "ws"
    shutil.copytree(base / "ws", ws, symlinks=True)
    if case.setup:
        case.setup(ws)

    def fill(text: str) -> str:
        return text.replace("{ws}", str(ws)).replace("{store}", f"file://{base / 'store'}")

    env = clean_env(**{"OBS_NOW": NOW, **{k: fill(v) for k, v in case.env.items()}})
    before = snapshot(ws, exclude=set())
    done = run_cli([fill(a) for a in case.args], env=env, cwd=ws)

    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == case.exit, f"exit {done.returncode}, expected {case.exit}\n{done.stdout}\n{done.stderr}"
    try:
        summary = json.loads(done.stdout)
    except ValueError:
        pytest.fail(f"stdout is not one JSON document:\n{done.stdout}\nstderr:\n{done.stderr}")
    assert summary["status"] == "error", summary
    diagnostics = summary["diagnostics"]
    assert diagnostics["error_code"] == case.code, diagnostics
    for fragment in case.names:
        assert fragment in diagnostics["error_message"], (fragment, diagnostics["error_message"])
    assert diagnostics["error_message"] in done.stderr, "the error is not explained on stderr"

    assert set(case.reports) <= set(summary.get("artefacts", [])), summary
    after = snapshot(ws, exclude=set())
    changed = sorted(
        rel
        for rel in set(before) | set(after)
        if before.get(rel) != after.get(rel) and not _runtime_file(rel) and rel not in case.reports
    )
    assert not changed, f"a refused run changed the workspace: {changed}"


def test_every_job_command_is_in_the_table():
    """The table covers every job command group (a new one needs its bad-usage cases here)."""
    groups = {c.args[0] for c in CASES}
    assert groups >= {"latency", "weekly", "dashboard", "verify", "alerts", "sync", "state", "inputs", "cycle"}


def test_the_depth_bound_leaves_ordinary_nesting_alone():
    from observability import fsio

    shallow = "[" * fsio.MAX_JSON_DEPTH + "]" * fsio.MAX_JSON_DEPTH
    assert fsio.parse_json(shallow) is not None
    with pytest.raises(json.JSONDecodeError) as raised:
        fsio.parse_json('{"a": "[[[", "b": ' + "[" * 80 + "]" * 80 + "}")
    # The error points at the bracket that goes one level too deep (brackets inside strings do not count).
    assert raised.value.pos == len('{"a": "[[[", "b": ') + fsio.MAX_JSON_DEPTH - 1


def test_deep_nesting_in_the_automation_log_is_a_finding_not_a_crash(base, tmp_path):
    ws = tmp_path / "ws"
    shutil.copytree(base / "ws", ws, symlinks=True)
    with open(ws / "ops" / "automation_runs.log", "ab") as handle:
        handle.write(b"[" * 3000 + b"\n")
    done = run_cli(["verify"], env=clean_env(OBS_NOW=NOW), cwd=ws)
    assert "Traceback" not in done.stderr, done.stderr
    assert json.loads(done.stdout)["status"] in ("warning", "ok")


def test_demo_into_a_file_says_so(tmp_path):
    target = tmp_path / "afile"
    target.write_text("mine\n", encoding="utf-8")
    done = run_cli(["demo", "--dir", str(target)], env=clean_env(OBS_NOW=NOW))
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert f"--dir {target}: is a file" in done.stderr
    assert target.read_text(encoding="utf-8") == "mine\n"


def test_demo_jobs_never_import_a_module_from_the_current_directory(tmp_path):
    """The demo started each job as `python -m observability`, which puts the current directory first on
    sys.path: a click.py lying where the operator ran `observability demo` was imported by every job."""
    import subprocess
    import sys

    hostile = tmp_path / "cwd"
    hostile.mkdir()
    marker = tmp_path / "imported"
    for name in ("click.py", "yaml.py", "observability.py"):
        (hostile / name).write_text(f"open({str(marker)!r}, 'a').write({name!r})\nraise SystemExit(99)\n")
    script = Path(sys.executable).with_name("observability")  # the console script: the cwd is not on its path
    argv = [str(script)] if script.exists() else [sys.executable, "-P", "-m", "observability"]
    done = subprocess.run(
        [*argv, "demo", "--dir", str(tmp_path / "demo")],
        cwd=hostile,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert not marker.exists(), f"a demo job imported {marker.read_text()} from the current directory"
    assert done.returncode == 0, done.stdout + done.stderr
    assert "latency: status=dry_run exit=0" in done.stdout


# A finite number far past anything sensible overflowed a timedelta, a socket timeout or a process timeout
# inside the job (internal_error with an OverflowError traceback): refused by Click as bad usage instead.
@pytest.mark.parametrize(
    "args, option",
    [
        (["dashboard", "verify", "--max-age-hours", "1e23"], "--max-age-hours"),
        (["dashboard", "export", "--dry-run-upload", "--upload-timeout", "1e300"], "--upload-timeout"),
        ([*WEEKLY, "--request-timeout", "1e300"], "--request-timeout"),
        (["verify", "--max-heartbeat-age-hours", "1e300"], "--max-heartbeat-age-hours"),
        (["latency", "sample", "--input", SIGNAL_LOG, "--lock-timeout", "1e300"], "--lock-timeout"),
    ],
    ids=["max-age-hours", "upload-timeout", "request-timeout", "max-heartbeat-age-hours", "lock-timeout"],
)
def test_a_huge_finite_number_is_bad_usage_not_a_crash(base, tmp_path, args, option):
    ws = tmp_path / "ws"
    shutil.copytree(base / "ws", ws, symlinks=True)
    before = snapshot(ws, exclude=set())
    done = run_cli([*args, "--workspace", str(ws)], env=clean_env(OBS_NOW=NOW), cwd=ws)
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 2, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    assert f"Invalid value for '{option}'" in done.stderr, done.stderr
    assert snapshot(ws, exclude=set()) == before
