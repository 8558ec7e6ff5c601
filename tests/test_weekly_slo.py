"""The week's SLO attainment and error budget in the weekly review (issue 13, item 3); payload 2.1.0.

Expectations computed by hand in the comments.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from _support_weekly import WEEK, inputs_workspace, weekly
from observability import weekly_review as summary
from observability.config.weekly import WeeklyConfig
from observability.outputs.rollups import RollupRow
from observability.weekly import payload

START = datetime(2026, 1, 5, tzinfo=UTC)


def _row(at: datetime, source: str, breached: bool) -> RollupRow:
    p95 = 9000.0 if breached else 400.0
    hour = at.strftime("%Y-%m-%dT%H:00:00Z")
    return RollupRow(hour, source, 60, 0, 0.0, p95 / 2, p95, p95, p95, breached, int(breached))


def _review(rows: list[RollupRow], end: datetime, target: float = 99.0) -> list[str]:
    doc = {
        "schema_version": "2.1.0",
        "period": {"start": "2026-01-05T00:00:00Z", "end": end.strftime("%Y-%m-%dT%H:%M:%SZ")},
        "latency": payload._latency_block(rows, [], WeeklyConfig(), target),
    }
    lines = summary._slo(doc)
    assert 'of the measured hours (docs/site.md, "SLO definitions").' in lines[3]
    assert "an hour without data is a gap, neither met nor breached" in lines[3]
    return [line for line in lines if line.startswith("| feed")]


def test_attainment_and_budget_per_source_count_only_measured_hours() -> None:
    # feed_a: 10 hours with data (the 3rd breached), 158 gaps; feed_b: every hour, none breached;
    # feed_c: 2 hours, both breached.
    rows = [_row(START + timedelta(hours=h), "feed_a", h == 2) for h in range(10)]
    rows += [_row(START + timedelta(hours=h), "feed_b", False) for h in range(168)]
    rows += [_row(START + timedelta(hours=h), "feed_c", True) for h in (5, 6)]
    assert _review(rows, START + timedelta(days=7)) == [
        # 9/10 = 90.00 %; budget 1 - 1 / (0.01 x 10) = -900.0 %
        "| feed_a | 90.00 % (10 of 168 h) | -900.0 % (overspent) |",
        # 168/168; budget untouched
        "| feed_b | 100.00 % (168 of 168 h) | 100.0 % |",
        # 0/2; budget 1 - 2 / 0.02 = -9900.0 %
        "| feed_c | 0.00 % (2 of 168 h) | -9900.0 % (overspent) |",
    ]
    # target 80 %: feed_a's budget 1 - 1 / (0.2 x 10) = 50.0 %; an unfinished week (1 day) has 24 hours
    assert _review(rows[:10], START + timedelta(days=1), target=80.0) == ["| feed_a | 90.00 % (10 of 24 h) | 50.0 % |"]
    # A week under way previewed at 09:15 (dry run, --partial): the 09:00 hour has a row, so the period
    # has 10 hours (00..09), never fewer than measured: 10 of 10, not "10 of 9 h".
    assert _review(rows[:10], START + timedelta(hours=9, minutes=15)) == [
        "| feed_a | 90.00 % (10 of 10 h) | -900.0 % (overspent) |"
    ]


def test_the_payload_carries_the_target_of_latency_alert_yaml(tmp_path) -> None:
    ws = inputs_workspace(tmp_path / "ws", rollup_end=datetime(2026, 1, 12, tzinfo=UTC))
    config = ws / "configs" / "observability" / "latency_alert.yaml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text("slo_target_percent: 95\n", encoding="utf-8")
    run = weekly(ws, "report", "--week-start", WEEK, "--dry-run", now="2026-01-12T00:07:00Z")
    assert run.exit_code == 0, run
    (path,) = (ws / "out" / "weekly_report").glob("*.json")
    doc = json.loads(path.read_text())
    assert doc["schema_version"] == "2.1.0" and doc["latency"]["slo_target_percent"] == 95
    assert all(s["hours"] >= 1 for s in doc["latency"]["sources"]) and doc["latency"]["sources"]
    review = (ws / "out" / "weekly_report" / path.name.replace(".json", ".md")).read_text(encoding="utf-8")
    assert "**SLO attainment this week**" in review and "target 95 % of the measured hours" in review
    # an invalid latency config is a configuration error (exit 2) naming the file, nothing sent
    config.write_text("slo_target_percent: 100\n", encoding="utf-8")
    bad = weekly(ws, "report", "--week-start", WEEK, "--dry-run", now="2026-01-12T00:07:00Z")
    assert bad.exit_code == 2, bad
    assert "latency_alert.yaml" in bad.stderr


@pytest.mark.parametrize("missing", ["slo_target_percent", "hours"])
def test_an_older_payload_says_not_in_this_payload(missing: str) -> None:
    block = payload._latency_block([_row(START, "feed_a", False)], [], WeeklyConfig(), 99.0)
    if missing == "hours":
        del block["sources"][0]["hours"]
    else:
        del block[missing]
    doc = {"schema_version": "2.0.0", "period": {"start": "x", "end": "y"}, "latency": block}
    assert summary._slo(doc)[-1] == "_Not in this payload (schema_version 2.0.0; added in 2.1.0)._"


def test_a_report_generated_mid_hour_counts_that_hour_in_the_period() -> None:
    # period 00:00 -> 02:07: the hours 00, 01 and 02 start in it, and the payload counts the 02:00 row
    rows = [_row(START + timedelta(hours=h), "feed_a", False) for h in range(3)]
    assert _review(rows, START + timedelta(hours=2, minutes=7)) == ["| feed_a | 100.00 % (3 of 3 h) | 100.0 % |"]


@pytest.mark.parametrize(
    ("hours", "breach_hours", "shown"),
    [
        (2, 5, "not shown: 5 breach hour(s) of 2 measured, 168 in the week"),  # was -150.00 %
        (10**30, 0, "not shown: 0 breach hour(s) of 1e+30 measured, 168 in the week"),  # was "1e30 of 168 h"
    ],
)
def test_figures_a_payload_cannot_truly_hold_are_not_shown_as_an_attainment(hours, breach_hours, shown) -> None:
    block = payload._latency_block([_row(START, "feed_a", False)], [], WeeklyConfig(), 99.0)
    block["sources"][0].update(hours=hours, breach_hours=breach_hours)
    doc = {"schema_version": "2.1.0", "period": {"start": "2026-01-05T00:00:00Z", "end": "2026-01-12T00:00:00Z"}}
    lines = summary._slo({**doc, "latency": block})
    assert lines[-1] == f"| feed_a | {shown} | – |"


def test_a_nan_target_is_not_shown_as_a_budget() -> None:
    """JSON's NaN passes the schema's exclusiveMinimum/exclusiveMaximum (every comparison is false)."""
    from observability import schemas
    from observability.fsio import parse_json

    block = payload._latency_block([_row(START, "feed_a", False)], [], WeeklyConfig(), 99.0)
    block["slo_target_percent"] = parse_json(b"NaN")
    assert not [e for e in schemas.errors("observability_weekly_report", {"latency": block}) if "slo_target" in str(e)]
    doc = {"schema_version": "2.1.0", "period": {"start": "2026-01-05T00:00:00Z", "end": "2026-01-12T00:00:00Z"}}
    assert summary._slo({**doc, "latency": block})[-1] == (
        "_Not shown: slo_target_percent nan in this payload is not a share in (0, 100)._"
    )
