"""Incremental reading of the upstream log across runs: append, partial lines, truncation, rotation."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from _support_latency import append_log, current_row, ok_run, raw_rows, row_key, ts, write_log

T0 = ts("2025-10-11T10:00:00Z")
NOW = ts("2025-10-11T12:00:00Z")


def rows(start: int, stop: int, source: str = "feed_a") -> list[str]:
    """Distinct rows: row i at T0 + i minutes with latency 100 + i."""
    return [current_row(T0 + timedelta(minutes=i), 100 + i, source=source) for i in range(start, stop)]


def latencies(ws) -> list[float]:
    return sorted(float(r["latency_ms"]) for r in raw_rows(ws))


def assert_exactly(ws, indices) -> None:
    keys = [row_key(r) for r in raw_rows(ws)]
    duplicated = [k for k, n in Counter(keys).items() if n > 1]
    assert not duplicated, duplicated
    assert latencies(ws) == [float(100 + i) for i in sorted(indices)]


def test_appended_rows_are_read_once_each(tmp_path):
    ws, log = tmp_path, tmp_path / "log.csv"
    write_log(log, rows(0, 3))
    first = ok_run(ws, "--input", "log.csv", now=NOW)
    assert first["samples_read"] == 3 and first["samples_written"] == 3
    append_log(log, rows(3, 5))
    second = ok_run(ws, "--input", "log.csv", now=NOW + timedelta(minutes=15))
    # only the new rows are read (not re-read and deduplicated)
    assert second["samples_read"] == 2 and second["samples_written"] == 2
    assert second["duplicates_skipped"] == 0
    third = ok_run(ws, "--input", "log.csv", now=NOW + timedelta(minutes=30))
    assert third["samples_read"] == 0
    assert_exactly(ws, range(5))


def test_partial_last_line_waits_until_completed(tmp_path):
    ws, log = tmp_path, tmp_path / "log.csv"
    write_log(log, rows(0, 2))
    ok_run(ws, "--input", "log.csv", now=NOW)
    line = rows(2, 3)[0]
    append_log(log, [line[:15]])  # the notifier is still writing this line
    partial = ok_run(ws, "--input", "log.csv", now=NOW + timedelta(minutes=15))
    assert partial["samples_read"] == 0 and partial["rejected_rows"] == 0
    assert_exactly(ws, range(2))
    append_log(log, [line[15:]] + rows(3, 4))
    completed = ok_run(ws, "--input", "log.csv", now=NOW + timedelta(minutes=30))
    assert completed["samples_read"] == 2 and completed["rejected_rows"] == 0
    assert_exactly(ws, range(4))


def test_truncated_log_is_read_from_the_start(tmp_path):
    ws, log = tmp_path, tmp_path / "log.csv"
    write_log(log, rows(0, 6))
    ok_run(ws, "--input", "log.csv", now=NOW)
    write_log(log, rows(6, 7))  # rewritten shorter with one new row
    run = ok_run(ws, "--input", "log.csv", now=NOW + timedelta(minutes=15))
    assert run["samples_written"] == 1
    assert any("truncated" in w for w in run["diagnostics"].get("warnings", []))
    assert_exactly(ws, range(7))
    append_log(log, rows(7, 8))
    run = ok_run(ws, "--input", "log.csv", now=NOW + timedelta(minutes=30))
    assert run["samples_read"] == 1
    assert_exactly(ws, range(8))


def test_replaced_with_same_size_but_other_content(tmp_path):
    ws, log = tmp_path, tmp_path / "log.csv"
    write_log(log, rows(0, 3))
    ok_run(ws, "--input", "log.csv", now=NOW)
    write_log(log, rows(10, 13))  # same byte length, different rows: not an append
    run = ok_run(ws, "--input", "log.csv", now=NOW + timedelta(minutes=15))
    assert run["samples_written"] == 3
    assert_exactly(ws, [0, 1, 2, 10, 11, 12])


def test_rotation_reads_unread_tail_then_new_log(tmp_path):
    ws, log = tmp_path, tmp_path / "logs" / "notifier.csv"
    write_log(log, rows(0, 3))
    ok_run(ws, "--input", "logs/notifier.csv", now=NOW)
    append_log(log, rows(3, 6))  # written but not yet read ...
    log.rename(log.with_name("notifier.csv.1"))  # ... when the notifier rotates
    write_log(log, rows(6, 8))  # and starts a new log
    run = ok_run(ws, "--input", "logs/notifier.csv", now=NOW + timedelta(minutes=15))
    assert run["samples_read"] == 5 and run["samples_written"] == 5
    assert any("rotated" in w for w in run["diagnostics"].get("warnings", []))
    assert_exactly(ws, range(8))
    append_log(log, rows(8, 9))
    run = ok_run(ws, "--input", "logs/notifier.csv", now=NOW + timedelta(minutes=30))
    assert run["samples_read"] == 1
    assert_exactly(ws, range(9))


def test_rotation_when_new_log_is_already_longer(tmp_path):
    ws, log = tmp_path, tmp_path / "notifier.csv"
    write_log(log, rows(0, 2))
    ok_run(ws, "--input", "notifier.csv", now=NOW)
    append_log(log, rows(2, 4))
    log.rename(tmp_path / "notifier.csv.1")
    write_log(log, rows(4, 20))  # bigger than the old cursor offset
    run = ok_run(ws, "--input", "notifier.csv", now=NOW + timedelta(minutes=15))
    assert run["samples_read"] == 18
    assert_exactly(ws, range(20))


def test_deleted_state_file_does_not_duplicate_or_lose_rows(tmp_path):
    ws, log = tmp_path, tmp_path / "log.csv"
    write_log(log, rows(0, 4))
    ok_run(ws, "--input", "log.csv", now=NOW)
    (ws / "ops" / "latency_state.json").unlink()
    append_log(log, rows(4, 6))
    run = ok_run(ws, "--input", "log.csv", now=NOW + timedelta(minutes=15))
    assert run["samples_written"] == 2
    assert run["duplicates_skipped"] == 4
    assert_exactly(ws, range(6))


def test_deleted_state_keeps_rows_no_longer_in_the_log(tmp_path):
    """Rows whose log was truncated away live only in the raw store: losing the state must not lose them."""
    ws, log = tmp_path, tmp_path / "log.csv"
    write_log(log, rows(0, 4))
    ok_run(ws, "--input", "log.csv", now=NOW)
    write_log(log, rows(4, 5))  # upstream truncated its log
    ok_run(ws, "--input", "log.csv", now=NOW + timedelta(minutes=15))
    assert_exactly(ws, range(5))
    (ws / "ops" / "latency_state.json").unlink()
    append_log(log, rows(5, 6))
    run = ok_run(ws, "--input", "log.csv", now=NOW + timedelta(minutes=30))
    assert run["samples_written"] == 1
    assert_exactly(ws, range(6))


def test_multiline_detail_survives_a_lost_state(tmp_path):
    """A detail holding a newline (a traceback) is one quoted record; re-indexing must not split it."""
    ws, log = tmp_path, tmp_path / "log.csv"
    traceback = '"Traceback (most recent call last):\n  File ""feed.py"", line 3\nValueError: bad"'
    write_log(log, [f"{T0.strftime('%Y-%m-%dT%H:%M:%SZ')},2100,failure,{traceback},feed_a\n"] + rows(1, 3))
    ok_run(ws, "--input", "log.csv", now=NOW)
    details = [r["detail"] for r in raw_rows(ws)]
    assert details[0] == 'Traceback (most recent call last):\n  File "feed.py", line 3\nValueError: bad'
    (ws / "ops" / "latency_state.json").unlink()
    for i, later in enumerate((15, 30, 45)):
        append_log(log, rows(3 + i, 4 + i))
        run = ok_run(ws, "--input", "log.csv", now=NOW + timedelta(minutes=later))
        assert run["samples_written"] == 1
    assert len(raw_rows(ws)) == 6
    assert raw_rows(ws)[0]["detail"] == details[0]
    assert sorted(float(r["latency_ms"]) for r in raw_rows(ws)) == [101.0, 102.0, 103.0, 104.0, 105.0, 2100.0]


def test_a_multiline_record_still_being_written_is_left_for_the_next_run(tmp_path):
    """A quoted detail holding a newline, cut mid-record, is neither consumed nor rejected."""
    from observability.clock import parse_iso
    from observability.upstream.signal_log import read_new

    log = tmp_path / "signal.csv"
    log.write_text(
        "timestamp_utc,latency_ms,status,detail,source\n2026-01-05T00:00:00Z,10,ok,,feed\n"
        '2026-01-05T00:01:00Z,20,error,"Traceback\n'
    )
    now = parse_iso("2026-01-05T01:00:00Z")
    samples, rejects, cursor, _ = read_new(log, None, rel="signal.csv", default_source=None, now=now)
    assert [s.latency_ms for s in samples] == [10.0] and rejects == []
    with open(log, "a") as handle:
        handle.write('  boom",feed\n')
    samples, rejects, cursor, _ = read_new(log, cursor, rel="signal.csv", default_source=None, now=now)
    assert [(s.latency_ms, s.detail) for s in samples] == [(20.0, "Traceback\n  boom")] and rejects == []


def test_an_open_quote_at_the_end_of_a_rotated_file_is_rejected_naming_that_file(tmp_path):
    """Nothing more will be written to a rotated file: an unclosed quote there is a bad row (named by the
    rotated file and its line), not a reason to drop or swallow anything."""
    ws, log = tmp_path, tmp_path / "logs" / "notifier.csv"
    write_log(log, rows(0, 3))
    ok_run(ws, "--input", "logs/notifier.csv", now=NOW)
    append_log(log, rows(3, 5) + [f'{T0.strftime("%Y-%m-%dT%H:%M:%SZ")},250,error,"bad gateway,feed_a\n'])
    log.rename(log.with_name("notifier.csv.1"))
    write_log(log, rows(5, 7))
    run = ok_run(ws, "--input", "logs/notifier.csv", now=NOW + timedelta(minutes=15))
    assert run["samples_written"] == 4 and run["rejected_rows"] == 1, run
    reject = (ws / "ops" / "signal_latency_rejects.csv").read_text().splitlines()[1]
    assert ",logs/notifier.csv.1,7,unterminated quoted field" in reject, reject
    assert_exactly(ws, range(7))


def test_quoted_fields_that_close_on_their_line_and_crlf_lines(tmp_path):
    """Escaped quotes (""), a field quoted then followed by text, CRLF endings: one record per line."""
    ws, log = tmp_path, tmp_path / "log.csv"
    stamp = T0.strftime("%Y-%m-%dT%H:%M:%SZ")
    log.write_bytes(
        b"timestamp_utc,latency_ms,status,detail,source\r\n"
        + f'{stamp},100,failure,"said ""no"", twice",feed_a\r\n'.encode()
        + f'{stamp},101,failure,"HTTP"503,feed_a\r\n'.encode()
        + f'{stamp},102,failure,"ends with a quote""",feed_a\r\n'.encode()
    )
    run = ok_run(ws, "--input", "log.csv", now=NOW)
    assert run["samples_written"] == 3 and run["rejected_rows"] == 0, run
    assert [r["detail"] for r in raw_rows(ws)] == ['said "no", twice', "HTTP503", 'ends with a quote"']


def test_an_open_quote_never_swallows_a_non_utf8_line_or_a_record(tmp_path):
    """The lines after an unclosed quote are read on their own when they cannot continue it."""
    from observability.clock import parse_iso
    from observability.upstream.signal_log import read_new

    log = tmp_path / "signal.csv"
    log.write_bytes(
        b"timestamp_utc,latency_ms,status,detail,source\n"
        b'2026-01-05T00:00:00Z,10,error,"opened,feed\n'
        b"  caf\xe9 line\n"
        b" , ,,\n"
        b"2026-01-05T00:01:00Z,20,ok,,feed\n"
    )
    samples, rejects, cursor, _ = read_new(
        log, None, rel="signal.csv", default_source=None, now=parse_iso("2026-01-05T01:00:00Z")
    )
    assert [s.latency_ms for s in samples] == [20.0]
    assert [(r.line, r.reason.split(":")[0], r.raw) for r in rejects] == [
        (2, "unterminated quoted field", '2026-01-05T00:00:00Z,10,error,"opened,feed'),
        (3, "not UTF-8 text (byte 6 of the line)", "  caf\\xe9 line"),
    ]
    assert cursor["offset"] == log.stat().st_size and cursor["line"] == 5
