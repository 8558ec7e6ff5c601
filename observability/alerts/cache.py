"""The issue cache (``ops/alert_inbox.json``, carried by the state store).

It maps each fingerprint to its issue and to what the inbox last said there, so a run in
which nothing changed makes no API call. A missing, foreign (other repository) or ``stale``
cache is rebuilt from one paginated list of the ``observability``-labelled issues, found by
the hidden marker in their bodies, so a lost cache never creates a duplicate issue. The pages of
that list are kept with their ETags (``pages``: only the fields the inbox reads, a bounded number
of pages), so the daily re-list of an unchanged repository is answered 304 and costs no rate limit.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from observability import clock, fsio, runner, schemas, secrets
from observability.alerts import render
from observability.errors import ObservabilityError
from observability.outputs import alertinbox
from observability.workspace import Workspace

DEFAULT_PATH = alertinbox.CACHE_PATH
SCHEMA = "alert_inbox_cache"
# Re-list at least this often: an issue opened by a run whose state push was lost is unknown to
# the cache that was pushed, and would otherwise never be closed (or be opened twice).
REFRESH = timedelta(hours=24)
# Conditional list pages kept (least recently used dropped first): the inbox re-lists three lists
# (all labelled issues, drill issues, labels), each one page per 100 items.
MAX_PAGES = 12


@dataclass
class Cache:
    path: Path
    repo: str
    issues: dict[str, dict[str, Any]] = field(default_factory=dict)
    labels: list[str] | None = None
    stale: bool = False
    cold: bool = True  # loaded from nothing usable: the next API use must list issues first
    dry_run: bool = False
    listed_at: str | None = None  # when the issues were last listed (the cache re-lists after REFRESH)
    listed_this_run: bool = False
    pages: dict[str, dict[str, Any]] = field(default_factory=dict)  # page URL -> etag, items, next, used_at
    clock_now: datetime | None = None  # "now" of this run, for the pages' used_at

    @classmethod
    def load(cls, ws: Workspace, relative: str, repo: str, *, dry_run: bool = False) -> Cache:
        path = ws.path(relative)
        cache = cls(path, repo, dry_run=dry_run)
        try:
            doc = fsio.read_json(path, default=None, what="alert inbox cache", display=ws.rel(path))
        except ObservabilityError as exc:
            sys.stderr.write(runner.inert(f"alerts: {secrets.redact(exc.message)}; rebuilding it from GitHub") + "\n")
            return cache
        if doc is None:
            return cache
        problems = schemas.errors(SCHEMA, doc)
        if problems:
            sys.stderr.write(
                f"alerts: {ws.rel(path)}: field {schemas.json_path(problems[0][0])}: "
                f"{problems[0][1]}; rebuilding it from GitHub\n"
            )
            return cache
        if doc["repo"] != repo:
            sys.stderr.write(
                runner.inert(f"alerts: {ws.rel(path)} belongs to {doc['repo']}, not {repo}; rebuilding it") + "\n"
            )
            return cache
        cache.issues, cache.labels, cache.stale = doc["issues"], doc["labels"], doc["stale"]
        cache.listed_at = doc.get("listed_at")
        cache.pages = doc.get("pages", {})  # absent in caches written before conditional requests
        cache.cold = cache.stale
        return cache

    def save(self, now: datetime) -> None:
        """Atomic rewrite after every change on GitHub (never under --dry-run)."""
        if self.dry_run:
            return
        doc = {
            "version": 1,
            "repo": self.repo,
            "labels": sorted(self.labels) if self.labels is not None else None,
            "stale": self.stale,
            "updated_at": clock.iso(now),
            "issues": self.issues,
        }
        if self.listed_at:
            doc["listed_at"] = self.listed_at
        if self.pages:
            doc["pages"] = self.pages
        schemas.validate(SCHEMA, doc, what=str(self.path.name))
        fsio.atomic_write_json(self.path, doc)

    # -- conditional list pages (observability.github.rest.PageStore) ----------------------------
    def page(self, key: str) -> dict | None:
        found = self.pages.get(key)
        if found is not None and self.clock_now is not None:
            found["used_at"] = clock.iso(self.clock_now)
        return found

    def remember(self, key: str, etag: str, items: list, next_url: str | None) -> None:
        stamp = clock.iso(self.clock_now) if self.clock_now is not None else None
        self.pages[key] = {"etag": etag, "items": items, "next": next_url, "used_at": stamp}
        while len(self.pages) > MAX_PAGES:  # bounded: drop the least recently used page
            oldest = min(self.pages, key=lambda k: (self.pages[k].get("used_at") or "", k))
            del self.pages[oldest]

    def warm_up(self, api, now: datetime, *, drill: bool = False) -> bool:
        """When cold: one paginated list of labelled issues rebuilds the fingerprint map. True if it listed.

        Drill and real alerts never meet: a drill run (``drill``) lists only drill issues, and a
        real run ignores drill alert issues, so a drill in a scratch workspace cannot resolve a
        real issue and a real run cannot close a drill in progress.
        """
        if not self.cold and self.listed_at and now - clock.parse_iso(self.listed_at) < REFRESH:
            return False
        found: dict[str, tuple[tuple, dict[str, Any]]] = {}
        labels = f"{render.BASE_LABEL},{render.DRILL_LABEL}" if drill else render.BASE_LABEL
        self.clock_now = now
        for issue in api.list_issues(labels=labels, state="all", store=self, reduce=listed_fields):
            match = render.MARKER_RE.search(issue.get("body") or "")
            if not match:
                continue
            fp, kind = match.group(1), match.group(2)
            entry = from_issue(issue, kind)
            if kind == "alert" and entry["drill"] != drill:
                continue
            current = found.get(fp)
            rank = (entry["state"] == "open", issue.get("state_reason") != "duplicate", entry["number"])
            # Prefer an open issue, then one not closed as a duplicate (of a concurrent run's), then the
            # newest: a duplicate made by hand never splits the history.
            if current is None or rank > current[0]:
                found[fp] = (rank, entry)
        for fp, (_, entry) in found.items():
            kept = self.issues.get(fp)
            if kept and kept.get("number") == entry["number"]:
                entry = {**kept, "state": entry["state"], "title": entry["title"]}
            self.issues[fp] = entry
        self.cold, self.stale = False, False
        self.listed_at, self.listed_this_run = clock.iso(now), True
        self.save(now)
        return True


def listed_fields(issue: dict) -> dict[str, Any] | None:
    """What the inbox reads of a listed issue, kept with the page's ETag so a 304 can reuse it:
    the markers instead of the body (bodies run to kilobytes: the alert marker, and a failure issue's
    hidden running state), label and assignee names only.
    An issue without the marker is not the inbox's: dropped."""
    match = render.MARKER_RE.search(issue.get("body") or "")
    if match is None:
        return None
    kept = {k: issue.get(k) for k in LISTED_FIELDS}
    state = render.FAILURE_STATE_RE.search(issue.get("body") or "")  # a failure issue's running count
    kept["body"] = match.group(0) + (f"\n{state.group(0)}" if state else "")
    kept["labels"] = [
        {"name": label["name"] if isinstance(label, dict) else str(label)} for label in issue.get("labels") or []
    ]
    kept["assignees"] = [{"login": a["login"]} for a in issue.get("assignees") or [] if isinstance(a, dict)]
    return kept


LISTED_FIELDS = ("number", "title", "state", "state_reason", "html_url", "created_at", "updated_at", "closed_at")


def from_issue(issue: dict, kind: str) -> dict[str, Any]:
    """A cache entry rebuilt from an issue: labels give severity, source and drill."""
    names = [label["name"] if isinstance(label, dict) else str(label) for label in issue.get("labels", [])]
    severity = next((n.split(":", 1)[1] for n in names if n.startswith("severity:")), None)
    origin = next((n.split(":", 1)[1] for n in names if n.startswith("source:")), None)
    state = "open" if issue.get("state") == "open" else "closed"
    entry: dict[str, Any] = {
        "number": int(issue["number"]),
        "kind": kind,
        "origin": origin,
        "subject": None,
        "title": str(issue.get("title", "")),
        "html_url": issue.get("html_url"),
        "state": state,
        "status": "firing" if state == "open" else "resolved",
        "severity": severity if severity in ("info", "warning", "critical") else None,
        "drill": render.DRILL_LABEL in names,
        "silenced": False,
        "started_at": issue.get("created_at"),
        "opened_at": issue.get("created_at"),
        # An open issue found by listing was notified when it was last touched: remind from there.
        "last_notified_at": issue.get("updated_at") or issue.get("created_at"),
        "resolved_at": issue.get("closed_at"),
        "assignees": sorted(
            {a["login"] for a in issue.get("assignees") or () if isinstance(a, dict) and a.get("login")}
        ),
    }
    if kind == "failure":
        entry["failures"] = 1 if state == "open" else 0
        if state == "open":
            # The running count, first/last failure and escalation live in the body too: no lost count,
            # no second escalation comment after a lost cache (the page itself is deduplicated by PagerDuty).
            entry.update(render.failure_state(issue.get("body"), repo_url=render.issue_repo_url(issue)))
            # The episode began at its first failure: an issue reopened for a new episode was created
            # long before it (timed from created_at, the episode escalated on its second failure).
            first = entry.get("first_failure")
            if isinstance(first, dict) and first.get("at"):
                entry["started_at"] = first["at"]
    return entry
