"""Secrets: read from the environment at run time, masked on GitHub, scrubbed from every output."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

_REDACTED = "***"
# Shorter values are not secrets anyone should use, and scrubbing them would garble ordinary text
# ("1", "ok"): refused at registration, with a warning naming the variable (never the value).
MIN_LENGTH = 4
_known: set[str] = set()
_too_short: set[str] = set()


@dataclass(frozen=True)
class Secret:
    """A secret value that never shows itself in a repr, str or format."""

    name: str
    value: str = field(repr=False)

    def __str__(self) -> str:
        return f"<secret {self.name}>"

    def __format__(self, spec: str) -> str:
        return str(self)


def register(value: str) -> None:
    """Remember ``value`` (and the spellings it takes in URLs and JSON) so redact() removes it, and
    mask it in GitHub logs."""
    if not value or len(value) < MIN_LENGTH:
        return
    from observability import runner

    for spelling in _spellings(value):
        if spelling not in _known and len(spelling) >= MIN_LENGTH:
            _known.add(spelling)
            runner.add_mask(spelling)


def _spellings(value: str) -> list[str]:
    """``value`` as a server or a library may echo it back: percent- or form-encoded (and decoded),
    JSON-escaped (``\\"``, ``\\\\``, ``\\uXXXX``, ``\\/``), or in a Markdown table cell
    (observability.markdown.cell: ``\\|``, ``\\\\``; the weekly review's also ``\\[``, ``\\]``; GitHub and the
    status site show it as the value).
    The raw value comes first."""
    import json
    from urllib.parse import quote, quote_plus, unquote, unquote_plus

    found = [value]
    for encoded in (quote(value, safe=""), quote(value), quote_plus(value), unquote(value), unquote_plus(value)):
        found.append(encoded)
    for text in list(found):
        for escaped in (json.dumps(text)[1:-1], json.dumps(text, ensure_ascii=False)[1:-1]):
            found += [escaped, escaped.replace("/", "\\/")]
    in_cell = value.replace("\\", "\\\\").replace("|", "\\|")
    found += [in_cell, in_cell.replace("[", "\\[").replace("]", "\\]")]  # the weekly review's cells
    return list(dict.fromkeys(found))


def from_env(name: str, *, environ=os.environ) -> Secret | None:
    """Read the secret ``name`` from the environment; None when unset or empty."""
    value = environ.get(name, "")
    if not value.strip():
        return None
    if len(value.strip()) < MIN_LENGTH and name not in _too_short:
        _too_short.add(name)
        import sys

        sys.stderr.write(
            f"warning: secret {name} is too short (under {MIN_LENGTH} characters) to be scrubbed "
            "from outputs; use a real credential\n"
        )
    register(value)
    for part in value.split():
        register(part)
    return Secret(name, value)


# Every variable of a secret the jobs or the workflows hand them. All are registered at the start
# of every run, whichever step reads them, so a value printed by anything (an upload command, a
# traceback, an echoed argument) is scrubbed from every output.
SECRET_ENV = (
    "GITHUB_TOKEN",
    "GH_TOKEN",
    "OBS_STATE_TOKEN",
    "OBS_RELEASE_TOKEN",
    "OBS_INPUTS_TOKEN",
    "OBS_INPUTS_AUTHORIZATION",
    "OBS_LATENCY_PROBES",
    "OBS_WEEKLY_WEBHOOK_URL",
    "OBS_WEBHOOK_SECRET",
    "OBS_ALERTS_SLACK_WEBHOOK",
    "SLACK_CI_WEBHOOK",
    "OBS_PAGERDUTY_ROUTING_KEY",
    "OBS_HEARTBEAT_PING_URL",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    # OpenTelemetry export headers (observability/otel.py): ``authorization=Bearer <token>``.
    "OTEL_EXPORTER_OTLP_HEADERS",
    "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
    "OTEL_EXPORTER_OTLP_METRICS_HEADERS",
)


def register_environment(environ=os.environ) -> None:
    """Register every secret of SECRET_ENV that is set (URLs with their credential-bearing parts)."""
    for name in SECRET_ENV:
        secret = from_env(name, environ=environ)
        if secret is not None and "://" in secret.value:
            for line in secret.value.split():
                register_url(line.partition("=")[2] if "=" in line.split("://")[0] else line)


def without_secrets(environ=os.environ, *, keep: tuple[str, ...] = ()) -> dict[str, str]:
    """A copy of ``environ`` without the SECRET_ENV variables (but ``keep``): for child processes."""
    return {k: v for k, v in environ.items() if k not in SECRET_ENV or k in keep}


def register_url(url: str) -> None:
    """Register a URL and the parts that usually carry its credential on their own.

    Webhook and check URLs keep their token in the path or query, and servers echo those parts
    back in error bodies, so each is scrubbed separately, not only the whole URL.
    """
    from urllib.parse import parse_qsl, urlsplit

    register(url)
    parts = urlsplit(url)
    candidates = [parts.password or "", parts.query, parts.path + ("?" + parts.query if parts.query else "")]
    candidates += [value for _, value in parse_qsl(parts.query)]
    candidates += [pair.partition("=")[2] for pair in parts.query.split("&")]  # as sent, still encoded
    candidates += [segment for segment in parts.path.split("/") if len(segment) >= 16]
    for value in candidates:
        if len(value) >= 8:
            register(value)


def redact(text: str) -> str:
    """Replace every known secret value in ``text``; longest first so overlaps stay hidden."""
    if not text or not _known:
        return text
    for value in sorted(_known, key=len, reverse=True):
        if value in text:
            text = text.replace(value, _REDACTED)
    return text


# Names of environment variables whose values are taken for secrets by a process that is no job (the
# pytest flake plugin scrubs them from failure traces): any name holding one of these words.
SECRET_NAME_WORDS = ("TOKEN", "SECRET", "KEY", "PASSWORD", "PASSWD", "WEBHOOK", "CREDENTIAL", "PRIVATE")
# Credentials recognisable by their shape, wherever they come from.
TOKEN_SHAPES = (
    r"gh[pousr]_[A-Za-z0-9]{30,251}",
    r"github_pat_[A-Za-z0-9_]{22,251}",
    r"xox[abposr]-[A-Za-z0-9-]{10,}",
    r"https://hooks\.slack\.com/[A-Za-z0-9/_+-]+",
    r"(?:AKIA|ASIA)[A-Z0-9]{16}",
    r"(?i:bearer)\s+[A-Za-z0-9._~+/=-]{8,}",
    r"(?<=://)[^/\s:@]+:[^/\s@]+(?=@)",  # user:password in a URL
)


def scrubber(environ=os.environ):
    """A function that removes from a text the secrets a process that registered none can still find:
    the values (in every spelling) of SECRET_ENV and of variables named like a secret (SECRET_NAME_WORDS),
    every registered secret, and token-shaped strings (TOKEN_SHAPES). Nothing is registered or masked."""
    import re

    values: set[str] = set(_known)
    raws: set[str] = {v for v in _known if len(v) >= FRAGMENT_OF}
    for name, value in environ.items():
        upper = name.upper()
        if (name in SECRET_ENV or any(word in upper for word in SECRET_NAME_WORDS)) and len(value) >= MIN_LENGTH:
            values.update(s for s in _spellings(value) if len(s) >= MIN_LENGTH)
            values.update(_base64_cores(value))
            if len(value) >= FRAGMENT_OF:
                raws.add(value)
    ordered = sorted(values, key=len, reverse=True)  # longest first so overlaps stay hidden
    shapes = re.compile("|".join(TOKEN_SHAPES))
    cut = _CutFragments(raws)

    def scrub(text: str) -> str:
        for value in ordered:
            if value in text:
                text = text.replace(value, _REDACTED)
        return shapes.sub(_REDACTED, cut(text))

    return scrub


# A long value is shown cut in the middle by pytest's assertion reprs ('abcdef...uvwxyz'): the ends beside
# the "..." of a secret of FRAGMENT_OF characters or more, FRAGMENT characters or more each, are scrubbed.
FRAGMENT_OF = 12
FRAGMENT = 6
_BASE64_CORE = 8  # shorter base64 cores would garble ordinary text


def _base64_cores(value: str) -> list[str]:
    """What any base64 text holding ``value`` contains of it, whatever its offset (a Basic auth header:
    ``base64("user:" + token)``): the characters that depend on the value's bytes alone, at each of the
    three alignments, in the standard and the URL-safe alphabet."""
    import base64

    data = value.encode("utf-8")
    cores = []
    for offset, start in ((0, 0), (1, 2), (2, 3)):
        total = offset + len(data)
        end = (total // 3) * 4 + (0, 1, 2)[total % 3]
        core = base64.b64encode(bytes(offset) + data).decode("ascii")[start:end]
        if len(core) >= _BASE64_CORE:
            cores += [core, core.replace("+", "-").replace("/", "_")]
    return cores


class _CutFragments:
    """Scrub the ends of a secret cut in the middle: its start before a "...", its end after one."""

    def __init__(self, values: set[str]):
        # per value: the prefix lengths ending in a character, the suffix lengths starting with one
        self.ends: list[tuple[str, dict[str, list[int]], dict[str, list[int]]]] = []
        for value in sorted(values, key=len, reverse=True):
            ends: dict[str, list[int]] = {}
            starts: dict[str, list[int]] = {}
            for k in range(len(value) - 1, FRAGMENT - 1, -1):
                ends.setdefault(value[k - 1], []).append(k)
                starts.setdefault(value[len(value) - k], []).append(k)
            self.ends.append((value, ends, starts))

    def __call__(self, text: str) -> str:
        if not self.ends or "..." not in text:
            return text
        spans: list[tuple[int, int]] = []
        at = text.find("...")
        while at != -1:
            after = at + 3
            for value, ends, starts in self.ends:
                if at >= FRAGMENT:
                    k = next((k for k in ends.get(text[at - 1], ()) if text.startswith(value[:k], at - k)), 0)
                    if k:
                        spans.append((at - k, at))
                if after < len(text):
                    k = next((k for k in starts.get(text[after], ()) if text.startswith(value[-k:], after)), 0)
                    if k:
                        spans.append((after, after + k))
            at = text.find("...", after)
        if not spans:
            return text
        out, last = [], 0
        for start, end in sorted(spans):
            if start >= last:
                out += [text[last:start], _REDACTED]
                last = end
            elif end > last:
                last = end
        return "".join(out) + text[last:]


def redact_value(value: Any) -> Any:
    """A copy of a JSON-like structure with every known secret replaced inside its string values.

    Keys, numbers, booleans and null are left alone, so the result always serialises to valid JSON
    with the keys the code chose, whatever the secret looks like (``null``, ``status``).
    """
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: redact_value(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_value(item) for item in value]
    return value


def forget_all() -> None:
    """Tests only: drop every registered secret."""
    _known.clear()
    _too_short.clear()
