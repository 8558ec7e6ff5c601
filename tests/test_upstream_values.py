"""The shared bad-value checks (observability/upstream/values.py) and the shared runs reader, in-process."""

from __future__ import annotations

import math

import pytest

from observability.upstream import runs, values
from observability.upstream.values import BadValue


@pytest.mark.parametrize(
    "value, kwargs, expected",
    [
        (None, {}, None),
        ("", {"text": True}, None),
        ("  ", {"text": True}, None),
        (" 2.5 ", {"text": True}, 2.5),
        (3, {}, 3.0),
        (0.0, {"lo": 0, "hi": 1}, 0.0),
        (1, {"lo": 0, "hi": 1}, 1.0),
    ],
)
def test_good_numbers(value, kwargs, expected):
    assert values.number(value, "f", **kwargs) == expected


@pytest.mark.parametrize(
    "value, kwargs, message",
    [
        ("abc", {"text": True}, "field f: 'abc' is not a number"),
        ("nan", {"text": True}, "field f: 'nan' is not a finite number"),
        ("-inf", {"text": True}, "field f: '-inf' is not a finite number"),
        (math.nan, {}, "field f: nan is not a finite number"),
        (math.inf, {}, "field f: inf is not a finite number"),
        ("2.5", {}, "field f: '2.5' is not a number"),  # a string where JSON should hold a number
        (True, {}, "field f: True is not a number"),
        ([1], {}, "field f: [1] is not a number"),
        (-0.5, {"lo": 0, "hi": 1}, "field f: -0.5 is outside [0, 1]"),
        (2, {"lo": 0, "hi": 1}, "field f: 2 is outside [0, 1]"),
        (-1, {"lo": 0}, "field f: -1 is below 0"),
        (7, {"hi": 5}, "field f: 7 is above 5"),
    ],
)
def test_bad_numbers_name_the_field(value, kwargs, message):
    with pytest.raises(BadValue) as caught:
        values.number(value, "f", **kwargs)
    assert str(caught.value) == message and caught.value.field == "f"


def test_counts_and_rates():
    assert values.count("3.0", "trades", text=True) == 3
    assert values.count("", "trades", text=True) is None
    for bad in ("-1", "2.5", "x"):
        with pytest.raises(BadValue, match=r"is not a count \(a whole number >= 0\)"):
            values.count(bad, "trades", text=True)
    with pytest.raises(BadValue, match="not a finite number"):
        values.count("nan", "trades", text=True)
    assert values.rate(0.25, "reject_rate") == 0.25
    with pytest.raises(BadValue, match=r"1.5 is outside \[0, 1\]"):
        values.rate(1.5, "reject_rate")


def test_skip_warning_is_one_format():
    skips = values.Skips()
    skips.add("line 3", BadValue("wins", "'x' is not a number"))
    assert skips.for_file("runs/index.csv") == ["runs/index.csv: line 3: field wins: 'x' is not a number; row skipped"]
    assert (
        values.skip_warning("a.json", "entry.k", "field v: bad", "entry")
        == "a.json: entry.k: field v: bad; entry skipped"
    )
    assert skips.count == 1


@pytest.mark.parametrize(
    "text, message",
    [
        ("../x", "field run_dir: '../x' leads outside the workspace"),
        ("a/../../x", "field run_dir: 'a/../../x' leads outside the workspace"),
        ("/abs/x", "field run_dir: '/abs/x' is an absolute path (must be relative to the workspace)"),
        ("C:\\runs\\x", "field run_dir: 'C:\\\\runs\\\\x' is an absolute path (must be relative to the workspace)"),
        ("..\\..\\x", "field run_dir: '..\\\\..\\\\x' leads outside the workspace"),
    ],
)
def test_run_dir_outside_is_refused(text, message):
    with pytest.raises(BadValue) as caught:
        runs.run_dir(text)
    assert str(caught.value) == message


@pytest.mark.parametrize("text", ["..", ".", "a/b", "-x", "x y", "a\x00b", "é"])
def test_run_id_must_be_one_plain_name(text):
    with pytest.raises(BadValue, match="is not a run id"):
        runs.run_id(text)


def test_index_keeps_the_later_duplicate_and_skips_torn_rows():
    data = (
        b"run_id,timestamp,trades,wins\n"
        b"a,20260101_000000,3,1\n"
        b"a,20260102_000000,4,2\n"
        b"b,20260101_000000,5,6\n"
        b"c,20260101_000000\n"
    )
    index = runs.parse_index(data)
    assert [(r.run_id, r.trades, r.line) for r in index.rows] == [("a", 4, 3)]
    assert index.skips.warnings == [
        "line 4: field wins: 6 wins > 5 trades; row skipped",
        "line 5: row has 2 of 4 fields (truncated?); row skipped",
    ]
    assert index.notes == ["line 3: duplicate run_id a (line 2); later row kept"]


def test_figures_prefer_daily_then_index():
    row = runs.parse_index(b"run_id,timestamp,trades,wins,total_pips,win_rate\nr,20260101_000000,0,0,-0.0,0.0\n").rows[
        0
    ]
    daily = runs.daily_totals(
        runs.parse_daily_rows(b"date,fills,wins,pnl_pips\n2026-01-01,4,3,2.5\n2026-01-02,0,0,0\n")[0]
    )
    from_daily = runs.figures(row, daily)
    assert (from_daily.trades, from_daily.wins, from_daily.total_pips, from_daily.win_rate, from_daily.source) == (
        4,
        3,
        2.5,
        0.75,
        "daily",
    )
    from_index = runs.figures(row, None)
    assert (from_index.trades, from_index.total_pips, from_index.win_rate, from_index.source) == (0, 0.0, None, "index")


@pytest.mark.parametrize(
    "text",
    [
        "20250101_000000",
        "20251231_235959",
        "20240229_120000",
        "20250229_120000",
        "20250230_000000",
        "20250101_240000",
        "20250101_000060",
        "20250101_000061",
        "00000101_000000",
        "99991231_235959",
        "2025010_1000000",
        "20250101_00000",
        "2025-01-01T00:00:00Z",
        "2025-01-01 00:00:00+02:00",
    ],
)
def test_run_timestamps_read_as_strptime_and_iso_read_them(text):
    """The compact-stamp shortcut in upstream.runs.timestamp reads exactly what strptime does."""
    from datetime import UTC, datetime

    from observability.clock import parse_iso

    try:
        expected = datetime.strptime(text, "%Y%m%d_%H%M%S").replace(tzinfo=UTC)
    except ValueError:
        try:
            expected = parse_iso(text)
        except ValueError:
            expected = None
    try:
        assert runs.timestamp(text) == expected
    except BadValue:
        assert expected is None
