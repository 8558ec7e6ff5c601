"""A growing signal log pulled by byte range across fresh runners, sampled after every pull:
every row is stored exactly once, a rotated remote starts over, an unchanged one costs no bytes."""

from __future__ import annotations

import json
import shutil
from datetime import timedelta
from pathlib import Path

import pytest

import _support_state
from _support_inputs import FileServer, pull, write_config
from _support_latency import CURRENT_HEADER, current_row, iso, raw_rows, run_latency, ts
from _support_state import s3_client, s3_env

s3_server = _support_state.s3_server

START = ts("2026-11-27T00:00:00Z")
LOG = "logs/signal_notifier.csv"


class Remote:
    """The notifier's log where the research stack keeps it: an HTTP server or an S3 key."""

    def __init__(self, kind: str, request, tmp_path: Path):
        self.kind = kind
        self.data = b""
        if kind == "https":
            self.server = FileServer().__enter__()
            request.addfinalizer(lambda: self.server.__exit__(None, None, None))
            self.source = f'https: {{url: "{self.server.url}/logs/signal_notifier.csv"}}'
            self.env = {}
        else:
            endpoint = request.getfixturevalue("s3_server")
            self.client = s3_client(endpoint)
            self.bucket = _support_state.fresh_bucket(endpoint)
            self.source = f"s3: {{bucket: {self.bucket}, key: notifier/signal_notifier.csv}}"
            self.env = s3_env(endpoint)
        self.put(b"")

    def put(self, data: bytes) -> None:
        self.data = data
        if self.kind == "https":
            self.server.files["/logs/signal_notifier.csv"] = data
        else:
            self.client.put_object(Bucket=self.bucket, Key="notifier/signal_notifier.csv", Body=data)

    def append(self, text: str) -> None:
        self.put(self.data + text.encode())


@pytest.fixture(params=["https", "s3"])
def remote(request, tmp_path):
    return Remote(request.param, request, tmp_path)


def _runner(tmp_path: Path, cycle: int, previous: Path | None, remote: Remote) -> Path:
    """A fresh workspace: the repository's config plus ops/ as the state store would bring it back."""
    ws = tmp_path / f"runner{cycle}"
    write_config(
        ws, f"inputs:\n  - name: signal-log\n    destination: {LOG}\n    incremental: true\n    {remote.source}\n"
    )
    if previous is not None:
        shutil.copytree(
            previous / "ops", ws / "ops", ignore=shutil.ignore_patterns(".*")
        )  # what a state push carries (no locks, no temp files)
    return ws


def _rows(cycle: int, count: int) -> list[str]:
    base = START + timedelta(minutes=15 * cycle)
    return [
        current_row(base + timedelta(seconds=10 * i), 100 + cycle * 1000 + i, detail=f"c{cycle}r{i}")
        for i in range(count)
    ]


def _cycle(tmp_path, cycle, previous, remote):
    ws = _runner(tmp_path, cycle, previous, remote)
    now = iso(START + timedelta(minutes=15 * cycle + 14))
    pulled = pull(ws, env={**remote.env, "OBS_NOW": now})
    assert pulled.exit_code == 0, pulled
    sampled = run_latency(ws, "--input", LOG, now=now)
    assert sampled.exit_code == 0, sampled
    return ws, pulled.summary, sampled.summary


def test_every_row_is_stored_exactly_once_across_fresh_runners(tmp_path, remote):
    remote.append(CURRENT_HEADER + "".join(_rows(0, 40)))
    first_size = len(remote.data)
    expected = _rows(0, 40)
    previous = None
    fetched = []
    for cycle in range(5):
        if cycle:
            new = _rows(cycle, 12)
            expected += new
            remote.append("".join(new))
        ws, pulled, sampled = _cycle(tmp_path, cycle, previous, remote)
        fetched.append(pulled["bytes_fetched"])
        assert sampled["duplicates_skipped"] == 0, sampled
        assert sampled["samples_read"] == (40 if cycle == 0 else 12), sampled
        assert not any("truncated" in w for w in sampled["diagnostics"].get("warnings", [])), sampled
        previous = ws
    stored = raw_rows(previous)
    assert sorted(r["detail"] for r in stored) == sorted(row.split(",")[3] for row in expected)
    assert len(stored) == len(expected)
    # After the first pull only the 1 KiB prefix and the new rows travel, never the whole log.
    assert fetched[0] == first_size > 1024
    for cycle, got in enumerate(fetched[1:], start=1):
        assert got == 1024 + len("".join(_rows(cycle, 12)).encode()), fetched
    state = json.loads((previous / "ops/inputs_state.json").read_text())["inputs"]["signal-log"]
    assert state["end"] == len(remote.data) and state["destination"] == LOG


def test_an_unchanged_log_costs_one_conditional_request_and_no_bytes(tmp_path, remote):
    remote.append(CURRENT_HEADER + "".join(_rows(0, 40)))
    ws1, _, _ = _cycle(tmp_path, 0, None, remote)
    ws2, pulled, sampled = _cycle(tmp_path, 1, ws1, remote)
    assert pulled["bytes_fetched"] == 0 and pulled["requests"] == 1, pulled
    assert sampled["samples_read"] == 0 and sampled["status"] in ("ok", "warning")
    assert (ws2 / "ops/inputs_state.json").read_bytes() == (ws1 / "ops/inputs_state.json").read_bytes()


def test_a_rotated_remote_starts_over_and_nothing_is_lost_or_doubled(tmp_path, remote):
    remote.append(CURRENT_HEADER + "".join(_rows(0, 40)))
    expected = _rows(0, 40)
    previous = None
    for cycle in range(5):
        if cycle == 2:  # the notifier rotated its log: a new file with a new header
            new = _rows(cycle, 30)
            remote.put((CURRENT_HEADER + "".join(new)).encode())
            expected += new
        elif cycle:
            new = _rows(cycle, 12)
            remote.append("".join(new))
            expected += new
        ws, pulled, sampled = _cycle(tmp_path, cycle, previous, remote)
        assert sampled["duplicates_skipped"] == 0, sampled
        if cycle == 2:
            assert pulled["inputs"][0]["incremental"]["rotated"] is True
            assert any("truncated or replaced" in w for w in sampled["diagnostics"]["warnings"])
            assert pulled["bytes_fetched"] >= len(remote.data)
        previous = ws
    stored = raw_rows(previous)
    assert len(stored) == len(expected)
    assert sorted(r["detail"] for r in stored) == sorted(row.split(",")[3] for row in expected)


def test_a_row_still_being_written_is_fetched_again_and_stored_once(tmp_path, remote):
    rows = _rows(0, 40)
    remote.append(CURRENT_HEADER + "".join(rows) + rows[0].replace("c0r0", "late")[:20])  # half a row
    ws1, _, first = _cycle(tmp_path, 0, None, remote)
    assert first["samples_read"] == 40
    remote.append(rows[0].replace("c0r0", "late")[20:])
    ws2, _, second = _cycle(tmp_path, 1, ws1, remote)
    assert second["samples_read"] == 1 and second["duplicates_skipped"] == 0
    assert [r["detail"] for r in raw_rows(ws2)].count("late") == 1


def test_a_failed_sample_leaves_the_rows_for_the_next_pull(tmp_path, remote):
    """The pull does not advance anything: the latency cursor does, when the samples are committed."""
    remote.append(CURRENT_HEADER + "".join(_rows(0, 40)))
    ws1, _, _ = _cycle(tmp_path, 0, None, remote)
    remote.append("".join(_rows(1, 12)))
    ws2 = _runner(tmp_path, 1, ws1, remote)
    assert pull(ws2, env={**remote.env, "OBS_NOW": iso(START + timedelta(minutes=29))}).exit_code == 0
    # This runner dies before sampling; the next one starts from the ops/ of the first.
    remote.append("".join(_rows(2, 12)))
    ws3, _, sampled = _cycle(tmp_path, 2, ws1, remote)
    assert sampled["samples_read"] == 24 and sampled["duplicates_skipped"] == 0
    assert len(raw_rows(ws3)) == 64


def test_the_prefix_length_matches_the_latency_fingerprint():
    from observability.inputs.incremental import PREFIX_BYTES
    from observability.upstream.signal_log import FINGERPRINT_BYTES

    assert PREFIX_BYTES == FINGERPRINT_BYTES


def test_a_server_that_ignores_range_still_gives_each_row_once(tmp_path, request):
    remote = Remote("https", request, tmp_path)
    remote.server.honour_range = False
    remote.append(CURRENT_HEADER + "".join(_rows(0, 40)))
    ws1, _, _ = _cycle(tmp_path, 0, None, remote)
    remote.append("".join(_rows(1, 12)))
    ws2, pulled, sampled = _cycle(tmp_path, 1, ws1, remote)
    assert pulled["bytes_fetched"] == len(remote.data)  # whole, since the server sends whole
    assert sampled["samples_read"] == 12 and sampled["duplicates_skipped"] == 0
    assert len(raw_rows(ws2)) == 52
