"""docs/schedules.md stays true: its schedule table is the one generated from schedules.yaml."""

from __future__ import annotations

import json
import re

from _support_verify import REPO, TEMPLATE_SCHEDULES
from observability.config.schedules import load_schedules
from observability.verify import scheduledoc
from observability.verify.findings import RULES

DOC = (REPO / "docs" / "schedules.md").read_text(encoding="utf-8")


def test_the_schedule_table_matches_schedules_yaml():
    expected = scheduledoc.table(load_schedules(TEMPLATE_SCHEDULES, display="schedules.yaml"))
    found = re.search(re.escape(scheduledoc.BEGIN) + r".*?" + re.escape(scheduledoc.END), DOC, re.DOTALL)
    assert found, "docs/schedules.md lost its generated table markers"
    assert found.group(0) == expected, (
        "docs/schedules.md is out of date; regenerate with "
        "python -m observability.verify.scheduledoc ops-template/configs/observability/schedules.yaml\n" + expected
    )


def test_every_schedule_and_cron_appears_in_the_table():
    for schedule in load_schedules(TEMPLATE_SCHEDULES, display="schedules.yaml"):
        assert f"| `{schedule.name}` | `{schedule.job}` |" in DOC and f"`{schedule.cron}`" in DOC


def test_every_rule_is_in_the_report_schema_and_the_docs():
    schema = json.loads((REPO / "schemas" / "verify_report.schema.json").read_text())
    assert set(schema["properties"]["alerts"]["items"]["properties"]["rule"]["enum"]) == set(RULES)
    missing = [rule for rule in RULES if rule != "job_not_found" and f"`{rule}`" not in DOC]
    assert not missing, f"docs/schedules.md does not explain {missing}"


def test_the_docs_cover_delays_drops_and_the_60_day_disable():
    for anchor in ('id="delays"', 'id="dropped"', 'id="inactivity"'):
        assert anchor in DOC
    assert "60 days" in DOC and "`OBS_HEARTBEAT_PING_URL`" in DOC
