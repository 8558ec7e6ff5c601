"""Attacks on the alert inbox (issue 17): tampered state, a misbehaving GitHub, hostile input.

Each test is the reproduction of one defect found by attacking the inbox, kept as a regression test.
Real parts: the fake GitHub API (checked against GitHub's OpenAPI description), the real CLI.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from observability.github import rest
from observability.github.rest import GitHubError
from tests._support_github import FakeClock, FakeGitHub, Pages, github_client as client

T0 = datetime(2026, 1, 8, 10, 0, tzinfo=UTC)


@pytest.fixture()
def clock():
    return FakeClock(start=datetime(2026, 1, 8, 10, 0, tzinfo=UTC).timestamp())


@pytest.fixture()
def fake(clock):
    with FakeGitHub(clock=clock) as server:
        yield server
    assert server.violations == []


# -- a stored page's next link is followed with the token -----------------------------------------
def test_a_tampered_next_link_in_a_stored_page_never_sends_the_token_elsewhere(fake, clock):
    """ops/alert_inbox.json keeps each list page's next URL; a 304 follows it. A next URL edited to
    another host must not receive the Authorization header (the token)."""
    with FakeGitHub(clock=clock) as foreign:
        store = Pages()
        api = client(fake, clock)
        api.list_labels(store=store)
        ((key, page),) = store.pages.items()
        page["next"] = foreign.url + "/repos/acme/ops/labels?page=2"
        labels = api.list_labels(store=store)  # the stored page is not trusted: fetched again
        assert foreign.requests == []
        assert labels == [] and store.pages[key]["next"] is None


def test_a_next_link_from_the_server_to_another_host_is_refused(fake, clock):
    """A Link header naming another host (a proxy or a misconfigured GHES) is not followed with the token."""
    with FakeGitHub(clock=clock) as foreign:
        api = client(fake, clock)
        original = api._send

        def send(method, url, *args, **kwargs):
            response = original(method, url, *args, **kwargs)
            response.headers["link"] = f'<{foreign.url}/repos/acme/ops/labels?page=2>; rel="next"'
            return response

        api._send = send
        with pytest.raises(GitHubError, match="outside"):
            api.list_labels()
        assert foreign.requests == []


# -- Retry-After that would loop forever -----------------------------------------------------------
@pytest.mark.parametrize("value", ["0", "-5", "nan", "soon"])
def test_a_secondary_limit_with_a_zero_or_unreadable_retry_after_never_loops(fake, clock, value):
    fake.inject(403, headers={"retry-after": value}, body={"message": "secondary rate limit"}, times=1000)
    with pytest.raises(GitHubError):
        client(fake, clock, max_rate_limit_wait_seconds=300).list_labels()
    assert fake.calls <= rest.MAX_RATE_LIMIT_WAITS + 1
    assert all(wait >= 1 for wait in clock.sleeps)


def test_a_retry_after_given_as_an_http_date_is_honoured(fake, clock):
    from email.utils import formatdate

    fake.inject(429, headers={"retry-after": formatdate(clock() + 42, usegmt=True)})
    client(fake, clock).list_labels()
    assert clock.sleeps == [42.0]


def test_a_primary_limit_whose_reset_is_already_past_never_loops(fake, clock):
    fake.inject(
        403,
        headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(clock() - 3600))},
        body={"message": "API rate limit exceeded"},
        times=1000,
    )
    with pytest.raises(GitHubError):
        client(fake, clock).list_labels()
    assert fake.calls <= rest.MAX_RATE_LIMIT_WAITS + 1
    assert all(wait >= 1 for wait in clock.sleeps)


# -- tampered ops/alert_inbox.json -------------------------------------------------------------------
import json  # noqa: E402
from datetime import timedelta  # noqa: E402

from observability.alertitem import fingerprint  # noqa: E402
from observability.clock import iso  # noqa: E402
from tests._support_github import alerts_cli  # noqa: E402

FP = fingerprint("failure", "latency", "sample")
RUN = "https://github.com/acme/ops/actions/runs/{}"


def report(ws, fake, n: int, *extra: str, at=None, env=None):
    args = ["report-failure", "--workflow", "latency", "--job", "sample", "--run-url", RUN.format(n), *extra]
    return alerts_cli(ws, *args, now=iso(at or T0 + timedelta(minutes=15 * (n - 1))), fake=fake, env=env)


def cache_doc(ws) -> dict:
    return json.loads((ws / "ops" / "alert_inbox.json").read_text())


def tamper(ws, edit) -> None:
    doc = cache_doc(ws)
    edit(doc)
    (ws / "ops" / "alert_inbox.json").write_text(json.dumps(doc))


def test_an_etag_with_a_line_break_in_the_cache_does_not_wedge_the_inbox(tmp_path, fake, clock):
    ws = tmp_path
    assert report(ws, fake, 1).exit_code == 0
    # a day later, a recovery of another job re-lists (conditional: the stored ETag is sent)
    other = ["report-failure", "--workflow", "other", "--job", "x", "--recovered"]

    def edit(doc):
        for page in doc["pages"].values():
            page["etag"] = 'W/"abc"\r\nX-Injected: 1'

    tamper(ws, edit)
    run = alerts_cli(ws, *other, now=iso(T0 + timedelta(hours=25)), fake=fake)
    assert run.exit_code == 0, run
    assert all("\n" not in (r["if_none_match"] or "") for r in fake.requests)
    again = alerts_cli(ws, *other, now=iso(T0 + timedelta(hours=50)), fake=fake)
    assert again.exit_code == 0, again


@pytest.mark.parametrize(
    "item",
    [
        {"body": f"<!-- observability-alert fingerprint={FP} kind=failure -->"},  # no number
        {"number": "seven", "body": f"<!-- observability-alert fingerprint={FP} kind=failure -->"},
        {"number": 0, "body": f"<!-- observability-alert fingerprint={FP} kind=failure -->"},
        {"number": 1, "body": f"<!-- observability-alert fingerprint={FP} kind=failure -->", "labels": [{}]},
        {"number": 1, "body": 5},
    ],
)
def test_a_tampered_stored_page_item_is_not_trusted_into_a_crash(tmp_path, fake, item):
    ws = tmp_path
    assert report(ws, fake, 1).exit_code == 0
    relist = ["report-failure", "--workflow", "other", "--job", "x", "--recovered"]
    assert alerts_cli(ws, *relist, now=iso(T0 + timedelta(hours=25)), fake=fake).exit_code == 0

    def edit(doc):
        for key, page in doc["pages"].items():
            if "issues" in key:
                page["items"] = [item]

    tamper(ws, edit)
    # the cache forgets the issue: the next failure lists (a 304 would reuse the tampered items)
    tamper(ws, lambda doc: doc["issues"].clear())
    run = report(ws, fake, 2, at=T0 + timedelta(hours=26))
    assert run.exit_code == 0, run
    assert "rebuilding it from GitHub" in run.stderr  # not reused on a 304: the cache is rebuilt
    assert len(fake.issues) == 1 and fake.issues[1]["state"] == "open"


@pytest.mark.parametrize("field", ["last_notified_at", "started_at", "escalated_at", "closing"])
def test_an_unreadable_time_in_the_cache_is_rebuilt_not_a_crash(tmp_path, fake, field):
    ws = tmp_path
    assert report(ws, fake, 1).exit_code == 0
    tamper(ws, lambda doc: doc["issues"][FP].update({field: "yesterday-ish"}))
    run = report(ws, fake, 2, at=T0 + timedelta(hours=1))
    assert run.exit_code == 0, run
    assert "Traceback" not in run.stderr
    recovered = report(ws, fake, 3, "--recovered", at=T0 + timedelta(hours=2))
    assert recovered.exit_code == 0, recovered
    assert fake.issues[1]["state"] == "closed" and len(fake.issues) == 1


# -- an extra alert source (alerts.yaml sources) with bad items ---------------------------------------
GOOD_ITEM = {"id": "extra-1", "severity": "warning", "message": "m"}


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        ({"id": "has space"}, "id"),
        ({"id": "x" * 200}, "id"),
        ({"started_at": "yesterday"}, "started_at"),
        ({"last_breach_at": 5}, "last_breach_at"),
        ({"breach_streak": "many"}, "breach_streak"),
        ({"breach_count": -1}, "breach_count"),
        ({"evidence": [1, 2]}, "evidence"),
        ({"status": "resolved", "resolved_at": "later"}, "resolved_at"),
        ({"runbook": "docs/r.md) [rotate keys](https://evil.example"}, "runbook"),
        ({"runbook": "javascript:alert(1)"}, "runbook"),
    ],
)
def test_a_bad_item_in_an_extra_source_is_a_warning_naming_the_field(tmp_path, fake, edit, field):
    ws = tmp_path
    (ws / "configs" / "observability").mkdir(parents=True)
    (ws / "configs" / "observability" / "alerts.yaml").write_text(
        "sources:\n  - name: extra\n    path: ops/extra_alerts.json\n"
    )
    (ws / "ops").mkdir()
    (ws / "ops" / "extra_alerts.json").write_text(json.dumps({"alerts": [{**GOOD_ITEM, **edit}]}))
    run = alerts_cli(ws, "sync", "--no-mirrors", "--source", "extra", now=iso(T0), fake=fake)
    assert run.exit_code == 0, run
    assert "Traceback" not in run.stderr
    assert f"field alerts[0].{field}" in run.stderr, run.stderr
    assert fake.issues == {}


# -- a failure issue's hidden running state, edited by a person ----------------------------------------
def edited_state(fake, number: int, **state) -> None:
    """Replace the hidden observability-failures marker of issue ``number`` with ``state``."""
    import re

    body = fake.issues[number]["body"]
    text = json.dumps(state).replace(">", "\\u003e")
    fake.issues[number]["body"] = re.sub(
        r"<!--\s*observability-failures\s+\{.*?\}\s*-->", lambda _m: f"<!-- observability-failures {text} -->", body
    )


def lost_cache(ws) -> None:
    (ws / "ops" / "alert_inbox.json").unlink()


GOOD_RUN = {
    "at": "2026-01-08T10:00:00Z",
    "run_url": RUN.format(1),
    "attempt": 1,
    "sha": "0123456789ab",
    "event": "push",
}


@pytest.mark.parametrize(
    "state",
    [
        {"failures": 3, "notified_at": "yesterday", "first_failure": GOOD_RUN, "last_failure": GOOD_RUN},
        {"failures": 3, "escalated_at": "soon", "first_failure": GOOD_RUN, "last_failure": GOOD_RUN},
        {"failures": 3, "first_failure": {**GOOD_RUN, "at": "whenever"}, "last_failure": GOOD_RUN},
    ],
)
def test_an_unreadable_time_in_an_edited_body_is_not_trusted_into_a_crash(tmp_path, fake, state):
    ws = tmp_path
    assert report(ws, fake, 1).exit_code == 0
    edited_state(fake, 1, workflow="latency", job="sample", **state)
    lost_cache(ws)
    run = report(ws, fake, 2, at=T0 + timedelta(minutes=30))
    assert run.exit_code == 0, run
    for bad in ("yesterday", "soon", "whenever"):
        assert bad not in fake.issues[1]["body"]
    assert report(ws, fake, 3, "--recovered", at=T0 + timedelta(minutes=45)).exit_code == 0
    assert fake.issues[1]["state"] == "closed"


@pytest.mark.parametrize(
    "run_url",
    [
        "javascript:alert(document.cookie)",
        "https://evil.example/acme/ops/actions/runs/1",
        "https://github.com/acme/ops/actions/runs/1) [urgent: rotate keys](https://evil.example",
    ],
)
def test_a_foreign_run_url_in_an_edited_body_is_never_linked(tmp_path, fake, run_url):
    ws = tmp_path
    assert report(ws, fake, 1).exit_code == 0
    edited_state(fake, 1, workflow="latency", job="sample", failures=1, first_failure={**GOOD_RUN, "run_url": run_url})
    lost_cache(ws)
    assert report(ws, fake, 2, at=T0 + timedelta(minutes=30)).exit_code == 0
    body = fake.issues[1]["body"]
    assert "evil.example" not in body and "javascript:" not in body
    assert f"[run]({RUN.format(2)})" in body  # the real last run is linked


def test_markdown_in_edited_run_fields_stays_inert(tmp_path, fake):
    ws = tmp_path
    assert report(ws, fake, 1).exit_code == 0
    first = {**GOOD_RUN, "sha": "`@acme/all`", "event": "x` @acme/all `"}
    edited_state(fake, 1, workflow="latency", job="sample", failures=1, first_failure=first)
    lost_cache(ws)
    assert report(ws, fake, 2, at=T0 + timedelta(minutes=30)).exit_code == 0
    assert "@acme/all" not in fake.issues[1]["body"]


def test_an_edited_notified_count_above_the_count_never_says_a_negative_number(tmp_path, fake):
    ws = tmp_path
    (ws / "configs" / "observability").mkdir(parents=True)
    (ws / "configs" / "observability" / "alerts.yaml").write_text("failure_repeat_interval_hours: 1\n")
    assert report(ws, fake, 1).exit_code == 0
    edited_state(
        fake,
        1,
        workflow="latency",
        job="sample",
        failures=2,
        notified_failures=500,
        first_failure=GOOD_RUN,
        last_failure=GOOD_RUN,
        notified_at="2026-01-08T10:00:00Z",
    )
    lost_cache(ws)
    assert report(ws, fake, 3, at=T0 + timedelta(hours=2)).exit_code == 0
    (summary,) = [c for c in fake.comment_bodies(1) if "Still failing" in c]
    assert "-" not in summary.split("more failed")[0]


def test_a_run_url_in_the_cache_that_would_close_the_link_is_not_linked(tmp_path, fake):
    ws = tmp_path
    assert report(ws, fake, 1).exit_code == 0
    evil = RUN.format(1) + ") [rotate your keys](https://evil.example/"
    tamper(ws, lambda doc: doc["issues"][FP]["first_failure"].update(run_url=evil))
    assert report(ws, fake, 2).exit_code == 0
    shown = fake.issues[1]["body"].split("<!-- observability-failures")[0]  # the hidden state is inert
    assert "evil.example" not in shown and "(no URL given)" in shown


# -- GitHub refusing the body edit -----------------------------------------------------------------
def test_a_refused_body_edit_loses_no_failure_from_the_count(tmp_path, fake):
    ws = tmp_path
    (ws / "configs" / "observability").mkdir(parents=True)
    (ws / "configs" / "observability" / "alerts.yaml").write_text("github:\n  max_attempts: 1\n")
    assert report(ws, fake, 1).exit_code == 0
    fake.inject(502, match=lambda method, path: method == "PATCH" and path.endswith("/issues/1"))
    assert report(ws, fake, 2).exit_code != 0  # the edit failed: the run says so
    assert report(ws, fake, 3).exit_code == 0
    assert cache_doc(ws)["issues"][FP]["failures"] == 3
    assert '"failures":3' in fake.issues[1]["body"] and "3 failed run(s) in a row" in fake.issues[1]["body"]


# -- SIGKILL around the escalation: no double page, no lost count, the next run completes ----------
import os  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

from tests._support_github import ALERT_ENV_CLEAR, Receiver  # noqa: E402

ROUTING_KEY = "R0UT1NGKEYcanary0123456789abcdef"
ESCALATE_AT_2 = "escalation:\n  after_failures: 2\ngithub:\n  write_interval_seconds: 0\n"


@pytest.fixture()
def pd():
    receiver = Receiver(default_status=202)
    yield receiver
    receiver.close()


def pd_env(pd) -> dict[str, str]:
    return {"OBS_PAGERDUTY_ROUTING_KEY": ROUTING_KEY, "OBS_PAGERDUTY_EVENTS_URL": pd.url + "/v2/enqueue"}


def killed_report(ws, fake, pd, n: int, ready, *extra: str) -> None:
    """Run report-failure #n in a real process and SIGKILL it as soon as ``ready()``."""
    env = {k: v for k, v in os.environ.items() if k not in ALERT_ENV_CLEAR and not k.startswith("COVERAGE_")}
    env.update(
        OBS_NOW=iso(T0 + timedelta(minutes=15 * (n - 1))),
        GITHUB_TOKEN=fake.token,
        GITHUB_API_URL=fake.url,
        GITHUB_REPOSITORY=fake.repo,
        **pd_env(pd),
    )
    args = ["alerts", "report-failure", "--workflow", "latency", "--job", "sample", "--run-url", RUN.format(n), *extra]
    proc = subprocess.Popen(
        [sys.executable, "-m", "observability", *args, "--workspace", str(ws)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    deadline = time.monotonic() + 60
    while not ready():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the kill point was never reached"
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()


def held(fake, method: str, suffix: str):
    """Hold the next ``method`` request to a path ending ``suffix`` unanswered; returns (reached, release)."""
    fake.hold(2, lambda m, path: m == method and path.endswith(suffix))
    hold = fake.holds[-1]
    return (lambda: hold.left == 1), hold.barrier.abort  # one request waiting at the barrier


def escalations(fake) -> list[str]:
    return [c for c in fake.comment_bodies(1) if c.startswith("**Escalated**")]


@pytest.mark.parametrize("point", ["pagerduty", "comment", "body"])
def test_a_report_killed_around_the_escalation_pages_and_comments_once_and_counts_every_run(tmp_path, fake, pd, point):
    ws = tmp_path
    (ws / "configs" / "observability").mkdir(parents=True)
    (ws / "configs" / "observability" / "alerts.yaml").write_text(ESCALATE_AT_2)
    assert report(ws, fake, 1, env=pd_env(pd)).exit_code == 0
    release = None
    if point == "pagerduty":  # PagerDuty received the trigger; the process dies before its answer
        pd.script = [("sleep", 30)]
        reached = lambda: len(pd.received) == 1  # noqa: E731
    elif point == "comment":  # the escalation comment sent, never processed
        reached, release = held(fake, "POST", "/issues/1/comments")
    else:  # the comment posted, the body edit never processed
        reached, release = held(fake, "PATCH", "/issues/1")
    killed_report(ws, fake, pd, 2, reached)
    if release:
        release()
    fake.holds.clear()
    pd.script = []
    for n in (3, 4):
        run = report(ws, fake, n, env=pd_env(pd))
        assert run.exit_code == 0, run
    assert len(escalations(fake)) == 1, fake.comment_bodies(1)
    triggers = [r["json"] for r in pd.received if r["json"]["event_action"] == "trigger"]
    assert triggers and {t["dedup_key"] for t in triggers} == {FP}  # a repeated trigger is folded by PagerDuty
    assert cache_doc(ws)["issues"][FP]["failures"] == 4  # the killed run counted too
    assert "4 failed run(s) in a row" in fake.issues[1]["body"]
    assert len(fake.issues) == 1
    assert report(ws, fake, 5, "--recovered", env=pd_env(pd)).exit_code == 0
    assert fake.issues[1]["state"] == "closed"
    assert [r["json"]["event_action"] for r in pd.received][-1] == "resolve"


@pytest.mark.parametrize("point", ["pagerduty", "comment", "close"])
def test_a_recovery_killed_midway_closes_once_with_one_comment_on_the_next_run(tmp_path, fake, pd, point):
    ws = tmp_path
    (ws / "configs" / "observability").mkdir(parents=True)
    (ws / "configs" / "observability" / "alerts.yaml").write_text(ESCALATE_AT_2)
    for n in (1, 2):  # opened, then escalated and paged
        assert report(ws, fake, n, env=pd_env(pd)).exit_code == 0
    release = None
    if point == "pagerduty":
        pd.script = [("sleep", 30)]
        seen = len(pd.received)
        reached = lambda: len(pd.received) == seen + 1  # noqa: E731
    elif point == "comment":
        reached, release = held(fake, "POST", "/issues/1/comments")
    else:
        reached, release = held(fake, "PATCH", "/issues/1")
    killed_report(ws, fake, pd, 3, reached, "--recovered")
    if release:
        release()
    fake.holds.clear()
    pd.script = []
    run = report(ws, fake, 4, "--recovered", env=pd_env(pd))
    assert run.exit_code == 0, run
    assert fake.issues[1]["state"] == "closed" and fake.issues[1]["state_reason"] == "completed"
    assert len([c for c in fake.comment_bodies(1) if c.startswith("**Recovered**")]) == 1
    actions = [r["json"]["event_action"] for r in pd.received]
    assert actions[-1] == "resolve" and {r["json"]["dedup_key"] for r in pd.received} == {FP}
    assert report(ws, fake, 5, "--recovered", env=pd_env(pd)).exit_code == 0  # nothing left to do
    assert len(fake.issues) == 1


# -- drills ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("job", ["verify", "dashboard"])
def test_a_dry_run_drill_makes_no_request_and_leaves_the_real_workspace_alone(tmp_path, fake, pd, job):
    ws = tmp_path / "real"
    ws.mkdir()
    assert report(ws, fake, 1).exit_code == 0  # a real failure issue open, its cache in the real workspace
    before = {p: p.read_bytes() for p in (ws / "ops").rglob("*") if p.is_file()}
    calls = fake.calls
    slack = Receiver()
    try:
        env = {**pd_env(pd), "OBS_ALERTS_SLACK_WEBHOOK": slack.url + "/services/T0/B0/XXXX"}
        run = alerts_cli(
            ws, "drill", "--job", job, "--dry-run", "--reason", "<b>@acme/all</b> #1", now=iso(T0), fake=fake, env=env
        )
        assert run.exit_code == 0, run
        assert fake.calls == calls and pd.received == [] and slack.received == []
    finally:
        slack.close()
    after = {p: p.read_bytes() for p in (ws / "ops").rglob("*") if p.is_file()}
    run_log = {ws / "ops" / "automation_runs.log", ws / "ops" / "automation_runs.sequence"}  # every run logs
    assert {p: b for p, b in after.items() if p not in run_log} == {p: b for p, b in before.items() if p not in run_log}


def test_a_drill_never_closes_a_real_issue(tmp_path, fake):
    ws = tmp_path / "real"
    (ws / "ops").mkdir(parents=True)
    alert = {"id": "drill-feed-missed", "rule": "missed_run", "severity": "warning", "message": "real one"}
    (ws / "ops" / "verify_alerts.json").write_text(json.dumps({"alerts": [alert]}))
    assert alerts_cli(ws, "sync", "--no-mirrors", now=iso(T0), fake=fake).exit_code == 0
    assert report(ws, fake, 1).exit_code == 0
    real = {n for n, i in fake.issues.items() if i["state"] == "open"}
    for job in ("verify",):
        run = alerts_cli(ws, "drill", "--job", job, "--no-mirrors", now=iso(T0 + timedelta(minutes=1)), fake=fake)
        assert run.exit_code == 0, run
    assert {n for n in real if fake.issues[n]["state"] == "open"} == real
    drills = [i for i in fake.issues.values() if "drill" in {label["name"] for label in i["labels"]}]
    assert drills and all(i["state"] == "closed" for i in drills)


# -- configuration values past their bounds --------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("mirrors:\n  pagerduty_routing_key_env: GITHUB_TOKEN\n", "mirrors.pagerduty_routing_key_env"),
        ("mirrors:\n  slack_webhook_env: GH_TOKEN\n", "mirrors.slack_webhook_env"),
        ("mirrors:\n  webhook_url_env: GITHUB_TOKEN\n", "mirrors.webhook_url_env"),
        ("failure_labels: [" + ", ".join(f"l{i}" for i in range(200)) + "]\n", "failure_labels"),
        ("failure_labels: [a, a]\n", "failure_labels"),
        ('runbook: "https://x.example/r)[rotate keys](https://evil.example"\n', "runbook"),
        (
            'owners:\n  default:\n    runbook: "https://x.example/r)[y](https://evil.example"\n',
            "owners.default.runbook",
        ),
    ],
)
def test_a_config_value_that_would_leak_or_break_an_issue_is_exit_2_naming_the_field(tmp_path, fake, text, field):
    ws = tmp_path
    (ws / "configs" / "observability").mkdir(parents=True)
    (ws / "configs" / "observability" / "alerts.yaml").write_text(text)
    run = report(ws, fake, 1)
    assert run.exit_code == 2, run
    assert "configs/observability/alerts.yaml:" in run.stderr and f"field {field}" in run.stderr, run.stderr
    assert fake.calls == 0 and not (ws / "ops" / "alert_inbox.json").exists()


# -- command-line input ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["--job", "x` @acme/all `"], "--job"),
        (["--job", "x\ny"], "--job"),
        (["--job", ""], "--job"),
        (["--job", "x" * 101], "--job"),
        (["--job", "x", "--title", "t\x00t"], "--title"),
        (["--job", "x", "--title", "t" * 257], "--title"),
        (["--job", "x", "--run-url", "javascript:alert(1)"], "--run-url"),
        (["--job", "x", "--run-url", "https://x.example/a b"], "--run-url"),
        (["--job", "x", "--run-url", "https://x.example/a)[y](https://evil.example"], "--run-url"),
    ],
)
def test_a_bad_report_failure_option_is_exit_2_naming_it_and_calls_nothing(tmp_path, fake, args, option):
    run = alerts_cli(tmp_path, "report-failure", *args, now=iso(T0), fake=fake)
    assert run.exit_code == 2, run
    assert option in run.stderr, run.stderr
    assert fake.calls == 0 and not (tmp_path / "ops" / "alert_inbox.json").exists()


def test_a_workflow_name_with_backticks_never_mentions_anyone(tmp_path, fake):
    """The workflow name comes from GITHUB_WORKFLOW (any text a workflow's name: says) or --workflow."""
    run = alerts_cli(
        tmp_path, "report-failure", "--job", "x", now=iso(T0), fake=fake, env={"GITHUB_WORKFLOW": "CI` @acme/all `\n#1"}
    )
    assert run.exit_code == 0, run
    shown = fake.issues[1]["body"].split("<!-- observability-failures")[0]
    import re

    outside_code = re.sub(r"`[^`\n]*`", "", shown)  # GitHub renders no mention inside a code span
    assert "@acme/all" not in outside_code and "\n#1" not in shown


@pytest.mark.parametrize("value", ["0001-01-01T00:00:00Z", "1900-01-01T00:00:00Z", "9999-12-31T23:59:59Z"])
def test_an_obs_now_out_of_range_is_exit_2_naming_it(tmp_path, fake, value):
    run = alerts_cli(tmp_path, "report-failure", "--job", "x", now=value, fake=fake)
    assert run.exit_code == 2, run
    assert "OBS_NOW" in run.stderr and "Traceback" not in run.stderr
    assert fake.calls == 0


# -- secrets: the GitHub token, the routing key and the Slack URL appear nowhere -------------------
SLACK_PATH = "/services/T0CANARY/B0CANARY/s1ackCANARYs3cretPATH0123"


def test_escalation_with_every_fault_leaks_no_secret(tmp_path, fake, pd):
    ws = tmp_path
    (ws / "configs" / "observability").mkdir(parents=True)
    (ws / "configs" / "observability" / "alerts.yaml").write_text(ESCALATE_AT_2 + "  max_rate_limit_wait_seconds: 0\n")
    slack = Receiver(default_status=400)
    outputs: list[str] = []
    try:
        env = {**pd_env(pd), "OBS_ALERTS_SLACK_WEBHOOK": slack.url + SLACK_PATH}
        run = report(ws, fake, 1, env=env)
        outputs += [run.stdout, run.stderr]
        pd.script = [(400, {})]  # the trigger refused: its detail is recorded
        echo = {"message": f"Validation Failed for {fake.token} / {ROUTING_KEY} / {SLACK_PATH}"}
        fake.inject(422, body=echo, match=lambda method, path: method == "PATCH")
        run = report(ws, fake, 2, env=env)
        outputs += [run.stdout, run.stderr, str(run.exception or "")]
        fake.inject(403, headers={"retry-after": "900"}, body=echo, times=5)  # past the wait bound
        run = report(ws, fake, 3, env=env)
        outputs += [run.stdout, run.stderr, str(run.exception or "")]
        run = report(ws, fake, 4, env=env)
        outputs += [run.stdout, run.stderr]
        run = report(ws, fake, 5, "--recovered", "--dry-run", env=env)
        outputs += [run.stdout, run.stderr]
    finally:
        slack.close()
    assert any("HTTP 422" in text for text in outputs) and any("900 s" in text for text in outputs)
    outputs += [p.read_text(errors="replace") for p in ws.rglob("*") if p.is_file()]
    for number in fake.issues:
        outputs += [fake.issues[number]["body"], fake.issues[number]["title"], *fake.comment_bodies(number)]
    for secret in (fake.token, ROUTING_KEY, SLACK_PATH.rsplit("/", 1)[1]):
        assert not [text[:200] for text in outputs if secret in text], secret


# -- conditional lists: a full last page ------------------------------------------------------------
def test_an_issue_that_starts_a_new_page_is_found_although_the_full_page_before_is_a_304(tmp_path, fake):
    """100 labelled issues fill page 1 exactly. Another run (its state push lost) opens the failure
    issue: the 101st, alone on page 2. If page 1's ETag covers its body only, the re-list's page 1 is
    a 304 whose stored next link is none: the recovery must still find (and close) the issue."""
    fake.etag_covers_link = False
    ws = tmp_path
    for n in range(100):
        marker = f"<!-- observability-alert fingerprint=other{n:03d} kind=alert -->"
        fake.add_issue_by_hand(f"other {n}", marker, ["observability"])
        fake.human_close(n + 1)
    other = ["report-failure", "--workflow", "other", "--job", "x", "--recovered"]
    assert alerts_cli(ws, *other, now=iso(T0), fake=fake).exit_code == 0  # lists: page 1 stored, full
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert report(elsewhere, fake, 1).exit_code == 0  # issue #101, unknown to ws's cache
    assert fake.issues[101]["state"] == "open"
    run = report(ws, fake, 2, "--recovered", at=T0 + timedelta(hours=25))  # the daily re-list
    assert run.exit_code == 0, run
    assert fake.issues[101]["state"] == "closed" and len(fake.issues) == 101


def test_a_drill_label_left_on_a_real_failure_issue_never_lets_a_drill_close_it(tmp_path, fake):
    """A failure issue is shared by drills and real failures (one per job). After a drill episode
    the issue keeps its ``drill`` label; a real failure reopens it. A cache rebuilt from GitHub must
    still see a real episode: the next drill's recovery keeps it open."""
    ws = tmp_path
    assert report(ws, fake, 1).exit_code == 0  # real failure
    assert report(ws, fake, 2, "--recovered").exit_code == 0
    assert report(ws, fake, 3, "--drill").exit_code == 0  # a drill reopens it, labelled drill
    assert report(ws, fake, 4, "--drill", "--recovered").exit_code == 0
    assert report(ws, fake, 5).exit_code == 0  # a real failure again
    lost_cache(ws)
    run = report(ws, fake, 6, "--drill", "--recovered")
    assert run.exit_code == 0, run
    assert fake.issues[1]["state"] == "open"
    assert "drill" not in fake.label_names(1)  # a real episode: the drill label is gone


def test_a_thousand_failed_jobs_keep_the_body_under_githubs_limit_with_its_state(tmp_path, fake):
    args = []
    for n in range(1000):
        args += ["--failed-job", f"job_{n:04d}_" + "x" * 90]
    run = report(tmp_path, fake, 1, *args)
    assert run.exit_code == 0, run
    body = fake.issues[1]["body"]
    assert len(body) <= 65535 and "<!-- observability-failures" in body and "job_0000_" in body
    assert "more" in body


# -- Slack: text from an alert file or a --title never pings a channel -------------------------------
def test_a_title_with_a_slack_special_mention_is_escaped_in_every_slack_field(tmp_path, fake):
    slack = Receiver()
    try:
        env = {"OBS_ALERTS_SLACK_WEBHOOK": slack.url + "/services/T0/B0/XXXX"}
        piped = report(tmp_path, fake, 1, "--run-url", RUN.format(1) + "|click me", env=env)
        assert piped.exit_code == 2 and "--run-url" in piped.stderr  # a | would retitle the Slack link
        run = alerts_cli(
            tmp_path,
            "report-failure",
            "--job",
            "x",
            "--title",
            "<!channel> deploy now",
            now=iso(T0),
            fake=fake,
            env=env,
        )
        assert run.exit_code == 0, run
    finally:
        slack.close()
    (message,) = slack.received
    assert "<!channel>" not in json.dumps(message["json"]) and "&lt;!channel&gt;" in message["json"]["text"]


def test_the_slack_fallback_text_is_escaped_like_the_blocks():
    from observability.alerts import slack
    from observability.alerts.inbox import Event

    event = Event("failing", "fp", "<!channel> <https://evil.example|ok>", "critical", "m", False, None, None)
    body = slack.payload(event)
    assert "<!channel>" not in body["text"] and "<https://evil.example" not in body["text"]


@pytest.mark.parametrize("reason", ["\x00\x01\x7f", "\u200b\u202e\u2066", "y" * (10 * 1024 * 1024)])
def test_a_reason_with_nothing_printable_or_10_mb_is_exit_2(tmp_path, fake, reason):
    run = alerts_cli(tmp_path, "report-failure", "--job", "x", "--drill", "--reason", reason, now=iso(T0), fake=fake)
    assert run.exit_code == 2, run
    assert "--reason" in run.stderr and fake.calls == 0
    assert len(run.stderr) < 10_000 and len(run.stdout) < 10_000


# -- GitHub answers oddly to conditional lists (held) --------------------------------------------
def test_a_304_to_a_request_that_sent_no_etag_is_a_clear_error(fake, clock):
    fake.inject(304, match=lambda method, path: method == "GET")
    with pytest.raises(GitHubError, match=r"GET /repos/acme/ops/labels: HTTP 304"):
        client(fake, clock).list_labels(store=Pages())


def test_a_page_that_changed_mid_pagination_is_read_fresh_and_the_rest_reused(clock):
    with FakeGitHub(clock=clock, per_page_max=2) as fake:
        for n in range(5):
            fake.add_issue_by_hand(
                f"i{n}", f"<!-- observability-alert fingerprint=f{n} kind=alert -->", ["observability"]
            )
        store, api = Pages(), client(fake, clock)
        assert [i["number"] for i in api.list_issues(labels="observability", store=store)] == [1, 2, 3, 4, 5]
        fake.human_close(3)  # page 2 of 3 changes; pages 1 and 3 do not
        before = fake.not_modified
        listed = api.list_issues(labels="observability", store=store)
        assert [i["number"] for i in listed] == [1, 2, 3, 4, 5] and listed[2]["state"] == "closed"
        assert fake.not_modified == before + 2  # pages 1 and 3 answered 304


@pytest.mark.parametrize("dry_run", [True, False])
def test_a_drill_never_pings_the_dead_man_switch(tmp_path, fake, clock, dry_run):
    """OBS_HEARTBEAT_PING_URL says "the monitored job ran": a drill (dry run or not) is no such run."""
    with FakeGitHub(clock=clock) as deadman:
        env = {"OBS_HEARTBEAT_PING_URL": deadman.url + "/ping/c4n4ry-uuid"}
        args = ["drill", "--job", "verify", "--no-mirrors", *(["--dry-run"] if dry_run else [])]
        run = alerts_cli(tmp_path, *args, now=iso(T0), fake=fake, env=env)
        assert run.exit_code == 0, run
        assert deadman.requests == []
        assert run.summary["deadman_ping"] == "not_sent"


@pytest.mark.parametrize("command", [["report-failure", "--job", "x", "--drill"], ["sync", "--drill", "--no-mirrors"]])
def test_a_drill_mode_report_or_sync_never_pings_the_dead_man_switch(tmp_path, fake, clock, command):
    with FakeGitHub(clock=clock) as deadman:
        env = {"OBS_HEARTBEAT_PING_URL": deadman.url + "/ping/c4n4ry-uuid"}
        run = alerts_cli(tmp_path, *command, now=iso(T0), fake=fake, env=env)
        assert run.exit_code == 0, run
        assert deadman.requests == [] and run.summary["deadman_ping"] == "not_sent"


# -- an issue deleted (or transferred) by a person -----------------------------------------------------
def deleted(fake, number: int) -> None:
    """GitHub answers 410 Gone for a deleted issue, and lists it no more (its number is never reused)."""
    fake.issues[number].update(labels=[], body="", state="closed")  # a tombstone: unlisted, number kept
    fake.inject(
        410,
        body={"message": "This issue was deleted", "documentation_url": "https://docs.github.com/rest"},
        match=lambda method, path: (
            path.rstrip("/").split("/issues/")[-1].split("/")[0] == str(number) and "/issues/" in path
        ),
        times=50,
    )


def test_a_deleted_failure_issue_never_wedges_report_failure(tmp_path, fake):
    ws = tmp_path
    assert report(ws, fake, 1).exit_code == 0
    deleted(fake, 1)
    run = report(ws, fake, 2)
    assert run.exit_code == 0, run
    assert "#1" in run.stderr and "410" in run.stderr  # said, as a warning
    (number,) = [n for n, i in fake.issues.items() if i["state"] == "open"]
    assert number != 1 and cache_doc(ws)["issues"][FP]["number"] == number
    assert report(ws, fake, 3, "--recovered").exit_code == 0
    assert fake.issues[number]["state"] == "closed"


def test_a_deleted_failure_issue_never_wedges_the_recovery(tmp_path, fake):
    ws = tmp_path
    assert report(ws, fake, 1).exit_code == 0
    deleted(fake, 1)
    run = report(ws, fake, 2, "--recovered")
    assert run.exit_code == 0, run
    assert FP not in cache_doc(ws)["issues"]


def test_a_deleted_alert_issue_never_wedges_the_sync_of_the_others(tmp_path, fake):
    ws = tmp_path
    (ws / "ops").mkdir()
    alerts = [{"id": f"a{n}", "rule": "missed_run", "severity": "warning", "message": f"a{n}"} for n in (1, 2)]
    (ws / "ops" / "verify_alerts.json").write_text(json.dumps({"alerts": alerts}))
    assert alerts_cli(ws, "sync", "--no-mirrors", now=iso(T0), fake=fake).exit_code == 0
    deleted(fake, 1)
    (ws / "ops" / "verify_alerts.json").write_text(json.dumps({"alerts": []}))  # both resolve
    run = alerts_cli(ws, "sync", "--no-mirrors", now=iso(T0 + timedelta(hours=1)), fake=fake)
    assert run.exit_code == 0, run
    assert fake.issues[2]["state"] == "closed"
    assert "a1" not in cache_doc(ws)["issues"]


def test_a_deleted_failure_issue_due_to_escalate_never_wedges_the_sync(tmp_path, fake):
    ws = tmp_path
    assert report(ws, fake, 1).exit_code == 0
    deleted(fake, 1)
    run = alerts_cli(ws, "sync", "--no-mirrors", now=iso(T0 + timedelta(hours=5)), fake=fake)  # past after_hours
    assert run.exit_code == 0, run
    assert FP not in cache_doc(ws)["issues"]


def test_a_rate_limit_at_the_escalation_comment_escalates_once_on_the_next_run(tmp_path, fake, pd):
    ws = tmp_path
    (ws / "configs" / "observability").mkdir(parents=True)
    (ws / "configs" / "observability" / "alerts.yaml").write_text(ESCALATE_AT_2 + "  max_rate_limit_wait_seconds: 0\n")
    assert report(ws, fake, 1, env=pd_env(pd)).exit_code == 0
    fake.inject(
        403,
        headers={"retry-after": "60"},
        body={"message": "You have exceeded a secondary rate limit"},
        match=lambda method, path: method == "POST" and path.endswith("/comments"),
    )
    limited = report(ws, fake, 2, env=pd_env(pd))
    assert limited.exit_code == 1 and "github_rate_limited" in limited.stdout
    assert report(ws, fake, 3, env=pd_env(pd)).exit_code == 0
    assert len(escalations(fake)) == 1
    assert {r["json"]["dedup_key"] for r in pd.received} == {FP}
    assert cache_doc(ws)["issues"][FP]["failures"] == 3
