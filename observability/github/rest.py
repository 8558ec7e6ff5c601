"""The GitHub REST client: auth, timeouts, pagination, rate limits and retries; nothing else talks to the API.

Token from GITHUB_TOKEN (or GH_TOKEN), base URL from GITHUB_API_URL (GitHub Enterprise Server),
repository from GITHUB_REPOSITORY unless given. Primary rate limits (``x-ratelimit-remaining: 0``
until ``x-ratelimit-reset``) and secondary limits (403/429, ``retry-after``) are waited out up to a
bound, then a RateLimitError says when to try again; a ``retry-after`` on any other answer that
is retried (5xx) is honoured the same way, and every such wait is reported on stderr. 5xx answers
and network errors are retried with exponential backoff, but only for requests that are safe to
repeat: a POST that creates an issue is never repeated blindly (the caller looks the issue up
instead); the backoff is the shared retry policy (``outbound.retry``) without jitter. Mutating
calls are paced (``write_interval_seconds`` between the end of one and the start of the next, as
GitHub's secondary-rate-limit guidance asks). List pages can be conditional (``If-None-Match``
with a stored ETag: a 304 reuses the stored page and costs no rate limit). Waits and clocks are
injectable so tests never sleep. The token is registered with secrets.redact and never logged.
"""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import quote, urlencode

from observability import __version__, otel, progress, secrets
from observability.errors import ConfigError, ObservabilityError
from observability.outbound.retry import RetryPolicy, retry_after_seconds

DEFAULT_API_URL = "https://api.github.com"
# The REST API version every request asks for (docs/github-api.md checks each call against its
# breaking changes). GitHub answers 400 to a version it does not support.
API_VERSION = "2026-03-10"
_LINK_RE = re.compile(r'<([^>]+)>\s*;\s*rel="([^"]+)"')
_REPO_RE = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "PATCH", "DELETE"})
MUTATING = frozenset({"POST", "PATCH", "PUT", "DELETE"})


class GitHubError(ObservabilityError):
    """The GitHub API refused or failed a request (the message names the operation and status)."""

    error_code = "github_api_error"

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        transient: bool = False,
        fields: tuple[str, ...] = (),
        **details: Any,
    ):
        super().__init__(message, status_code=status, **details)
        self.status = status
        self.transient = transient
        self.fields = fields  # a 422's ``errors[].field`` (e.g. assignees): what GitHub refused


class RateLimitError(GitHubError):
    """A rate limit would take longer to wait out than the configured bound."""

    error_code = "github_rate_limited"


# 5xx and network errors: 4 attempts, waits of 2, 4, 8 s (at most 60 s), exact (no jitter).
RETRY = RetryPolicy(max_attempts=4, base_wait_seconds=2.0, max_wait_seconds=60.0, timeout_seconds=30.0, jitter=False)
MAX_RATE_LIMIT_WAIT_SECONDS = 300.0  # the longest total wait for rate limits, then RateLimitError
SECONDARY_DEFAULT_WAIT_SECONDS = 60.0  # a secondary limit without retry-after: this long, times the attempt
# A rate-limit wait is never shorter than this (a retry-after of 0, or a reset already past by the
# runner's clock, would otherwise retry at once, again and again), nor repeated more often than this
# in one process: a server that keeps limiting is given up on with a RateLimitError.
MIN_RATE_LIMIT_WAIT_SECONDS = 1.0
MAX_RATE_LIMIT_WAITS = 20
PER_PAGE = 100  # list items asked for per page (GitHub's maximum)
WRITE_INTERVAL_SECONDS = 1.0  # GitHub: "wait at least one second between each request" that mutates


class PageStore(Protocol):
    """Where conditional list pages are kept between runs (the alert inbox's cache)."""

    def page(self, key: str) -> dict | None:
        """The stored ``{"etag", "items", "next"}`` of a page URL, or None."""

    def remember(self, key: str, etag: str, items: list, next_url: str | None) -> None:
        """Store a page's ETag, its (reduced) items and its next-page URL."""


@dataclass
class Response:
    status: int
    data: Any
    headers: dict[str, str] = field(default_factory=dict)


def repo_path(repo: str, *parts: str | int) -> str:
    """The API path of ``parts`` under ``repo`` (owner/name), each part URL-quoted."""
    owner, name = repo.split("/")
    tail = "/".join(quote(str(p), safe="") for p in parts)
    return f"/repos/{quote(owner, safe='')}/{quote(name, safe='')}" + (f"/{tail}" if tail else "")


def link_next(header: str | None) -> str | None:
    """The ``rel="next"`` URL of a Link header, or None."""
    for url, rel in _LINK_RE.findall(header or ""):
        if rel == "next":
            return url
    return None


def _header_float(headers, name: str) -> float | None:
    try:
        return float(headers.get(name, ""))
    except (TypeError, ValueError):
        return None


class GitHubClient:
    """One repository's REST API. Counts every HTTP request made (``calls``), for the job summary."""

    def __init__(
        self,
        token: secrets.Secret,
        repo: str,
        *,
        api_url: str = DEFAULT_API_URL,
        policy: RetryPolicy = RETRY,
        max_rate_limit_wait_seconds: float = MAX_RATE_LIMIT_WAIT_SECONDS,
        secondary_default_wait_seconds: float = SECONDARY_DEFAULT_WAIT_SECONDS,
        write_interval_seconds: float | None = None,
        sleep: Callable[[float], None] = time.sleep,
        wall_clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] | None = None,
        warn: Callable[[str], None] | None = None,
        session=None,
    ):
        import requests

        if not _REPO_RE.match(repo or ""):
            raise ConfigError(f"repository {repo!r}: expected OWNER/NAME (set GITHUB_REPOSITORY or --repo)")
        if not api_url.lower().startswith(("https://", "http://")):
            raise ConfigError(f"GITHUB_API_URL {api_url!r}: not an http(s) URL")
        secrets.register(token.value)
        self._token = token
        self.repo = repo
        self.api_url = api_url.rstrip("/")
        self.policy = policy
        self.max_rate_limit_wait_seconds = max_rate_limit_wait_seconds
        self.secondary_default_wait_seconds = secondary_default_wait_seconds
        # None: the module default, read now (not at import) so the test suite can set it once
        interval = WRITE_INTERVAL_SECONDS if write_interval_seconds is None else write_interval_seconds
        self.write_interval_seconds = max(0.0, interval)
        self.sleep = sleep
        self.wall_clock = wall_clock
        # Pacing measures intervals: a monotonic clock, unless the caller injects fake time (tests).
        self.monotonic = monotonic or (time.monotonic if sleep is time.sleep else wall_clock)
        self.warn = warn or (lambda line: sys.stderr.write(line + "\n"))
        self.calls = 0
        self.not_modified = 0  # conditional requests answered 304 (no rate limit spent)
        self.waited_seconds = 0.0
        self.paced_seconds = 0.0
        self._last_write_end: float | None = None
        self._rate_waited = 0.0
        self._rate_waits = 0
        self._exhausted_until: float | None = None
        self._session = session or requests.Session()

    @classmethod
    def from_env(cls, *, repo: str | None = None, environ=os.environ, **kwargs) -> GitHubClient:
        """Token GITHUB_TOKEN (else GH_TOKEN), base URL GITHUB_API_URL, repo ``repo`` or GITHUB_REPOSITORY."""
        token = secrets.from_env("GITHUB_TOKEN", environ=environ) or secrets.from_env("GH_TOKEN", environ=environ)
        if token is None:
            raise ConfigError(
                "GITHUB_TOKEN (or GH_TOKEN) is not set: give the job `issues: write` and pass "
                "secrets.GITHUB_TOKEN, or use --dry-run to write the planned calls instead"
            )
        chosen = repo or environ.get("GITHUB_REPOSITORY", "")
        if not chosen:
            raise ConfigError("no repository: pass --repo OWNER/NAME or set GITHUB_REPOSITORY")
        api_url = environ.get("GITHUB_API_URL", "").strip() or DEFAULT_API_URL
        return cls(token, chosen, api_url=api_url, **kwargs)

    def __repr__(self) -> str:
        return f"GitHubClient(repo={self.repo!r}, api_url={self.api_url!r})"

    def close(self) -> None:
        self._session.close()

    # -- paths -------------------------------------------------------------------------------
    def repo_path(self, *parts: str | int) -> str:
        return repo_path(self.repo, *parts)

    # -- requests ----------------------------------------------------------------------------
    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict | None = None,
        json: Any = None,
        retry_unsafe: bool = False,
        ok: tuple[int, ...] = (),
    ) -> Response:
        """One API call with retries; ``ok`` lists extra statuses returned instead of raised."""
        url = path if path.startswith(("http://", "https://")) else self.api_url + path
        return self._send(method.upper(), url, params, json, retry_unsafe, ok)

    def paginate(
        self,
        path: str,
        *,
        params: dict | None = None,
        items_key: str | None = None,
        store: PageStore | None = None,
        reduce: Callable[[Any], Any] | None = None,
    ) -> Iterator[Any]:
        """Every item of a list endpoint, following ``Link: rel="next"`` (100 per page).

        ``items_key`` names the list inside an object answer (``{"total_count": n, "artifacts": [...]}``).
        With ``store`` each page is asked for with ``If-None-Match`` and the ETag stored for its URL:
        a 304 (no rate limit spent) yields the stored items and follows the stored next link. Items
        pass through ``reduce`` (what the caller needs of each; None drops it) on both paths, so a caller sees the
        same shape whether the page was fresh or not.
        """
        query: dict | None = {"per_page": PER_PAGE, **(params or {})}
        url: str | None = self.api_url + path
        while url:
            key = self._page_key(url, query)
            stored = store.page(key) if store is not None else None
            if stored and stored.get("next") and not self._within_api(stored["next"]):
                stored = None  # a next link off the API (a tampered cache) is never followed: fetch the page again
            extra = {"If-None-Match": stored["etag"]} if stored else None
            response = self._send("GET", url, query, None, False, (304,) if stored else (), extra)
            if response.status == 304 and stored:
                self.not_modified += 1
                yield from stored["items"]
                url, query = stored.get("next"), None
                continue
            items = response.data.get(items_key) if items_key and isinstance(response.data, dict) else response.data
            if not isinstance(items, list):
                raise GitHubError(
                    f"GET {self._display(url)}: expected a JSON list" + (f" under {items_key!r}" if items_key else "")
                )
            full = len(items) >= PER_PAGE
            if reduce is not None:
                items = [kept for kept in map(reduce, items) if kept is not None]  # None: not wanted
            next_url = link_next(response.headers.get("link"))
            if next_url is not None and not self._within_api(next_url):
                raise GitHubError(
                    f"GET {self._display(url)}: the next-page link points outside {self.api_url}; "
                    "not followed (the token goes to the API only)"
                )
            etag = response.headers.get("etag")
            # A full page without a next link is not kept: when an item starts the next page, this
            # page's body (what its ETag covers) is unchanged, and a 304 would end the list before it.
            if store is not None and etag and not (full and next_url is None):
                store.remember(key, etag, items, next_url)
            yield from items
            url, query = next_url, None

    def _within_api(self, url: str) -> bool:
        """True when ``url`` is under this client's API root (only there does the token go)."""
        return url.startswith(self.api_url + "/")

    def _page_key(self, url: str, query: dict | None) -> str:
        """A page's URL relative to the API root, query sorted: the key its ETag is stored under."""
        relative = self._display(url) if url.startswith(self.api_url) else url
        if query:
            relative += ("&" if "?" in relative else "?") + urlencode(sorted((k, str(v)) for k, v in query.items()))
        return relative

    def _display(self, url: str) -> str:
        return url[len(self.api_url) :] if url.startswith(self.api_url) else url.split("?")[0]

    def _pace(self, method: str) -> None:
        """Before a mutating call: wait until ``write_interval_seconds`` after the previous one ended."""
        if method not in MUTATING or self._last_write_end is None or self.write_interval_seconds <= 0:
            return
        wait = self._last_write_end + self.write_interval_seconds - self.monotonic()
        if wait > 0:
            self.paced_seconds += wait
            self.sleep(wait)

    def download(self, path: str, destination, *, chunk: int = 1 << 20) -> int:
        """GET a file endpoint that answers with a redirect to storage (artifact archives), write it to
        ``destination`` and return its size. The token goes only to the API: the redirect target is
        a pre-signed URL and gets no Authorization header."""
        import requests

        what = f"GET {path}"
        url = self.api_url + path
        for attempt in range(1, self.policy.max_attempts + 1):
            self.calls += 1
            otel.count(otel.GITHUB_API_CALLS, method="GET")
            try:
                first = self._session.get(
                    url,
                    headers=self._headers(),
                    timeout=self.policy.timeout_seconds,
                    allow_redirects=False,
                    stream=True,
                )
                if first.status_code in (301, 302, 303, 307, 308) and first.headers.get("Location"):
                    location = first.headers["Location"]
                    first.close()
                    secrets.register_url(location)
                    self.calls += 1
                    answer = self._session.get(
                        location,
                        headers={"User-Agent": f"observability/{__version__}"},
                        timeout=self.policy.timeout_seconds,
                        stream=True,
                    )
                else:
                    answer = first
                with answer:
                    retry_after = self._retry_after({k.lower(): v for k, v in answer.headers.items()})
                    limited = answer.status_code in (403, 429) and retry_after is not None
                    if (answer.status_code >= 500 or limited) and attempt < self.policy.max_attempts:
                        if retry_after is not None:  # a secondary limit, or a 5xx saying when to come back
                            self._rate_wait(retry_after, f"HTTP {answer.status_code} with retry-after", what)
                        else:
                            self._backoff(attempt)
                        continue
                    if answer.status_code != 200:
                        hint = {
                            401: "the token is invalid or expired",
                            403: "the token lacks `actions: read`",
                            404: "not found (or the token cannot see the repository)",
                            410: "the artifact has expired",
                        }.get(answer.status_code, "")
                        raise GitHubError(
                            f"{what}: HTTP {answer.status_code}" + (f" ({hint})" if hint else ""),
                            status=answer.status_code,
                            transient=answer.status_code >= 500,
                        )
                    size = 0
                    with open(destination, "wb") as handle:
                        for block in answer.iter_content(chunk):
                            handle.write(block)
                            size += len(block)
                        handle.flush()
                        os.fsync(handle.fileno())
                    return size
            except requests.exceptions.RequestException as exc:
                if attempt < self.policy.max_attempts:
                    self._backoff(attempt)
                    continue
                raise GitHubError(
                    f"{what}: network error ({type(exc).__name__}) after {attempt} attempt(s)", transient=True
                ) from None
        raise GitHubError(f"{what}: failed after {self.policy.max_attempts} attempt(s)", transient=True)

    def _headers(self) -> dict[str, str]:
        return {
            "Accept": "application/vnd.github+json",
            "Authorization": f"Bearer {self._token.value}",
            "X-GitHub-Api-Version": API_VERSION,
            "User-Agent": f"observability/{__version__}",
        }

    def _retry_after(self, headers: dict[str, str]) -> float | None:
        """A ``retry-after`` header in seconds (delta-seconds or an HTTP date); None when absent or unreadable
        (a negative, fractional or garbled value: the caller's default wait applies)."""
        return retry_after_seconds(headers.get("retry-after"), datetime.fromtimestamp(self.wall_clock(), UTC))

    def _rate_wait(self, seconds: float, why: str, what: str) -> None:
        seconds = max(MIN_RATE_LIMIT_WAIT_SECONDS, seconds)
        self._rate_waits += 1
        if self._rate_waits > MAX_RATE_LIMIT_WAITS:
            raise RateLimitError(
                f"{what}: GitHub {why}; {MAX_RATE_LIMIT_WAITS} rate-limit waits in this run already - rerun later "
                "(the issue cache keeps what was done)",
                transient=True,
            )
        if self._rate_waited + seconds > self.max_rate_limit_wait_seconds:
            raise RateLimitError(
                f"{what}: GitHub {why}; waiting {seconds:.0f} s more would pass the "
                f"{self.max_rate_limit_wait_seconds:.0f} s bound - rerun later "
                f"(the issue cache keeps what was done)",
                transient=True,
            )
        self._rate_waited += seconds
        self.waited_seconds += seconds
        # what = method and API path (no query, no token): safe to print
        self.warn(secrets.redact(f"github: {what}: {why}; waiting {seconds:.0f} s before retrying"))
        self.sleep(seconds)

    def _send(
        self,
        method: str,
        url: str,
        params,
        body,
        retry_unsafe: bool,
        ok: tuple[int, ...],
        extra_headers: dict[str, str] | None = None,
    ) -> Response:
        import requests

        what = f"{method} {self._display(url)}"
        repeatable = method in IDEMPOTENT or retry_unsafe
        attempt = 0
        while True:
            attempt += 1
            if self._exhausted_until is not None:
                until, self._exhausted_until = self._exhausted_until, None
                self._rate_wait(until - self.wall_clock() + 1, "primary rate limit exhausted", what)
            self._pace(method)
            self.calls += 1
            otel.count(otel.GITHUB_API_CALLS, method=method)
            try:
                raw = self._session.request(
                    method,
                    url,
                    params=params,
                    json=body,
                    headers={**self._headers(), **(extra_headers or {})},
                    timeout=self.policy.timeout_seconds,
                    allow_redirects=True,
                )
            except requests.exceptions.RequestException as exc:
                if method in MUTATING:
                    self._last_write_end = self.monotonic()
                kind = "timeout" if isinstance(exc, requests.exceptions.Timeout) else "network error"
                if repeatable and attempt < self.policy.max_attempts:
                    self._backoff(attempt)
                    continue
                raise GitHubError(
                    f"{what}: {kind} ({type(exc).__name__}) after {attempt} attempt(s)", transient=True
                ) from None
            status, headers = raw.status_code, {k.lower(): v for k, v in raw.headers.items()}
            data = None
            if raw.content:
                try:
                    data = raw.json()
                except ValueError:
                    data = None
            raw.close()
            if method in MUTATING:
                self._last_write_end = self.monotonic()
            remaining = _header_float(headers, "x-ratelimit-remaining")
            reset = _header_float(headers, "x-ratelimit-reset")
            if 200 <= status < 300 or status in ok:
                if remaining == 0 and reset is not None:
                    self._exhausted_until = reset  # the next request waits for the window to reset
                return Response(status, data, headers)
            message = data.get("message", "") if isinstance(data, dict) else ""
            if status in (403, 429):
                retry_after = self._retry_after(headers)
                if retry_after is not None:
                    self._rate_wait(
                        retry_after, f"secondary rate limit (HTTP {status}, retry-after {retry_after:.0f} s)", what
                    )
                    continue
                if remaining == 0 and reset is not None:
                    self._rate_wait(reset - self.wall_clock() + 1, f"primary rate limit (HTTP {status})", what)
                    continue
                if status == 429 or "secondary rate limit" in message.lower():
                    # GitHub: with no retry-after, wait at least a minute, longer each time.
                    self._rate_wait(
                        self.secondary_default_wait_seconds * attempt, f"secondary rate limit (HTTP {status})", what
                    )
                    continue
            if status >= 500 and repeatable and attempt < self.policy.max_attempts:
                retry_after = self._retry_after(headers)
                if retry_after is not None:  # the server says when: that, not our backoff
                    self._rate_wait(retry_after, f"HTTP {status} with retry-after {retry_after:.0f} s", what)
                else:
                    self._backoff(attempt)
                continue
            hint = {
                401: "the token is invalid or expired",
                403: "the token lacks permission (the job needs `permissions: issues: write`)",
                404: "not found (check --repo, or the token cannot see it)",
                410: "gone: the issue was deleted, or issues are disabled in this repository",
                422: "GitHub rejected the request",
            }.get(status, "")
            detail = "; ".join(x for x in (hint, secrets.redact(message[:200])) if x)
            errors = data.get("errors") if isinstance(data, dict) else None
            fields = tuple(str(e["field"]) for e in errors or () if isinstance(e, dict) and e.get("field"))
            raise GitHubError(
                f"{what}: HTTP {status}" + (f" ({detail})" if detail else ""),
                status=status,
                transient=status >= 500,
                fields=fields,
            )

    def _backoff(self, attempt: int) -> None:
        wait = self.policy.backoff(attempt)
        self.waited_seconds += wait
        # a long wait is announced (stderr), so a run that retries is not a run that hangs
        progress.waiting(f"github: attempt {attempt} of {self.policy.max_attempts} failed; retrying", wait)
        self.sleep(wait)

    # -- the operations the alert inbox uses -------------------------------------------------
    def list_issues(
        self, *, labels: str, state: str = "all", store: PageStore | None = None, reduce=None
    ) -> list[dict]:
        """Issues (not pull requests) with all of ``labels``, oldest first; conditional with ``store``."""
        return [
            i
            for i in self.paginate(
                self.repo_path("issues"),
                params={"labels": labels, "state": state, "sort": "created", "direction": "asc"},
                store=store,
                reduce=(lambda i: None if "pull_request" in i else (reduce(i) if reduce else i)),
            )
            if i is not None
        ]

    def get_issue(self, number: int) -> dict:
        return self.request("GET", self.repo_path("issues", number)).data

    def create_issue(self, title: str, body: str, labels: list[str], assignees: list[str] | None = None) -> dict:
        fields: dict[str, Any] = {"title": title, "body": body, "labels": labels}
        if assignees:
            fields["assignees"] = assignees
        return self.request("POST", self.repo_path("issues"), json=fields).data

    def add_assignees(self, number: int, logins: list[str]) -> dict:
        # GitHub leaves out, silently, a login it cannot assign: the answer's assignees say who is.
        return self.request(
            "POST", self.repo_path("issues", number, "assignees"), json={"assignees": logins}, retry_unsafe=True
        ).data

    def update_issue(self, number: int, **fields: Any) -> dict:
        return self.request("PATCH", self.repo_path("issues", number), json=fields).data

    def comment(self, number: int, body: str) -> dict:
        # A repeated comment after a lost answer is a nuisance; a lost resolution comment is worse.
        return self.request(
            "POST", self.repo_path("issues", number, "comments"), json={"body": body}, retry_unsafe=True
        ).data

    def list_labels(self, *, store: PageStore | None = None) -> list[dict]:
        """The repository's labels; conditional with ``store`` (each label reduced to its name)."""
        reduce = (lambda label: {"name": label["name"]}) if store is not None else None
        return list(self.paginate(self.repo_path("labels"), store=store, reduce=reduce))

    def create_label(self, name: str, color: str, description: str) -> None:
        # 422 = it exists already (created by someone else in the meantime): fine.
        self.request(
            "POST",
            self.repo_path("labels"),
            json={"name": name, "color": color, "description": description},
            retry_unsafe=True,
            ok=(422,),
        )

    def add_labels(self, number: int, labels: list[str]) -> None:
        self.request("POST", self.repo_path("issues", number, "labels"), json={"labels": labels}, retry_unsafe=True)

    def remove_label(self, number: int, name: str) -> None:
        self.request("DELETE", self.repo_path("issues", number, "labels", name), ok=(404,))

    # -- the operations ``inputs pull`` uses for workflow artifacts ----------------------------
    def list_artifacts(self, *, name: str) -> list[dict]:
        return list(self.paginate(self.repo_path("actions", "artifacts"), params={"name": name}, items_key="artifacts"))

    def list_workflow_runs(
        self,
        workflow: str,
        *,
        branch: str | None = None,
        limit: int = 100,
        status: str | None = "success",
        event: str | None = None,
    ) -> list[dict]:
        """A workflow's runs (its id or file name), newest first; ``status`` None lists every run; ``event``
        only the runs that event triggered."""
        params: dict[str, Any] = {"per_page": min(limit, 100)}
        if status:
            params["status"] = status
        if branch:
            params["branch"] = branch
        if event:
            params["event"] = event
        response = self.request("GET", self.repo_path("actions", "workflows", workflow, "runs"), params=params)
        runs = response.data.get("workflow_runs") if isinstance(response.data, dict) else None
        if not isinstance(runs, list):
            raise GitHubError(f"GET {self.repo_path('actions', 'workflows', workflow, 'runs')}: expected workflow_runs")
        return runs

    def download_artifact(self, artifact_id: int, destination) -> int:
        return self.download(self.repo_path("actions", "artifacts", artifact_id, "zip"), destination)
