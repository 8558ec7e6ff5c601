"""The workspace itself as bad input: symlinks leading out of it, a directory that is not one,
deleted or corrupt files under ops/, and temp files left by killed writers.

Every case runs the real CLI in a real process (tests/_support_robust.py) and checks both the
refusal (exit code, error code, a message naming the path) and that nothing outside the workspace
changed.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests._support_inprocess import run_cli_in_process as run_cli
from tests._support_robust import clean_env, cli_cmd, summary

NOW = "2026-01-08T00:07:00Z"
PRECIOUS = b"precious outside data\nlast line without newline"
HOUR = 3600


def env(**extra: str) -> dict[str, str]:
    return clean_env(OBS_NOW=NOW, **extra)


def signal_log(ws: Path, hours: int = 3) -> None:
    from observability.samplegen.notifier import rows, write_current

    end = datetime(2026, 1, 8, 0, 0, tzinfo=UTC)
    write_current(
        ws / "logs" / "signal.csv",
        rows(end - timedelta(hours=hours), end, ["feed_a", "feed_b"], step=timedelta(minutes=5)),
    )


def latency(ws: Path, *extra: str) -> subprocess.CompletedProcess:
    return run_cli(["latency", "sample", "--workspace", str(ws), "--input", "logs/signal.csv", *extra], env=env())


def verify(ws: Path) -> subprocess.CompletedProcess:
    return run_cli(["verify", "--workspace", str(ws)], env=env())


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    """A workspace after one good latency run."""
    root = tmp_path / "ws"
    (root / "ops").mkdir(parents=True)
    signal_log(root)
    first = latency(root)
    assert first.returncode == 0, first.stderr
    return root


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    directory = tmp_path / "outside"
    directory.mkdir()
    return directory


def tree(directory: Path) -> dict[str, bytes]:
    return {p.relative_to(directory).as_posix(): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


# --- item 6: no write leaves the workspace through a symlink ----------------------------------------


def test_a_symlinked_automation_log_is_refused_and_the_outside_file_untouched(ws, outside):
    target = outside / "victim.log"
    target.write_bytes(PRECIOUS)
    log = ws / "ops" / "automation_runs.log"
    log.unlink()
    log.symlink_to(target)
    run = latency(ws)
    assert run.returncode == 1, run.stderr
    doc = summary(run)
    assert doc["status"] == "error" and doc["diagnostics"]["error_code"] == "log_write_failed", doc
    assert "ops/automation_runs.log" in doc["diagnostics"]["log_error"] and "symlink" in run.stderr
    assert target.read_bytes() == PRECIOUS


def test_a_symlinked_raw_sample_store_is_refused_and_the_outside_file_untouched(ws, outside):
    target = outside / "victim.csv"
    target.write_bytes(PRECIOUS)
    raw = ws / "ops" / "signal_latency.csv"
    raw.unlink()
    raw.symlink_to(target)
    signal_log(ws, hours=5)  # new samples waiting
    run = latency(ws)
    doc = summary(run)
    assert run.returncode == 1 and doc["diagnostics"]["error_code"] == "workspace_error", run.stderr
    message = doc["diagnostics"]["error_message"]
    assert "ops/signal_latency.csv" in message and "symlink" in message and str(target) in message
    assert target.read_bytes() == PRECIOUS


@pytest.mark.parametrize("name", ["signal_latency.csv", "automation_runs.log"])
def test_a_file_hard_linked_outside_is_not_appended_to(ws, outside, name):
    """A hard link is no symlink, but appending to it (or truncating it) changes the outside file just the
    same: ``ln /elsewhere/victim ops/signal_latency.csv`` got the victim appended to."""
    target = outside / "victim"
    path = ws / "ops" / name
    target.write_bytes(path.read_bytes())
    before = target.read_bytes()
    path.unlink()
    os.link(target, path)
    signal_log(ws, hours=5)  # new samples waiting
    run = latency(ws)
    doc = summary(run)
    assert run.returncode == 1, run.stderr
    shown = f"ops/{name}"
    message = doc["diagnostics"].get("log_error") or doc["diagnostics"]["error_message"]
    assert shown in message and "hard link" in message, doc["diagnostics"]
    assert target.read_bytes() == before


def test_a_symlinked_ops_directory_is_refused_and_nothing_outside_changes(ws, outside):
    for path in (ws / "ops").iterdir():
        if path.suffix == ".lock":
            path.unlink()  # a job would create its lock file again: outside, unless refused
        else:
            path.rename(outside / path.name)
    (ws / "ops").rmdir()
    (ws / "ops").symlink_to(outside, target_is_directory=True)
    before = tree(outside)
    signal_log(ws, hours=5)
    run = latency(ws)
    doc = summary(run)
    assert run.returncode == 1 and doc["diagnostics"]["error_code"] == "workspace_error", run.stderr
    assert "refusing to write through ops" in doc["diagnostics"]["error_message"]
    assert tree(outside) == before and sorted(p.name for p in outside.iterdir()) == sorted(
        {k.split("/")[0] for k in before}
    )


def test_a_symlinked_out_directory_is_refused_and_nothing_lands_outside(ws, outside):
    (ws / "configs" / "observability").mkdir(parents=True)
    shutil.rmtree(ws / "out", ignore_errors=True)
    (ws / "out").symlink_to(outside, target_is_directory=True)
    run = verify(ws)
    doc = summary(run)
    assert run.returncode == 1 and doc["diagnostics"]["error_code"] == "workspace_error", run.stderr
    assert "refusing to write through out" in doc["diagnostics"]["error_message"]
    assert tree(outside) == {}


def test_a_symlink_that_stays_inside_the_workspace_is_followed(ws):
    (ws / "configs" / "observability").mkdir(parents=True)
    published = ws / "published"
    published.mkdir()
    shutil.rmtree(ws / "out", ignore_errors=True)
    (ws / "out").symlink_to(published, target_is_directory=True)
    run = verify(ws)
    assert run.returncode == 0, run.stderr
    assert list((published / "verify").glob("*.json"))


def test_state_pull_refuses_a_symlinked_directory_and_writes_nothing_outside(tmp_path, outside):
    store = (tmp_path / "store").as_uri()
    source = tmp_path / "source"
    history = source / "ops" / "weekly_report_history"
    history.mkdir(parents=True)
    (history / "2026-01-05.json").write_text('{"week": "2026-01-05"}\n')
    (source / "ops" / "latency_state.json").write_text('{"version": 1}\n')
    for command in ("init", "pull", "push"):
        run = run_cli(["state", command, "--workspace", str(source), "--store", store], env=env())
        assert run.returncode == 0, (command, run.stderr)
    victim = tmp_path / "victim"
    (victim / "ops").mkdir(parents=True)
    (victim / "ops" / "weekly_report_history").symlink_to(outside, target_is_directory=True)
    run = run_cli(["state", "pull", "--workspace", str(victim), "--store", store], env=env())
    doc = summary(run)
    assert run.returncode == 1 and doc["diagnostics"]["error_code"] == "workspace_error", run.stderr
    assert "ops/weekly_report_history" in doc["diagnostics"]["error_message"]
    assert tree(outside) == {}
    assert not (victim / "ops" / "latency_state.json").exists()  # refused before anything moved


# --- item 11: a directory that is not a workspace, a deleted log, corrupt files ---------------------


def test_verify_in_a_directory_that_is_not_a_workspace_is_refused_and_creates_nothing(tmp_path):
    checkout = tmp_path / "checkout"
    (checkout / "observability").mkdir(parents=True)
    (checkout / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    run = run_cli(["verify"], env=env(), cwd=checkout)
    assert run.returncode == 2, run.stderr
    doc = summary(run)
    assert doc["diagnostics"]["error_code"] == "not_a_workspace"
    message = doc["diagnostics"]["error_message"]
    assert str(checkout) in message and "observability state pull" in message and "observability init" in message
    assert sorted(p.name for p in checkout.iterdir()) == ["observability", "pyproject.toml"]


def test_verify_reports_a_deleted_automation_log(ws):
    (ws / "configs" / "observability").mkdir(parents=True)
    (ws / "ops" / "automation_runs.log").unlink()
    run = verify(ws)
    doc = summary(run)
    assert run.returncode == 0 and doc["status"] == "warning", doc
    rules = {(a["rule"], a["severity"]) for a in doc["alerts"]}
    assert ("log_missing", "critical") in rules, doc["alerts"]
    assert "observability state pull" in json.dumps(doc["alerts"])


def test_verify_still_reports_a_deleted_log_after_new_lines_were_written(ws):
    (ws / "configs" / "observability").mkdir(parents=True)
    (ws / "ops" / "automation_runs.log").unlink()
    assert latency(ws).returncode == 0  # a new log starts at sequence 2: no gap inside it
    run = verify(ws)
    doc = summary(run)
    assert doc["status"] == "warning", doc
    found = [a for a in doc["alerts"] if a["rule"] == "log_missing"]
    assert found and "line(s) 1 were lost" in json.dumps(found), doc["alerts"]


@pytest.mark.parametrize(
    "name, hint",
    [
        ("latency_state.json", "observability state pull"),
        ("signal_latency_rollup.csv", "rebuilds it from the raw samples"),
        ("signal_latency.csv", "observability state pull"),  # was internal_error: a traceback, no hint
    ],
)
def test_a_corrupt_file_names_itself_and_the_command_that_restores_it(ws, name, hint):
    (ws / "ops" / name).write_text("garbage{\n")
    run = latency(ws)
    doc = summary(run)
    assert run.returncode == 1 and doc["diagnostics"]["error_code"] == "invalid_input", run.stderr
    message = doc["diagnostics"]["error_message"]
    assert f"ops/{name}" in message and hint in message, message


def test_a_corrupt_heartbeat_is_named_and_replaced_not_fatal(ws):
    # A heartbeat is derived from the run: a damaged one used to fail every latency run until deleted.
    beat = ws / "ops" / "latency_job_heartbeat.json"
    beat.write_bytes(b"garbage{\x00\n")
    run = latency(ws)
    doc = summary(run)
    assert run.returncode == 0 and doc["status"] == "ok", run.stderr
    assert any(
        w.startswith("ops/latency_job_heartbeat.json") and "replaced" in w for w in doc["diagnostics"]["warnings"]
    ), doc
    assert json.loads(beat.read_text())["job_id"] == doc["job_id"]
    again = latency(ws)
    assert again.returncode == 0 and "latency_job_heartbeat" not in again.stderr, again.stderr


def test_a_deleted_rollup_day_file_is_rebuilt_from_the_raw_samples(tmp_path):
    ws = tmp_path / "two_days"
    (ws / "ops").mkdir(parents=True)
    signal_log(ws, hours=30)
    assert latency(ws).returncode == 0
    days = sorted((ws / "ops" / "signal_latency_rollup").glob("*.csv"))
    assert [p.name for p in days] == ["2026-01-06.csv", "2026-01-07.csv"]
    before = {p.name: p.read_bytes() for p in days}
    days[0].unlink()  # a day the next cycle does not touch
    run = latency(ws)
    assert run.returncode == 0, run.stderr
    assert days[0].read_bytes() == before[days[0].name]


def test_a_deleted_rollup_directory_is_rebuilt_from_the_raw_samples(ws):
    rollup = ws / "ops" / "signal_latency_rollup"
    before = tree(rollup)
    shutil.rmtree(rollup)
    run = latency(ws)
    assert run.returncode == 0, run.stderr
    assert tree(rollup) == before


def test_a_corrupt_rollup_day_file_names_itself_and_the_command_that_restores_it(ws):
    day = sorted((ws / "ops" / "signal_latency_rollup").glob("*.csv"))[-1]
    day.write_text("garbage{\n")
    run = latency(ws)
    doc = summary(run)
    assert run.returncode == 1 and doc["diagnostics"]["error_code"] == "invalid_input", run.stderr
    message = doc["diagnostics"]["error_message"]
    assert f"ops/signal_latency_rollup/{day.name}: line 1" in message and "rebuilds that day" in message, message


# --- item 14: temp files left by killed writers are swept, live ones kept ---------------------------


def plant(directory: Path, name: str, age_s: float) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f".{name}.{os.urandom(4).hex()}.tmp"  # what an atomic write names its temp file
    path.write_bytes(b"half-written")
    stamp = time.time() - age_s
    os.utime(path, (stamp, stamp))
    return path


def test_stale_temp_files_are_swept_at_job_start_and_a_live_one_survives(ws):
    old = [
        plant(ws / "out" / "dashboard", "runs.json", 2 * HOUR),
        plant(ws / "ops", "latency_state.json", 2 * HOUR),
        plant(ws / "ops" / "weekly_report_history", "2026-01-05.json", 30 * HOUR),
    ]
    live = plant(ws / "out" / "dashboard", "summary.json", 5)
    foreign = ws / "out" / "dashboard" / "notes.tmp"  # not our naming: never touched
    foreign.write_text("mine")
    os.utime(foreign, (time.time() - 9 * HOUR,) * 2)
    run = latency(ws)
    assert run.returncode == 0, run.stderr
    assert not any(p.exists() for p in old)
    assert live.exists() and foreign.exists()
    assert "removed 3 temp file(s)" in run.stderr


def test_temps_of_sigkilled_writers_are_swept_once_old(ws):
    """Real writers killed mid-write leave real temp files; the next job removes them once stale."""
    script = (
        "import sys, time\nfrom pathlib import Path\nfrom observability import fsio\n"
        "import os\nreal = os.fsync\n"
        "def hang(fd):\n    print('writing', flush=True); time.sleep(60)\n"
        "os.fsync = hang\n"
        "fsio.atomic_write_bytes(Path(sys.argv[1]), b'x' * 1000)\n"
    )
    targets = [ws / "out" / "dashboard" / "runs.json", ws / "ops" / "latency_state.json"]
    for target in targets:
        target.parent.mkdir(parents=True, exist_ok=True)
        proc = subprocess.Popen([cli_cmd()[0], "-c", script, str(target)], stdout=subprocess.PIPE, env=clean_env())
        assert proc.stdout.readline().strip() == b"writing"
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    left = [
        p for t in targets for p in t.parent.iterdir() if p.name.startswith(f".{t.name}.") and p.name.endswith(".tmp")
    ]
    assert len(left) == 2
    young = latency(ws)
    assert young.returncode == 0 and all(p.exists() for p in left), young.stderr  # could be a live writer
    for path in left:
        os.utime(path, (time.time() - 2 * HOUR,) * 2)
    swept = latency(ws)
    assert swept.returncode == 0, swept.stderr
    assert not any(p.exists() for p in left)


@pytest.mark.parametrize("linked", ["out", "out/dashboard"])
def test_the_sweep_never_deletes_through_a_symlink_out_of_the_workspace(ws, outside, linked):
    """A temp-named file outside, reached through a symlinked out/ (or a directory under it), is not ours."""
    victim = plant(outside, "notes.txt", 2 * HOUR)
    link = ws / linked
    if link.exists():
        shutil.rmtree(link)
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(outside, target_is_directory=True)
    latency(ws)  # refused or not, it must not reach outside
    verify(ws)
    assert victim.exists()


def test_the_file_store_sweeps_stale_temps_and_keeps_young_ones(tmp_path):
    store_dir = tmp_path / "store"
    store = store_dir.as_uri()
    ws = tmp_path / "ws"
    (ws / "ops").mkdir(parents=True)
    (ws / "ops" / "latency_state.json").write_text('{"version": 1}\n')
    for command in ("init", "pull", "push"):
        assert run_cli(["state", command, "--workspace", str(ws), "--store", store], env=env()).returncode == 0
    stale = [
        plant(store_dir / "manifests", "00000002.json", 2 * HOUR),
        plant(store_dir / "blobs" / "sha256", "ab" * 32, 2 * HOUR),
    ]
    young = plant(store_dir / "manifests", "00000003.json", 10)
    run = run_cli(["state", "pull", "--workspace", str(ws), "--store", store], env=env())
    assert run.returncode == 0, run.stderr
    assert not any(p.exists() for p in stale) and young.exists()
    assert "removed 2 temp file(s)" in run.stderr


def test_a_corrupt_state_pull_record_names_itself_and_the_way_out(tmp_path):
    store = (tmp_path / "store").as_uri()
    ws = tmp_path / "ws"
    (ws / "ops").mkdir(parents=True)
    (ws / "ops" / "latency_state.json").write_text('{"version": 1}\n')
    for command in ("init", "pull"):
        assert run_cli(["state", command, "--workspace", str(ws), "--store", store], env=env()).returncode == 0
    (ws / "ops" / ".state_pulled.json").write_text("{torn")
    run = run_cli(["state", "push", "--workspace", str(ws), "--store", store], env=env())
    doc = summary(run)
    assert run.returncode == 1 and doc["diagnostics"]["error_code"] == "invalid_input", run.stderr
    message = doc["diagnostics"]["error_message"]
    assert "ops/.state_pulled.json" in message and "delete it and run `observability state pull`" in message


def test_every_file_with_recovery_advice_has_a_runbook_entry():
    from observability.recovery import RECOVERY

    runbook = (Path(__file__).resolve().parents[1] / "docs" / "runbook.md").read_text(encoding="utf-8")
    section = runbook.split('<a id="corrupt-or-missing-files"></a>', 1)[1]
    names = {
        "latency_state\\.json": "latency_state.json",
        "signal_latency_rollup\\.csv": "signal_latency_rollup.csv",
        "signal_latency_rollup/\\d{4}-\\d{2}-\\d{2}\\.csv": "signal_latency_rollup/YYYY-MM-DD.csv",
        ".*_heartbeat\\.json": "_heartbeat.json",
        "\\.state_pulled\\.json": ".state_pulled.json",
        "alert_inbox\\.json": "alert_inbox.json",
        "inputs_state\\.json": "inputs_state.json",
        "verify_alerts\\.json": "verify_alerts.json",
        "ci_alerts\\.json": "ci_alerts.json",
        "ci_metrics\\.json": "ci_metrics.json",
        "automation_runs\\.log": "automation_runs.log",
        "signal_latency\\.csv": "signal_latency.csv",
    }
    assert set(names) == {pattern for pattern, _ in RECOVERY}
    for shown in names.values():
        assert shown in section, shown
