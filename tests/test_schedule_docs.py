"""Every statement of a schedule follows schedules.yaml: docs/schedules.md, docs/dashboard.md, the
README, the dashboard caller's datasets and the README.json the exporter writes.

A change of a cron (or of the datasets a schedule exports) in schedules.yaml fails these tests until
the docs are regenerated (``python -m observability.verify.scheduledoc``) and the caller follows.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest
import yaml

from _support_dashboard import export, make_workspace
from observability.config.schedules import Schedule, load_schedules, refresh
from observability.cron import Cron, describe
from observability.dashboard import DATASETS
from observability.verify import scheduledoc

REPO = Path(__file__).resolve().parents[1]
TEMPLATE = REPO / "ops-template" / "configs" / "observability" / "schedules.yaml"
CALLER = REPO / "ops-template" / ".github" / "workflows" / "dashboard.yml"
SCHEDULES = load_schedules(TEMPLATE, display="schedules.yaml")


def _block(text: str, begin: str, end: str) -> str:
    found = re.search(re.escape(begin) + r".*?" + re.escape(end), text, re.DOTALL)
    assert found, f"markers {begin!r} lost"
    return found.group(0)


def _statements(schedules: tuple[Schedule, ...]) -> dict[str, str]:
    """What each document must say, derived from ``schedules``."""
    return {
        "docs/dashboard.md": scheduledoc.refresh_table(schedules),
        "docs/schedules.md": scheduledoc.table(schedules),
        # the README names the latency dataset's hourly refresh in the words README.json uses
        "README.md": refresh(schedules, "latency").split("; ")[0],
    }


def _stale(schedules: tuple[Schedule, ...]) -> list[str]:
    out = []
    for rel, expected in _statements(schedules).items():
        text = (REPO / rel).read_text(encoding="utf-8")
        if rel == "README.md":
            found = expected in text
        else:
            begin, end = (
                (scheduledoc.REFRESH_BEGIN, scheduledoc.REFRESH_END)
                if rel == "docs/dashboard.md"
                else (scheduledoc.BEGIN, scheduledoc.END)
            )
            found = _block(text, begin, end) == expected
        if not found:
            out.append(rel)
    return out


def test_the_docs_follow_schedules_yaml():
    assert _stale(SCHEDULES) == [], (
        "regenerate with python -m observability.verify.scheduledoc (and adjust the README's dashboard section)"
    )


def test_a_changed_cron_breaks_the_docs_test():
    """The check above is not vacuous: move the hourly cron and every document is stale."""
    moved = tuple(dataclasses.replace(s, cron="47 * * * *") if s.name == "dashboard-hourly" else s for s in SCHEDULES)
    assert _stale(moved) == ["docs/dashboard.md", "docs/schedules.md", "README.md"]
    fewer = tuple(
        dataclasses.replace(s, datasets=("slippage",)) if s.name == "dashboard-hourly" else s for s in SCHEDULES
    )
    assert "docs/dashboard.md" in _stale(fewer)


def test_the_latency_dataset_is_refreshed_hourly():
    """Seed 000's promise: the dashboard's latency dataset refreshes every hour."""
    hourly = [s for s in SCHEDULES if s.job == "dashboard" and "latency" in (s.datasets or DATASETS)]
    assert any(len(Cron.parse(s.cron).hours) == 24 and len(Cron.parse(s.cron).minutes) == 1 for s in hourly)
    assert refresh(SCHEDULES, "latency").startswith("hourly, at :")


def test_the_off_hour_minutes_listed_in_schedules_md_are_the_crons():
    text = (REPO / "docs" / "schedules.md").read_text(encoding="utf-8")
    listed = re.search(r"\*\*off the top of the hour\*\* \(minutes ([^)]*)\)", text)
    assert listed, "docs/schedules.md lost its list of cron minutes"
    minutes = {int(m) for m in re.findall(r":(\d\d)", listed.group(1))}
    assert minutes == {m for s in SCHEDULES for m in Cron.parse(s.cron).minutes}


def test_the_caller_exports_the_datasets_each_schedule_lists():
    """dashboard.yml maps github.event.schedule to --dataset exactly as schedules.yaml says."""
    caller = yaml.safe_load(CALLER.read_text())
    expression = caller["jobs"]["dashboard"]["with"]["datasets"]
    pairs = dict(re.findall(r"github\.event\.schedule == '([^']+)' && '([^']+)'", expression))
    assert expression.rstrip().endswith("|| '' }}"), "no match: all datasets (and workflow_dispatch: all)"
    expected = {s.cron: " ".join(s.datasets) for s in SCHEDULES if s.workflow == "dashboard.yml" and s.datasets}
    assert pairs == expected
    assert {item["cron"] for item in caller[True]["schedule"]} == {
        s.cron for s in SCHEDULES if s.workflow == "dashboard.yml"
    }


def test_schedules_yaml_accepts_exactly_the_dashboard_datasets():
    assert scheduledoc.dashboard_datasets() == tuple(DATASETS)


@pytest.mark.parametrize(
    "expression,words", [("17 * * * *", "hourly, at :17"), ("7,37 * * * *", "every 30 min, at :07, :37")]
)
def test_describe_names_the_hourly_shapes(expression, words):
    assert describe(expression) == words


def test_readme_json_states_the_workspace_schedule(tmp_path):
    make_workspace(tmp_path)
    (tmp_path / "configs" / "observability").mkdir(parents=True)
    text = TEMPLATE.read_text().replace('cron: "17 * * * *"', 'cron: "47 */2 * * *"')
    (tmp_path / "configs" / "observability" / "schedules.yaml").write_text(text)
    run = export(tmp_path)
    assert run.exit_code == 0, run
    readme = json.loads((tmp_path / "out" / "dashboard" / "README.json").read_text())
    ours = load_schedules(tmp_path / "configs" / "observability" / "schedules.yaml", display="schedules.yaml")
    for name in DATASETS:
        assert readme["datasets"][name]["refresh_schedule"] == refresh(ours, name)
    assert readme["datasets"]["latency"]["refresh_schedule"].startswith("daily 00:47, 02:47")


def test_readme_json_uses_the_template_schedule_without_a_workspace_one(tmp_path):
    make_workspace(tmp_path)
    run = export(tmp_path, "--dataset", "latency")
    assert run.exit_code == 0, run
    readme = json.loads((tmp_path / "out" / "dashboard" / "README.json").read_text())
    assert readme["datasets"]["latency"]["refresh_schedule"] == refresh(SCHEDULES, "latency")


def test_an_invalid_schedules_yaml_is_a_warning_for_the_export(tmp_path):
    make_workspace(tmp_path)
    (tmp_path / "configs" / "observability").mkdir(parents=True)
    (tmp_path / "configs" / "observability" / "schedules.yaml").write_text(
        'schedules:\n  dashboard-hourly: {cron: "61 * * * *", job: dashboard}\n'
    )
    run = export(tmp_path)
    assert run.exit_code == 0 and run.summary["status"] == "warning", run
    assert "configs/observability/schedules.yaml: field schedules.dashboard-hourly.cron" in run.stderr
    readme = json.loads((tmp_path / "out" / "dashboard" / "README.json").read_text())
    assert readme["datasets"]["latency"]["refresh_schedule"].startswith("not scheduled")
