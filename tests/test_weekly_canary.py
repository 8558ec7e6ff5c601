"""A canary secret (signing secret and a token in the webhook URL) never appears in any output,
log line or artefact of the weekly job, even when the receiver reflects the request back.
Under GitHub Actions the only place it may appear is an ``::add-mask::`` line on stderr."""

from __future__ import annotations

import secrets
import socket
from pathlib import Path

from _support_weekly import WEEK, inputs_workspace, receiver, weekly

FAST = ("--retry-wait-seconds", "0", "--max-retries", "2")


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _assert_absent(canaries: list[str], ws: Path, texts: list[str]) -> None:
    for path in sorted(p for p in ws.rglob("*") if p.is_file()):
        data = path.read_bytes()
        for canary in canaries:
            assert canary.encode() not in data, f"canary in {path}"
    for text in texts:
        for line in text.splitlines():
            if line.startswith("::add-mask::"):
                continue
            for canary in canaries:
                assert canary not in line, line


ENDED = "2026-01-12T00:07:00Z"  # after WEEK: only a complete week is delivered without --partial


def test_canary_never_leaks(tmp_path):
    ws = inputs_workspace(tmp_path / "ws")
    secret = f"canary-secret-{secrets.token_hex(8)}"
    old = f"canary-old-{secrets.token_hex(8)}"
    token = f"canary-token-{secrets.token_hex(8)}"
    gh = tmp_path / "gh"
    gh.mkdir()
    github = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_STEP_SUMMARY": str(gh / "summary.md"),
        "GITHUB_OUTPUT": str(gh / "output.txt"),
    }
    texts = []
    with receiver(["echo", 200], obs_key=secret.encode()) as rec:
        url = f"{rec.url}/hook?token={token}"
        env = {**github, "OBS_WEEKLY_WEBHOOK_URL": url, "OBS_WEBHOOK_SECRET": f"{secret} {old}"}
        runs = [
            weekly(ws, "report", "--week-start", WEEK, "--dry-run-webhook", env=env),
            weekly(ws, "report", "--week-start", WEEK, *FAST, env=env, now=ENDED),  # echo (500) then 200
        ]
        # A delivered week is never rebuilt over; forget it so the failure path runs too.
        (ws / "ops" / "weekly_report_history" / f"{WEEK}.json").unlink()
        runs += [
            weekly(
                ws,
                "report",
                "--week-start",
                WEEK,
                *FAST,
                env={**env, "OBS_WEEKLY_WEBHOOK_URL": f"http://127.0.0.1:{_closed_port()}/hook?token={token}"},
                now=ENDED,
            ),
            weekly(ws, "replay", "--week-start", WEEK, *FAST, env=env, now=ENDED),
            weekly(ws, "report", "--week-start", WEEK, *FAST, "--config", "missing.yaml", env=env, now=ENDED),
        ]
    assert [r.exit_code for r in runs] == [0, 0, 1, 0, 2], runs
    assert rec.requests[0].obs_signature_ok  # the canary really was the signing secret
    echoed = runs[1].summary["delivery_attempts"][0]["response_body"]
    assert "path" in echoed and "***" in echoed  # the reflected request reached the log, scrubbed
    for run in runs:
        texts += [run.stdout, run.stderr]
    texts += [(gh / "summary.md").read_text(), (gh / "output.txt").read_text()]
    _assert_absent([secret, old, token, url], ws, texts)
    assert any(line.startswith("::add-mask::") for run in runs for line in run.stderr.splitlines())
