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


def _anchor(heading: str) -> str:
    """GitHub's anchor for a Markdown heading: lower case, punctuation dropped, spaces to dashes."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_each_rule_links_a_runbook_page_that_explains_it():
    """The issue of a verify alert links `runbook`: the page (and heading) must exist and name the rule."""
    from datetime import UTC, datetime

    from observability.verify.findings import Finding, to_alerts

    for rule in RULES:
        (alert,) = to_alerts([Finding(rule, "automation_log", "m")], now=datetime(2026, 1, 8, tzinfo=UTC))
        page, _, anchor = alert["runbook"].partition("#")
        text = (REPO / page).read_text(encoding="utf-8")
        if anchor:
            headings = [_anchor(line.lstrip("#")) for line in text.splitlines() if line.startswith("#")]
            assert anchor in headings, f"{rule}: {page} has no heading #{anchor}"
        if rule != "job_not_found":
            assert rule in text, f"{rule}: {page} does not name it"
        if rule.startswith("sync_"):  # what to do is on the sync page, not in schedules.md's one-line row
            assert "sync push --to URL" in text, rule
            assert page == "docs/sync.md", f"{rule}: links {page}, whose row only points at docs/sync.md"
    log_rules = [r for r in RULES if r in ("log_invalid_line", "log_sequence_gap", "log_segment_damaged")]
    assert all("observability log rebuild" in RULES[r][1] for r in log_rules)
