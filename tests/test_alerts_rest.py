"""The GitHub REST client against the fake API: pagination, rate limits, retries, configuration, the token."""

from __future__ import annotations

from dataclasses import replace

import pytest

from observability import secrets
from observability.errors import ConfigError
from observability.github.rest import RETRY, GitHubClient, GitHubError, RateLimitError, link_next
from tests._support_github import TOKEN, FakeClock, FakeGitHub, github_client as client


@pytest.fixture()
def clock():
    return FakeClock()


@pytest.fixture()
def fake(clock):
    with FakeGitHub(clock=clock) as server:
        yield server
    assert server.violations == []


def test_headers_sent(fake, clock):
    client(fake, clock).list_labels()
    (request,) = fake.requests
    assert request["authorization"] == f"Bearer {TOKEN}"
    assert request["api_version"] == "2026-03-10" and request["accept"] == "application/vnd.github+json"


def test_link_pagination_follows_next(clock):
    with FakeGitHub(clock=clock, per_page_max=3) as fake:
        for n in range(7):
            fake.add_issue_by_hand(f"i{n}", "b", ["observability"])
        c = client(fake, clock)
        issues = c.list_issues(labels="observability")
        assert [i["number"] for i in issues] == list(range(1, 8))
        assert c.calls == 3 and fake.violations == []


def test_link_header_parsing():
    header = '<https://api.github.com/x?page=2>; rel="next", <https://api.github.com/x?page=5>; rel="last"'
    assert link_next(header) == "https://api.github.com/x?page=2"
    assert link_next('<https://a/x?page=1>; rel="prev"') is None and link_next(None) is None


def test_5xx_retried_with_backoff(fake, clock):
    fake.inject(502, times=2)
    assert client(fake, clock).list_labels() == []
    assert clock.sleeps == [2.0, 4.0] and fake.calls == 3


def test_5xx_gives_up_with_a_clear_error(fake, clock):
    fake.inject(503, times=4)
    with pytest.raises(GitHubError) as caught:
        client(fake, clock).list_labels()
    assert caught.value.message == "GET /repos/acme/ops/labels: HTTP 503 (injected 503)"
    assert fake.calls == 4


def test_issue_creation_is_never_repeated_blindly(fake, clock):
    fake.inject(502)
    with pytest.raises(GitHubError) as caught:
        client(fake, clock).create_issue("t", "b", [])
    assert caught.value.transient and fake.calls == 1 and fake.issues == {}


def test_secondary_limit_403_retry_after_is_waited_out(fake, clock):
    fake.inject(403, headers={"retry-after": "30"}, body={"message": "You have exceeded a secondary rate limit."})
    client(fake, clock).list_labels()
    assert clock.sleeps == [30.0] and fake.calls == 2


def test_429_retry_after_is_waited_out(fake, clock):
    fake.inject(429, headers={"retry-after": "7"})
    client(fake, clock).list_labels()
    assert clock.sleeps == [7.0]


def test_secondary_limit_without_retry_after_waits_a_minute(fake, clock):
    fake.inject(403, body={"message": "You have exceeded a secondary rate limit. Please wait."})
    client(fake, clock).list_labels()
    assert clock.sleeps == [60.0]


def test_primary_limit_exhausted_waits_for_the_reset(fake, clock):
    fake.remaining = 1
    c = client(fake, clock)
    c.list_labels()  # answered with remaining 0, reset in 60 s
    c.list_labels()  # waits for the reset instead of burning a 403
    assert clock.sleeps == [61.0] and fake.calls == 2


def test_primary_limit_403_waits_for_the_reset(fake, clock):
    reset = int(clock() + 20)
    fake.inject(
        403,
        headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(reset)},
        body={"message": "API rate limit exceeded"},
    )
    client(fake, clock).list_labels()
    assert clock.sleeps == [21.0]


def test_rate_limit_wait_is_bounded(fake, clock):
    fake.inject(403, headers={"retry-after": "900"}, body={"message": "secondary rate limit"})
    with pytest.raises(RateLimitError) as caught:
        client(fake, clock, max_rate_limit_wait_seconds=300).list_labels()
    assert caught.value.error_code == "github_rate_limited"
    assert "waiting 900 s more would pass the 300 s bound - rerun later" in caught.value.message
    assert clock.sleeps == []


def test_permission_error_says_what_to_do(fake, clock):
    fake.inject(403, body={"message": "Resource not accessible by integration"})
    with pytest.raises(GitHubError) as caught:
        client(fake, clock).create_issue("t", "b", [])
    assert "permissions: issues: write" in caught.value.message


def test_network_error_on_get_is_retried_then_reported(clock):
    with FakeGitHub(clock=clock) as fake:
        url = fake.url
    c = GitHubClient(
        secrets.Secret("GITHUB_TOKEN", TOKEN),
        "acme/ops",
        api_url=url,
        sleep=clock.sleep,
        wall_clock=clock,
        policy=replace(RETRY, max_attempts=2, timeout_seconds=2),
    )
    with pytest.raises(GitHubError) as caught:
        c.list_labels()
    assert caught.value.message.startswith("GET /repos/acme/ops/labels: network error")
    assert TOKEN not in caught.value.message and clock.sleeps == [2.0]


def test_configuration_from_the_environment(fake, clock):
    env = {"GH_TOKEN": TOKEN, "GITHUB_API_URL": fake.url + "/", "GITHUB_REPOSITORY": "acme/ops"}
    c = GitHubClient.from_env(environ=env, sleep=clock.sleep, wall_clock=clock)
    assert c.api_url == fake.url and c.repo == "acme/ops"
    c.list_labels()
    assert TOKEN not in repr(c) and secrets.redact(f"x {TOKEN} y") == "x *** y"


@pytest.mark.parametrize(
    "env, message",
    [
        ({"GITHUB_REPOSITORY": "a/b"}, "GITHUB_TOKEN (or GH_TOKEN) is not set"),
        ({"GITHUB_TOKEN": "tok-1234"}, "no repository: pass --repo OWNER/NAME or set GITHUB_REPOSITORY"),
        (
            {"GITHUB_TOKEN": "tok-1234", "GITHUB_REPOSITORY": "not a repo"},
            "repository 'not a repo': expected OWNER/NAME",
        ),
        (
            {"GITHUB_TOKEN": "tok-1234", "GITHUB_REPOSITORY": "a/b", "GITHUB_API_URL": "ftp://x"},
            "GITHUB_API_URL 'ftp://x'",
        ),
    ],
)
def test_configuration_errors(env, message):
    with pytest.raises(ConfigError) as caught:
        GitHubClient.from_env(environ=env)
    assert caught.value.message.startswith(message)


def test_bad_token_is_a_clear_error_without_the_token(fake, clock):
    c = GitHubClient(
        secrets.Secret("GITHUB_TOKEN", "ghp_wrongwrongwrong"),
        fake.repo,
        api_url=fake.url,
        sleep=clock.sleep,
        wall_clock=clock,
    )
    with pytest.raises(GitHubError) as caught:
        c.list_labels()
    assert (
        caught.value.message
        == "GET /repos/acme/ops/labels: HTTP 401 (the token is invalid or expired; Bad credentials)"
    )


def test_sync_waits_out_rate_limits_and_502s_with_injected_sleep(tmp_path, clock, capsys, monkeypatch):
    """The whole sync through the library with an injected sleep: every limit waited out, no real wait."""
    import json

    from observability.alerts.job import SyncOptions, sync
    from observability.runtime import run_job
    from tests._support_latency import iso
    from tests.test_alerts_inbox import latency_run, window

    for index in range(2):
        at = window(tmp_path, index, 250_000)
        latency_run(tmp_path, at)
    monkeypatch.setenv("OBS_NOW", iso(at))
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    with FakeGitHub(clock=clock) as fake:
        fake.inject(502, match=lambda method, path: method == "GET")
        fake.inject(429, headers={"retry-after": "5"}, match=lambda method, path: path.endswith("/labels"))
        fake.inject(
            403,
            headers={"retry-after": "20"},
            body={"message": "You have exceeded a secondary rate limit"},
            match=lambda method, path: method == "POST" and path.endswith("/issues"),
        )
        fake.remaining = 4  # the primary limit runs out half-way
        env = {"GITHUB_TOKEN": fake.token, "GITHUB_API_URL": fake.url, "GITHUB_REPOSITORY": fake.repo}
        opts = SyncOptions(environ=env, sleep=clock.sleep, wall_clock=clock, mirrors=False)
        capsys.readouterr()
        code = run_job("alerts", lambda ctx: sync(ctx, opts), workspace=str(tmp_path), job_id=None)
        summary = json.loads(capsys.readouterr().out)
        assert code == 0 and summary["action_counts"] == {"opened": 1}, summary
        assert clock.sleeps[0] == 2.0 and 5.0 in clock.sleeps and 20.0 in clock.sleeps and 61.0 in clock.sleeps
        assert summary["rate_limit_wait_seconds"] == sum(clock.sleeps)
        assert len(fake.issues) == 1 and fake.violations == []
