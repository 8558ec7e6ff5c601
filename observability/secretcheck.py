"""``--check-secrets``: is every secret and variable a job needs present and well formed?

The variables come from the job registry (``jobs.Need``, one list per job); this module knows what
each kind must look like. Offline it checks shape only (a URL parses with an allowed scheme, a
signing key decodes and is long enough, an AWS key looks like one, a token like a GitHub token);
``online`` also asks the GitHub API whether the token is accepted and, where the API reports them
(``X-OAuth-Scopes`` on classic tokens), whether it has the scopes the job needs. Verdicts and
reasons name variables, never a value or any part of one.
"""

from __future__ import annotations

import math
import os
import re
import shlex
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

from observability import secrets
from observability.errors import EXIT_FAILED, EXIT_OK, EXIT_USAGE, ObservabilityError
from observability.jobs import STRENGTH, Need

# Verdicts. ok and not_set (an optional variable left unset: its feature is off) pass; missing,
# invalid and rejected (the API refused it) fail the check with exit 2, a configuration error;
# unverified (the online probe could not reach the API) fails it with exit 1, try again.
PASSING = ("ok", "not_set")
CONFIG_FAILURES = ("missing", "invalid", "rejected")

# The classic-token scopes that let a token open and comment issues (the alert inbox); either does
# (public_repo only for a public repository: the probe's 404 says so for a private one).
ISSUE_SCOPES = ("repo", "public_repo")

_GITHUB_TOKEN = re.compile(r"^(gh[pousr]_[A-Za-z0-9]{30,251}|github_pat_[A-Za-z0-9_]{22,251}|[0-9a-f]{40})$")
_REPOSITORY = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
_AWS_KEY_ID = re.compile(r"^[A-Z0-9]{16,128}$")  # AWS: AKIA…/ASIA…, 20 characters today
_AWS_SECRET = re.compile(r"^[A-Za-z0-9/+=]{40}$")
_COMPATIBLE_KEY = re.compile(r"^\S{3,128}$")  # MinIO and other S3-compatible stores choose their own
_ROUTING_KEY = re.compile(r"^[A-Za-z0-9]{32}$")  # PagerDuty Events v2 integration key
_PROBE_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


@dataclass(frozen=True)
class Verdict:
    """One variable's verdict: its name, never its value."""

    name: str
    kind: str
    required: str
    verdict: str
    reason: str = ""
    secret: bool = True

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "required": self.required,
            "secret": self.secret,
            "verdict": self.verdict,
            "reason": self.reason,
        }


@dataclass
class Report:
    jobs: tuple[str, ...]
    online: bool
    verdicts: list[Verdict] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        found = {v.verdict for v in self.verdicts}
        if found & set(CONFIG_FAILURES):
            return EXIT_USAGE
        if "unverified" in found:
            return EXIT_FAILED
        return EXIT_OK

    @property
    def status(self) -> str:
        return "ok" if self.exit_code == EXIT_OK else "error"

    def as_dict(self) -> dict[str, Any]:
        counts: dict[str, int] = {}
        for verdict in self.verdicts:
            counts[verdict.verdict] = counts.get(verdict.verdict, 0) + 1
        return {
            "check": "secrets",
            "jobs": list(self.jobs),
            "online": self.online,
            "status": self.status,
            "counts": dict(sorted(counts.items())),
            "secrets": [v.as_dict() for v in self.verdicts],
        }

    def lines(self) -> list[str]:
        """One human line per variable for stderr: ``NAME: verdict (reason)``."""
        return [f"{v.name}: {v.verdict}" + (f" ({v.reason})" if v.reason else "") for v in self.verdicts]


# -- shapes -------------------------------------------------------------------------------------
def _http_url(value: str, _environ: Mapping[str, str]) -> str | None:
    for line in value.split():
        reason = _one_url(line)
        if reason:
            return reason
    return None


def _one_url(text: str) -> str | None:
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return "not a URL"
    if parts.scheme.lower() not in ("https", "http"):
        return "not an http(s) URL"
    if not parts.hostname:
        return "URL without a host"
    return None


def _probes(value: str, _environ: Mapping[str, str]) -> str | None:
    lines = [line.strip() for line in value.splitlines() if line.strip()]
    if not lines:
        return "no NAME=URL line"
    for number, line in enumerate(lines, 1):
        name, sep, url = line.partition("=")
        if not sep or not _PROBE_NAME.match(name.strip()):
            return f"line {number}: expected NAME=URL"
        reason = _one_url(url.strip())
        if reason:
            return f"line {number}: {reason}"
    return None


def _signing_key(value: str, _environ: Mapping[str, str]) -> str | None:
    from observability.outbound.signing import MIN_KEY_BYTES, key_of

    parts = value.split()
    for number, part in enumerate(parts, 1):
        where = f"secret {number} of {len(parts)}: " if len(parts) > 1 else ""
        try:
            key = key_of(part)
        except ObservabilityError:
            return where + "a whsec_ secret must be base64 after the prefix"
        if len(key) < MIN_KEY_BYTES:
            return where + f"key shorter than {MIN_KEY_BYTES} bytes"
    return None


def _github_token(value: str, _environ: Mapping[str, str]) -> str | None:
    if not _GITHUB_TOKEN.match(value.strip()):
        return "does not look like a GitHub token (ghp_, gho_, ghu_, ghs_, ghr_, github_pat_ or 40 hex digits)"
    return None


def _repository(value: str, _environ: Mapping[str, str]) -> str | None:
    return None if _REPOSITORY.match(value.strip()) else "expected OWNER/NAME"


def _compatible(environ: Mapping[str, str]) -> bool:
    return bool(environ.get("OBS_S3_ENDPOINT_URL", "").strip())


def _aws_key_id(value: str, environ: Mapping[str, str]) -> str | None:
    if _compatible(environ):
        return None if _COMPATIBLE_KEY.match(value.strip()) else "expected 3 to 128 characters, no spaces"
    return (
        None if _AWS_KEY_ID.match(value.strip()) else "does not look like an AWS access key id (AKIA…, 20 characters)"
    )


def _aws_secret(value: str, environ: Mapping[str, str]) -> str | None:
    if _compatible(environ):
        return None if re.match(r"^\S{8,}$", value.strip()) else "expected at least 8 characters, no spaces"
    return None if _AWS_SECRET.match(value.strip()) else "does not look like an AWS secret access key (40 characters)"


def _token_text(value: str, _environ: Mapping[str, str]) -> str | None:
    return None if re.match(r"^\S+$", value.strip()) else "contains spaces or line breaks"


def _header_value(value: str, _environ: Mapping[str, str]) -> str | None:
    if "\n" in value.strip() or "\r" in value:
        return "a header value must be one line"
    return None if value.isprintable() else "contains control characters"


def _routing_key(value: str, _environ: Mapping[str, str]) -> str | None:
    return None if _ROUTING_KEY.match(value.strip()) else "expected a 32-character Events v2 integration key"


def _store_url(value: str, _environ: Mapping[str, str]) -> str | None:
    from observability.storage.url import SCHEMES, locate

    try:
        locate(value.strip())
    except ObservabilityError:
        return f"not a storage URL (one of {SCHEMES}, no credentials in it)"
    return None


def _command(value: str, _environ: Mapping[str, str]) -> str | None:
    try:
        return None if shlex.split(value) else "empty command"
    except ValueError:
        return "cannot be split into arguments (unbalanced quotes)"


def _milliseconds(value: str, _environ: Mapping[str, str]) -> str | None:
    try:
        number = float(value)
    except ValueError:
        return "not a number"
    return None if math.isfinite(number) and number > 0 else "must be a positive number"


KINDS: dict[str, Callable[[str, Mapping[str, str]], str | None]] = {
    "http_url": _http_url,
    "probes": _probes,
    "signing_key": _signing_key,
    "github_token": _github_token,
    "github_repository": _repository,
    "aws_access_key_id": _aws_key_id,
    "aws_secret_access_key": _aws_secret,
    "token_text": _token_text,
    "header_value": _header_value,
    "pagerduty_routing_key": _routing_key,
    "store_url": _store_url,
    "command": _command,
    "milliseconds": _milliseconds,
}


# The kind of a variable a config file names, by the key that names it (``headers_env`` maps a header
# to a variable). A key not listed here is checked as one word.
CONFIG_KEY_KINDS = {
    "url_env": "http_url",
    "slack_webhook_env": "http_url",
    "webhook_url_env": "http_url",
    "webhook_secret_env": "signing_key",
    "pagerduty_routing_key_env": "pagerduty_routing_key",
    "token_env": "token_text",  # inputs: a git host's or GitHub's token
    "headers_env": "header_value",
}


def _named_in(data: Any, found: dict[str, str]) -> None:
    if isinstance(data, list):
        for item in data:
            _named_in(item, found)
    elif isinstance(data, dict):
        for key, value in data.items():
            if isinstance(key, str) and key.endswith("_env"):
                kind = CONFIG_KEY_KINDS.get(key, "token_text")
                names = value.values() if isinstance(value, dict) else [value]
                for name in names:
                    if isinstance(name, str) and name.strip():
                        found.setdefault(name.strip(), kind)
            else:
                _named_in(value, found)


def config_needs(need: Need, params: Mapping[str, Any], environ: Mapping[str, str]) -> list[Need] | Verdict:
    """The variables the config file of a ``config_names`` need names (none when the file is absent),
    or an ``invalid`` verdict for a file that cannot be read."""
    from pathlib import Path

    import yaml

    root = Path(str(params.get("workspace") or environ.get("OBS_WORKSPACE") or "."))
    relative = str(params.get(need.option) or need.name) if need.option else need.name
    path = root / relative
    if not path.is_file():
        return []
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return Verdict(relative, need.kind, need.required, "invalid", "cannot be read as YAML", False)
    found: dict[str, str] = {}
    _named_in(data, found)
    return [Need(name, kind, need.required) for name, kind in found.items()]


# -- the check ----------------------------------------------------------------------------------
def _value(need: Need, params: Mapping[str, Any], environ: Mapping[str, str]) -> tuple[str, str]:
    """(the name to report, the value or ""): an option renames the variable or gives the value."""
    name = need.name
    if need.option and need.option_names and params.get(need.option):
        name = str(params[need.option])
    elif need.option and params.get(need.option):  # the value itself (--store, or Click read the variable)
        given = params[need.option]
        if isinstance(given, (list, tuple)):
            given = "\n".join(str(g) for g in given)
        return name, str(given)
    value = environ.get(name, "")
    if not value.strip() and need.alternative and environ.get(need.alternative, "").strip():
        return need.alternative, environ[need.alternative]
    return name, value


def check(
    needs: Iterable[Need],
    *,
    jobs: tuple[str, ...] = (),
    params: Mapping[str, Any] | None = None,
    dry_run: bool = False,
    online: bool = False,
    environ: Mapping[str, str] = os.environ,
    probe: Callable[[str, str, Mapping[str, str], Mapping[str, Any]], tuple[str, str]] | None = None,
) -> Report:
    """Judge every need; ``probe(name, value, environ, params)`` → (verdict, reason) for online tokens."""
    params = params or {}
    report = Report(jobs, online)
    expanded: list[Need] = []
    for need in needs:
        if need.kind != "config_names":
            expanded.append(need)
            continue
        named = config_needs(need, params, environ)
        if isinstance(named, Verdict):
            report.verdicts.append(named)
        else:
            expanded += named
    chosen: dict[str, Need] = {}  # a variable both declared and named by a config: checked once, strictest
    for need in expanded:
        known = chosen.get(need.name)
        if known is None or STRENGTH[need.required] > STRENGTH[known.required]:
            chosen[need.name] = need if known is None else replace(known, required=need.required)
    for need in chosen.values():
        name, value = _value(need, params, environ)
        if value.strip() and need.secret:
            secrets.register(value)  # masked on GitHub before anything is printed, scrubbed everywhere
            for part in value.split():
                secrets.register(part)
        required = "optional" if need.required == "outward" and dry_run else need.required

        def verdict(word: str, reason: str = "", *, _need: Need = need, _name: str = name) -> Verdict:
            return Verdict(_name, _need.kind, _need.required, word, reason, _need.secret)

        if not value.strip():
            partner = need.partner and environ.get(need.partner, "").strip()
            if required != "optional":
                also = f" (nor {need.alternative})" if need.alternative else ""
                report.verdicts.append(verdict("missing", f"not set{also}; the job needs it"))
            elif partner:
                report.verdicts.append(verdict("missing", f"not set, but {need.partner} is: set both or neither"))
            else:
                report.verdicts.append(verdict("not_set", "optional, not set"))
            continue
        reason = KINDS[need.kind](value, environ)
        if reason:
            report.verdicts.append(verdict("invalid", reason))
            continue
        if online and need.kind == "github_token" and name in ("GITHUB_TOKEN", "GH_TOKEN"):
            word, why = (probe or probe_github_token)(name, value.strip(), environ, params)
            report.verdicts.append(verdict(word, why))
            continue
        report.verdicts.append(verdict("ok", "shape only" if need.kind == "github_token" else ""))
    return report


def probe_github_token(name: str, token: str, environ: Mapping[str, str], params: Mapping[str, Any]) -> tuple[str, str]:
    """Ask the GitHub API whether it accepts ``token`` for the repository, and check the scopes it
    reports (classic tokens only: installation and fine-grained tokens report none)."""
    from urllib.parse import urlsplit

    from observability.errors import ConfigError
    from observability.github.rest import DEFAULT_API_URL, GitHubClient, GitHubError, repo_path
    from observability.outbound.retry import RetryPolicy

    repo = str(params.get("repo") or environ.get("GITHUB_REPOSITORY", "")).strip()
    if not _REPOSITORY.match(repo):
        return "unverified", "no repository to probe (--repo or GITHUB_REPOSITORY)"
    api_url = environ.get("GITHUB_API_URL", "").strip() or DEFAULT_API_URL
    once = RetryPolicy(max_attempts=1, base_wait_seconds=0, max_wait_seconds=0, timeout_seconds=10, jitter=False)
    try:
        client = GitHubClient(
            secrets.Secret(name, token), repo, api_url=api_url, policy=once, max_rate_limit_wait_seconds=0
        )
    except ConfigError:
        return "unverified", "GITHUB_API_URL is not an http(s) URL"
    try:
        response = client.request("GET", repo_path(repo, "issues"), params={"per_page": 1}, ok=(401, 403, 404))
    except GitHubError as exc:
        host = urlsplit(api_url).netloc.rpartition("@")[2]  # never a credential a URL might carry
        why = f"HTTP {exc.status}" if exc.status else "network"
        return "unverified", f"the API at {host} (GITHUB_API_URL) did not answer ({why})"
    finally:
        client.close()
    if response.status == 401:
        return "rejected", "the API refused the token (401 Bad credentials)"
    if response.status in (403, 404):
        return "rejected", f"the token cannot read the repository's issues (HTTP {response.status})"
    scopes_header = response.headers.get("x-oauth-scopes")
    if scopes_header is None:
        return "ok", "accepted; the API reports no scopes for this kind of token"
    scopes = {s.strip() for s in scopes_header.split(",") if s.strip()}
    if not scopes & set(ISSUE_SCOPES):
        return "rejected", "accepted, but without the repo or public_repo scope the alert inbox needs"
    return "ok", "accepted; scopes include " + " or ".join(s for s in ISSUE_SCOPES if s in scopes)
