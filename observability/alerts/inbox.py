"""Reconcile the alerts firing now with their GitHub issues (docs/alerts.md, "What the inbox does").

Per fingerprint: firing and unknown → open an issue; firing again after a resolution → reopen
it; severity up → one escalation comment and a relabel; unchanged → nothing, except one
reminder per repeat interval; gone from an authoritative source → a comment with the duration,
then close as completed. A person closing an issue whose alert still fires is noticed at the
next touch (escalation or reminder): closed as completed → reopened with a comment; closed as
not planned → silenced (no reminders) until the alert resolves or escalates.

Every change on GitHub is followed by an atomic rewrite of the cache; an issue creation marks
the cache stale first, so a run killed mid-call lists issues next time instead of opening a
second issue.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from observability import clock
from observability.alerts import owners, render
from observability.alerts.cache import Cache
from observability.alerts.sources import RANK, Alert, SourceReport
from observability.config.alerts import AlertsConfig
from observability.github.rest import GitHubError


@dataclass
class Event:
    """A transition worth mirroring (Slack, PagerDuty, the signed webhook)."""

    kind: str  # opened | reopened | escalated | resolved | failing | recovered
    fingerprint: str
    title: str
    severity: str | None
    message: str
    drill: bool
    issue_url: str | None
    run_url: str | None
    origin: str | None = None
    alert: Alert | None = None
    started_at: str | None = None
    resolved_at: str | None = None


@dataclass
class Outcome:
    actions: list[dict[str, Any]] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    listed: bool = False
    warnings: list[str] = field(default_factory=list)  # said on stderr; the run ends `warning`

    def add(self, fingerprint: str, action: str, number: int | None) -> None:
        self.actions.append({"fingerprint": fingerprint, "action": action, "issue": number})


class Inbox:
    def __init__(
        self, api, cache: Cache, cfg: AlertsConfig, *, now: datetime, links: render.Links, drill: bool = False
    ):
        self.api, self.cache, self.cfg, self.now = api, cache, cfg, now
        self.links, self.run_url, self.drill_all = links, links.run_url, drill
        self.stamp = clock.iso(now)
        self.outcome = Outcome()
        cache.clock_now = now  # conditional list pages are stamped with this run's time

    # -- shared helpers (failure issues use them too) -------------------------------------
    def warm(self, *, drill: bool | None = None) -> None:
        if self.cache.warm_up(self.api, self.now, drill=self.drill_all if drill is None else drill):
            self.outcome.listed = True

    def lookup(self, fingerprint: str, *, drill: bool | None = None) -> dict | None:
        """The cached issue of ``fingerprint``; before a new issue is opened, list once to be sure.

        A cache pushed by an earlier run may lack an issue a later run opened (its push was lost):
        listing before every creation (rare) means that issue is adopted, never duplicated.
        """
        entry = self.cache.issues.get(fingerprint)
        if entry is None and not self.cache.listed_this_run:
            self.cache.cold = True
            self.warm(drill=drill)
            entry = self.cache.issues.get(fingerprint)
        return entry

    def ensure_labels(self, names: list[str]) -> None:
        known = self.cache.labels
        if known is not None and all(n in known for n in names):
            return
        if known is None:
            known = self.cache.labels = [label["name"] for label in self.api.list_labels(store=self.cache)]
        lowered = {n.lower() for n in known}  # label names are case-insensitive on GitHub
        for name in names:
            if name.lower() not in lowered:
                colour, description = render.label_spec(name)
                self.api.create_label(name, colour, description)
                known.append(name)
                lowered.add(name.lower())
        self.cache.save(self.now)

    def create(
        self, fingerprint: str, title: str, body: str, labels: list[str], assignees: tuple[str, ...] = ()
    ) -> tuple[dict, bool]:
        """Open an issue for ``fingerprint``; returns (the issue to use, True if another run's was adopted)."""
        self.ensure_labels(labels)
        self.cache.stale = True  # until the answer is stored: a crash in between means "list first"
        self.cache.save(self.now)
        if not assignees:
            issue = self.api.create_issue(title, body, labels)
        else:
            try:
                issue = self.api.create_issue(title, body, labels, assignees=list(assignees))
            except GitHubError as exc:
                if exc.status != 422 or not {"assignees", "assignee"} & set(exc.fields):
                    raise
                # One login GitHub cannot assign refuses the whole creation: never lose the alert for it.
                issue = self.api.create_issue(title, body, labels)
                self._assign(int(issue["number"]), list(assignees))
        kept = self._settle_duplicates(fingerprint, issue, body, render.DRILL_LABEL in labels)
        self.cache.stale = False
        return kept, kept is not issue

    def _assign(self, number: int, logins: list[str]) -> None:
        """Add ``logins`` to an issue; a login GitHub leaves out (or a refused call) is a warning, not a failure."""
        try:
            answer = self.api.add_assignees(number, logins)
        except GitHubError as exc:
            self.outcome.warnings.append(f"issue #{number}: could not assign {', '.join(logins)}: {exc.message}")
            return
        given = {a.get("login", "").lower() for a in (answer or {}).get("assignees") or () if isinstance(a, dict)}
        refused = [login for login in logins if login.lower() not in given]
        if refused:
            self.outcome.warnings.append(
                f"issue #{number}: GitHub refused assignee(s) {', '.join(refused)} (only people with access to "
                "the repository can be assigned); the issue is open without them: fix owners in alerts.yaml"
            )

    def top_up_assignees(self, entry: dict, route: owners.Route) -> None:
        """An issue the inbox touches gets the configured assignees it was never given (added to the
        config since it opened); nobody is removed (people assign themselves by hand)."""
        wanted = owners.missing(route, entry.get("assignees"))
        if wanted:
            self._assign(entry["number"], wanted)
        entry["assignees"] = sorted({*(entry.get("assignees") or ()), *wanted})

    def _settle_duplicates(self, fingerprint: str, ours: dict, body: str, drill: bool) -> dict:
        """After a creation, list again: when a concurrent run opened the same fingerprint first, close ours.

        Two runs with empty caches (two workflows, two runners) can both list, find nothing and
        both create. Issue numbers only grow, so the run holding the newer number always sees the
        older one when it lists after its own creation: it closes its own issue as a duplicate and
        adopts the oldest open one. The run holding the oldest does nothing. Both end on one issue.
        """
        if self.cache.dry_run:
            return ours  # nothing was created: nothing to settle
        match = render.MARKER_RE.search(body)
        kind = match.group(2) if match else None
        number = int(ours["number"])
        same = []
        for issue in self.api.list_issues(labels=render.BASE_LABEL, state="open"):
            found = render.MARKER_RE.search(issue.get("body") or "")
            if not found or found.group(1) != fingerprint or found.group(2) != kind or issue["number"] == number:
                continue
            names = {label["name"] if isinstance(label, dict) else str(label) for label in issue.get("labels", [])}
            if kind == "alert" and (render.DRILL_LABEL in names) != drill:
                continue  # drill and real alert issues never meet (see Cache.warm_up)
            same.append(issue)
        older = [i for i in same if int(i["number"]) < number]
        if not older:
            return ours
        kept = min(older, key=lambda i: int(i["number"]))
        self.api.comment(number, f"Duplicate of #{kept['number']}: a concurrent run opened it first. Closing.")
        self.api.update_issue(number, state="closed", state_reason="duplicate")
        self.outcome.add(fingerprint, "closed_duplicate", number)
        return kept

    def forget_if_gone(self, fingerprint: str, exc: GitHubError) -> bool:
        """When ``exc`` says the cached issue of ``fingerprint`` is gone (404, or 410 for an issue a
        person deleted; a transferred one is not here either), forget it, say so, and return True: the
        caller carries on as if it was never opened, instead of failing on it every run."""
        entry = self.cache.issues.get(fingerprint)
        if exc.status not in (404, 410) or entry is None or f"/issues/{entry['number']}" not in exc.message:
            return False
        del self.cache.issues[fingerprint]
        self.cache.save(self.now)
        self.outcome.warnings.append(
            f"issue #{entry['number']} is gone (HTTP {exc.status}: deleted or transferred); forgotten, "
            "a new issue opens if it fires again"
        )
        self.outcome.add(fingerprint, "forgotten_gone", entry["number"])
        return True

    def is_drill(self, alert: Alert) -> bool:
        return self.drill_all or alert.drill

    # -- alert issues ------------------------------------------------------------------------
    def sync(self, reports: list[SourceReport]) -> Outcome:
        firing: dict[str, Alert] = {}
        for report in reports:
            for alert in report.alerts:
                firing.setdefault(alert.fingerprint, alert)
        authoritative = {r.name: r for r in reports if r.authoritative}
        open_known = [fp for fp, e in self.cache.issues.items() if e["kind"] == "alert" and e["status"] == "firing"]
        if self.cache.cold and (firing or authoritative or open_known):
            self.warm()
        ordered = sorted(firing.values(), key=lambda a: (-RANK[a.severity], a.origin, a.subject, a.fingerprint))
        for alert in ordered:
            try:
                self._firing(alert)
            except GitHubError as exc:
                if not self.forget_if_gone(alert.fingerprint, exc):
                    raise
                self._firing(alert)  # opened afresh
        for fp, entry in sorted(self.cache.issues.items()):
            if entry["kind"] != "alert" or entry["status"] != "firing" or fp in firing:
                continue
            source = authoritative.get(entry.get("origin") or "")
            if self.drill_all and not entry.get("drill"):
                continue  # a drill run never touches a real issue, even with a mixed-up cache
            if source is not None:
                try:
                    self._resolve(fp, entry, source.resolved_at.get(fp) or self.stamp)
                except GitHubError as exc:
                    if not self.forget_if_gone(fp, exc):
                        raise
        return self.outcome

    def _event(self, kind: str, alert: Alert, entry: dict) -> None:
        self.outcome.events.append(
            Event(
                kind,
                alert.fingerprint,
                entry["title"],
                alert.severity,
                alert.message,
                entry.get("drill", False),
                entry.get("html_url"),
                self.run_url,
                alert.origin,
                alert,
                entry.get("started_at"),
                entry.get("resolved_at"),
            )
        )

    def _firing(self, alert: Alert) -> None:
        fp, drill = alert.fingerprint, self.is_drill(alert)
        entry = self.cache.issues.get(fp) or self.lookup(fp)
        title = render.alert_title(alert, drill)
        labels = render.alert_labels(alert, drill)
        route = owners.for_alert(self.cfg, alert.rule, alert.origin, alert.runbook)
        # The team is mentioned (notified) in the body it opens with only: a body rewritten later names it
        # without the @, so no edit ever notifies it again (a reopening says so in its comment instead).
        body = render.alert_body(
            alert, drill=drill, runbook=route.runbook, links=self.links, team=route.team, mention=entry is None
        )
        if entry is None:
            issue, adopted = self.create(fp, title, body, labels, route.assignees)
            entry = self.cache.issues[fp] = {
                "number": int(issue["number"]),
                "kind": "alert",
                "origin": alert.origin,
                "subject": alert.subject,
                "title": title,
                "html_url": issue.get("html_url"),
                "state": "open",
                "status": "firing",
                "severity": alert.severity,
                "drill": drill,
                "silenced": False,
                "started_at": alert.started_at or self.stamp,
                "opened_at": self.stamp,
                "last_notified_at": self.stamp,
                "resolved_at": None,
                "assignees": sorted(route.assignees),
            }
            self.cache.save(self.now)
            # adopted: the run that opened it tells Slack/PagerDuty; a second "opened" would page twice
            self.outcome.add(fp, "adopted" if adopted else "opened", entry["number"])
            if not adopted:
                self._event("opened", alert, entry)
            return
        if self.drill_all and not entry.get("drill"):
            self.outcome.add(fp, "skipped_real_issue", entry["number"])  # --drill in a real workspace: misuse
            return
        number = entry["number"]
        if entry.pop("closing", None) is not None:
            # "Resolved" was posted but the close failed, and now it fires again: say so on the issue.
            self.api.comment(number, render.refire_comment(alert, self.run_url))
            self.cache.save(self.now)
        if entry["status"] == "resolved":
            # A new episode: the same issue carries the history, reopened with fresh evidence.
            self.ensure_labels(labels)
            self.api.update_issue(number, state="open", title=title, body=body)
            self._relabel(number, entry.get("severity"), alert.severity, labels)
            self.api.comment(number, render.refire_comment(alert, self.run_url, team=route.team))
            self.top_up_assignees(entry, route)
            entry.update(
                state="open",
                status="firing",
                severity=alert.severity,
                title=title,
                silenced=False,
                started_at=alert.started_at or self.stamp,
                last_notified_at=self.stamp,
                resolved_at=None,
                origin=alert.origin,
                subject=alert.subject,
                drill=drill,
            )
            self.cache.save(self.now)
            self.outcome.add(fp, "reopened", number)
            self._event("reopened", alert, entry)
            return
        if alert.started_at and entry.get("started_at") != alert.started_at:
            # The source knows when the episode began (a rebuilt cache only knows the issue's age).
            entry["started_at"] = alert.started_at
            self.cache.save(self.now)
        previous = entry.get("severity")
        escalated = previous is not None and RANK[alert.severity] > RANK[previous]
        # Lowered, or unknown (a severity label removed by hand): relabel without a comment.
        lowered = previous is None or RANK[alert.severity] < RANK[previous]
        due = self._due(entry, alert)
        if not (escalated or lowered or due):
            return  # nothing changed: no API call
        self.top_up_assignees(entry, route)
        if escalated or due:
            live = self.api.get_issue(number)
            if live.get("state") == "closed":
                if live.get("state_reason") == "not_planned" and not escalated:
                    entry.update(state="closed", silenced=True, last_notified_at=self.stamp)
                    self.cache.save(self.now)
                    self.outcome.add(fp, "silenced", number)
                    return
                self.api.update_issue(number, state="open")
                closer = (live.get("closed_by") or {}).get("login") if isinstance(live.get("closed_by"), dict) else None
                self.api.comment(number, render.reopened_comment(alert, closer))
                entry.update(state="open", silenced=False)
                self.outcome.add(fp, "reopened_after_manual_close", number)
        if escalated or (due and not entry.get("silenced")):
            # The running figures (breaches, first and last breach) in the body, edited in place: one PATCH
            # per reminder or escalation, none between them.
            fresh = render.alert_body(
                alert, drill=drill, runbook=route.runbook, links=self.links, team=route.team, updated_at=self.stamp
            )
            self.api.update_issue(number, body=fresh)
        if escalated or lowered:
            self.ensure_labels(labels)
            self._relabel(number, previous, alert.severity, labels)
        if escalated:
            self.api.comment(number, render.escalation_comment(alert, previous, self.run_url))
            self.outcome.add(fp, "escalated", number)
        elif due and not entry.get("silenced"):
            self.api.comment(
                number,
                render.reminder_comment(
                    alert,
                    since=entry.get("started_at"),
                    now=self.stamp,
                    interval_hours=alert.repeat_interval_hours or self.cfg.repeat_interval_hours,
                    run_url=self.run_url,
                ),
            )
            self.outcome.add(fp, "reminded", number)
        elif lowered:
            self.outcome.add(fp, "relabelled", number)
        entry.update(severity=alert.severity)
        if escalated or due:
            entry["last_notified_at"] = self.stamp
        self.cache.save(self.now)
        if escalated:
            self._event("escalated", alert, entry)

    def _due(self, entry: dict, alert: Alert | None = None) -> bool:
        """A reminder is due after the repeat interval (the alert's own when it has one). An alert with
        its own interval (a list such as the overdue secrets) is also updated at once when its message
        changes, so a list that grew is never a month late."""
        if entry.get("silenced"):
            return False
        own = alert.repeat_interval_hours if alert is not None else None
        if alert is not None and own is not None:
            digest = hashlib.sha256(alert.message.encode("utf-8")).hexdigest()[:16]
            known = entry.get("message_digest")
            if known != digest:
                entry["message_digest"] = digest
                self.cache.save(self.now)
                if known is not None:
                    return True
        last = entry.get("last_notified_at")
        if not last:
            return True
        return self.now - clock.parse_iso(last) >= timedelta(hours=own or self.cfg.repeat_interval_hours)

    def _relabel(self, number: int, previous: str | None, severity: str, labels: list[str]) -> None:
        self.api.add_labels(number, labels)
        if previous and previous != severity:
            self.api.remove_label(number, f"severity:{previous}")

    def _resolve(self, fp: str, entry: dict, resolved_at: str) -> None:
        number = entry["number"]
        if entry.get("closing"):
            resolved_at = entry["closing"]  # commented by an earlier run whose close failed: only close now
        else:
            if entry.get("started_at") and resolved_at < entry["started_at"]:
                resolved_at = self.stamp
            self.api.comment(
                number,
                render.resolved_comment(
                    started_at=entry.get("started_at"), resolved_at=resolved_at, last_message=None, run_url=self.run_url
                ),
            )
            entry["closing"] = resolved_at
            self.cache.save(self.now)  # before the close: a close that fails (rate limit) is retried without it
        if entry.get("state") == "open":
            self.api.update_issue(number, state="closed", state_reason="completed")
        entry.update(state="closed", status="resolved", resolved_at=resolved_at, silenced=False)
        entry.pop("closing", None)
        self.cache.save(self.now)
        self.outcome.add(fp, "resolved", number)
        self.outcome.events.append(
            Event(
                "resolved",
                fp,
                entry["title"],
                entry.get("severity"),
                f"resolved after {render.duration(entry.get('started_at'), resolved_at)}",
                entry.get("drill", False),
                entry.get("html_url"),
                self.run_url,
                entry.get("origin"),
                None,
                entry.get("started_at"),
                resolved_at,
            )
        )
