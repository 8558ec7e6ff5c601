"""SLO windows packed as one string per source in ops/latency_state.json; states holding the older forms
(a dict of one string per window, or of lists) still work."""

from __future__ import annotations

import json
import shutil
from datetime import timedelta

import pytest

from _support_latency import append_log, current_row, ok_run, run_latency, ts, write_log
from observability.latency.slo import (
    Window,
    breached,
    decode_windows,
    encode_windows,
    latest_breach,
    latest_window,
    prune_windows,
)

SLO = 1000.0


def rows(start, hours, latency):
    return [
        current_row(start + timedelta(hours=h, minutes=m), latency, source=s)
        for h in range(hours)
        for m in (1, 16, 31, 46)
        for s in ("feed_a", "feed_b")
    ]


def state(ws):
    return json.loads((ws / "ops" / "latency_state.json").read_text())


def test_windows_are_packed_strings_and_round_trip():
    window = Window(True, 1234.5678, 0.25, 1, 12)
    packed = window.pack()
    assert packed == "1,1234.568,0.25,1,12" and breached(packed)
    assert Window.unpack(packed) == Window(True, 1234.568, 0.25, 1, 12)
    assert Window.unpack([1, 1234.568, 0.25, 1, 12]) == Window.unpack(packed)  # the older list form
    assert not breached("0,1.0,0.0,0,1") and not breached([0, 1.0, 0.0, 0, 1]) and breached([1, 1.0, 0.0, 0, 1])


def test_a_source_s_windows_are_one_string_read_off_its_ends():
    windows = {
        "2025-10-11T00:15:00Z": "1,900.0,0.0,0,3",
        "2025-10-11T00:00:00Z": "0,10.0,0.0,0,2",
        "2025-10-11T00:30:00Z": "0,11.0,0.0,0,1",
    }
    text = encode_windows(windows)
    assert text == (
        "2025-10-11T00:00:00Z=0,10.0,0.0,0,2;2025-10-11T00:15:00Z=1,900.0,0.0,0,3;2025-10-11T00:30:00Z=0,11.0,0.0,0,1"
    )  # oldest first
    assert decode_windows(text) == windows and decode_windows("") == {}
    assert latest_window(text) == ("2025-10-11T00:30:00Z", "0,11.0,0.0,0,1") == latest_window(windows)
    assert latest_window("") is None and latest_window({}) is None
    assert latest_breach(text) == "2025-10-11T00:15:00Z" == latest_breach(windows)
    assert latest_breach(encode_windows({"2025-10-11T00:00:00Z": "0,1.0,0.0,0,1"})) is None
    assert decode_windows({"2025-10-11T00:00:00Z": [1, 2.0, 0.5, 1, 4]}) == {"2025-10-11T00:00:00Z": "1,2.0,0.5,1,4"}


@pytest.mark.parametrize(
    "keep_from, keep, expected",
    [
        ("2025-10-11T00:00:00Z", None, ["00:00", "00:15", "00:30"]),  # nothing expired: the same string
        ("2025-10-11T00:10:00Z", None, ["00:15", "00:30"]),
        ("2025-10-11T00:30:00Z", None, ["00:30"]),
        ("2025-10-11T01:00:00Z", None, []),
        ("2025-10-11T01:00:00Z", "2025-10-11T00:30:00Z", ["00:30"]),  # the stepped window is kept
        ("2025-10-11T00:20:00Z", "2025-10-11T00:00:00Z", ["00:00", "00:30"]),
    ],
)
def test_expired_windows_are_cut_from_the_text_as_a_decode_would(keep_from, keep, expected):
    windows = {f"2025-10-11T00:{m}:00Z": f"{int(m == '15')},{m}.0,0.0,0,1" for m in ("00", "15", "30")}
    text = encode_windows(windows)
    cut = prune_windows(text, keep_from, keep)
    assert cut == encode_windows({k: v for k, v in windows.items() if k >= keep_from or k == keep})
    assert [k[11:16] for k in decode_windows(cut)] == expected
    if expected == ["00:00", "00:15", "00:30"]:
        assert cut is text


def older_form(doc, form):
    doc["version"] = 1
    for entry in doc["sources"].values():  # what older releases wrote
        windows = decode_windows(entry["windows"])
        if form == "lists":
            entry["windows"] = {
                k: [int(w.breach), w.p95_ms, w.failure_rate, w.errors, w.count]
                for k, w in ((k, Window.unpack(v)) for k, v in windows.items())
            }
        else:
            entry["windows"] = windows
    return doc


@pytest.mark.parametrize("form", ["lists", "strings"])
def test_a_state_with_older_windows_evaluates_as_the_current_form_does(tmp_path, form):
    start = ts("2025-10-11T00:00:00Z")
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    write_log(a / "log.csv", rows(start, 3, 5000.0))  # three hours of breaching windows: an alert fires
    ok_run(a, "--input", "log.csv", "--slo-ms", str(SLO), now=start + timedelta(hours=3, minutes=1))
    shutil.copytree(a, b)
    doc = state(b)
    assert all(isinstance(e["windows"], str) for e in doc["sources"].values())
    (b / "ops" / "latency_state.json").write_text(json.dumps(older_form(doc, form), indent=2))
    later = rows(start + timedelta(hours=3), 1, 10.0)  # recovery: the streak ends, the alert resolves
    results = []
    for ws in (a, b):
        append_log(ws / "log.csv", later)
        results.append(
            ok_run(ws, "--input", "log.csv", "--slo-ms", str(SLO), now=start + timedelta(hours=4, minutes=1))
        )
    assert results[0]["sources"] == results[1]["sources"]
    assert (
        [(x["rule"], x["status"], x["breach_count"]) for x in results[0]["alerts"]]
        == [(x["rule"], x["status"], x["breach_count"]) for x in results[1]["alerts"]]
        != []
    )
    assert state(a)["sources"] == state(b)["sources"]  # the older form is rewritten in the current one
    assert state(a)["alerts"] == state(b)["alerts"]


@pytest.mark.parametrize("odd", [None, 'quote"inside', "back\\slash", "nul\x00", "ünï", "\x00", "new\nline"])
def test_the_state_text_is_json_dumps_whatever_the_windows_hold(odd):
    from observability.latency.job import state_text

    windows = encode_windows({"2025-10-11T00:00:00Z": "0,10.0,0.0,0,2", "2025-10-11T00:15:00Z": "1,1e-05,0.5,1,3"})
    state = {
        "version": 2,
        "cursors": {"log.csv": {"header": ["a", "\x00"]}},
        "sources": {
            "feed_a": {"windows": windows, "stepped": "2025-10-11T00:15:00Z"},
            "feed_b": {"windows": "", "last_sample_at": None},
            "feed_c": {},
        },
        "alerts": {},
    }
    if odd is not None:
        state["sources"]["feed_d"] = {"windows": odd}
        state["sources"]["feed_e"] = {"windows": windows, "note": odd}
    expected = json.dumps(state, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    assert state_text(state) == expected
    assert json.loads(state_text(state)) == state


@pytest.mark.parametrize("bad", ["garbage", "0000", "2025-10-11T00:00:00Z=1,2", ["not", "a", "string"], 12])
@pytest.mark.parametrize("touched", [True, False])
def test_damaged_windows_are_refused_naming_the_field(tmp_path, bad, touched):
    start = ts("2025-10-11T00:00:00Z")
    write_log(tmp_path / "log.csv", rows(start, 1, 10.0))
    ok_run(tmp_path, "--input", "log.csv", "--slo-ms", str(SLO), now=start + timedelta(hours=1, minutes=1))
    doc = state(tmp_path)
    doc["sources"]["feed_a"]["windows"] = bad
    (tmp_path / "ops" / "latency_state.json").write_text(json.dumps(doc))
    if touched:  # new samples for the source, or none: its windows are only cut and read off the end
        append_log(tmp_path / "log.csv", rows(start + timedelta(hours=1), 1, 10.0))
    run = run_latency(tmp_path, "--input", "log.csv", "--slo-ms", str(SLO), now=start + timedelta(hours=2, minutes=1))
    assert run.exit_code == 1 and run.error_code == "invalid_input", run
    message = run.summary["diagnostics"]["error_message"]
    assert "ops/latency_state.json: field sources.feed_a.windows: not a windows string" in message


@pytest.mark.parametrize(
    "path, bad",
    [
        (("sources", "feed_a", "stepped"), 5),
        (("sources", "feed_a", "stepped"), "garbage"),
        (("sources", "feed_a", "last_sample_at"), 5),
        (("sources", "feed_a", "last_sample_at"), "junk"),
        (("sources", "feed_a", "stale_since"), ["x"]),
        (("sources", "feed_a"), "x"),
        (("sources",), "x"),
        (("alerts",), []),
        (("alerts", "abc"), 5),
        (("created_at",), 5),
        (("cursors",), 5),
        (("alerts", "FP", "severity"), "bogus"),
        (("alerts", "FP", "started_at"), 5),
        (("alerts", "FP", "last_breach_at"), 5),
        (("alerts", "FP", "breach_count"), "x"),
        (("alerts", "FP", "source"), None),
    ],
)
@pytest.mark.parametrize("touched", [True, False])
def test_a_state_field_of_the_wrong_type_is_refused_naming_the_field(tmp_path, path, bad, touched):
    """A hand-edited state with a wrong type (a number for a time, a string for a source) failed the
    cycle with internal_error and a bare TypeError; it is refused as invalid_input naming the field."""
    start = ts("2025-10-11T00:00:00Z")
    write_log(tmp_path / "log.csv", rows(start, 1, 5000.0))  # feed_a and feed_b breach: an SLO alert each
    ok_run(tmp_path, "--input", "log.csv", "--slo-ms", str(SLO), now=start + timedelta(hours=1, minutes=1))
    doc = state(tmp_path)
    fp = sorted(doc["alerts"])[0]
    path = tuple(fp if key == "FP" else key for key in path)
    place = doc
    for key in path[:-1]:
        place = place[key]
    place[path[-1]] = bad
    (tmp_path / "ops" / "latency_state.json").write_text(json.dumps(doc))
    before = {
        p: p.read_bytes()
        for p in (tmp_path / "ops").rglob("*")
        if p.is_file() and "automation" not in p.name and "heartbeat" not in p.name and not p.name.startswith(".")
    }
    if touched:
        append_log(tmp_path / "log.csv", rows(start + timedelta(hours=1), 1, 10.0))
    run = run_latency(tmp_path, "--input", "log.csv", "--slo-ms", str(SLO), now=start + timedelta(hours=2, minutes=1))
    assert run.exit_code == 1 and run.error_code == "invalid_input", run
    message = run.summary["diagnostics"]["error_message"]
    assert f"ops/latency_state.json: field {'.'.join(path)}:" in message, message
    assert "state pull" in message
    after = {p: p.read_bytes() for p in before}
    assert after == before, "a refused state changed the ops files"
