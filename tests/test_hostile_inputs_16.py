"""Hostile input against the issue-16 surfaces (an adversarial review): credentials in a --sync-to URL
whose secret holds a "/". Real subprocesses.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from _support_sync import NOW, make_workspace
from observability.storage import display_url, locate
from observability.storage.errors import StoreUrlError
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
