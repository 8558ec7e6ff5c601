"""SLO windows packed as strings in ops/latency_state.json; a state holding the older list form still works."""

from __future__ import annotations

import json
import shutil
from datetime import timedelta

from _support_latency import append_log, current_row, ok_run, ts, write_log

from observability.latency.slo import Window, breached

SLO = 1000.0


def rows(start, hours, latency):
    return [current_row(start + timedelta(hours=h, minutes=m), latency, source=s)
            for h in range(hours) for m in (1, 16, 31, 46) for s in ("feed_a", "feed_b")]


def state(ws):
    return json.loads((ws / "ops" / "latency_state.json").read_text())


def test_windows_are_packed_strings_and_round_trip():
    window = Window(True, 1234.5678, 0.25, 1, 12)
    packed = window.pack()
    assert packed == "1,1234.568,0.25,1,12" and breached(packed)
    assert Window.unpack(packed) == Window(True, 1234.568, 0.25, 1, 12)
    assert Window.unpack([1, 1234.568, 0.25, 1, 12]) == Window.unpack(packed)  # the older list form
    assert not breached("0,1.0,0.0,0,1") and not breached([0, 1.0, 0.0, 0, 1]) and breached([1, 1.0, 0.0, 0, 1])


def test_a_state_with_list_windows_evaluates_as_the_string_form_does(tmp_path):
    start = ts("2025-10-11T00:00:00Z")
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    write_log(a / "log.csv", rows(start, 3, 5000.0))  # three hours of breaching windows: an alert fires
    ok_run(a, "--input", "log.csv", "--slo-ms", str(SLO), now=start + timedelta(hours=3, minutes=1))
    shutil.copytree(a, b)
    doc = state(b)
    assert all(isinstance(v, str) for e in doc["sources"].values() for v in e["windows"].values())
    for entry in doc["sources"].values():  # what an older release wrote
        entry["windows"] = {k: [int(w.breach), w.p95_ms, w.failure_rate, w.errors, w.count]
                            for k, w in ((k, Window.unpack(v)) for k, v in entry["windows"].items())}
    (b / "ops" / "latency_state.json").write_text(json.dumps(doc, indent=2))
    later = rows(start + timedelta(hours=3), 1, 10.0)  # recovery: the streak ends, the alert resolves
    results = []
    for ws in (a, b):
        append_log(ws / "log.csv", later)
        results.append(ok_run(ws, "--input", "log.csv", "--slo-ms", str(SLO), now=start + timedelta(hours=4, minutes=1)))
    assert results[0]["sources"] == results[1]["sources"]
    assert [(x["rule"], x["status"], x["breach_count"]) for x in results[0]["alerts"]] == \
        [(x["rule"], x["status"], x["breach_count"]) for x in results[1]["alerts"]] != []
    unpacked = [{s: {k: Window.unpack(v) for k, v in e["windows"].items()} for s, e in state(ws)["sources"].items()}
                for ws in (a, b)]
    assert unpacked[0] == unpacked[1]
    assert state(a)["alerts"] == state(b)["alerts"]
