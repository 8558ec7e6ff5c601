"""actionlint and zizmor (offline) find nothing in the workflows and actions."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _tool(name: str) -> str:
    found = shutil.which(name) or str(Path(sys.executable).with_name(name))
    if not Path(found).exists():
        pytest.skip(f"{name} is not installed (it comes with the test extra: pip install -e '.[test]')")
    return found


def test_actionlint_finds_nothing():
    done = subprocess.run([_tool("actionlint"), "-oneline"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_zizmor_offline_finds_nothing():
    done = subprocess.run(
        [_tool("zizmor"), "--offline", "--format", "plain", "."], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "No findings" in done.stdout + done.stderr


def test_third_party_actions_are_pinned_to_node24_releases():
    """Every uses: is a full SHA with a version comment; the majors are the node24 ones."""
    import re

    node24_majors = {
        "actions/checkout": 5,
        "actions/setup-python": 6,
        "actions/upload-artifact": 6,
        "actions/cache": 5,
        "actions/download-artifact": 7,
        "aws-actions/configure-aws-credentials": 5,
        "actions/upload-pages-artifact": 5,
        "actions/deploy-pages": 5,
    }
    files = list((ROOT / ".github" / "workflows").glob("*.yml")) + list((ROOT / "actions").glob("*/action.yml"))
    seen = 0
    for path in files:
        for line in path.read_text().splitlines():
            if line.lstrip().startswith("#"):
                continue
            match = re.match(r"\s*(?:- )?uses:\s*([\w.-]+/[\w.-]+)(?:/[\w./-]+)?@(\S+)(.*)", line)
            if not match:
                continue
            seen += 1
            action, ref, rest = match.groups()
            assert re.fullmatch(r"[0-9a-f]{40}", ref), f"{path.name}: {action} not pinned to a SHA"
            version = re.search(r"#\s*v(\d+)\.\d+\.\d+", rest)
            assert version, f"{path.name}: {action} has no # vX.Y.Z comment"
            assert int(version.group(1)) >= node24_majors.get(action, 0), f"{path.name}: {action} is pre-node24"
    assert seen


@pytest.mark.parametrize("lock", ["actions/_lib/requirements.txt", ".github/lint-requirements.txt"])
def test_lock_files_hold_nothing_machine_specific(lock):
    """A lock file is installed on runners and fresh machines: no local wheel folders or index URLs."""
    import re

    text = (ROOT / lock).read_text(encoding="utf-8")
    options = [line for line in text.splitlines() if line.startswith("-") and not line.startswith("--hash")]
    assert options == [], f"{lock}: pip options naming this machine's package sources: {options}"
    assert not re.search(r"(^|\s)(/opt|/root|/home|/tmp|file:)", text, re.M), f"{lock}: a local path"
