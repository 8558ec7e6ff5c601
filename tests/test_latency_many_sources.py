"""A cycle decodes only the sources it steps, and the step summary lists a bounded set of sources:
the results are those of decoding every source, and every source stays in the JSON figures."""

from __future__ import annotations

import json
import re
import shutil
from datetime import timedelta

import pytest

from _support_latency import append_log, current_row, ok_run, run_latency, ts, write_log
from observability.errors import InputError
from observability.latency import report
from observability.latency.rollup import RollupStore
from observability.latency.slo import Evaluator

SLO = 1000.0
T0 = ts("2025-10-11T00:00:00Z")


def cycle_rows(hour: int) -> list[str]:
    """One hour of samples (4 per source) with a mix of histories: steady, an episode that resolves,
    a source falling silent, a late sample for an old window, an episode still firing as its first
    windows expire."""
    start = T0 + timedelta(hours=hour)
    rows = []
    for minute in (1, 16, 31, 46):
        at = start + timedelta(minutes=minute)
        rows.append(current_row(at, 100.0, source="feed_a"))
        rows.append(current_row(at, 5000.0 if 2 <= hour <= 5 else 100.0, source="feed_b"))
        if hour < 3:
            rows.append(current_row(at, 100.0, source="feed_c"))
        if hour >= 20:
            rows.append(current_row(at, 5000.0, source="feed_e"))
    if hour == 0:
        rows.append(current_row(start + timedelta(minutes=5), 100.0, source="feed_d"))
    if hour == 10:
        rows.append(current_row(start - timedelta(minutes=50), 7000.0, source="feed_d"))  # late, hour 9
    return rows


def run_cycles(ws, hours: int) -> list[dict]:
    write_log(ws / "log.csv", [])
    out = []
    for hour in range(hours):
        append_log(ws / "log.csv", cycle_rows(hour))
        summary = ok_run(ws, "--input", "log.csv", "--slo-ms", str(SLO), now=T0 + timedelta(hours=hour + 1, minutes=2))
        out.append({k: summary[k] for k in ("sources", "alerts", "breach_streak", "pending_alerts", "stale_sources")})
    return out


def test_stepping_only_touched_sources_gives_what_decoding_every_source_gives(tmp_path, monkeypatch):
    lazy, eager = tmp_path / "lazy", tmp_path / "eager"
    lazy.mkdir()
    eager.mkdir()
    got = run_cycles(lazy, 30)
    original = Evaluator.run

    def decode_all_first(self):
        for source in list(self.sources):
            self.windows(source)
        original(self)

    monkeypatch.setattr(Evaluator, "run", decode_all_first)
    expected = run_cycles(eager, 30)
    assert got == expected
    rules = {(a["rule"], a["source"], a["status"]) for cycle in got for a in cycle["alerts"]}
    assert {
        ("latency_slo", "feed_b", "resolved"),
        ("no_data", "feed_c", "firing"),
        ("latency_slo", "feed_e", "firing"),
    } <= rules
    states = [json.loads((ws / "ops" / "latency_state.json").read_text()) for ws in (lazy, eager)]
    for state in states:
        state.pop("created_at")
        state.pop("cursors")
    assert states[0] == states[1]
    # windows older than 24 h before the last cycle (2025-10-12T06:02) were cut, untouched or not
    assert states[0]["sources"]["feed_a"]["windows"][:20] == "2025-10-11T06:15:00Z"
    assert states[0]["sources"]["feed_c"]["windows"] == "2025-10-11T02:45:00Z=0,100.0,0.0,0,1"  # its stepped one


def many_rows(start, sources: int, hours: int) -> list[str]:
    return [
        current_row(start + timedelta(hours=h, minutes=m), 9000.0 if s == 7 else 100.0 + s * 10, source=f"feed_{s:02d}")
        for h in range(hours)
        for m in (1, 16, 31, 46)
        for s in range(sources)
    ]


def test_the_step_summary_lists_those_needing_attention_first_and_charts_only_them(tmp_path):
    start = ts("2025-10-11T22:00:00Z")  # two hours of day 1, then a cycle in day 2: day 1 is only read for the chart
    write_log(tmp_path / "log.csv", many_rows(start, 40, 2))
    ok_run(tmp_path, "--input", "log.csv", "--slo-ms", str(SLO), now=start + timedelta(hours=2, minutes=2))
    append_log(tmp_path / "log.csv", many_rows(start + timedelta(hours=2), 40, 1))
    step = tmp_path / "summary.md"
    run = run_latency(
        tmp_path,
        "--input",
        "log.csv",
        "--slo-ms",
        str(SLO),
        now=start + timedelta(hours=3, minutes=2),
        env={"GITHUB_STEP_SUMMARY": str(step), "GITHUB_ACTIONS": "true"},
    )
    assert run.exit_code == 0, run
    assert len(run.summary["sources"]) == 40  # every source in the JSON figures
    text = step.read_text(encoding="utf-8")
    listed = re.findall(r"^\| \S+ \S+ \| (feed_\d\d) \|", text.split("\n### ")[0], re.M)
    shown = report.listed(run.summary["sources"])
    assert listed == [s["source"] for s in shown] and len(listed) == report.MAX_LISTED == 25
    assert "feed_07" in listed  # breaching: listed whatever its name
    expected = ["feed_07", *[f"feed_{s:02d}" for s in range(39, 15, -1) if s != 7]][:25]  # then highest p95
    assert sorted(listed) == sorted(expected)
    assert "_25 of 40 sources shown" in text
    legend = re.search(r"^\*\*Legend:\*\* (.*)$", text, re.M).group(1)
    assert re.findall(r"(feed_\d\d)", legend) == sorted(listed)
    # the hourly table holds, for the listed sources, exactly the stored rollups of the last 24 h
    store = RollupStore(tmp_path / "ops" / "signal_latency_rollup.csv", str)
    rows = {(r.hour_utc[:13], r.source): f"{r.p95_ms:,.0f}" for r in store.read_since("") if r.source in listed}
    table = [line for line in text.splitlines() if line.startswith("| 2025-10-1")]
    assert len(table) == 3
    header = re.search(r"^\| hour \(UTC\) \| (.*) \|$", text, re.M).group(1).split(" | ")
    assert header == sorted(listed)
    for line in table:
        cells = line.strip("|").split("|")
        hour = cells[0].strip()
        assert [c.strip() for c in cells[1:]] == [rows[(hour, s)] for s in header]


def test_a_few_sources_are_all_listed_and_charted_as_before(tmp_path):
    start = ts("2025-10-11T10:00:00Z")
    write_log(tmp_path / "log.csv", many_rows(start, 3, 2))
    step = tmp_path / "summary.md"
    run = run_latency(
        tmp_path,
        "--input",
        "log.csv",
        "--slo-ms",
        str(SLO),
        now=start + timedelta(hours=2, minutes=2),
        env={"GITHUB_STEP_SUMMARY": str(step), "GITHUB_ACTIONS": "true"},
    )
    text = step.read_text(encoding="utf-8")
    assert re.findall(r"^\| \S+ \S+ \| (feed_\d\d) \|", text.split("\n### ")[0], re.M) == [
        "feed_00",
        "feed_01",
        "feed_02",
    ]
    assert "sources shown" not in text and report.charted(run.summary["sources"]) is None


@pytest.mark.parametrize("held", [False, True])
def test_chart_rows_of_some_sources_equal_the_parsed_rows(tmp_path, held):
    start = ts("2025-10-11T20:00:00Z")
    write_log(tmp_path / "log.csv", many_rows(start, 30, 6))
    ok_run(tmp_path, "--input", "log.csv", "--slo-ms", str(SLO), now=start + timedelta(hours=6, minutes=2))
    target = tmp_path / "ops" / "signal_latency_rollup.csv"
    store = RollupStore(target, str)
    if held:
        for day in store.days():
            store.load(day)
    wanted = {"feed_03", "feed_17", "feed_29"}
    since = "2025-10-11T22:00:00Z"
    got = store.chart_since(since, wanted)
    every = RollupStore(target, str).chart_since(since)
    assert sorted(got) == sorted(p for p in every if p.source in wanted) and len(got) == 3 * 4


def test_a_damaged_row_found_by_the_chart_search_names_its_file_and_line(tmp_path):
    start = ts("2025-10-11T20:00:00Z")
    write_log(tmp_path / "log.csv", many_rows(start, 30, 2))
    ok_run(tmp_path, "--input", "log.csv", "--slo-ms", str(SLO), now=start + timedelta(hours=2, minutes=2))
    part = tmp_path / "ops" / "signal_latency_rollup" / "2025-10-11.csv"
    lines = part.read_text().splitlines(keepends=True)
    number = next(i for i, line in enumerate(lines) if ",feed_17," in line) + 1
    fields = lines[number - 1].split(",")
    fields[6] = "p95?"  # p95_ms, the field the chart reads
    lines[number - 1] = ",".join(fields)
    part.write_text("".join(lines))
    store = RollupStore(tmp_path / "ops" / "signal_latency_rollup.csv", lambda p: p.name)
    with pytest.raises(InputError, match=rf"2025-10-11.csv: line {number}: not a rollup row"):
        store.chart_since("2025-10-11T00:00:00Z", {"feed_17"})


def test_a_workspace_written_by_the_previous_release_keeps_working(tmp_path):
    """A state whose windows are a dict of strings per source (the previous release) is read, stepped
    and rewritten as one string per source, with the same results as a state in the current form."""
    start = ts("2025-10-11T00:00:00Z")
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    write_log(a / "log.csv", many_rows(start, 30, 3))
    ok_run(a, "--input", "log.csv", "--slo-ms", str(SLO), now=start + timedelta(hours=3, minutes=2))
    shutil.copytree(a, b)
    doc = json.loads((b / "ops" / "latency_state.json").read_text())
    assert doc["version"] == 2
    doc["version"] = 1
    for entry in doc["sources"].values():
        entry["windows"] = dict(item.split("=", 1) for item in entry["windows"].split(";"))
    (b / "ops" / "latency_state.json").write_text(json.dumps(doc, separators=(",", ":")))
    results = []
    for ws in (a, b):
        append_log(ws / "log.csv", many_rows(start + timedelta(hours=3), 2, 1))  # two sources only: 28 untouched
        results.append(
            ok_run(ws, "--input", "log.csv", "--slo-ms", str(SLO), now=start + timedelta(hours=4, minutes=2))
        )
    assert results[0]["sources"] == results[1]["sources"] and results[0]["alerts"] == results[1]["alerts"]
    states = [json.loads((ws / "ops" / "latency_state.json").read_text()) for ws in (a, b)]
    assert states[0]["sources"] == states[1]["sources"]
    assert all(isinstance(e["windows"], str) for e in states[1]["sources"].values()) and states[1]["version"] == 2
