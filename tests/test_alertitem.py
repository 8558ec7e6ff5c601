"""The alert shape every job shares (observability.alertitem): fingerprint, severity rank, builders."""

from __future__ import annotations

import hashlib

from observability import alertitem
from observability.config.weekly import WeeklyConfig
from observability.outputs import weekly as weekly_outputs
from observability.weekly import payload


def test_the_weekly_delivery_alert_keeps_its_id():
    # The id weekly wrote by hand before the shared scheme: open issues keep matching it.
    by_hand = hashlib.sha256(b"weekly|webhook_delivery|weekly_report").hexdigest()[:16]
    assert weekly_outputs.delivery_alert_id() == by_hand


def test_severities_rank_in_order_and_unknown_ones_fall_back():
    assert sorted(["critical", "info", "warning"], key=alertitem.RANK.__getitem__) == list(alertitem.SEVERITIES)
    assert alertitem.severity("critical", "warning") == "critical"
    assert alertitem.severity("page", "warning") == "warning" and alertitem.severity(None, "info") == "info"


def test_an_item_carries_the_common_fields_then_the_jobs_own():
    item = alertitem.item(
        id="0" * 16,
        rule="r",
        source="s",
        severity="warning",
        status="firing",
        message="m",
        owner="o",
        next_action="n",
        started_at="2026-03-02T00:00:00Z",
        last_breach_at=None,
        breach_streak=1,
        breach_count=2,
        evidence={"k": 1},
        transition="opened",
    )
    assert item["transition"] == "opened" and item["evidence"] == {"k": 1} and item["last_breach_at"] is None
    assert set(item) == {
        "id",
        "rule",
        "source",
        "severity",
        "status",
        "message",
        "owner",
        "next_action",
        "started_at",
        "last_breach_at",
        "breach_streak",
        "breach_count",
        "evidence",
        "transition",
    }


def test_a_bare_latency_item_gets_the_report_defaults():
    entry = alertitem.report_entry({"id": "abc", "severity": "page", "status": "odd", "breach_count": 3}, "out/x")
    assert entry == {
        "id": "abc",
        "severity": "warning",
        "message": "latency alert abc",
        "owner": "observability-oncall",
        "next_action": "docs/runbook.md#latency",
        "rule": "latency",
        "source": "latency",
        "status": "firing",
        "evidence": {"breach_count": 3},
        "evidence_path": "out/x",
        "notified_channels": [],
    }


def test_the_report_orders_alerts_as_the_weekly_payload_always_did():
    items = [
        {"id": "b", "severity": "warning", "status": "resolved"},
        {"id": "c", "severity": "info"},
        {"id": "a", "severity": "warning"},
        {"id": "d", "severity": "critical", "status": "resolved"},
    ]
    block = payload.alerts_block(items, {"categories": []}, {"strategies": []}, WeeklyConfig(), None, "out/l")
    assert [a["id"] for a in block] == ["d", "a", "b", "c"]
    mirrored = sorted((alertitem.report_entry(i, "out/l") for i in items), key=alertitem.report_order)
    assert mirrored == block  # the alert webhook mirror's block is the weekly report's
