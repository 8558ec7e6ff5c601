"""What a 15-minute latency cycle imports (a real process): the modules kept off its start-up
stay off it (each was milliseconds of every run, see docs/performance.md)."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import observability
from observability.upstream import signal_log as samples

ROOT = Path(__file__).resolve().parents[1]
# Imported only by the work that needs them (a config plainyaml declines, rotation, a dead-man ping,
# a subprocess), never by a plain cycle: each was milliseconds of its start-up.
OFF_STARTUP = (
    "yaml",
    "hashlib",
    "_hashlib",
    "subprocess",
    "gzip",
    "calendar",
    "runpy",
    "observability.deadman",
    "jsonschema",
    "observability.config.weekly",
    "observability.config.alerts",
    "observability.config.schedules",
    "observability.cron",
    "opentelemetry",  # only when OTEL_* turns telemetry on (observability/otel.py)
)


def test_the_cursor_fingerprint_is_sha256():
    data = b"ts_emit,ts_ack,source\n" * 300
    assert samples._fingerprint(data) == hashlib.sha256(data).hexdigest()
    assert samples._fingerprint(b"") == hashlib.sha256(b"").hexdigest()


def test_a_cycle_imports_only_what_it_needs(tmp_path):
    ws = tmp_path / "ws"
    (ws / "configs" / "observability").mkdir(parents=True)
    template = ROOT / "ops-template" / "configs" / "observability" / "latency_alert.yaml"
    (ws / "configs" / "observability" / "latency_alert.yaml").write_bytes(template.read_bytes())
    (ws / "logs").mkdir()
    (ws / "logs" / "notifier.csv").write_text(
        "timestamp_utc,latency_ms,status,detail,source\n2026-03-02T00:10:00Z,1370.265000,success,,feed_0\n"
    )
    # Started as the workflows' launcher starts a job (observability.ENTRY: no runpy).
    code = (
        "import sys, gc\n"
        "sys.argv = ['-c', 'latency', 'sample', '--workspace', sys.argv[1], '--input', 'logs/notifier.csv']\n"
        f"try:\n    exec({observability.ENTRY!r})\n"
        "except SystemExit as exc:\n    print('exit', exc.code, file=sys.stderr)\n"
        "print('collector', gc.isenabled(), gc.get_freeze_count() > 0, file=sys.stderr)\n"
        f"print('imported', sorted(m for m in {OFF_STARTUP!r} if m in sys.modules), file=sys.stderr)\n"
    )
    # No GITHUB_SHA and no git repository around the workspace: the commit is looked up from files.
    done = subprocess.run(
        [sys.executable, "-c", code, str(ws)],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "OBS_NOW": "2026-03-02T00:15:30Z"},
        cwd=ws,
    )
    summary = json.loads(done.stdout)
    assert summary["status"] in ("ok", "warning"), done.stderr
    assert summary["samples_written"] == 1, summary
    assert done.stderr.strip().splitlines()[-1] == "imported []", done.stderr
    # The entry paused the collector for the imports; run_job froze what they made and turned it back on.
    assert done.stderr.strip().splitlines()[-2] == "collector True True", done.stderr


def test_the_alert_fingerprint_is_sha256():
    from observability import alertitem

    assert (
        alertitem.fingerprint("latency", "latency_slo", "feed_0")
        == hashlib.sha256(b"latency|latency_slo|feed_0").hexdigest()[:16]
    )


def test_help_imports_no_opentelemetry():
    """Telemetry off costs nothing: ``--help`` (like a job run, above) imports no OpenTelemetry module."""
    code = (
        "import sys\n"
        "sys.argv = ['-c', '--help']\n"
        f"try:\n    exec({observability.ENTRY!r})\n"
        "except SystemExit:\n    pass\n"
        "print('imported', sorted(m for m in sys.modules if m.split('.')[0] == 'opentelemetry'), file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"})
    assert "Usage:" in done.stdout, done.stderr
    assert done.stderr.strip().splitlines()[-1] == "imported []", done.stderr
