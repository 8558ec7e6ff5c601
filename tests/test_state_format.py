"""The snapshot format: which files are synced, the manifest schema, and the automation-log merge."""

from __future__ import annotations

import json
import os

import pytest

from observability.state import merge
from observability.state.errors import SnapshotCorrupt
from observability.state.manifest import Manifest, parse
from observability.state.selection import Entry, is_synced, scan


@pytest.mark.parametrize(
    "path,synced",
    [
        ("ops/latency_state.json", True),
        ("ops/signal_latency_archive/2026/01/20260101T000000Z-latency.csv.gz", True),
        ("ops/signal_latency_archive/manifest.jsonl", True),
        ("ops/automation_runs.log", True),
        ("ops/.latency.lock", False),
        ("ops/.automation_runs.lock", False),
        ("ops/.state_pulled.json", False),
        ("ops/.state_backup/x/ops/a.json", False),
        ("ops/.latency_state.json.k2j3h4.tmp", False),
        ("ops/rollup.csv.tmp", False),
        ("ops/some.lock", False),
        ("ops/dir/.hidden/file", False),
        ("out/dashboard/manifest.json", False),
        ("ops", False),
        ("ops/../etc/passwd", False),
        ("/ops/x", False),
        ("ops\\x", False),
    ],
)
def test_the_sync_rule(path, synced):
    assert is_synced(path) is synced


def test_scan_skips_symlinks_and_excluded_files(tmp_path):
    (tmp_path / "ops" / "sub").mkdir(parents=True)
    (tmp_path / "ops" / "a.json").write_text("{}")
    (tmp_path / "ops" / "sub" / "b.csv").write_text("x")
    (tmp_path / "ops" / ".latency.lock").write_text("")
    (tmp_path / "outside").write_text("secret")
    os.symlink(tmp_path / "outside", tmp_path / "ops" / "link")
    found = scan(tmp_path)
    assert sorted(found) == ["ops/a.json", "ops/sub/b.csv"]
    assert found["ops/a.json"] == Entry("44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a", 2)


def _manifest(**files) -> dict:
    return Manifest(
        generation=1,
        parent_generation=0,
        created_at="2026-01-01T00:00:00Z",
        job_id="20260101T000000Z-state",
        files=files,
    ).as_dict()


def test_a_manifest_round_trips_and_matches_its_schema():
    entry = Entry("a" * 64, 3)
    raw = Manifest(
        generation=4,
        parent_generation=3,
        created_at="2026-01-01T00:00:00Z",
        job_id="20260101T000000Z-state",
        files={"ops/a.json": entry},
        merged_generation=3,
    ).to_bytes()
    back = parse(raw, where="m")
    assert back.generation == 4 and back.files == {"ops/a.json": entry} and back.merged_generation == 3


@pytest.mark.parametrize(
    "bad_path", ["ops/../../etc/cron.d/x", "ops/.latency.lock", "/etc/passwd", "README.md", "ops//x", "ops/a/./b"]
)
def test_a_manifest_naming_a_path_outside_ops_is_corrupt(bad_path):
    data = _manifest()
    data["files"] = {bad_path: {"sha256": "a" * 64, "size": 1}}
    with pytest.raises(SnapshotCorrupt):
        parse(json.dumps(data).encode(), where="manifests/1.json")


def test_a_malformed_manifest_is_corrupt():
    with pytest.raises(SnapshotCorrupt, match="not valid JSON"):
        parse(b"{", where="m")
    with pytest.raises(SnapshotCorrupt, match="generation"):
        parse(json.dumps({**_manifest(), "generation": 0}).encode(), where="m")


def _line(seq: int, job: str) -> bytes:
    return json.dumps({"job": job, "sequence": seq}, sort_keys=True, separators=(",", ":")).encode() + b"\n"


def test_log_merge_keeps_theirs_and_renumbers_ours_after_it():
    shared = _line(1, "a") + _line(2, "b")
    theirs = shared + _line(3, "theirs") + _line(4, "theirs2")
    ours = shared + _line(3, "ours") + b'{"torn'
    merged, renumbered = merge.merge_log(theirs, ours)
    assert merged == theirs + _line(5, "ours")
    assert renumbered == [(3, 5)]
    assert merge.merged_sequence(merged, b"4\n", b"3\n") == b"5\n"


def test_overlap_ignores_identical_changes_and_the_merged_log():
    base = {"ops/a": Entry("1" * 64, 1), "ops/automation_runs.log": Entry("2" * 64, 1)}
    theirs = {"ops/a": Entry("3" * 64, 1), "ops/automation_runs.log": Entry("4" * 64, 1), "ops/t": Entry("5" * 64, 1)}
    ours = {"ops/a": Entry("3" * 64, 1), "ops/automation_runs.log": Entry("6" * 64, 1), "ops/o": Entry("7" * 64, 1)}
    assert merge.overlap(base, theirs, ours) == []
    ours["ops/t"] = Entry("8" * 64, 1)
    assert merge.overlap(base, theirs, ours) == ["ops/t"]


def test_merge_keeps_our_line_even_when_it_equals_one_of_theirs():
    """Two runs in the same second can log byte-identical lines; ours must still be kept."""
    import hashlib
    import json as _json

    from observability.state import merge
    from observability.state.selection import Entry

    base = b'{"job":"latency","sequence":1}\n'
    same = b'{"job":"state","sequence":2}\n'
    theirs, ours = base + same, base + same
    entry = Entry(hashlib.sha256(base).hexdigest(), len(base))
    log, renumbered = merge.merge_log(theirs, ours, entry)
    assert renumbered == [(2, 3)]
    assert [_json.loads(x)["sequence"] for x in log.splitlines()] == [1, 2, 3]
    # Without the pulled base the lines both hold are taken as shared past.
    assert merge.merge_log(theirs, ours)[1] == []


def test_the_fast_manifest_check_agrees_with_the_full_schema():
    """manifest.check validates file entries by hand for speed: it must refuse exactly what the schema refuses."""
    from observability import schemas
    from observability.errors import SchemaError
    from observability.state.manifest import check

    good = {"sha256": "a" * 64, "size": 3}
    entries = [
        good,
        {"sha256": "a" * 64, "size": 0},
        {"sha256": "A" * 64, "size": 3},
        {"sha256": "a" * 63, "size": 3},
        {"sha256": "a" * 64, "size": -1},
        {"sha256": "a" * 64, "size": True},
        {"sha256": "a" * 64, "size": 1.5},
        {"sha256": "a" * 64},
        {"sha256": "a" * 64, "size": 3, "extra": 1},
        [],
        "x",
        None,
    ]
    paths = ["ops/a.json", "ops/x/y.csv", "ops/.hidden", "ops/x/.y", "other/a", "ops//a", "ops/", "ops/a\\\\b"]
    base = {
        "schema_version": "1.0.0",
        "generation": 1,
        "parent_generation": 0,
        "created_at": "2026-01-01T00:00:00Z",
        "job_id": "20260101T000000Z-state",
        "files": {},
    }
    cases = [{**base, "files": {p: good}} for p in paths] + [{**base, "files": {"ops/a": e}} for e in entries]
    cases.append({**base, "files": {f"ops/f{i}": good for i in range(50)} | {"ops/bad": {"size": 1}}})
    for document in cases:
        expected = not schemas.errors("state_manifest", document)
        try:
            check(document, what="case")
            accepted = True
        except SchemaError:
            accepted = False
        assert accepted == expected, document
