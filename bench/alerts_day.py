"""A simulated day of a job failing every 15 minutes, through the real alert inbox, before and after.

96 runs from 00:00 UTC (one every 15 minutes) each fail, then the 97th succeeds. Each run does what
run.yml's alert steps do: `observability alerts sync` (one extra alert source holds a warning alert
that fires all day, so the alert path's steady state is in the count too) and then
`observability alerts report-failure` (`--recovered` for the 97th). Both run in-process (Click's
runner) against the fake GitHub API of tests/_support_github.py on loopback (every request checked
against GitHub's OpenAPI description; a violation fails the script) with a loopback PagerDuty
receiver and the routing key set. The clock is OBS_NOW (each run's slot + 30 s): no waiting. The
configuration is the default one (alerts.yaml names only the extra source), so the figures are what
an adopter gets out of the box.

"Before" runs the same day on the observability package of another commit (`--before REF`,
default the branch point of issue 17's repeats, extracted with `git archive` into a temporary
directory), "after" on this tree. It prints one table: runs, issues opened, comments, issue body
edits, API calls (reads / writes), PagerDuty events, and 304 answers when the fake server records
them (conditional requests; "not reported" otherwise).

Usage: python bench/alerts_day.py [--runs N] [--before REF | --no-before] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BEFORE = "85b7c66"  # main before issue 17's repeats and escalation (a "Failed again" comment every run)
DAY = datetime(2026, 3, 2, tzinfo=UTC)
ROUTING_KEY = "R0UT1NGKEYbench00123456789abcdef"
ALERT = {
    "id": "bench-feed-stale",
    "rule": "stale",
    "severity": "warning",
    "message": "bench feed: no fresh samples",
    "source": "bench-feed",
    "started_at": "2026-03-02T00:00:00Z",
}


def day(runs: int) -> dict:
    """Run the day on whatever ``observability`` this interpreter imports; the figures as a dict."""
    sys.path.insert(0, str(ROOT / "tests"))
    import observability
    from _support_github import FakeGitHub, Receiver, alerts_cli  # noqa: E402 - the tests' fake API
    from observability.config import alerts as alerts_config
    from observability.github import rest

    # Write pacing (>= 1 s between writes, when the release has it) changes the wall time, not the calls.
    for module, name in ((rest, "WRITE_INTERVAL_SECONDS"), (alerts_config, "DEFAULT_WRITE_INTERVAL_SECONDS")):
        if hasattr(module, name):
            setattr(module, name, 0.0)
    clock = {"now": DAY.timestamp()}
    rows = []
    with tempfile.TemporaryDirectory(prefix="alerts-day-") as tmp, FakeGitHub(clock=lambda: clock["now"]) as fake:
        fake.api_versions.add(rest.API_VERSION)  # an older release sends an older API version
        pd = Receiver(default_status=202)
        try:
            ws = Path(tmp)
            (ws / "configs" / "observability").mkdir(parents=True)
            (ws / "configs" / "observability" / "alerts.yaml").write_text(
                "sources:\n  - {name: bench, path: ops/bench_alerts.json}\n"
            )
            (ws / "ops").mkdir()
            (ws / "ops" / "bench_alerts.json").write_text(json.dumps({"alerts": [ALERT]}))
            env = {
                "OBS_PAGERDUTY_ROUTING_KEY": ROUTING_KEY,
                "OBS_PAGERDUTY_EVENTS_URL": pd.url + "/v2/enqueue",
                "GITHUB_SHA": "0123456789abcdef0123456789abcdef01234567",
            }
            for n in range(runs + 1):
                at = DAY + timedelta(minutes=15 * n, seconds=30)
                clock["now"] = at.timestamp()
                now = at.strftime("%Y-%m-%dT%H:%M:%SZ")
                run_url = f"https://github.com/acme/ops/actions/runs/{1000 + n}"
                for command in ("sync", "report-failure"):
                    args = [command, "--run-url", run_url]
                    if command == "report-failure":
                        args += ["--workflow", "latency", "--job", "sample"] + (["--recovered"] if n == runs else [])
                    before, pages = len(fake.requests), len(pd.received)
                    result = alerts_cli(ws, *args, now=now, fake=fake, env=env)
                    if result.exit_code != 0:
                        raise SystemExit(f"run {n} {command}: {result!r}")
                    rows.append(_count(command, fake.requests[before:], len(pd.received) - pages))
            if fake.violations:
                raise SystemExit(f"the fake GitHub API saw requests outside its OpenAPI description: {fake.violations}")
        finally:
            pd.close()
    keys = [k for k in rows[0] if k != "command"]
    chosen = {"total": rows, "sync": [r for r in rows if r["command"] == "sync"]}
    chosen["report-failure"] = [r for r in rows if r["command"] == "report-failure"]
    figures = {name: {k: _sum([r[k] for r in picked]) for k in keys} for name, picked in chosen.items()}
    return {"package": str(Path(observability.__file__).parent), "runs": runs + 1, **figures}


def _sum(values: list) -> int | None:
    """None when no run reported the figure (a fake server that does not record 304s)."""
    known = [v for v in values if v is not None]
    return sum(known) if known else None


def _count(command: str, requests: list[dict], pages: int) -> dict:
    writes = [r for r in requests if r["method"] != "GET"]
    known = [r for r in requests if "status" in r]  # recorded by a fake that answers ETags (304)
    return {
        "command": command,
        "issues_opened": sum(1 for r in writes if r["method"] == "POST" and r["path"].endswith("/issues")),
        "comments": sum(1 for r in writes if r["method"] == "POST" and r["path"].endswith("/comments")),
        "body_edits": sum(1 for r in writes if r["method"] == "PATCH" and "body" in (r["body"] or {})),
        "reads": len(requests) - len(writes),
        "writes": len(writes),
        "pages": pages,
        "not_modified": sum(1 for r in known if r["status"] == 304) if known else None,
    }


def _tree(ref: str, into: Path) -> Path:
    """The observability package (and what it loads from the checkout) at ``ref``."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", ref, "observability", "schemas", "ops-template", "docs/credentials.md"],
        check=True,
        capture_output=True,
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def _child(runs: int, tree: Path | None) -> dict:
    env = dict(os.environ)
    if tree is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(tree), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    out = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", "--runs", str(runs)],
        capture_output=True,
        text=True,
        env=env,
    )
    if out.returncode != 0:
        raise SystemExit(f"the simulated day failed ({'before' if tree else 'after'}):\n{out.stderr[-4000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


ROWS = [
    ("issues opened", "issues_opened"),
    ("comments", "comments"),
    ("issue body edits", "body_edits"),
    ("API calls (reads / writes)", None),
    ("PagerDuty events", "pages"),
    ("304 Not Modified", "not_modified"),
]


def _cell(figures: dict, key: str | None) -> str:
    if key is None:
        return f"{figures['reads'] + figures['writes']} ({figures['reads']} / {figures['writes']})"
    value = figures[key]
    return "not reported" if value is None else str(value)


def table(results: dict[str, dict]) -> str:
    names = list(results)
    runs = next(iter(results.values()))["runs"]
    head = ["| a day, a job failing every 15 min |", *[f" {n} |" for n in names]]
    lines = ["".join(head), "| --- |" + " --- |" * len(names)]
    lines.append("| runs (96 failing, then 1 success) | " + " | ".join(str(runs) for _ in names) + " |")
    for label, key in ROWS:
        lines.append(f"| {label} | " + " | ".join(_cell(results[n]["total"], key) for n in names) + " |")
    for command in ("report-failure", "sync"):
        label = f"of which `alerts {command}`: API calls (reads / writes)"
        lines.append(f"| {label} | " + " | ".join(_cell(results[n][command], None) for n in names) + " |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=96, help="failing runs before the recovery (default 96)")
    parser.add_argument("--before", default=BEFORE, help=f"the commit to compare with (default {BEFORE})")
    parser.add_argument("--no-before", action="store_true", help="measure this tree only")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(day(args.runs)))
        return 0
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="alerts-day-before-") as tmp:
        if not args.no_before:
            results[f"before ({args.before})"] = _child(args.runs, _tree(args.before, Path(tmp)))
        results["after (this tree)"] = _child(args.runs, None)
    print(table(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
