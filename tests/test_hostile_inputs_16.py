"""Hostile input against the issue-16 surfaces (an adversarial review): credentials in a --sync-to URL
whose secret holds a "/", index.json keys that climb out of a file:// target, legacy trees whose
symlinks lead out of LEGACY_DIR or that hold a FIFO. Real file targets. The secret canaries on a
command's output, the FIFO, the kill and the memory limit run real processes (``run_cli``); the rest run
the CLI in the test process (``run_in_process``, tests/_support_inprocess.py).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from pathlib import Path

import pytest

from _support_sync import NOW, make_workspace, sync
from observability.storage import display_url, locate
from observability.storage.errors import StoreUrlError
from tests._support_inprocess import run_cli_in_process as run_in_process
from tests._support_robust import clean_env, run_cli

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def canary() -> str:
    return "canary" + secrets.token_hex(12)


def _nowhere(canary: str, root: Path, done) -> None:
    assert canary not in done.stdout and canary not in done.stderr, (done.stdout[-800:], done.stderr[-800:])
    for path in root.rglob("*"):
        if path.is_file():
            assert canary.encode() not in path.read_bytes(), f"canary written to {path.relative_to(root)}"


# -- credentials in a --sync-to URL ------------------------------------------------------------------
@pytest.mark.parametrize(
    "form",
    [
        "s3://AKIAEXAMPLE:{c}/with+slash@bucket/prefix",  # AWS secret keys hold "/" and "+"
        "file://user:{c}/x@/tmp/target",
        "git+https://x-access-token:{c}/y@github.com/o/r.git",
    ],
)
def test_a_secret_with_a_slash_in_a_sync_to_url_is_refused_and_never_shown(tmp_path, canary, form):
    url = form.format(c=canary)
    with pytest.raises(StoreUrlError) as caught:
        locate(url, option="--sync-to")
    assert canary not in str(caught.value) and "credentials do not belong in the URL" in str(caught.value)
    assert canary not in display_url(url)
    ws = make_workspace(tmp_path / "ws")
    summary_file = tmp_path / "step_summary.md"
    done = run_cli(
        ["verify", "--workspace", str(ws), "--sync-to", url],
        env=clean_env(OBS_NOW=NOW, GITHUB_STEP_SUMMARY=str(summary_file)),
    )
    assert done.returncode == 2, done.stderr
    _nowhere(canary, tmp_path, done)


@pytest.mark.parametrize(
    "url", ["s3://bucket/prefix:with@sign", "file:///mnt/share:2/a@b", "s3://bucket/p", "file:///tmp/x"]
)
def test_a_path_with_a_colon_and_an_at_sign_is_still_a_path(url):
    assert locate(url, option="--sync-to").display == url


# -- index.json keys that leave a file:// target -------------------------------------------------------
def test_an_index_key_climbing_out_of_the_target_is_never_read(tmp_path):
    ws = make_workspace(tmp_path / "ws")
    target = tmp_path / "share" / "target"
    target.parent.mkdir()
    pushed = sync(ws, "--to", target.as_uri())
    assert pushed.exit_code == 0, pushed
    outside = tmp_path / "share" / "private.key"
    outside.write_bytes(b"-----BEGIN PRIVATE KEY----- not for the storage check\n")
    index = json.loads((target / "index.json").read_text())
    week = index["weekly"][0]
    week["files"].append({"key": f"weekly/{week['date']}/../../../private.key", "sha256": "0" * 64, "size": 1})
    (target / "index.json").write_text(json.dumps(index))
    done = run_in_process(["verify", "--workspace", str(ws), "--sync-to", target.as_uri()], env=clean_env(OBS_NOW=NOW))
    assert done.returncode in (0, 1), done.stderr
    storage = json.loads(done.stdout)["checks"]["storage"]
    found = __import__("hashlib").sha256(outside.read_bytes()).hexdigest()
    assert found not in done.stdout and found[:12] not in done.stdout, "a file outside the target was read"
    for path in (ws / "ops").rglob("*"):
        if path.is_file():
            assert found[:12].encode() not in path.read_bytes(), path
    assert storage["findings"] >= 1 and "index.json" in done.stderr, done.stderr


def test_a_file_bucket_refuses_keys_that_leave_its_root(tmp_path):
    from observability.storage.errors import StorageError
    from observability.storage.file import FileBucket

    (tmp_path / "secret").write_text("x")
    bucket = FileBucket(tmp_path / "root", "file:///root")
    (tmp_path / "root").mkdir()
    for key in ("../secret", "a/../../secret", "/etc/passwd", "a/./../../secret"):
        with pytest.raises(StorageError):
            bucket.get(key)
        with pytest.raises(StorageError):
            bucket.put(key, b"y")
    assert (tmp_path / "secret").read_text() == "x"


# -- legacy trees with symlinks ------------------------------------------------------------------------
def _legacy_with_link(tmp_path: Path, target: Path, rel: str) -> Path:
    legacy = tmp_path / "legacy" / "ops"
    legacy.mkdir(parents=True)
    (legacy / "signal_latency.csv").write_text(
        "timestamp_utc,latency_ms,status,detail,source\n2026-01-07T10:05:00Z,1200.0,success,,router\n"
    )
    link = legacy / rel
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(target)
    return legacy.parent


@pytest.mark.parametrize("rel", ["state_archive/creds.json", "weekly_report_history/2026-01-05.sig", "notes.txt"])
def test_a_legacy_symlink_leading_out_of_the_tree_refuses_the_import(tmp_path, canary, rel):
    outside = tmp_path / "home" / ".aws" / "credentials"
    outside.parent.mkdir(parents=True)
    outside.write_text(f'{{"aws_secret_access_key": "{canary}"}}\n')
    legacy = _legacy_with_link(tmp_path, outside, rel)
    ws = tmp_path / "ws"
    shutil.copytree(ROOT / "ops-template", ws)
    before = sorted(p.relative_to(ws).as_posix() for p in ws.rglob("*"))
    done = run_in_process(["migrate", str(legacy)], env=clean_env(OBS_NOW="2026-01-08T00:07:00Z"), cwd=ws)
    assert done.returncode != 0, done.stdout
    assert rel in done.stderr and "outside" in done.stderr, done.stderr
    for path in ws.rglob("*"):
        if path.is_file():
            assert canary.encode() not in path.read_bytes(), f"canary copied to {path.relative_to(ws)}"
    after = {p.relative_to(ws).as_posix() for p in ws.rglob("*")}
    assert not {
        p for p in after - set(before) if p.startswith("ops/") and not p.endswith((".lock", ".log", "sequence"))
    }


def test_a_legacy_symlink_inside_the_tree_and_a_fifo_are_handled(tmp_path):
    legacy = _legacy_with_link(tmp_path, Path("../signal_latency.csv"), "state_archive/alias.csv")
    ws = tmp_path / "ws"
    shutil.copytree(ROOT / "ops-template", ws)
    done = run_in_process(["migrate", str(legacy)], env=clean_env(OBS_NOW="2026-01-08T00:07:00Z"), cwd=ws)
    assert done.returncode == 0, done.stderr
    assert (ws / "ops" / "state_archive" / "alias.csv").read_bytes() == (
        legacy / "ops" / "signal_latency.csv"
    ).read_bytes()
    os.mkfifo(legacy / "ops" / "state_archive" / "pipe")
    done = run_cli(["migrate", str(legacy)], env=clean_env(OBS_NOW="2026-01-08T00:07:00Z"), cwd=ws, timeout=30)
    assert done.returncode != 0 and "pipe" in done.stderr and "not a regular file" in done.stderr, done.stderr


# -- migrate interrupted between its writes ------------------------------------------------------------
def _big_legacy(tmp_path: Path, rows: int, archived: int = 0) -> Path:
    """A legacy tree: ``rows`` raw samples, one rollup row, ``archived`` state snapshots (each one write)."""
    legacy = tmp_path / "legacy" / "ops"
    legacy.mkdir(parents=True)
    for i in range(archived):
        (legacy / "state_archive" / f"{i:04d}").mkdir(parents=True)
        (legacy / "state_archive" / f"{i:04d}" / "latency_state.json").write_text(f'{{"n": {i}}}\n')
    body = ["timestamp_utc,latency_ms,status,detail,source\n"]
    body += [
        f"2026-01-0{1 + i // 86400}T{i // 3600 % 24:02d}:{i // 60 % 60:02d}:{i % 60:02d}Z,{i % 5000}.0,success,,r\n"
        for i in range(rows)
    ]
    (legacy / "signal_latency.csv").write_text("".join(body))
    (legacy / "signal_latency_rollup.csv").write_text(
        "hour_utc,window_end_utc,count,failure_count,failure_rate,p50_ms,p95_ms,p99_ms,max_ms,breach_flag,breach_streak\n"
        "2025-12-30T09:00:00Z,2025-12-30T10:00:00Z,4,0,0.0,100.0,200.0,250.0,260.0,False,0\n"
    )
    return legacy.parent


def _migrated(ws: Path) -> tuple[bytes, list[bytes]]:
    raw = ws / "ops" / "signal_latency.csv"
    rollup_dir = ws / "ops" / "signal_latency_rollup"
    return (raw.read_bytes() if raw.exists() else b""), sorted(p.read_bytes() for p in rollup_dir.glob("*.csv"))


def test_an_import_that_failed_after_keeping_the_legacy_files_still_converts_them_on_the_rerun(tmp_path):
    legacy = _big_legacy(tmp_path, 50)
    ws = tmp_path / "ws"
    shutil.copytree(ROOT / "ops-template", ws)
    (ws / "ops" / "signal_latency.csv").unlink(missing_ok=True)
    (ws / "ops" / "signal_latency.csv").mkdir()  # the raw store's write fails after the kept copies
    env = clean_env(OBS_NOW="2026-01-08T00:07:00Z")
    assert run_in_process(["migrate", str(legacy)], env=env, cwd=ws).returncode != 0
    (ws / "ops" / "signal_latency.csv").rmdir()
    done = run_in_process(["migrate", str(legacy)], env=env, cwd=ws)
    assert done.returncode == 0, done.stderr
    raw, rollups = _migrated(ws)
    assert raw.count(b"\n") == 51 and rollups, "legacy samples or rollups lost on the rerun"


def test_a_migrate_killed_at_any_point_completes_on_the_rerun_without_loss_or_duplication(tmp_path):
    import random
    import signal
    import subprocess
    import time

    from tests._support_robust import cli_cmd, unmeasured

    legacy = _big_legacy(tmp_path, 10000, archived=250)
    env = unmeasured(clean_env(OBS_NOW="2026-01-08T00:07:00Z"))
    clean = tmp_path / "clean"
    shutil.copytree(ROOT / "ops-template", clean)
    started = time.monotonic()
    assert run_cli(["migrate", str(legacy)], env=env, cwd=clean).returncode == 0
    full = time.monotonic() - started
    expected = _migrated(clean)
    rng = random.Random(16)
    for attempt in range(4):
        ws = tmp_path / f"ws{attempt}"
        shutil.copytree(ROOT / "ops-template", ws)
        proc = subprocess.Popen(cli_cmd("migrate", str(legacy)), env=env, cwd=ws)
        time.sleep(rng.uniform(0.5, 1.0) * full)  # the writes take the second half
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        done = run_cli(["migrate", str(legacy)], env=env, cwd=ws)
        assert done.returncode == 0, done.stderr
        assert _migrated(ws) == expected, f"kill {attempt}: the rerun lost or duplicated rows"


# -- the credentials register ----------------------------------------------------------------------------
@pytest.mark.parametrize("day", ["2026-02-30", "2026-13-01"])
def test_a_rotation_date_that_is_no_day_is_a_config_error_naming_file_and_line(tmp_path, day):
    ws = tmp_path / "ws"
    shutil.copytree(ROOT / "ops-template", ws)
    register = ws / "configs" / "observability" / "credentials.yaml"
    register.write_text(
        "remind_every_days: 30\nsecrets:\n  OBS_WEBHOOK_SECRET:\n    owner: platform\n    rotate_every_days: 90\n"
        f"    rotate_by: {{production: {day}}}\n"
    )
    done = run_in_process(["verify"], env=clean_env(OBS_NOW="2026-01-08T00:07:00Z"), cwd=ws)
    assert done.returncode == 2, done.stderr[-600:]
    assert "Traceback" not in done.stderr
    assert "configs/observability/credentials.yaml:6:" in done.stderr and day in done.stderr, done.stderr[-600:]


# -- log rebuild against a huge sequence number ---------------------------------------------------------------
@pytest.fixture(scope="module")
def worked_log(tmp_path_factory) -> Path:
    """A workspace whose automation log holds a latency run and a verify run, made once per module
    (it holds no absolute path, so a copy is the same workspace)."""
    ws = tmp_path_factory.mktemp("worked") / "ws"
    shutil.copytree(ROOT / "ops-template", ws)
    for args, now in (
        (["latency", "sample", "--input", "sample/signal_notifier.csv"], "2026-01-08T00:07:00Z"),
        (["verify"], "2026-01-08T00:10:00Z"),
    ):
        assert run_in_process(args, env=clean_env(OBS_NOW=now), cwd=ws).returncode == 0
    return ws


def _worked_log(tmp_path: Path, template: Path) -> Path:
    ws = tmp_path / "ws"
    shutil.copytree(template, ws, symlinks=True)
    return ws


@pytest.mark.parametrize("where", ["sequence_file", "line"])
def test_a_huge_sequence_number_is_refused_by_log_rebuild_not_turned_into_placeholders(tmp_path, where, worked_log):
    import resource
    import subprocess

    from tests._support_robust import cli_cmd

    ws = _worked_log(tmp_path, worked_log)
    log = ws / "ops" / "automation_runs.log"
    before = log.read_bytes()
    if where == "sequence_file":
        (ws / "ops" / "automation_runs.sequence").write_text("5000000000\n")
        shown = "ops/automation_runs.sequence"
    else:
        last = json.loads(before.splitlines()[-1])
        last.update(sequence=10**12, job_id=last["job_id"][:-8] + "deadbeef")
        log.write_bytes(before + json.dumps(last, sort_keys=True).encode() + b"\n")
        before = log.read_bytes()
        shown = "sequence 1000000000000"

    def limit() -> None:  # a runaway rebuild fails fast instead of taking the machine's memory
        resource.setrlimit(resource.RLIMIT_AS, (1_500_000_000, 1_500_000_000))

    done = subprocess.run(
        cli_cmd("log", "rebuild"),
        env=clean_env(OBS_NOW="2026-01-08T00:40:00Z"),
        cwd=ws,
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=limit,
    )
    assert done.returncode == 1, done.stderr[-600:]
    assert "MemoryError" not in done.stderr and shown in done.stderr and "100000" in done.stderr, done.stderr[-600:]
    after = log.read_bytes()  # only the refused run's own line added
    assert after.startswith(before) and after[len(before) :].count(b"\n") == 1
    assert json.loads(after.splitlines()[-1])["job"] == "log"
    assert not (ws / "ops" / "log_rebuild").exists()


# -- a key that is a directory on a file:// target ------------------------------------------------------------
def test_a_key_that_is_a_directory_is_not_retried_as_an_outage(tmp_path):
    ws = make_workspace(tmp_path / "ws")
    target = tmp_path / "target"
    (target / "index.json").mkdir(parents=True)
    done = run_in_process(
        ["verify", "--workspace", str(ws), "--sync-to", target.as_uri()],
        env=clean_env(OBS_NOW=NOW),
    )
    storage = json.loads(done.stdout)["checks"]["storage"]
    assert storage["attempts"] == 1 and storage["findings"] == 1, storage
    assert "index.json" in done.stderr and "Is a directory" in done.stderr, done.stderr[-500:]


def test_a_legacy_file_name_that_is_not_utf8_refuses_the_import_before_anything_is_written(tmp_path):
    legacy = _legacy_with_link(tmp_path, Path("../signal_latency.csv"), "state_archive/alias.csv")
    (legacy / "ops" / "state_archive" / "alias.csv").unlink()
    with open(os.fsencode(legacy / "ops" / "state_archive") + b"/a\xffb.json", "wb") as handle:
        handle.write(b"{}\n")
    ws = tmp_path / "ws"
    shutil.copytree(ROOT / "ops-template", ws)
    done = run_in_process(["migrate", str(legacy)], env=clean_env(OBS_NOW="2026-01-08T00:07:00Z"), cwd=ws)
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr[-500:]
    assert "a\\xffb.json" in done.stderr and "not UTF-8" in done.stderr, done.stderr[-500:]
    assert not (ws / "ops" / "legacy").exists() and not (ws / "ops" / "signal_latency.csv").exists()


# -- a report sent over the automation log --------------------------------------------------------------------
@pytest.mark.parametrize(
    "output", ["ops/automation_runs.log", "./ops/../ops/automation_runs.sequence", "ops/automation_runs/x.json"]
)
def test_log_kpi_never_writes_its_report_over_the_automation_log(tmp_path, output, worked_log):
    ws = _worked_log(tmp_path, worked_log)
    log = ws / "ops" / "automation_runs.log"
    before = log.read_bytes()
    done = run_in_process(["log", "kpi", "--output", output], env=clean_env(OBS_NOW="2026-01-08T00:40:00Z"), cwd=ws)
    assert done.returncode == 2 and "automation log" in done.stderr, done.stderr[-500:]
    after = log.read_bytes()
    assert after.startswith(before) and after[len(before) :].count(b"\n") == 1, "the log was replaced"
    assert not (ws / "ops" / "automation_runs" / "x.json").exists()


@pytest.mark.parametrize("given", [".", "ops", "ops/legacy"])
def test_migrate_refuses_the_workspace_itself_as_the_legacy_tree(tmp_path, given, worked_log):
    ws = _worked_log(tmp_path, worked_log)
    (ws / "ops" / "legacy" / "state_archive").mkdir(parents=True)
    before = sorted(p.relative_to(ws).as_posix() for p in (ws / "ops").rglob("*") if p.is_file())
    done = run_in_process(["migrate", given], env=clean_env(OBS_NOW="2026-01-08T00:40:00Z"), cwd=ws)
    assert done.returncode == 2 and "workspace" in done.stderr, done.stderr[-500:]
    after = sorted(p.relative_to(ws).as_posix() for p in (ws / "ops").rglob("*") if p.is_file())
    assert [p for p in after if p not in before and not p.endswith(".lock")] == []
