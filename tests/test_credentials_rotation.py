"""Production and staging secrets: the credentials register (configs/observability/credentials.yaml)
against the workflows, docs/credentials.md and `init`'s output; `verify` turns the secrets past their
rotation date into one alert, and the alert inbox keeps one issue for it on the fake GitHub API,
reminded monthly, updated when the list changes, closed once all are rotated."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from observability.cli import cli
from observability.config.credentials import CREDENTIALS_CONFIG
from observability.scaffold import STAGES
from tests._support_github import FakeGitHub, alerts_cli
from tests._support_verify import UTC, iso, verify

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "ops-template"
REGISTER = TEMPLATE / CREDENTIALS_CONFIG
CALLERS = sorted((TEMPLATE / ".github" / "workflows").glob("*.yml"))
NOW = datetime(2026, 3, 2, 3, 44, tzinfo=UTC)


def _register() -> dict:
    return yaml.safe_load(REGISTER.read_text(encoding="utf-8"))


# -- the register, the workflows, the docs, init ------------------------------------------------
def test_the_register_names_exactly_the_secrets_the_workflows_pass():
    passed = set()
    for path in CALLERS:
        for job in yaml.safe_load(path.read_text(encoding="utf-8"))["jobs"].values():
            passed |= set(job.get("secrets") or {})
    assert set(_register()["secrets"]) == passed


def test_docs_credentials_table_has_each_secret_with_the_registers_owner():
    text = (ROOT / "docs" / "credentials.md").read_text(encoding="utf-8")
    table = text.split("## Secrets", 1)[1].split("\n\n", 2)[1]
    owners: dict[str, str] = {}
    for row in table.splitlines()[2:]:
        cells = [c.strip() for c in row.strip("|").split("|")]
        for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", cells[0]):
            owners[name] = cells[3]
    for name, entry in _register()["secrets"].items():
        assert owners.get(name) == entry["owner"], f"docs/credentials.md: {name} owner"
        assert f"{entry['rotate_every_days']} days" in table.split(f"`{name}`", 1)[1].split("\n", 1)[0]


@pytest.mark.parametrize("path", CALLERS, ids=[p.name for p in CALLERS])
def test_each_workflow_runs_in_the_stage_environment(path):
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    if path.name == "ci-failure-alerts.yml":  # on workflow_run only: no dispatch, so no stage input
        (job,) = doc["jobs"].values()
        assert job["with"]["environment"] == "${{ vars.OBS_STAGE || 'production' }}"
        return
    stage = doc[True]["workflow_dispatch"]["inputs"]["stage"]  # PyYAML reads `on:` as True
    assert (stage["type"], stage["options"], stage["default"]) == ("choice", list(STAGES), "production")
    (job,) = doc["jobs"].values()
    assert job["with"]["environment"] == "${{ github.event.inputs.stage || vars.OBS_STAGE || 'production' }}"


def test_init_lists_the_environments_and_every_secret_with_its_owner(tmp_path):
    result = CliRunner().invoke(
        cli, ["init", str(tmp_path / "new"), "--repository", "acme/observability", "--ref", "a" * 40]
    )
    assert result.exit_code == 0, result.output
    assert "create the GitHub environments production and staging" in result.output
    for name, entry in _register()["secrets"].items():
        assert f"  {name}  (owner {entry['owner']}, rotate every {entry['rotate_every_days']} days)" in result.output
    assert (tmp_path / "new" / CREDENTIALS_CONFIG).read_text() == REGISTER.read_text()


# -- verify: the rotation finding ----------------------------------------------------------------
def _workspace(tmp_path: Path, dates: dict[str, dict[str, str]], remind: int = 30) -> Path:
    ws = tmp_path / "ws"
    (ws / "ops").mkdir(parents=True, exist_ok=True)
    register = _register()
    register["remind_every_days"] = remind
    for name, stages in dates.items():
        register["secrets"][name]["rotate_by"] = stages
    (ws / CREDENTIALS_CONFIG).parent.mkdir(parents=True, exist_ok=True)
    (ws / CREDENTIALS_CONFIG).write_text(yaml.safe_dump(register), encoding="utf-8")
    return ws


def _rotation(run) -> dict | None:
    return next((a for a in run.summary["alerts"] if a["rule"] == "secret_rotation_due"), None)


def test_verify_reports_the_secrets_past_their_date_as_one_alert(tmp_path):
    ws = _workspace(
        tmp_path,
        {
            "OBS_WEBHOOK_SECRET": {"production": "2026-02-01", "staging": "2026-04-01"},
            "OBS_STATE_TOKEN": {"production": "2026-03-01"},
            "OBS_INPUTS_TOKEN": {"production": "2026-03-02"},  # due today: not yet past
        },
    )
    run = verify(ws, now=NOW)
    assert run.exit_code == 0, run
    alert = _rotation(run)
    assert alert["source"] == "credentials" and alert["severity"] == "warning"
    assert alert["message"] == (
        "2 secret(s) past their rotation date: OBS_WEBHOOK_SECRET in production (owner research-ops, "
        "due 2026-02-01); OBS_STATE_TOKEN in production (owner platform, due 2026-03-01)"
    )
    assert alert["repeat_interval_hours"] == 720
    assert alert["started_at"] == "2026-02-01T00:00:00Z"
    stored = json.loads((ws / "ops" / "verify_alerts.json").read_text())["alerts"]
    assert [a["id"] for a in stored if a["rule"] == "secret_rotation_due"] == [alert["id"]]
    assert run.summary["checks"]["credentials"]["overdue"] == 2


def test_nothing_due_no_alert_and_no_register_no_check(tmp_path):
    ws = _workspace(tmp_path, {"OBS_WEBHOOK_SECRET": {"production": "2027-01-01"}})
    assert _rotation(verify(ws, now=NOW)) is None
    (ws / CREDENTIALS_CONFIG).unlink()
    run = verify(ws, now=NOW)
    assert _rotation(run) is None and run.summary["checks"]["credentials"] == {"register": None}


def test_an_unquoted_date_reads_as_the_day_it_names(tmp_path):
    ws = _workspace(tmp_path, {"OBS_WEBHOOK_SECRET": {"production": "2026-02-01"}})
    path = ws / CREDENTIALS_CONFIG
    text = path.read_text(encoding="utf-8")
    assert "production: '2026-02-01'" in text
    path.write_text(text.replace("production: '2026-02-01'", "production: 2026-02-01"), encoding="utf-8")
    run = verify(ws, now=NOW)
    assert run.exit_code == 0, run
    assert "due 2026-02-01" in _rotation(run)["message"]


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        ({"OBS_WEBHOOK_SECRET": {"production": "2026-02-30"}}, "secrets.OBS_WEBHOOK_SECRET.rotate_by.production"),
        ({"OBS_WEBHOOK_SECRET": {"production": "soon"}}, "secrets.OBS_WEBHOOK_SECRET.rotate_by.production"),
    ],
)
def test_a_bad_register_is_a_config_error_naming_the_field(tmp_path, edit, field):
    ws = _workspace(tmp_path, edit)
    run = verify(ws, now=NOW)
    assert run.exit_code == 2, run
    assert CREDENTIALS_CONFIG in run.summary["diagnostics"]["error_message"]
    assert field in run.summary["diagnostics"]["error_message"]


# -- the alert inbox: one issue, reminded monthly, updated when the list changes ------------------
def test_one_issue_reminded_monthly_updated_when_the_list_grows_closed_when_rotated(tmp_path):
    due = {"OBS_WEBHOOK_SECRET": {"production": "2026-02-01"}}
    ws = _workspace(tmp_path, due)
    with FakeGitHub(clock=lambda: NOW.timestamp()) as fake:

        def night(at: datetime) -> dict:
            assert verify(ws, now=at).exit_code == 0
            run = alerts_cli(ws, "sync", "--source", "verify", now=iso(at + timedelta(minutes=5)), fake=fake)
            assert run.exit_code == 0, run
            assert fake.violations == []
            return run.summary

        night(NOW)
        (issue,) = [i for i in fake.issues.values() if "secret(s) past their rotation date" in i["body"]]
        number = issue["number"]
        assert "OBS_WEBHOOK_SECRET in production" in issue["body"]
        for day in range(1, 30):  # nightly runs: the inbox's own 24 h interval would remind each day
            night(NOW + timedelta(days=day))
        assert fake.comment_bodies(number) == []
        night(NOW + timedelta(days=30))
        assert len(fake.comment_bodies(number)) == 1
        assert "Next reminder in 720 h" in fake.comment_bodies(number)[-1]
        # a second secret falls due: the same issue is updated at once, not a month later
        _workspace(tmp_path, {**due, "OBS_STATE_TOKEN": {"staging": "2026-03-31"}})
        night(NOW + timedelta(days=31))
        assert len(fake.comment_bodies(number)) == 2
        assert "OBS_STATE_TOKEN in staging" in fake.comment_bodies(number)[-1]
        assert sum("past their rotation date" in i["body"] for i in fake.issues.values()) == 1
        # rotated: both dates moved forward
        _workspace(
            tmp_path,
            {"OBS_WEBHOOK_SECRET": {"production": "2027-02-01"}, "OBS_STATE_TOKEN": {"staging": "2026-06-30"}},
        )
        night(NOW + timedelta(days=32))
        assert fake.issues[number]["state"] == "closed"
