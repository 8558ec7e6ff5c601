"""The workflows keep the hardening rules, one runner job per scheduled run, and one place for schedules.

Two kinds: this repository's own (``.github/workflows/``: the reusable ``run.yml`` and CI) and the
callers ``observability init`` writes into an automation repository (``ops-template/.github/workflows/``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
OWN = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
CALLERS = sorted((ROOT / "ops-template" / ".github" / "workflows").glob("*.yml"))
CI_CALLER = ROOT / "ops-template" / ".github" / "workflows" / "ci-failure-alerts.yml"
RUN_CALLERS = [p for p in CALLERS if p != CI_CALLER]
SCHEDULES = yaml.safe_load((ROOT / "ops-template" / "configs" / "observability" / "schedules.yaml").read_text())
SCHEDULED = {entry["workflow"] for entry in SCHEDULES["schedules"].values()}
RUN = ROOT / ".github" / "workflows" / "run.yml"


def _load(path: Path) -> dict:
    data = yaml.safe_load(path.read_text())
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads the key `on` as True
    return data


def _steps(job: dict) -> list[dict]:
    return job.get("steps", [])


@pytest.mark.parametrize("path", OWN + CALLERS, ids=lambda p: f"{p.parent.parent.parent.name}/{p.name}")
def test_hardening(path):
    workflow = _load(path)
    assert workflow["permissions"] == {}, "permissions: {} at the top"
    for name, job in workflow["jobs"].items():
        assert "permissions" in job, f"{name} does not state its permissions"
        if "uses" in job:  # a reusable-workflow call: no steps, no timeout of its own
            assert "secrets" in job and job["secrets"] != "inherit", f"{name}: pass each secret by name"
            continue
        assert "timeout-minutes" in job, f"{name} has no timeout-minutes"
        for step in _steps(job):
            assert step.get("name"), f"{name}: unnamed step"
            uses = step.get("uses", "")
            if uses.startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False
            if uses.startswith("actions/upload-artifact@"):
                assert "retention-days" in step["with"]
            assert "${{" not in step.get("run", ""), f"{name}: {step['name']} interpolates into run:"


@pytest.mark.parametrize("path", RUN_CALLERS, ids=lambda p: p.name)
def test_callers_queue_never_cancel_and_call_run_yml_once(path):
    workflow = _load(path)
    name = path.stem
    if name == "site":  # read-only: a pending build replaced by a newer one loses nothing
        assert workflow["concurrency"] == {"group": "observability-site", "cancel-in-progress": False}
    else:
        assert workflow["concurrency"] == {"group": f"observability-{name}", "queue": "max"}, (
            "one group per workflow (different jobs never block each other), runs queue instead of replacing"
        )
    inputs = workflow["on"]["workflow_dispatch"]["inputs"]
    assert inputs["dry_run"]["type"] == "boolean"
    (job,) = workflow["jobs"].values()
    assert job["uses"] == "./.github/workflows/run.yml"  # `init` pins it to OWNER/REPO/...@SHA
    assert job["with"]["job"] == name
    assert "github.event.inputs.dry_run" in str(job["with"]["dry-run"])  # strings, on GitHub and act alike
    run_secrets = set(_load(RUN)["on"]["workflow_call"]["secrets"])
    assert set(job["secrets"]) <= run_secrets
    for key, value in job["secrets"].items():
        assert value == f"${{{{ secrets.{key} }}}}"
    assert len(path.read_text().splitlines()) <= 45, "a caller stays short"


def test_cron_values_live_in_schedules_yaml_only():
    expected: dict[str, set[str]] = {}
    for entry in SCHEDULES["schedules"].values():
        expected.setdefault(entry["workflow"], set()).add(entry["cron"])
        minute = entry["cron"].split()[0]
        assert not any(part == "0" for part in minute.split(",")), f"{entry['cron']} runs at the top of the hour"
    found = {}
    for path in OWN + CALLERS:
        schedule = _load(path)["on"].get("schedule") if isinstance(_load(path)["on"], dict) else None
        if schedule:
            found[path.name] = {item["cron"] for item in schedule}
    assert found == expected, "every cron lives in a caller and in schedules.yaml, nowhere else"
    assert {p.name for p in CALLERS} >= SCHEDULED


def _cycle(workflow: dict) -> dict:
    return next(s for s in _steps(workflow["jobs"]["run"]) if "actions/cycle" in s.get("uses", ""))


def test_one_runner_job_per_run_and_one_process_for_the_whole_cycle():
    """State pull, inputs, the job, shared storage, the alert inbox, the failure report and the state
    push run in one process (observability cycle), in one runner job; the report is its last word."""
    workflow = _load(RUN)
    assert set(workflow["on"]) == {"workflow_call"}
    steps = _steps(workflow["jobs"]["run"])
    cycle = _cycle(workflow)
    with_ = cycle["with"]
    assert "inputs pull --for {0}" in with_["before"], "inputs come after the state pull, before the job"
    assert "sync push" in with_["after"] and "vars.OBS_SYNC_TO != ''" in with_["after"]
    assert with_["report-failure"] == "${{ !inputs.dry-run && inputs.job || '' }}"
    assert with_["no-push"] == "${{ (inputs.job == 'site' || env.OBS_GIT_STORE == 'true') && 'true' || 'false' }}", (
        "a git-branch store is pushed by its own job; the site pushes nothing"
    )
    assert """contains(fromJSON('["workflow", "chain", "site"]'), inputs.job) && 'all'""" in with_["for"], (
        "each job pulls only its own state (the chain and the site read all of it)"
    )
    assert cycle["if"] == "${{ !inputs.alert-drill }}"
    uses = [s.get("uses", "") for s in steps]
    for single in ("state-pull", "state-push", "alerts-sync", "alerts-report-failure", "inputs-pull"):
        assert not any(f"actions/{single}" in u for u in uses), f"{single} runs inside the cycle"
    uploads = [s for s in steps if s.get("uses", "").startswith("actions/upload-artifact@")]
    assert uploads and all("github.run_id" in s["with"]["name"] for s in uploads)
    assert all(s["if"].startswith("${{ always()") for s in uploads)
    assert "workflow_run" not in workflow["on"]


def test_the_site_is_deployed_by_a_job_that_holds_only_the_pages_permissions():
    workflow = _load(RUN)
    run, deploy = workflow["jobs"]["run"], workflow["jobs"]["deploy-pages"]
    assert "pages" not in run["permissions"]
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert deploy["environment"]["name"] == "github-pages" and deploy["needs"] == "run"
    assert "inputs.job == 'site'" in deploy["if"] and "!inputs.dry-run" in deploy["if"]
    (step,) = _steps(deploy)  # no checkout, no project code: the deployment only
    assert step["uses"].startswith("actions/deploy-pages@")
    (upload,) = [s for s in _steps(run) if s.get("uses", "").startswith("actions/upload-pages-artifact@")]
    assert "inputs.job == 'site'" in upload["if"] and upload["with"]["path"] == "${{ runner.temp }}/site/"
    assert "site build --out {0}/site" in _cycle(workflow)["with"]["command"]
    caller = _load(ROOT / "ops-template" / ".github" / "workflows" / "site.yml")
    assert caller["on"]["workflow_run"] == {"workflows": ["dashboard", "weekly"], "types": ["completed"]}
    assert caller["jobs"]["site"]["permissions"]["pages"] == "write"


def test_no_token_that_can_push_code_reaches_the_job_that_runs_probes():
    workflow = _load(RUN)
    run, push = workflow["jobs"]["run"], workflow["jobs"]["push-state"]
    assert run["permissions"]["contents"] == "read"
    assert push["permissions"] == {"contents": "write"}
    push_uses = [s.get("uses", "") for s in _steps(push)]
    assert any("actions/state-push" in u for u in push_uses)
    assert not any(
        fragment in u
        for u in push_uses
        for fragment in ("actions/latency", "actions/weekly", "actions/dashboard", "actions/inputs-pull")
    )
    assert "needs.run.outputs.state-artifact" in push["if"]


def test_shared_storage_sync_follows_the_dashboard_and_weekly_jobs():
    after = _cycle(_load(RUN))["with"]["after"]
    assert '"dashboard":"sync push --no-weekly"' in after and '"weekly":"sync push --no-dashboard"' in after
    assert "latency" not in after


@pytest.mark.parametrize("name", ["latency", "weekly", "dashboard", "verify"])
def test_every_scheduled_caller_drills_its_own_alert_path(name):
    caller = _load(ROOT / "ops-template" / ".github" / "workflows" / f"{name}.yml")
    inputs = caller["on"]["workflow_dispatch"]["inputs"]
    assert inputs["alert_drill"]["type"] == "boolean" and inputs["drill_reason"]["type"] == "string"
    (job,) = caller["jobs"].values()
    assert job["with"]["alert-drill"] == "${{ github.event.inputs.alert_drill == 'true' }}"
    assert job["with"]["drill-reason"] == "${{ github.event.inputs.drill_reason }}"
    steps = _steps(_load(RUN)["jobs"]["run"])
    drill = next(s for s in steps if "actions/alerts-drill" in s.get("uses", ""))
    assert drill["if"] == "${{ inputs.alert-drill }}"
    assert drill["with"]["job"] == "${{ inputs.job }}" and drill["with"]["reason"] == "${{ inputs.drill-reason }}"
    assert drill["with"]["dry-run"] == "${{ inputs.dry-run && 'true' || 'false' }}"


def test_the_ci_drill_records_its_reason_and_its_own_recovery_closes_the_issue():
    """ci.yml says in its telemetry artifact whether it drills (and why), even when it fails; ci-alerts.yml
    reports the drill with its reason, then reports the drill recovered, which closes the drill issue."""
    ci = _load(ROOT / ".github" / "workflows" / "ci.yml")
    assert ci["on"]["workflow_dispatch"]["inputs"]["alert_drill"]["type"] == "boolean"
    assert ci["on"]["workflow_dispatch"]["inputs"]["drill_reason"]["type"] == "string"
    assert "report" not in ci["jobs"]  # ci-failure-alerts.yml reports, on workflow_run
    steps = ci["jobs"]["tests"]["steps"]
    names = [s["name"] for s in steps]
    record = steps[names.index("Record the alert drill for CI failure alerts")]
    assert names.index("Record the alert drill for CI failure alerts") < names.index("Alert drill")
    assert record["env"] == {
        "DRILL": "${{ inputs.alert_drill && 'true' || 'false' }}",
        "REASON": "${{ inputs.drill_reason }}",
    }
    (upload,) = [s for s in steps if "ci-telemetry" in str(s.get("with", {}).get("name", ""))]
    assert upload["if"] == "${{ always() }}"
    assert upload["with"]["name"] == "ci-telemetry-${{ github.run_id }}-${{ github.run_attempt }}"
    alerts = _load(ROOT / ".github" / "workflows" / "ci-alerts.yml")
    (job,) = alerts["jobs"].values()
    reports = [s for s in job["steps"] if "alerts-report-failure" in s.get("uses", "")]
    assert [s["with"]["reason"] for s in reports] == ["${{ steps.drill.outputs.reason }}"] * 2
    assert reports[0]["with"]["conclusion"] == "${{ github.event.workflow_run.conclusion }}"
    recovery = reports[-1]
    assert recovery["if"] == "${{ steps.drill.outputs.drill == 'true' }}"
    assert recovery["with"]["recovered"] == "true" and recovery["with"]["drill"] == "true"


def test_ci_alerts_reads_the_triggering_run_and_ignores_pull_requests_and_other_branches():
    alerts = _load(ROOT / ".github" / "workflows" / "ci-alerts.yml")
    assert set(alerts["on"]) == {"workflow_call"}
    (job,) = alerts["jobs"].values()
    assert "workflow_run.event != 'pull_request'" in job["if"]
    assert "workflow_run.head_branch == github.event.repository.default_branch" in job["if"]
    assert job["permissions"] == {"contents": "read", "issues": "write", "actions": "read"}
    (download,) = [s for s in job["steps"] if s.get("uses", "").startswith("actions/download-artifact@")]
    assert download["with"]["run-id"] == "${{ github.event.workflow_run.id }}"
    assert download["with"]["github-token"] == "${{ github.token }}" and download["continue-on-error"] is True
    report = next(s for s in job["steps"] if "alerts-report-failure" in s.get("uses", ""))
    for key, field in (
        ("run-url", "html_url"),
        ("branch", "head_branch"),
        ("commit", "head_sha"),
        ("run-attempt", "run_attempt"),
        ("event", "event"),
        ("run-number", "run_number"),
        ("workflow-id", "workflow_id"),
    ):
        assert report["with"][key] == f"${{{{ github.event.workflow_run.{field} }}}}", key
    assert report["with"]["acknowledge-within"] == "1-business-hour"
    secrets = set(alerts["on"]["workflow_call"]["secrets"])
    for path in (CI_CALLER, ROOT / ".github" / "workflows" / "ci-failure-alerts.yml"):
        caller = _load(path)
        assert caller["on"] == {
            "workflow_run": {"workflows": caller["on"]["workflow_run"]["workflows"], "types": ["completed"]}
        }
        (call,) = caller["jobs"].values()
        assert call["uses"] == "./.github/workflows/ci-alerts.yml"
        assert call["permissions"] == job["permissions"] and set(call["secrets"]) <= secrets
        assert caller["concurrency"]["queue"] == "max"
    assert _load(ROOT / ".github" / "workflows" / "ci-failure-alerts.yml")["on"]["workflow_run"]["workflows"] == ["ci"]


def test_run_yml_still_takes_chain_as_the_workflow_jobs_former_name():
    """Callers written by an older `init` pass job: chain; run.yml treats it as job: workflow."""
    run = (ROOT / ".github" / "workflows" / "run.yml").read_text()
    for line in run.splitlines():
        if "'workflow'" in line or '"workflow"' in line:
            assert "'chain'" in line or '"chain"' in line, line
    for mapping in (t for t in run.splitlines() if "fromJSON('{" in t and '"workflow":' in t):
        table = mapping.split("fromJSON('", 1)[1].split("')", 1)[0]
        values = json.loads(table)
        assert values["chain"] == values["workflow"], mapping


def test_the_ci_snippet_in_docs_ci_md_is_what_ci_yml_runs():
    """The steps docs/ci.md tells adopters to add are the ones this repository's own CI runs."""
    text = (ROOT / "docs" / "ci.md").read_text(encoding="utf-8")
    fenced = re.findall(r"(?ms)^(`{3,})yaml\n(.*?)^\1$", text)  # a ```` fence: the snippet holds ``` itself
    (block,) = [b for _, b in fenced if "ci-telemetry-" in b]
    snippet = yaml.safe_load(block)
    ci = _load(ROOT / ".github" / "workflows" / "ci.yml")
    assert snippet[True]["workflow_dispatch"]["inputs"] == ci["on"]["workflow_dispatch"]["inputs"]
    steps = {s["name"]: s for s in ci["jobs"]["tests"]["steps"]}
    documented = snippet["jobs"]["tests"]["steps"]
    flags = ("--flake-log-file=ci-telemetry/flake_runs.json", "--cov-report=xml:ci-telemetry/coverage.xml")
    flags += ("--junitxml=ci-telemetry/junit.xml",)
    (test_step,) = [s for s in documented if s["name"] not in steps]  # the adopter's own test command
    ours = steps["Run the tests (README test command, with the coverage gate)"]
    for flag in flags:
        assert flag in test_step["run"] and flag in ours["run"], flag
    assert test_step["if"] == ours["if"]
    same = [s for s in documented if s is not test_step]
    assert [s["name"] for s in same] == [
        "Record the alert drill for CI failure alerts",
        "Alert drill",
        "ruff format (enforced; its result goes into the CI telemetry)",
        "Record the formatter result for the CI telemetry",
        # The health page, the digest and the failure issue send the on-call to the pytest-log artifact.
        "Put the end of the test log in the step summary",
        "Upload the whole test log",
        "Upload the CI telemetry (read by ci-failure-alerts.yml)",
    ]
    for step in same:
        assert step == steps[step["name"]], step["name"]
    # In ci.yml's order: the formatter check before the tests, the record and upload after them.
    order = list(steps)
    assert [order.index(s["name"]) for s in same] == sorted(order.index(s["name"]) for s in same)


def _evaluate(expression: str, github: dict) -> bool:
    """A GitHub expression of ==, !=, && and || over github.* and string literals, evaluated on a context
    (a missing field is null, as GitHub has it)."""
    import re

    class Context(dict):
        def __getattr__(self, name):
            value = self.get(name)
            return Context(value) if isinstance(value, dict) else value

    body = expression.strip().removeprefix("${{").removesuffix("}}")
    assert re.fullmatch(r"[\w.' !=&|\s-]+", body), body
    return bool(eval(body.replace("&&", " and ").replace("||", " or "), {"github": Context(github)}))  # noqa: S307


def test_ci_alerts_ignores_a_fork_run_whose_branch_is_named_like_the_default_branch():
    """A pull_request_target run of a fork's branch `main` passed the job's condition (not `pull_request`,
    head branch `main`): anyone could open or, with a green run, close the CI failure issue."""
    (job,) = _load(ROOT / ".github" / "workflows" / "ci-alerts.yml")["jobs"].values()

    def context(event: str, head: str) -> dict:
        run = {"event": event, "head_branch": "main", "head_repository": {"full_name": head}}
        return {
            "event_name": "workflow_run",
            "repository": "acme/research",
            "event": {"workflow_run": run, "repository": {"default_branch": "main", "full_name": "acme/research"}},
        }

    assert _evaluate(job["if"], context("push", "acme/research"))
    assert _evaluate(job["if"], context("workflow_dispatch", "acme/research"))
    assert not _evaluate(job["if"], context("pull_request_target", "mallory/research"))
    assert not _evaluate(job["if"], context("pull_request", "mallory/research"))
    assert not _evaluate(job["if"], context("workflow_run", "mallory/research"))
