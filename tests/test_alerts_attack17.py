"""Attacks on the alert inbox (issue 17): tampered state, a misbehaving GitHub, hostile input.

Each test is the reproduction of one defect found by attacking the inbox, kept as a regression test.
Real parts: the fake GitHub API (checked against GitHub's OpenAPI description), the real CLI.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from observability import secrets
from observability.github import rest
from observability.github.rest import GitHubClient, GitHubError
from tests._support_github import FakeClock, FakeGitHub

T0 = datetime(2026, 1, 8, 10, 0, tzinfo=UTC)


@pytest.fixture()
def clock():
    return FakeClock()


@pytest.fixture()
def fake(clock):
    with FakeGitHub(clock=clock) as server:
        yield server
    assert server.violations == []


class Pages:
    """An in-memory PageStore."""

    def __init__(self):
        self.pages: dict[str, dict] = {}

    def page(self, key):
        return self.pages.get(key)

    def remember(self, key, etag, items, next_url):
        self.pages[key] = {"etag": etag, "items": items, "next": next_url}


def client(fake, clock, **kw) -> GitHubClient:
    return GitHubClient(
        secrets.Secret("GITHUB_TOKEN", fake.token),
        fake.repo,
        api_url=fake.url,
        sleep=clock.sleep,
        wall_clock=clock,
        **kw,
    )


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
