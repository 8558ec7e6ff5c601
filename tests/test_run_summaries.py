"""What every run leaves on GitHub (runtime._emit): a step summary, failed runs too; an annotation per
firing alert, bounded to GitHub's 10 per level and step; --fail-on; config errors linked to file:line."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from observability import annotation, recovery, runtime
from observability.cli import cli
from observability.errors import ConfigError, InputError
from observability.outputs.rollups import HEADER as ROLLUP_HEADER
from observability.runtime import JobResult

NOW = "2026-01-08T00:07:00Z"


@pytest.fixture
def gh(tmp_path, monkeypatch):
    """A workspace and the runner's environment; returns (workspace, step-summary file)."""
    ws = tmp_path / "repo"
    (ws / "ops").mkdir(parents=True)
    summary = tmp_path / "step_summary.md"
    for name, value in {
        "GITHUB_ACTIONS": "true",
        "GITHUB_STEP_SUMMARY": str(summary),
        "GITHUB_OUTPUT": str(tmp_path / "gh_output"),
        "GITHUB_WORKSPACE": str(ws),
        "GITHUB_REPOSITORY": "acme/ops",
        "GITHUB_RUN_ID": "77",
        "OBS_NOW": NOW,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("OBS_HEARTBEAT_PING_URL", raising=False)
    return ws, summary


def _commit(ws: Path, *paths: str) -> None:
    """Make the checkout a git repository whose commit holds ``paths`` (GitHub links annotations there)."""
    import subprocess

    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(ws), *args], check=True, capture_output=True)

    if not (ws / ".git").exists():
        git("init", "-q")
    git("add", "-f", "--", *paths)
    git("-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-q", "-m", "inputs")


def run(ws: Path, body, **kw) -> int:
    return runtime.run_job("latency", body, workspace=str(ws), job_id=None, **kw)


def commands(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("::")]


def alert(i: int, severity: str = "critical", status: str = "firing", message: str = "p95 over SLO") -> dict:
    return {
        "id": f"a{i}",
        "rule": "latency_slo",
        "source": f"feed_{i:02d}",
        "severity": severity,
        "status": status,
        "message": message,
    }


def test_a_body_that_raises_still_writes_what_failed_and_where_to_look(gh, capsys):
    ws, summary = gh

    def body(ctx):
        raise InputError("ops/latency_state.json: line 1 latency state is not valid JSON (Expecting value)")

    assert run(ws, body) == 1
    out = json.loads(capsys.readouterr().out)  # stdout is still the one JSON summary
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("## ❌ observability latency — failed: `invalid_input` (exit 1)\n")
    assert "```text\nops/latency_state.json: line 1 latency state is not valid JSON (Expecting value)\n```" in text
    assert "- **What to do** (docs/runbook.md): the file named is malformed" in text
    assert '- **Recovering the file** (docs/runbook.md, "Corrupt or missing files"): restore it with ' in text
    assert f"job id `{out['job_id']}` in `ops/automation_runs.log`" in text
    assert f"`observability verify job --job-id {out['job_id']}`" in text
    assert "- **This run**: https://github.com/acme/ops/actions/runs/77" in text
    assert "`ops/latency_job_heartbeat.json`" in text  # the artefacts it did write


def test_an_unexpected_exception_points_at_the_traceback(gh, capsys):
    ws, summary = gh

    def body(ctx):
        raise RuntimeError("boom")

    assert run(ws, body) == 1
    err = capsys.readouterr().err
    # in a property `:` and `,` are escaped; in the message only %, CR and LF need to be
    assert "Traceback" in err and "::error title=observability latency%3A internal_error::RuntimeError: boom" in err
    text = summary.read_text(encoding="utf-8")
    assert "failed: `internal_error` (exit 1)" in text and "```text\nRuntimeError: boom\n```" in text
    assert "- **Traceback**: on this step's stderr" in text


def test_a_job_that_writes_no_summary_gets_a_short_one(gh, capsys):
    ws, summary = gh
    assert run(ws, lambda ctx: JobResult()) == 0
    job_id = json.loads(capsys.readouterr().out)["job_id"]
    assert summary.read_text(encoding="utf-8").startswith(f"## ✅ observability latency — ok\n\nJob `{job_id}` in ")


def test_a_failed_job_with_its_own_summary_gets_the_failure_after_it(gh, capsys):
    ws, summary = gh
    result = JobResult(
        failed=True, summary_markdown="## Own\n", diagnostics={"error_code": "upload_failed", "error_message": "exit 3"}
    )
    assert run(ws, lambda ctx: result) == 1
    text = summary.read_text(encoding="utf-8")
    assert text.index("## Own") < text.index("failed: `upload_failed`") and "(docs/dashboard.md)" in text


def test_off_github_nothing_is_written(gh, capsys, monkeypatch):
    ws, summary = gh
    monkeypatch.delenv("GITHUB_ACTIONS")
    assert run(ws, lambda ctx: JobResult(alerts=[alert(1)])) == 0
    assert not summary.exists() and "::" not in capsys.readouterr().err


def test_each_firing_alert_is_an_annotation_and_the_run_still_succeeds(gh, capsys):
    ws, _ = gh
    alerts = [
        alert(1, message="p95 150,000 ms > SLO: 100% over, 3 windows"),
        alert(2, "warning"),
        alert(3, "critical", "resolved"),
        alert(4, "info"),
    ]
    assert run(ws, lambda ctx: JobResult(alerts=alerts, findings=["alert_firing"])) == 0
    assert commands(capsys.readouterr().err) == [
        "::error title=critical alert latency_slo%3A feed_01::p95 150,000 ms > SLO: 100%25 over, 3 windows",
        "::warning title=warning alert latency_slo%3A feed_02::p95 over SLO",
    ]


def test_a_flood_of_alerts_stays_within_githubs_limit_and_says_how_many_more(gh, capsys):
    ws, summary = gh
    alerts = [alert(i) for i in range(25)] + [alert(100 + i, "warning") for i in range(4)]
    assert run(ws, lambda ctx: JobResult(alerts=alerts, findings=["alert_firing"])) == 0
    lines = commands(capsys.readouterr().err)
    errors = [line for line in lines if line.startswith("::error")]
    assert len(errors) == annotation.PER_LEVEL == 10 and len(lines) == 14
    assert errors[-1].startswith("::error title=observability latency%3A 16 more::16 more not shown as annotations")
    assert "feed_09" in errors[-1] and "; …" in errors[-1]


@pytest.mark.parametrize(
    ("fail_on", "alerts", "exit_code"),
    [
        ("never", [alert(1)], 0),
        ("critical", [alert(1, "warning")], 0),
        ("critical", [alert(1, "critical", "resolved")], 0),
        ("critical", [alert(1)], 1),
        ("warning", [alert(1, "warning")], 1),
    ],
)
def test_fail_on_turns_firing_alerts_into_exit_1_with_status_warning(gh, capsys, fail_on, alerts, exit_code):
    ws, summary = gh
    assert run(ws, lambda ctx: JobResult(alerts=alerts, findings=["alert_firing"]), fail_on=fail_on) == exit_code
    captured = capsys.readouterr()
    out = json.loads(captured.out)
    assert out["status"] == "warning"  # the job worked; only the exit code says the alert failed it
    last = [line for line in captured.err.splitlines() if not line.startswith("::")][-1]
    log = [json.loads(line) for line in (ws / "ops" / "automation_runs.log").read_text().splitlines()]
    if exit_code:
        reason = f"--fail-on {fail_on}: 1 alert(s) firing at {fail_on} or above"
        assert out["diagnostics"]["fail_on"] == reason == log[-1]["diagnostics"]["fail_on"]
        assert f"**Failed on alerts:** {reason}." in summary.read_text(encoding="utf-8")
        assert last.endswith(f" ms - exit 1: {reason}")  # the log's last line says why the step is red
    else:
        assert last.endswith(" ms")
        assert "fail_on" not in out["diagnostics"]


def test_a_config_error_annotation_links_file_line_and_column(gh, capsys):
    ws, _ = gh

    def body(ctx):
        raise ConfigError("configs/x.yaml:3: field a: bad, really", file="configs/x.yaml", line=3, col=5)

    assert run(ws, body) == 2
    assert commands(capsys.readouterr().err) == [
        "::error file=configs/x.yaml,line=3,col=5,title=observability latency%3A invalid_config"
        "::configs/x.yaml:3: field a: bad, really"
    ]


def test_a_config_file_outside_the_checkout_is_not_linked(gh, capsys, tmp_path):
    ws, _ = gh

    def body(ctx):
        raise ConfigError("/etc/x.yaml:3: field a", file=str(tmp_path / "elsewhere.yaml"), line=3)

    assert run(ws, body) == 2
    assert commands(capsys.readouterr().err)[0].startswith("::error title=")


def test_only_the_warnings_github_shows_are_located():
    # Each located file costs a git lookup: 500 skipped rows in 500 run files must not cost 500.
    asked: list[str] = []

    def locate(rel: str) -> str | None:
        asked.append(rel)
        return rel

    warnings = [f"runs/r{i}/metrics.json: line 2: bad; row skipped" for i in range(500)]
    notes = annotation.plan("weekly", "warning", {"warnings": warnings}, [], None, locate)
    assert len(asked) <= annotation.PER_LEVEL
    assert [n.file for n in notes[: annotation.PER_LEVEL - 1]] == [f"runs/r{i}/metrics.json" for i in range(9)]
    assert notes[-1].file is None and "491 more" in notes[-1].message


def test_a_warning_naming_a_file_and_line_links_there_when_the_file_is_in_the_checkout(gh, capsys, tmp_path):
    ws, _ = gh
    (ws / "runs").mkdir()
    (ws / "runs" / "index.csv").write_text("run_id\n", encoding="utf-8")
    (ws / "runs" / "pulled.csv").write_text("run_id\n", encoding="utf-8")
    (tmp_path / "outside.csv").write_text("x\n", encoding="utf-8")
    _commit(ws, "runs/index.csv")

    def body(ctx):
        ctx.warn("runs/index.csv: line 4: sharpe 'x' is not a number; row skipped")
        ctx.warn("runs/index.csv: line 5: sharpe 'y' is not a number; row skipped")
        ctx.warn("runs/missing.csv: line 2: gone; row skipped")  # not a file: not linked
        ctx.warn("runs/pulled.csv: line 2: not in the commit; row skipped")  # GitHub's link would be a 404
        ctx.warn("../outside.csv: line 1: outside the checkout; row skipped")
        ctx.warn("3 rows skipped in total")
        return JobResult(findings=["input_warnings"])

    assert run(ws, body) == 0
    found = commands(capsys.readouterr().err)
    assert found[:2] == [
        "::warning file=runs/index.csv,line=4,title=observability latency::"
        "runs/index.csv: line 4: sharpe 'x' is not a number; row skipped",
        "::warning file=runs/index.csv,line=5,title=observability latency::"
        "runs/index.csv: line 5: sharpe 'y' is not a number; row skipped",
    ]
    assert [c.split("::")[1] for c in found[2:]] == ["warning title=observability latency"] * 4


def test_the_site_links_a_skipped_rollup_row_to_its_day_file_and_line(gh):
    ws, _ = gh
    day = ws / "ops" / "signal_latency_rollup" / "2026-01-07.csv"
    day.parent.mkdir(parents=True)
    day.write_text(ROLLUP_HEADER + "2026-01-07T23:00:00Z,feed,x,0,0,1,2,3,4,false,0\n", encoding="utf-8")
    # A repository made by init ignores ops/ (the state store keeps it): the commit does not hold the day
    # file, GitHub's link would be a dead one, so the warning names file and line in its text only.
    (ws / ".gitignore").write_text("ops/\nout/\n", encoding="utf-8")
    _commit(ws, ".gitignore")
    result = CliRunner().invoke(cli, ["site", "build", "--workspace", str(ws), "--out", "_site"])
    assert result.exit_code == 0, result.output
    assert "::warning title=observability site::ops/signal_latency_rollup/2026-01-07.csv: line 2: " in result.stderr
    assert "::warning file=" not in result.stderr
    _commit(ws, "ops/signal_latency_rollup/2026-01-07.csv")  # a workspace that commits its rollups
    result = CliRunner().invoke(cli, ["site", "build", "--workspace", str(ws), "--out", "_site"])
    assert result.exit_code == 0, result.output
    found = re.findall(r"^::warning file=([^,]*),line=(\d+),title=[^:]*::(.*)$", result.stderr, re.M)
    assert [f[:2] for f in found] == [("ops/signal_latency_rollup/2026-01-07.csv", "2")], result.stderr


BAD_CONFIG = """\
slo_p95_ms: 1000
warning_threshold: 2
critical_threshold: 3
no_such_key: 1
"""


def test_the_latency_command_links_a_bad_config_key_to_its_line(gh, tmp_path):
    ws, summary = gh
    config = ws / "configs" / "observability" / "latency_alert.yaml"
    config.parent.mkdir(parents=True)
    config.write_text(BAD_CONFIG, encoding="utf-8")
    (ws / "logs").mkdir()
    (ws / "logs" / "signal.csv").write_text("", encoding="utf-8")
    result = CliRunner().invoke(cli, ["latency", "sample", "--workspace", str(ws), "--input", "logs/signal.csv"])
    assert result.exit_code == 2, result.output
    found = re.findall(r"^::error file=([^,]*),line=(\d+),col=(\d+),title=[^:]*::(.*)$", result.stderr, re.M)
    assert found and found[0][:3] == ("configs/observability/latency_alert.yaml", "4", "1"), result.stderr
    assert "no_such_key" in found[0][3]
    assert "failed: `invalid_config` (exit 2)" in summary.read_text(encoding="utf-8")


@pytest.mark.parametrize("code", sorted(recovery.ERRORS))
def test_the_page_a_failure_summary_names_describes_that_error_code(code):
    page, todo = recovery.ERRORS[code]
    root = Path(__file__).resolve().parent.parent
    assert f"`{code}`" in (root / page).read_text(encoding="utf-8") or f"={code}`" in (root / page).read_text(
        encoding="utf-8"
    ), f"{page} does not describe {code}"
    assert todo and not todo.endswith(".")  # the summary adds the full stop


@pytest.mark.parametrize(
    ("flag", "env", "exit_code"),
    [([], {}, 0), (["--fail-on", "critical"], {}, 1), ([], {"OBS_FAIL_ON": "critical"}, 1)],
)
def test_a_latency_breach_is_an_error_annotation_and_fails_the_run_only_when_asked(gh, flag, env, exit_code):
    from _support_latency import current_row, run_latency, ts, write_log

    ws, summary = gh
    start = ts("2025-10-11T10:00:00Z")
    rows = [current_row(start + timedelta(minutes=m), 9000.0, source="feed_a") for m in range(0, 120, 5)]
    write_log(ws / "log.csv", rows)
    run = run_latency(
        ws,
        "--input",
        "log.csv",
        "--slo-ms",
        "1000",
        *flag,
        now=start + timedelta(hours=2, minutes=2),
        env={"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary), **env},
    )
    assert run.exit_code == exit_code, run
    assert json.loads(run.stdout)["status"] == "warning"
    assert re.search(r"^::error title=critical alert latency_slo%3A feed_a::.+$", run.stderr, re.M), run.stderr
    assert ("**Failed on alerts:** --fail-on critical: 1 alert(s) firing" in summary.read_text()) == bool(exit_code)


FORGED = "x\n::warning title=forged::pwned\n  ::stop-commands::tok\r\n##[error]forged v1\n::add-mask::y"


def test_user_text_on_stderr_never_becomes_a_workflow_command(gh, capsys):
    """The runner reads workflow commands on stderr too: a message carrying a line that starts with
    ``::`` (after blanks) or holds ``##[`` must not forge an annotation, mask or stop-commands."""
    ws, _ = gh

    def body(ctx):
        ctx.note(f"note {FORGED}")
        ctx.warn(f"warn {FORGED}")
        raise InputError(f"ops/x.json: {FORGED}")

    assert run(ws, body) == 1
    err = capsys.readouterr().err
    forged = [line for line in err.splitlines() if line.lstrip().startswith("::") or "##[" in line]
    assert all(
        line.startswith(("::error title=observability latency", "::warning title=observability latency"))
        for line in forged
    ), forged
    assert "pwned" in err  # the text is still there to read


def test_a_traceback_carrying_user_text_forges_no_command(gh, capsys):
    ws, _ = gh

    def body(ctx):
        raise RuntimeError(FORGED)

    assert run(ws, body) == 1
    err = capsys.readouterr().err
    forged = [line for line in err.splitlines() if line.lstrip().startswith("::") or "##[" in line]
    assert all(line.startswith("::error title=observability latency") for line in forged), forged


def test_user_text_in_a_summary_code_span_cannot_end_it():
    """An artefact path, a reason or an error code holding a backtick would end its code span and let
    the rest render as Markdown/HTML (a link, an image, a closing </details>)."""
    from observability import runsummary

    hostile = "x` ![i](https://evil.example/p.png) </details> `y"
    summary = {
        "status": "error",
        "job_id": "20260108T000700Z-latency-0badc0de",
        "duration_ms": 5,
        "diagnostics": {"error_code": hostile, "error_message": "m", "reason": hostile},
        "artefacts": [f"out/{hostile}.json"],
    }
    for text in (runsummary.plain("latency", summary), runsummary.failure("latency", summary, 1)):
        for line in text.splitlines():
            if "evil.example" in line:
                # the hostile text sits inside one code span: an even number of backticks, none in it
                assert line.count("`") % 2 == 0 and "`x`" not in line and "`y" not in line, line


@pytest.mark.parametrize(
    ("args", "env", "named"),
    [
        (["--fail-on", "bogus"], {}, "--fail-on"),
        ([], {"OBS_FAIL_ON": "bogus"}, "OBS_FAIL_ON"),
        ([], {"OBS_FAIL_ON": "::error::x"}, "OBS_FAIL_ON"),
    ],
)
def test_a_bad_fail_on_is_a_usage_error_naming_the_option_or_the_variable(gh, args, env, named):
    ws, _ = gh
    run = CliRunner().invoke(cli, ["site", "build", "--workspace", str(ws), "--out", "_site", *args], env=env)
    assert run.exit_code == 2 and named in run.output, run.output
    assert not (ws / "_site").exists()
