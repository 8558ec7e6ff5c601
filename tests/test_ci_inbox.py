"""The coverage-drop alert through the real alert inbox (fake GitHub API): `alerts sync` opens its
issue while it fires and closes it when it resolves; the CI health page names the open issue."""

from __future__ import annotations

import json
from pathlib import Path

from _support_ci import run_ci
from tests._support_github import FakeGitHub, alerts_cli


def _coverage(ws: Path, name: str, covered: int) -> str:
    (ws / name).write_text(f'<coverage lines-valid="100" lines-covered="{covered}" line-rate="{covered / 100}"/>')
    return name


def test_the_inbox_opens_and_closes_the_coverage_drop_issue_and_the_page_names_it(tmp_path):
    ws = tmp_path
    config = ws / "configs" / "observability"
    config.mkdir(parents=True)
    (config / "alerts.yaml").write_text(
        "sources:\n  - {name: ci, path: ops/ci_alerts.json}\ngithub:\n  write_interval_seconds: 0\n"
    )
    (ws / "ops").mkdir()

    def metrics(run: int, covered: int) -> dict:
        stamp = f"2026-11-{10 + run:02d}T10:00:00Z"
        args = ["--run-id", str(run), "--branch", "main", "--coverage-xml", _coverage(ws, f"c{run}.xml", covered)]
        code, summary, stderr = run_ci(ws, "metrics", *args, now=stamp)
        assert code == 0, stderr
        return summary

    def sync(fake: FakeGitHub, run: int) -> dict:
        done = alerts_cli(ws, "sync", "--source", "ci", now=f"2026-11-{10 + run:02d}T10:05:00Z", fake=fake)
        assert done.exit_code == 0, done
        assert fake.violations == []
        return done.summary

    with FakeGitHub() as fake:
        for run in (1, 2, 3):
            metrics(run, 90)
        assert metrics(4, 85)["status"] == "warning"
        assert sync(fake, 4)["action_counts"] == {"opened": 1}
        (issue,) = fake.issues.values()
        assert "fell to 85.00%, 5.00 points below its baseline 90.00%" in issue["body"]
        assert "source:ci" in fake.label_names(issue["number"])
        code, _, stderr = run_ci(ws, "health", now="2026-11-14T11:00:00Z")
        assert code == 0, stderr
        doc = json.loads((ws / "out/ci/ci_health.json").read_text())
        [listed] = doc["failure_issues"]["open"]
        assert (listed["kind"], listed["number"]) == ("alert", issue["number"])
        assert f"[#{issue['number']} " in (ws / "out/ci/ci_health.md").read_text()
        assert metrics(5, 90)["alerts"][0]["status"] == "resolved"
        assert sync(fake, 5)["action_counts"] == {"resolved": 1}
        assert fake.issues[issue["number"]]["state"] == "closed"
