"""The dashboard's input cache: stat-trusted digests (and their trust rule), and the daily.csv fast path.

A cached digest must be one really computed from the file's bytes: the manifest's source_hash is
built from it. These tests rewrite files behind the cache's back the ways that fool a naive
size + mtime check, and compare against exports that read everything (--no-cache).
"""

from __future__ import annotations

import json
import os
import shutil
import time

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from _support_dashboard import bundle, entry, export, make_workspace
from observability.dashboard import cache as cache_mod, runs
from observability.dashboard.cache import ContentCache

FIRST = "runs/USDJPY_conservative_20260105_010000/daily.csv"
THIRD = "runs/USDJPY_conservative_20260106_010000/daily.csv"
DAILIES = 2


@pytest.fixture()
def later(monkeypatch):
    """The cache's clock 10 s ahead: files written by the test count as settled (no real wait)."""
    monkeypatch.setattr(cache_mod, "_now_ns", lambda: time.time_ns() + 10_000_000_000)


def runs_cache(result) -> dict:
    return result.summary["cache"]["runs"]


def turnover_row(ws, run_id: str) -> dict:
    return next(r for r in bundle(ws, "turnover")["rows"] if r["run_id"] == run_id)


def test_settled_files_are_not_read_again(tmp_path, later):
    make_workspace(tmp_path)
    first = export(tmp_path, "--dataset", "turnover")
    assert first.exit_code == 0, first
    assert runs_cache(first)["hashed"] == DAILIES and runs_cache(first)["misses"] == DAILIES + 1  # + index.csv
    again = export(tmp_path, "--dataset", "turnover", now="2026-01-09T00:07:00Z")
    assert again.summary["datasets"]["turnover"]["status"] == "unchanged"
    assert runs_cache(again) == {"hits": DAILIES + 1, "misses": 0, "hashed": 0}


def test_same_size_and_restored_mtime_is_still_seen(tmp_path, later):
    """The classic hole: new bytes, same size, mtime put back. ctime (and the digest) catch it."""
    make_workspace(tmp_path)
    assert export(tmp_path, "--dataset", "turnover").exit_code == 0
    assert turnover_row(tmp_path, "USDJPY_conservative_20260105_010000")["total_pips"] == 12.0
    path = tmp_path / FIRST
    old = path.stat()
    data = path.read_bytes()
    changed = data.replace(b",6.0\n", b",9.0\n")  # last day's pnl 6 -> 9: same length
    assert changed != data and len(changed) == len(data)
    path.write_bytes(changed)
    os.utime(path, ns=(old.st_atime_ns, old.st_mtime_ns))
    assert (path.stat().st_size, path.stat().st_mtime_ns) == (old.st_size, old.st_mtime_ns)
    result = export(tmp_path, "--dataset", "turnover", now="2026-01-09T00:07:00Z")
    assert result.summary["datasets"]["turnover"]["status"] == "built"
    assert runs_cache(result)["hashed"] == 1 and runs_cache(result)["misses"] == 1
    assert turnover_row(tmp_path, "USDJPY_conservative_20260105_010000")["total_pips"] == 15.0
    # the manifest's source_hash is the one an export reading every byte computes
    fresh = tmp_path.parent / "fresh"
    shutil.copytree(tmp_path, fresh)
    shutil.rmtree(fresh / "ops" / ".dashboard_cache")
    (fresh / "out" / "dashboard" / "turnover.json").unlink()
    assert export(fresh, "--dataset", "turnover", "--no-cache", now="2026-01-10T00:07:00Z").exit_code == 0
    assert entry(fresh, "turnover")["source_hash"] == entry(tmp_path, "turnover")["source_hash"]


@pytest.mark.parametrize(("age_s", "trusted"), [(1.9, False), (2.1, True)])
def test_a_file_younger_than_two_seconds_is_hashed_again_next_time(tmp_path, monkeypatch, age_s, trusted):
    """A write in the read's clock tick could leave the same stat behind: only settled files are trusted."""
    make_workspace(tmp_path)
    newest = max(max(p.stat().st_mtime_ns, p.stat().st_ctime_ns) for p in (tmp_path / FIRST, tmp_path / THIRD))
    monkeypatch.setattr(cache_mod, "_now_ns", lambda: newest + int(age_s * 1e9))
    assert export(tmp_path, "--dataset", "turnover").exit_code == 0
    entries = json.loads((tmp_path / "ops/.dashboard_cache/runs.json").read_text())["entries"]
    assert (entries[FIRST][2] is not None) is trusted and (entries[THIRD][2] is not None) is trusted
    again = export(tmp_path, "--dataset", "turnover", now="2026-01-09T00:07:00Z")
    assert runs_cache(again) == {"hits": DAILIES + 1, "misses": 0, "hashed": 0 if trusted else DAILIES}


def test_a_copied_workspace_is_hashed_not_parsed(tmp_path, later):
    """A runner restores inputs and cache as new files (new inodes, ctimes): hashes decide, no parse."""
    make_workspace(tmp_path / "a")
    assert export(tmp_path / "a", "--dataset", "turnover").exit_code == 0
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    result = export(tmp_path / "b", "--dataset", "turnover", now="2026-01-09T00:07:00Z")
    assert result.summary["datasets"]["turnover"]["status"] == "unchanged"
    assert runs_cache(result) == {"hits": DAILIES + 1, "misses": 0, "hashed": DAILIES}
    assert runs_cache(export(tmp_path / "b", "--dataset", "turnover", now="2026-01-10T00:07:00Z"))["hashed"] == 0


def test_a_deleted_daily_file_drops_out_and_returns_parsed(tmp_path, later):
    make_workspace(tmp_path)
    assert export(tmp_path, "--dataset", "turnover").exit_code == 0
    saved = (tmp_path / THIRD).read_bytes()
    (tmp_path / THIRD).unlink()
    gone = export(tmp_path, "--dataset", "turnover", now="2026-01-09T00:07:00Z")
    assert gone.summary["datasets"]["turnover"]["status"] == "built"
    assert turnover_row(tmp_path, "USDJPY_conservative_20260106_010000")["has_daily"] is False
    assert THIRD not in json.loads((tmp_path / "ops/.dashboard_cache/runs.json").read_text())["entries"]
    (tmp_path / THIRD).write_bytes(saved)
    back = export(tmp_path, "--dataset", "turnover", now="2026-01-10T00:07:00Z")
    assert (
        runs_cache(back)["misses"] == 1 and turnover_row(tmp_path, "USDJPY_conservative_20260106_010000")["has_daily"]
    )


def test_a_corrupt_or_foreign_cache_is_ignored(tmp_path, later):
    make_workspace(tmp_path)
    assert export(tmp_path, "--dataset", "turnover").exit_code == 0
    expected = (tmp_path / "out/dashboard/turnover.json").read_bytes()
    path = tmp_path / "ops/.dashboard_cache/runs.json"
    doc = json.loads(path.read_text())
    doc["entries"][FIRST] = {"sha256": "x", "value": 1}  # version 2's shape
    doc["entries"][THIRD] = ["0" * 64, [1, 2], "not a stat"]
    path.write_text(json.dumps(doc))
    (tmp_path / "out/dashboard/turnover.json").unlink()
    result = export(tmp_path, "--dataset", "turnover", now="2026-01-09T00:07:00Z")
    assert result.exit_code == 0, result
    assert runs_cache(result)["misses"] == DAILIES  # both read and parsed again, none trusted
    body = json.loads((tmp_path / "out/dashboard/turnover.json").read_bytes())
    assert body["rows"] == json.loads(expected)["rows"]


def _daily_files(root, n: int) -> list[tuple[str, str]]:
    items = []
    for i in range(n):
        path = root / f"r{i}" / "daily.csv"
        path.parent.mkdir(parents=True)
        path.write_text(f"date,fills,wins,pnl_pips\n2026-01-0{i % 9 + 1},{i % 4},{i % 2},{i - 3.5}\n")
        items.append((f"r{i}", str(path)))
    (root / "r0" / "daily.csv").write_text("date,fills,wins,pnl_pips\n2026-01-01,1,2,0.0\n")  # unusable
    (root / "r1" / "daily.csv").unlink()
    (root / "r1" / "daily.csv").mkdir()  # unreadable
    (root / "r2" / "daily.csv").unlink()  # missing
    return items


def test_worker_processes_and_the_main_process_agree(tmp_path):
    items = _daily_files(tmp_path, 70)
    inline = ContentCache(None, "runs").compute_files(items, runs.cached_daily, parallel_from=10**9)
    pooled = ContentCache(None, "runs").compute_files(items, runs.cached_daily, parallel_from=1)
    assert {k: (d, repr(v)) for k, (d, v) in inline.items()} == {k: (d, repr(v)) for k, (d, v) in pooled.items()}
    assert "r2" not in inline and isinstance(inline["r1"][1], OSError) and inline["r1"][0] is None
    assert isinstance(inline["r0"][1], ValueError) and len(inline["r0"][0]) == 64
    assert inline["r5"][1][2] == 1 and len(inline) == 69


# -- the daily.csv fast path never disagrees with the careful reader --------------------------------

CELLS = {
    "date": [
        "2026-01-01",
        "2026-01-02 00:00:00",
        "2026-01-03",
        " 2026-01-04 ",
        "2026-01-02T10:00:00Z",
        "2026-02-30",
        "2026-1-5",
        "",
        "x",
        "2026-W01-1",
        "20260106",
    ],
    "fills": ["0", "1", "2", "3", "12", "999", "1000", "03", " 4", "-1", "3.0", "", "x", "1e3", "12345678901234567890"],
    "wins": ["0", "1", "2", "5", "01", "-0", "2.0", ""],
    "pnl_pips": ["0.0", "-0.0", "0", "1.5", "-2.25", "10", "-4.0", "", "nan", "inf", "1e308", "x", " 3 ", "1_0"],
    "other": ["5", "", "a", "0.5"],
}
CLEAN = {
    "date": CELLS["date"][:3],
    "fills": CELLS["fills"][:6],
    "pnl_pips": CELLS["pnl_pips"][:7],
    "other": CELLS["other"],
}


@st.composite
def daily_files(draw) -> tuple[bytes, bool]:
    """(a daily.csv, whether the fast path must take it).

    Three kinds: clean (only what upstream writes: the fast path must take it), one odd cell in an
    otherwise clean file (the fast path must notice it or agree), and anything goes.
    """
    extra = draw(st.integers(0, 3))
    header = draw(st.permutations(["date", "fills", "wins", "pnl_pips", *[f"x{i}" for i in range(extra)]]))
    kind = draw(st.sampled_from(["clean", "odd", "wild"]))
    wild = kind == "wild"
    rows = draw(st.integers(1 if kind == "odd" else 0, 12))
    odd = (draw(st.integers(0, rows - 1)), draw(st.sampled_from(header))) if kind == "odd" else None
    lines = [",".join(header)]
    for row in range(rows):
        cells = []
        for name in header:
            if name == "wins":
                cells.append(None)
            elif wild or odd == (row, name):
                cells.append(draw(st.sampled_from(CELLS.get(name, CELLS["other"]))))
            else:
                cells.append(draw(st.sampled_from(CLEAN.get(name, CLEAN["other"]))))
        fills = cells[header.index("fills")]
        at = header.index("wins")
        cells[at] = (
            draw(st.sampled_from(CELLS["wins"]))
            if wild or odd == (row, "wins")
            else draw(st.sampled_from(["0", fills]))
        )
        if wild and draw(st.integers(0, 9)) == 0:
            cells = cells[:-1] if draw(st.booleans()) else [*cells, "9"]
        lines.append(",".join(cells))
        if wild and draw(st.integers(0, 9)) == 0:
            lines.append(draw(st.sampled_from(["", "  ", "\x0c", "\x1f"])))
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"] if wild else ["\n", "\r\n"]))
    text = newline.join(lines) + draw(st.sampled_from(["", newline, newline * 2]))
    return (draw(st.sampled_from(["", "\ufeff"])) + text).encode("utf-8"), kind == "clean" and rows > 0


def _careful(data: bytes):
    try:
        return runs.parse_daily_careful(data)
    except ValueError as exc:
        return f"ValueError: {exc}"


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(daily_files())
def test_the_fast_path_agrees_with_the_careful_reader(case):
    data, takes_fast = case
    fast = runs._parse_daily_fast(data)
    careful = _careful(data)
    if fast is not None:
        assert careful == {**fast, "warnings": []}
    assert fast is not None or not takes_fast
    try:
        assert runs.parse_daily(data) == careful
    except ValueError as exc:
        assert careful == f"ValueError: {exc}"


def test_the_fast_path_takes_clean_files():
    """Upstream's own files (CRLF, a time part on some dates, zero-fill days) never need the careful path."""
    data = (
        b"date,breakouts,fills,wins,pnl_pips\r\n2018-01-01,9,0,0,0.0\r\n2018-01-02 00:00:00,249,51,50,45.5\r\n"
        b"2018-01-03,3,2,1,-50.25\r\n"
    )
    fast = runs._parse_daily_fast(data)
    assert fast == {
        "days": 3,
        "active_days": 2,
        "fills": 53,
        "wins": 51,
        "first": "2018-01-01",
        "last": "2018-01-03",
        "max_drawdown_pips": 50.25,
        "peak_at_drawdown_pips": 45.5,
        "total_pips": -4.75,
    }
    assert runs.parse_daily(data) == {**fast, "warnings": []} == runs.parse_daily_careful(data)


CLEAN_FILE = [
    "date,gate,fills,wins,pnl_pips",
    "2026-01-01,5,0,0,0.0",
    "2026-01-02 00:00:00,7,3,2,1.5",
    "2026-01-03,2,2,0,-2.25",
]


def _agree(lines: list[str]) -> None:
    data = ("\n".join(lines) + "\n").encode()
    fast = runs._parse_daily_fast(data)
    careful = _careful(data)
    if fast is not None:
        assert careful == {**fast, "warnings": []}, (lines, fast)


@pytest.mark.parametrize(
    ("column", "value"),
    [(c, v) for c, pool in CELLS.items() if c != "other" for v in pool] + [("gate", v) for v in CELLS["other"]],
)
def test_one_odd_cell_in_a_clean_file(column, value):
    """Every odd value, alone in a clean file, in each row: the fast path notices it or agrees."""
    header = CLEAN_FILE[0].split(",")
    for row in range(1, len(CLEAN_FILE)):
        lines = list(CLEAN_FILE)
        cells = lines[row].split(",")
        cells[header.index(column)] = value
        lines[row] = ",".join(cells)
        _agree(lines)


@pytest.mark.parametrize(
    "rows",
    [
        ["2026-01-01,5,0,0", "2026-01-02,7,3,2,1.5,9"],  # one short, one long: the same number of commas
        ["2026-01-01,5,0,0,0.0,1", "2026-01-02,7,3,2", "2026-01-03,2,2,0,-2.25"],
        ["2026-01-01,5,0,0,0.0,1,2", "2026-01-02,7,3,2,1.5", "2026-01-03", "2026-01-04,2,2,0,-2.25"],
        ["1.5,2026-01-02,7,3,2", "2026-01-01,5,0,0,0.0", "2026-01-03,2,2,0"],
        ["2026-01-01,2026-01-02,5,0,1,0", "2026-01-01,5,5,2026-01-01"],  # found by fuzzing: realigned, every value fits
    ],
)
def test_rows_of_the_wrong_width_are_never_realigned(rows):
    _agree([CLEAN_FILE[0], *rows])


# -- a corpus through both readers: every variant parses alike, the clean ones on the fast path -----

BASE = [
    "date,breakouts,fills,wins,pnl_pips",
    "2018-01-01 00:00:00,9,0,0,0.0",
    "2018-01-02,249,51,50,45.5",
    "2018-01-03,3,2,1,-50.25",
    "2018-01-04,3,0,0,-0.0",
    "2018-01-05 00:00:00,3,4,4,12.125",
]
VARIANTS = {  # name: (lines -> lines or bytes, whether the fast path must take it)
    "clean": (lambda ls: ls, True),
    "columns reordered": (lambda ls: [",".join(reversed(line.split(","))) for line in ls], True),
    "quoted unused field": (
        lambda ls: [ls[0], *(f'{c[0]},"b",{",".join(c[2:])}' for c in (line.split(",") for line in ls[1:]))],
        True,
    ),
    "quoted date": (lambda ls: [ls[0], '"2018-01-01",9,0,0,0.0', *ls[2:]], False),
    "quoted number": (lambda ls: [*ls[:2], '2018-01-02,249,"51",50,45.5', *ls[3:]], False),
    "quoted comma": (lambda ls: [*ls[:2], '2018-01-02,"2,4",51,50,45.5', *ls[3:]], False),
    "blank line": (lambda ls: [*ls[:3], "", *ls[3:]], False),
    "whitespace line": (lambda ls: [*ls[:3], "  \t", *ls[3:]], False),
    "trailing blank lines": (lambda ls: [*ls, "", ""], True),
    "torn last row": (lambda ls: [*ls[:-1], "2018-01-05 00:00:00,3,4"], False),
    "torn and padded rows": (lambda ls: [*ls[:2], "2018-01-02,249,51,50", "2018-01-03,3,2,1,-50.25,7", *ls[4:]], False),
    "bad number": (lambda ls: [*ls[:2], "2018-01-02,249,51,50,4x5", *ls[3:]], False),
    "nan": (lambda ls: [*ls[:2], "2018-01-02,249,51,50,nan", *ls[3:]], False),
    "inf total": (lambda ls: [*ls[:2], "2018-01-02,249,51,50,1e308", "2018-01-03,3,2,1,1e308", *ls[4:]], False),
    "empty count": (lambda ls: [*ls[:2], "2018-01-02,249,,0,45.5", *ls[3:]], False),
    "count 3.0": (lambda ls: [*ls[:2], "2018-01-02,249,3.0,1,45.5", *ls[3:]], False),
    "big count": (lambda ls: [*ls[:2], "2018-01-02,249,1000,50,45.5", *ls[3:]], True),
    "more wins than fills": (lambda ls: [*ls[:2], "2018-01-02,249,1,2,45.5", *ls[3:]], False),
    "bad date": (lambda ls: [*ls[:2], "2018-02-30,249,51,50,45.5", *ls[3:]], False),
    "spaced date": (lambda ls: [*ls[:2], " 2018-01-02 ,249,51,50,45.5", *ls[3:]], True),
    "unit separator around a date": (lambda ls: [*ls[:2], "\x1f2018-01-02,249,51,50,45.5", *ls[3:]], True),
    "repeated day": (lambda ls: [*ls, "2018-01-05,1,1,0,-3.5"], True),
    "missing column": (lambda ls: [line.rsplit(",", 1)[0] for line in ls], False),
    "header only": (lambda ls: ls[:1], False),
    "file separator (a line break)": (lambda ls: [*ls[:2], "2018-01-02,2\x1c49,51,50,45.5", *ls[3:]], False),
    "line break in the header": (lambda ls: ["date,breakouts\x0b,fills,wins,pnl_pips", *ls[1:]], False),
    "not ASCII": (lambda ls: [*ls[:2], "2018-01-02,2\u00e949,51,50,45.5", *ls[3:]], False),
    "CRLF": (lambda ls: "\r\n".join(ls).encode() + b"\r\n", True),
    "BOM and CRLF": (lambda ls: "\ufeff".encode() + "\r\n".join(ls).encode() + b"\r\n", True),
    "two BOMs": (lambda ls: "\ufeff\ufeff".encode() + "\n".join(ls).encode(), False),
    "lone CR": (lambda ls: "\r".join(ls).encode(), False),
    "CR and CRLF": (lambda ls: ("\r\n".join(ls[:3]) + "\r" + "\r\n".join(ls[3:])).encode(), False),
    "not UTF-8": (lambda ls: "\n".join(ls).encode() + b"\n2018-01-09,1,1,1,\xff", False),
}


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_the_corpus_reads_alike_through_both_paths(name):
    change, takes_fast = VARIANTS[name]
    made = change(list(BASE))
    data = made if isinstance(made, bytes) else ("\n".join(made) + "\n").encode()
    fast = runs._parse_daily_fast(data)
    careful = _careful(data)
    if fast is not None:
        assert careful == {**fast, "warnings": []}
    assert (fast is not None) == takes_fast
    for _ in range(2):  # the second time from the calendar kept by the first
        try:
            assert runs.parse_daily(data) == careful
        except ValueError as exc:
            assert careful == f"ValueError: {exc}"


def test_a_kept_calendar_serves_only_its_own_date_column():
    """Runs sharing a date column reuse its reading; their own fills still decide the active days."""
    runs._CALENDARS.clear()
    header = "date,fills,wins,pnl_pips\n"
    days = [f"2018-01-{d:02d}" for d in range(1, 29)]
    for repeat in (False, True):
        dates = days + days[:3] if repeat else days
        for shift in range(4):
            lines = [f"{d},{(i + shift) % 3},{min(1, (i + shift) % 3)},{(i % 5) - 2.5}" for i, d in enumerate(dates)]
            data = (header + "\n".join(lines) + "\n").encode()
            assert runs._parse_daily_fast(data) is not None
            assert runs.parse_daily(data) == _careful(data)
    assert len(runs._CALENDARS) == 2
    for n in range(runs._CALENDARS_KEPT + 5):  # more calendars than kept: the oldest go, answers stay right
        data = (header + f"2019-01-01,1,0,0.5\n2019-02-{n % 28 + 1:02d} 0{n % 10}:00:00,0,0,-1.0\n").encode()
        assert runs.parse_daily(data) == _careful(data)
    assert len(runs._CALENDARS) == runs._CALENDARS_KEPT
