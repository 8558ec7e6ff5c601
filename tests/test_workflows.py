"""The scheduled workflows keep the hardening rules and the schedules kept in one place."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
SCHEDULES = yaml.safe_load((ROOT / "ops-template" / "configs" / "observability" / "schedules.yaml").read_text())
STATEFUL = {entry["workflow"] for entry in SCHEDULES["schedules"].values()}


def _load(path: Path) -> dict:
    data = yaml.safe_load(path.read_text())
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads the key `on` as True
    return data


@pytest.mark.parametrize("path", WORKFLOWS, ids=[p.name for p in WORKFLOWS])
def test_hardening(path):
    workflow = _load(path)
    assert workflow["permissions"] == {}, "permissions: {} at the top"
    for name, job in workflow["jobs"].items():
        assert "timeout-minutes" in job, f"{name} has no timeout-minutes"
        assert "permissions" in job, f"{name} does not state its permissions"
        for step in job.get("steps", []):
            assert step.get("name"), f"{name}: unnamed step"
            uses = step.get("uses", "")
            if uses.startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False
            if uses.startswith("actions/upload-artifact@"):
                assert "retention-days" in step["with"]
            assert "${{" not in step.get("run", ""), f"{name}: {step['name']} interpolates into run:"


@pytest.mark.parametrize("path", [p for p in WORKFLOWS if p.name in STATEFUL], ids=lambda p: p.name)
def test_scheduled_workflows_share_one_state_concurrency_group_and_offer_a_dry_run(path):
    workflow = _load(path)
    assert workflow["concurrency"] == {"group": "observability-state", "cancel-in-progress": False}
    inputs = workflow["on"]["workflow_dispatch"]["inputs"]
    assert inputs["dry_run"]["type"] == "boolean" and inputs["dry_run"]["default"] is False
    uploads = [s for job in workflow["jobs"].values() for s in job["steps"]
               if s.get("uses", "").startswith("actions/upload-artifact@")]
    assert uploads and all("outputs.job-id" in s["with"]["name"] for s in uploads)


def test_cron_values_live_in_schedules_yaml_only():
    expected: dict[str, set[str]] = {}
    for entry in SCHEDULES["schedules"].values():
        expected.setdefault(entry["workflow"], set()).add(entry["cron"])
        minute = entry["cron"].split()[0]
        assert not any(part == "0" for part in minute.split(",")), f"{entry['cron']} runs at the top of the hour"
    found = {}
    for path in WORKFLOWS:
        schedule = _load(path)["on"].get("schedule") if isinstance(_load(path)["on"], dict) else None
        if schedule:
            found[path.name] = {item["cron"] for item in schedule}
    for name, crons in found.items():
        assert crons == expected.get(name), f"{name} uses {crons}, schedules.yaml says {expected.get(name)}"
    assert set(found) <= set(expected)


@pytest.mark.parametrize("path", [p for p in WORKFLOWS if p.name in STATEFUL], ids=lambda p: p.name)
def test_scheduled_workflows_sync_alerts_and_report_failures_in_the_same_workflow(path):
    workflow = _load(path)
    assert "workflow_run" not in workflow["on"], "failure reporting lives in the same workflow"
    main = next(job for name, job in workflow["jobs"].items() if name not in ("report", "drill"))
    uses = [s.get("uses", "") for s in main["steps"]]
    pull = next(i for i, u in enumerate(uses) if "actions/state-pull" in u)
    guarded = [s for s in main["steps"] if "alerts-sync" in s.get("uses", "") or "state-push" in s.get("uses", "")]
    assert all("steps.pull.outcome == 'success'" in s["if"] for s in guarded), "never after a failed pull"
    sync = next(i for i, u in enumerate(uses) if "actions/alerts-sync" in u)
    push = next(i for i, u in enumerate(uses) if "actions/state-push" in u)
    assert pull < sync < push, "alerts are synced between pull and push, so the issue cache travels"
    report = workflow["jobs"]["report"]
    assert report["if"].startswith("${{ !cancelled()") and report["permissions"]["issues"] == "write"
    step = next(s for s in report["steps"] if "alerts-report-failure" in s.get("uses", ""))
    assert "result == 'success'" in step["with"]["recovered"]


def test_alert_drills_exist_for_latency_and_ci():
    latency = _load(ROOT / ".github" / "workflows" / "latency.yml")
    assert latency["on"]["workflow_dispatch"]["inputs"]["alert_drill"]["type"] == "boolean"
    assert "alerts-drill" in str(latency["jobs"]["drill"]["steps"])
    ci = _load(ROOT / ".github" / "workflows" / "ci.yml")
    assert ci["on"]["workflow_dispatch"]["inputs"]["alert_drill"]["type"] == "boolean"
    assert any("Alert drill" == s["name"] for s in ci["jobs"]["tests"]["steps"])
    assert "alerts-report-failure" in str(ci["jobs"]["report"]["steps"])
    assert "!cancelled()" in ci["jobs"]["report"]["if"] and "default_branch" in ci["jobs"]["report"]["if"]
