"""Secrets: read from the environment at run time, masked on GitHub, scrubbed from every output."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

_REDACTED = "***"
_known: set[str] = set()


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
    """Remember ``value`` so redact() removes it, and mask it in GitHub logs."""
    if not value or len(value) < 4 or value in _known:
        return
    _known.add(value)
    from observability import github_actions

    github_actions.add_mask(value)


def from_env(name: str, *, environ=os.environ) -> Secret | None:
    """Read the secret ``name`` from the environment; None when unset or empty."""
    value = environ.get(name, "")
    if not value.strip():
        return None
    register(value)
    for part in value.split():
        register(part)
    return Secret(name, value)


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


def forget_all() -> None:
    """Tests only: drop every registered secret."""
    _known.clear()
