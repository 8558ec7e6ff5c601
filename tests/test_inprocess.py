"""The in-process runner (tests/_support_inprocess.py) gives what a real process gives.

The bad-input tables run the CLI in the test process; these cases run both ways on two copies of one
workspace and compare exit status, stdout, stderr and the files written, so a difference between the two
(state left over from an earlier case, a stream not captured, an exit code mapped wrongly) fails here
rather than hiding in those tables.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from _support_inprocess import run_cli_in_process
from _support_robust import clean_env, run_cli, snapshot

NOW = "2026-01-08T06:00:00Z"
_VOLATILE = re.compile(
    r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z|\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b"
    r"|\"[a-z_]+_(?:ms|s)\": [0-9.]+|_[0-9a-f]{24}\b|\b\d+(?:\.\d+)? ?(?:ms|s)\b|-k[0-9a-f]+\b|-[0-9a-f]{8}\b|\b[0-9a-f]{12,}\b"
)


# One worker runs this file (the demo workspace is made once, not once per worker under -n).
pytestmark = pytest.mark.xdist_group("inprocess")


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("inprocess")
    done = run_cli(["demo", "--dir", str(root / "ws")], env=clean_env(OBS_NOW=NOW), timeout=180)
    assert done.returncode == 0, done.stderr
    return root / "ws"


def _same(text: str, ws: Path) -> str:
    """Output with the workspace path, times, ids and durations taken out."""
    return _VOLATILE.sub("<v>", text.replace(str(ws), "<ws>"))


CASES = [
    pytest.param(["--help"], {}, id="help"),
    pytest.param(["latency", "sample", "--no-such-flag"], {}, id="usage-error"),
    pytest.param(["latency", "sample", "--workspace", "{ws}", "--input", "logs/missing.csv"], {}, id="missing-input"),
    pytest.param(["weekly", "report", "--workspace", "{ws}", "--dry-run"], {}, id="weekly-dry-run"),
    pytest.param(["verify", "--workspace", "{ws}"], {}, id="verify"),
    pytest.param(
        ["weekly", "report", "--workspace", "{ws}", "--max-retries", "1", "--retry-wait-seconds", "0"],
        {"OBS_WEEKLY_WEBHOOK_URL": "http://127.0.0.1:9/hook", "OBS_WEBHOOK_SECRET": "canary-Qx7-secret"},
        id="delivery-refused-with-a-secret",
    ),
    pytest.param(["dashboard", "export", "--workspace", "{ws}", "--dry-run"], {}, id="dashboard-dry-run"),
]


@pytest.mark.parametrize(("args", "extra"), CASES)
def test_a_case_in_process_gives_what_a_process_gives(demo, tmp_path, args, extra):
    results = {}
    for way, runner in (("process", run_cli), ("in-process", run_cli_in_process)):
        ws = tmp_path / way[0] / "ws"  # paths of one length: sizes in the outputs agree
        shutil.copytree(demo, ws, symlinks=True)
        env = clean_env(OBS_NOW=NOW, **extra)
        done = runner([a.replace("{ws}", str(ws)) for a in args], env=env, cwd=ws)
        files = sorted(_same(rel, ws) for rel in snapshot(ws))  # contents carry the job id
        results[way] = (done.returncode, _same(done.stdout, ws), _same(done.stderr, ws), files)
        for secret in extra.values():
            if "secret" in secret:
                assert secret not in done.stdout + done.stderr, f"{way}: the secret was printed"
    process, in_process = results["process"], results["in-process"]
    assert in_process[0] == process[0], f"exit {in_process[0]} in process, {process[0]} as a process"
    assert in_process[1] == process[1]
    assert in_process[2] == process[2]
    assert in_process[3] == process[3]


def test_process_state_is_put_back(demo, tmp_path):
    """A case that registers a secret and confines writes leaves neither behind for the next case."""
    from observability import fsio, secrets

    ws = tmp_path / "ws"
    shutil.copytree(demo, ws, symlinks=True)
    env = clean_env(OBS_NOW=NOW, OBS_WEEKLY_WEBHOOK_URL="http://127.0.0.1:9/hook", OBS_WEBHOOK_SECRET="s3cr3t-kept")
    before_env = dict(__import__("os").environ)
    done = run_cli_in_process(
        ["weekly", "report", "--workspace", str(ws), "--max-retries", "1", "--retry-wait-seconds", "0"], env=env, cwd=ws
    )
    assert done.returncode in (0, 1), done.stderr
    assert json.loads(done.stdout)["job"] == "weekly"
    assert "s3cr3t-kept" not in secrets._known
    assert fsio._CONFINED is None
    assert dict(__import__("os").environ) == before_env
