"""Failure issues: one "<workflow>/<job> failing" issue per job, kept up to date while it keeps failing.

``report_failure`` opens it (or reopens it); further failures edit its body in place (running
count, first and last failing run) and comment at most once per repeat interval, or once when
the episode escalates (escalation.py). ``report_recovery`` comments with the count and duration,
resolves the page if one was raised, and closes it as completed. Both share the alert inbox's
cache, so a recovery when nothing was failing costs no API call.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from observability import clock
from observability.alertitem import fingerprint
from observability.alerts import escalation, owners, render
from observability.alerts.conclusion import ACK_BUSINESS_HOUR, ACK_MINUTES, TABLE
from observability.alerts.inbox import Event, Inbox
from observability.config.alerts import AlertsConfig
from observability.github.rest import GitHubError
from observability.markdown import cell, user_text


@dataclass(frozen=True)
class Failure:
    workflow: str
    job: str
    run_url: str | None
    title: str | None = None  # default "<workflow>/<job> failing"
    drill: bool = False
    sha: str | None = None
    attempt: int | None = None
    event: str | None = None
    # The jobs of the workflow that failed this time (CI: lint, code, tests); the issue stays the
    # one of ``workflow``/``job`` whichever of them failed, so its fingerprint never depends on them.
    failed_jobs: tuple[str, ...] = ()
    branch: str | None = None
    actor: str | None = None  # the login that triggered the run, named (never @mentioned) in the issue
    conclusion: str | None = None  # the run's conclusion when given (conclusion.py); None: a failure
    # Who acknowledges how fast: scheduled jobs' 10 minutes (docs/alerts.md), or CI's one business
    # hour (seed 003's on-call expectations, with its pairing, root-cause and escalation wording).
    ack: str = ACK_MINUTES

    @property
    def fingerprint(self) -> str:
        return fingerprint("failure", self.workflow, self.job)

    def what(self) -> str:
        """What failed, as said in the issue and in Slack: ``CI`` (jobs ``lint``, ``tests``) or ``workflow/job``."""
        # user_text: a code span nothing can end (the workflow's name is any text its `name:` says)
        if self.failed_jobs:
            names = _listed([user_text(j, 100) for j in self.failed_jobs])
            return f"{user_text(self.workflow, 100)} (job{'s' if len(self.failed_jobs) > 1 else ''} {names})"
        return f"{user_text(self.workflow, 100)} / {user_text(self.job, 100)}"

    def jobs_note(self) -> str:
        return f" Failed: {_listed([user_text(j, 100) for j in self.failed_jobs])}." if self.failed_jobs else ""

    @property
    def issue_title(self) -> str:
        flat = " ".join("".join(c if c.isprintable() else " " for c in self.workflow).split())
        title = self.title or f"{flat}/{self.job} failing"
        return (f"[drill] {title}" if self.drill else title)[:256]

    def labels(self, extra: tuple[str, ...]) -> list[str]:
        labels = [render.BASE_LABEL, render.FAILURE_LABEL, render.source_label(self.job), *extra]
        return labels + [render.DRILL_LABEL] if self.drill else labels

    def where(self) -> str:
        bits = [f"run {self.run_url}" if self.run_url else "run (no URL given)"]
        bits += _context(run_record(self, ""))
        return ", ".join(bits)

    @property
    def said(self) -> str:
        """``failed``, ``timed out``, ``was cancelled``, ``failed to start``: what the run did."""
        return _said(self.conclusion)


MAX_NAMED_JOBS = 10  # failed jobs named in the issue and Slack; the rest counted (a body stays under 65,535)


def _listed(names: list[str]) -> str:
    """``a, b, c`` or, past MAX_NAMED_JOBS, the first ones and ``and N more``."""
    shown = ", ".join(names[:MAX_NAMED_JOBS])
    return shown + (f" and {len(names) - MAX_NAMED_JOBS} more" if len(names) > MAX_NAMED_JOBS else "")


def run_record(f: Failure, stamp: str) -> dict[str, Any]:
    """One failing run as the cache and the issue body keep it: time, link, attempt, commit, event."""
    record = {"at": stamp, "run_url": f.run_url, "attempt": f.attempt, "sha": f.sha, "event": f.event}
    for key in ("branch", "actor", "conclusion"):
        if getattr(f, key):  # only when known: a record without them reads as before
            record[key] = getattr(f, key)
    return record


def _said(conclusion: str | None) -> str:
    return TABLE[conclusion].said if conclusion in TABLE else "failed"


def _context(run: dict) -> list[str]:
    """What a run record says besides its link: how it ended (unless plainly failed), branch, who
    triggered it (as code: named, never @mentioned), attempt, commit, event."""
    bits = []
    if run.get("conclusion") and run["conclusion"] != "failure":
        bits.append(_said(run["conclusion"]))
    if run.get("branch"):
        bits.append(f"branch {user_text(str(run['branch']), 100)}")
    if run.get("actor"):
        bits.append(f"triggered by {user_text(str(run['actor']), 50)}")
    if run.get("attempt") and run["attempt"] > 1:
        bits.append(f"attempt {run['attempt']}")
    if run.get("sha"):
        bits.append(f"commit `{cell(str(run['sha'])[:12])}`")
    if run.get("event"):
        bits.append(f"event `{cell(run['event'])}`")
    return bits


LINKABLE = re.compile(r"https?://[^\s()<>\[\]`\\]+")


def _where(run: dict | None) -> str:
    if not run:
        return "unknown"
    url = run.get("run_url")
    # Only a plain http(s) URL becomes a link: a value that could close the link and start another (a
    # hand-edited cache, an odd --run-url) is left out.
    bits = [f"[run]({url})" if isinstance(url, str) and LINKABLE.fullmatch(url) else "run (no URL given)"]
    return f"{run['at']}: " + ", ".join(bits + _context(run))


NEXT_ACTION = (
    "**Next action:** open the last run, read the failing step's log and the job summary JSON "
    "(`error_code`, `error_message`); fix or rerun. This issue closes itself on the next successful run."
)
# A CI run's failure (ci-alerts.yml, seed 003's one business hour): the tests' log, not a job summary JSON.
CI_NEXT_ACTION = (
    "**Next action:** open the last run and read its failing job's log (the step summary has the end of "
    "the test log, the `pytest-log` artifact all of it); check the CI health page in the ci-failure-alerts "
    "run's summary (a known flaky test is rerun before it is debugged); fix, or re-run the failed jobs. "
    "This issue closes itself on the next successful run."
)


def _next_action(f: Failure) -> str:
    return CI_NEXT_ACTION if f.ack == ACK_BUSINESS_HOUR else NEXT_ACTION


def _body(
    f: Failure,
    entry: dict,
    cfg: AlertsConfig,
    links: render.Links,
    *,
    mention: bool = False,
    recovered: str | None = None,
    resolved_page: str = "",
) -> str:
    """The issue body, rewritten in place on every failure; ``mention``: the owning team @mentioned
    (only the body the issue opens with: an edit never notifies); ``resolved_page``: at recovery, what
    became of the escalation's page."""
    route = owners.for_failure(cfg)
    failures = int(entry.get("failures") or 1)
    first, last = entry.get("first_failure"), entry.get("last_failure")
    lines = [render.marker(f.fingerprint, "failure")]
    if f.drill or entry.get("drill"):
        lines += [
            "> [!NOTE]",
            "> **Drill.** Opened on purpose by an alert drill; the drill's own recovery step closes it.",
            *render.drill_reason(links),
            "",
        ]
    if recovered:
        lines += [f"**Recovered** at {recovered} after {failures} failed run(s) in a row.", ""]
    else:
        lines += [
            f"**{f.what()} failing**: {failures} failed run(s) in a row "
            f"since {entry.get('started_at') or 'unknown'}, the last at {(last or {}).get('at', 'unknown')}.",
            "",
        ]
    if route.team:
        lines += [f"Owning team: {render.team_text(route.team, mention=mention)}", ""]
    lines += [
        "| | |",
        "| --- | --- |",
        f"| Failed runs | {failures} in a row |",
        f"| First failure | {_where(first)} |",
        f"| Last failure | {_where(last)}{f.jobs_note()} |",
    ]
    if entry.get("escalated_at"):
        key = escalation.dedup_key(f.fingerprint)
        then = f" Then at recovery: {resolved_page}" if resolved_page else ""
        lines.append(
            f"| Escalated | {entry['escalated_at']}: {escalation.page_note('trigger', entry.get('page'), key)}{then} |"
        )
    lines += [
        "",
        _next_action(f),
        "",
        *_on_call(f, entry, cfg, route, links),
        "",
        f"_This body is updated in place on every failure (no notification); a comment sums up new failures at "
        f"most once every {cfg.failure_interval_hours:g} h.{_escalation_rule(cfg)}_",
        render.failure_state_marker(entry),
    ]
    return "\n".join(lines)


def _on_call(f: Failure, entry: dict, cfg: AlertsConfig, route: owners.Route, links: render.Links) -> list[str]:
    """The acknowledgement paragraph: scheduled jobs' 10 minutes, or CI's seed-003 expectations."""
    runbook = render.link("on-call runbook", route.runbook, links)
    if f.ack != ACK_BUSINESS_HOUR:
        return [f"Acknowledge within 10 minutes ({runbook})."]
    actor = (entry.get("last_failure") or {}).get("actor") or f.actor
    who = f" ({user_text(actor, 50)})" if actor else ""
    e = cfg.escalation
    rules = [
        *([f"past {e.after_hours:g} h"] if e.after_hours is not None else []),
        *([f"past {e.after_failures} failed runs in a row"] if e.after_failures is not None else []),
    ]
    mention = e.mention or route.team
    how = [
        *(["PagerDuty is paged (critical, when its routing key is set)"] if e.pagerduty else []),
        *([f"{render.team_text(mention, mention=False)} is mentioned in a comment"] if mention else []),
    ]
    if rules:
        escalates = f"if it persists {' or '.join(rules)}, it escalates once: {' and '.join(how) or 'one comment'}. "
    else:
        escalates = "automatic escalation is off (`escalation` in alerts.yaml). "
    return [
        f"**On call:** the on-call engineer acknowledges this issue within **one business hour** (assign yourself "
        f"and comment), then either drives the fix or pairs the change with the triggering contributor{who} "
        f"({runbook}).",
        "",
        "**Resolution:** once the blocking run passes, this issue closes itself; add a comment summarising the "
        "root cause and any follow-up tickets that were filed.",
        "",
        f"**Escalation:** {escalates}Page the engineering manager by hand if it blocks a production hotfix.",
    ]


def _escalation_rule(cfg: AlertsConfig) -> str:
    e = cfg.escalation
    rules = [
        *([f"after {e.after_hours:g} h"] if e.after_hours is not None else []),
        *([f"after {e.after_failures} failed runs in a row"] if e.after_failures is not None else []),
    ]
    return f" It escalates {' or '.join(rules)}." if rules else ""


def _new_episode(entry: dict, run: dict, stamp: str) -> None:
    entry.update(
        failures=1,
        first_failure=run,
        last_failure=run,
        notified_failures=1,
        started_at=stamp,
        last_notified_at=stamp,
        resolved_at=None,
        escalated_at=None,
    )
    entry.pop("page", None)


def report_failure(
    inbox: Inbox, f: Failure, extra_labels: tuple[str, ...] = (), *, pager: escalation.Pager | None = None
) -> Event:
    """Record one failing run: open or reopen the issue, else edit its body in place; a comment only
    once per ``failure_repeat_interval_hours`` (a summary) or when the episode escalates. A cached
    issue a person deleted is forgotten and a new one opened (never a run failing on it forever)."""
    try:
        return _report_failure(inbox, f, extra_labels, pager=pager)
    except GitHubError as exc:
        if not inbox.forget_if_gone(f.fingerprint, exc):
            raise
    return _report_failure(inbox, f, extra_labels, pager=pager)


def _report_failure(
    inbox: Inbox, f: Failure, extra_labels: tuple[str, ...], *, pager: escalation.Pager | None
) -> Event:
    cache, api, stamp, cfg = inbox.cache, inbox.api, inbox.stamp, inbox.cfg
    fp = f.fingerprint
    run = run_record(f, stamp)
    if fp not in cache.issues:
        inbox.warm(drill=False)  # a drill failure shares the real failure issue (seed 003)
    entry = inbox.lookup(fp, drill=False)
    labels = f.labels(extra_labels)
    comment: str | None = None
    if entry is None:
        entry = {
            "kind": "failure",
            "origin": f.job,
            "subject": f.workflow,
            "title": f.issue_title,
            "state": "open",
            "status": "firing",
            "severity": None,
            "drill": f.drill,
            "silenced": False,
            "opened_at": stamp,
        }
        _new_episode(entry, run, stamp)
        route = owners.for_failure(cfg)
        body = _body(f, entry, cfg, inbox.links, mention=True)  # the team @mentioned once, when the issue opens
        issue, adopted = inbox.create(fp, f.issue_title, body, labels, route.assignees)
        entry.update(number=int(issue["number"]), html_url=issue.get("html_url"), assignees=sorted(route.assignees))
        action = "opened"
        if adopted:  # a concurrent run opened it first: this failure is its second, not lost
            kept = {**entry, **render.failure_state(issue.get("body"), repo_url=render.issue_repo_url(issue))}
            kept.update(failures=int(kept.get("failures") or 1) + 1, last_failure=run)
            kept.setdefault("first_failure", run)
            kept["started_at"] = min(kept["first_failure"]["at"], stamp)
            entry = kept
            action = "adopted"
        cache.issues[fp] = entry
        cache.save(inbox.now)
        if adopted:
            api.update_issue(entry["number"], body=_body(f, entry, cfg, inbox.links))
    elif entry["state"] != "open" or entry["status"] != "firing":
        inbox.ensure_labels(labels)
        was_drill = bool(entry.get("drill"))
        _new_episode(entry, run, stamp)
        entry.update(state="open", status="firing", drill=f.drill)
        entry.pop("closing", None)
        api.update_issue(entry["number"], state="open", body=_body(f, entry, cfg, inbox.links))
        api.add_labels(entry["number"], labels)
        if was_drill and not f.drill:
            api.remove_label(entry["number"], render.DRILL_LABEL)  # a real episode now: not a drill's
        team = owners.for_failure(cfg).team
        comment = (
            f"**Failing again** at {stamp}: {f.where()}.{f.jobs_note()} The body keeps the count from here."
            + (f"\n\n{team}: failing again after a recovery." if team else "")
            + "".join(f"\n\n{line}" for line in (render.drill_reason(inbox.links) if f.drill else []))
        )
        inbox.top_up_assignees(entry, owners.for_failure(cfg))
        action = "reopened"
    else:
        entry.pop("closing", None)  # a "Recovered" whose close failed is overtaken by this failure
        entry["failures"] = int(entry.get("failures") or 0) + 1
        entry["last_failure"] = run
        entry.setdefault("first_failure", None)
        if entry["first_failure"] is None:  # a cache written before the running count existed
            entry["first_failure"] = {"at": entry.get("started_at") or stamp}
        took_over = not f.drill and bool(entry.get("drill"))
        if not f.drill:
            entry["drill"] = False  # a real failure inside a drill's episode: the drill's recovery must not close it
        # Counted before any call: a run killed at the page, the comment or the edit below still counts
        # (escalation is decided from the count and escalated_at, saved only once the comment is posted).
        cache.save(inbox.now)
        if took_over:
            api.remove_label(entry["number"], render.DRILL_LABEL)
        inbox.top_up_assignees(entry, owners.for_failure(cfg))
        action, comment = _repeat(inbox, f, entry, pager)
        if comment is not None:
            # The comment first: a body edit refused afterwards is only one run behind until the next failure.
            api.comment(entry["number"], comment)
            entry["last_notified_at"], entry["notified_failures"] = stamp, int(entry["failures"])
            if action == "escalated":
                entry["escalated_at"] = stamp
            comment = None
        cache.save(inbox.now)  # the count before the body edit: an edit refused (5xx) loses no failure
        api.update_issue(entry["number"], body=_body(f, entry, cfg, inbox.links))
    if comment is not None:  # reopened
        cache.save(inbox.now)
        api.comment(entry["number"], comment)
    cache.save(inbox.now)
    inbox.outcome.add(fp, action, entry["number"])
    event = _failure_event(f, entry, "escalated" if action == "escalated" else "failing")
    if action in ("opened", "reopened", "summarised", "escalated"):  # a silent body edit tells Slack nothing
        inbox.outcome.events.append(event)
    return event


def _failed_text(f: Failure) -> str:
    """``CI failed (jobs code, tests)`` or ``latency/latency failed``: the start of the Slack text."""
    if f.failed_jobs:
        return f"{f.workflow} {f.said} (job{'s' if len(f.failed_jobs) > 1 else ''} {_listed(list(f.failed_jobs))})"
    return f"{f.workflow}/{f.job} {f.said}"


def _failure_event(f: Failure, entry: dict, kind: str) -> Event:
    return Event(
        kind,
        f.fingerprint,
        entry["title"],
        "critical",
        f"{_failed_text(f)} {int(entry.get('failures') or 1)} time(s) in a row since "
        f"{entry.get('started_at') or 'unknown'}: {f.where()}",
        entry.get("drill", False),
        entry.get("html_url"),
        f.run_url,
        f.job,
        None,
        entry.get("started_at"),
    )


def _repeat(inbox: Inbox, f: Failure, entry: dict, pager: escalation.Pager | None) -> tuple[str, str | None]:
    """A further failure in an open episode: escalate (once), or sum up once per interval, or stay silent."""
    cfg = inbox.cfg
    why = escalation.reason(entry, cfg.escalation, inbox.now)
    if why is not None:
        return "escalated", _escalation_text(inbox, f, entry, why, pager)
    if entry.get("escalated_at") and entry.get("page") == "failed":
        _page(entry, f, "trigger", cfg, pager)  # the trigger failed last time: retry it, no new comment
    last = entry.get("last_notified_at")
    if last and inbox.now - clock.parse_iso(last) < timedelta(hours=cfg.failure_interval_hours):
        return "appended", None
    new = int(entry["failures"]) - int(entry.get("notified_failures") or 0)
    text = (
        f"**Still failing**: {new} more failed run(s) since {last or 'the last update'}, "
        f"{int(entry['failures'])} in a row since {entry.get('started_at') or 'unknown'}. "
        f"Last failure: {f.where()}.\n\n"
        f"_Next summary in {cfg.failure_interval_hours:g} h unless it recovers; the issue body is kept up to date._"
    )
    return "summarised", text


def _escalation_text(inbox: Inbox, f: Failure, entry: dict, why: str, pager: escalation.Pager | None) -> str:
    """Page (when configured) and word the one escalation comment of this episode."""
    status, detail = _page(entry, f, "trigger", inbox.cfg, pager)
    text = escalation.comment(
        why=why,
        since=entry.get("started_at"),
        # escalation.mention, else the owning team of failure issues (owners: job_failure / default)
        mention=inbox.cfg.escalation.mention or owners.for_failure(inbox.cfg).team,
        page=escalation.page_note("trigger", status, escalation.dedup_key(f.fingerprint), detail),
    )
    runbook = render.link("on-call runbook", owners.for_failure(inbox.cfg).runbook, inbox.links)
    # Whoever is paged may not have seen the issue yet: the comment says what to do, as the body does.
    return text + f"\n\nLast failure: {f.where()}.\n\n{_next_action(f)} See the {runbook}."


def escalate_overdue(inbox: Inbox, *, pager: escalation.Pager | None = None) -> None:
    """From ``alerts sync``: escalate a failure issue open past ``escalation.after_hours`` although its
    job has not failed again since (a daily or weekly job): no API call unless one is due. Drill
    issues never page from here (a drill left open overnight is not an incident)."""
    if inbox.drill_all:
        return
    for fp, entry in sorted(inbox.cache.issues.items()):
        if entry["kind"] != "failure" or entry["state"] != "open" or entry["status"] != "firing":
            continue
        if entry.get("drill") or not entry.get("subject") or not entry.get("origin"):
            continue  # drills, and entries rebuilt from an issue that does not say its workflow and job
        last = entry.get("last_failure") or {}
        f = Failure(
            entry["subject"],
            entry["origin"],
            last.get("run_url"),
            sha=last.get("sha"),
            attempt=last.get("attempt"),
            event=last.get("event"),
        )
        why = escalation.reason(entry, inbox.cfg.escalation, inbox.now)
        if f.fingerprint != fp or why is None:
            continue
        try:
            _escalate(inbox, fp, entry, f, why, pager)
        except GitHubError as exc:
            if not inbox.forget_if_gone(fp, exc):
                raise


def _escalate(inbox: Inbox, fp: str, entry: dict, f: Failure, why: str, pager: escalation.Pager | None) -> None:
    """escalate_overdue's one escalation: page, comment, count it, then the body."""
    inbox.api.comment(entry["number"], _escalation_text(inbox, f, entry, why, pager))
    entry.update(escalated_at=inbox.stamp, last_notified_at=inbox.stamp, notified_failures=int(entry["failures"]))
    inbox.cache.save(inbox.now)
    inbox.api.update_issue(entry["number"], body=_body(f, entry, inbox.cfg, inbox.links))
    inbox.cache.save(inbox.now)
    inbox.outcome.add(fp, "escalated", entry["number"])


def _page(entry: dict, f: Failure, action: str, cfg: AlertsConfig, pager: escalation.Pager | None) -> tuple[str, str]:
    """Send the escalation's PagerDuty event; record its status in the entry (trigger only)."""
    if not cfg.escalation.pagerduty or pager is None:
        status, detail = "off", ""
    else:
        record = pager(_failure_event(f, entry, "escalated" if action == "trigger" else "recovered"), action)
        status, detail = record["status"], record.get("detail", "")
    if action == "trigger":
        entry["page"] = status
    return status, detail


def report_recovery(inbox: Inbox, f: Failure, *, pager: escalation.Pager | None = None) -> Event | None:
    """Comment, resolve the page and close; a cached issue a person deleted is forgotten (nothing to close)."""
    try:
        return _report_recovery(inbox, f, pager=pager)
    except GitHubError as exc:
        if not inbox.forget_if_gone(f.fingerprint, exc):
            raise
    return None


def _report_recovery(inbox: Inbox, f: Failure, *, pager: escalation.Pager | None) -> Event | None:
    cache, api, stamp = inbox.cache, inbox.api, inbox.stamp
    fp = f.fingerprint
    if fp not in cache.issues:
        inbox.warm(drill=False)  # free when the cache is warm: nothing known failing means nothing to close
    entry = cache.issues.get(fp)
    if entry is None or entry["state"] != "open":
        return None
    if f.drill and not entry.get("drill"):
        # A drill's own recovery closes only a drill's episode: a real failure open beside it stays open.
        inbox.outcome.add(fp, "kept_open_real_failure", entry["number"])
        return None
    note = ""
    if entry.get("closing"):
        stamp = entry["closing"]  # commented by an earlier run whose close failed: only close now
    else:
        if entry.get("page") in ("sent", "failed", "dry_run"):
            # The same dedup_key as the trigger: PagerDuty resolves the incident this episode opened.
            status, detail = _page(entry, f, "resolve", inbox.cfg, pager)
            note = " " + escalation.page_note("resolve", status, escalation.dedup_key(fp), detail)
        api.comment(
            entry["number"],
            f"**Recovered** at {stamp}: {f.where()} succeeded after "
            f"{int(entry.get('failures') or 1)} failure(s) over "
            f"{render.duration(entry.get('started_at'), stamp)}.{note} Closing."
            + (
                "\n\nOn call: add a comment with the root cause and any follow-up tickets that were filed."
                if f.ack == ACK_BUSINESS_HOUR and not entry.get("drill")
                else ""
            ),
        )
        entry["closing"] = stamp
        cache.save(inbox.now)  # before the close: a close that fails (rate limit) is retried without it
    body = _body(f, entry, inbox.cfg, inbox.links, recovered=stamp, resolved_page=note.strip())
    api.update_issue(entry["number"], state="closed", state_reason="completed", body=body)
    entry.update(state="closed", status="resolved", resolved_at=stamp)
    entry.pop("closing", None)
    cache.save(inbox.now)
    inbox.outcome.add(fp, "recovered", entry["number"])
    event = Event(
        "recovered",
        fp,
        entry["title"],
        None,
        f"{f.workflow}/{f.job} recovered: {f.where()}",
        entry.get("drill", False),
        entry.get("html_url"),
        f.run_url,
        f.job,
        None,
        entry.get("started_at"),
        stamp,
    )
    inbox.outcome.events.append(event)
    return event


def report_not_counted(inbox: Inbox, f: Failure, why: str) -> None:
    """A run that counts neither way (cancelled by a newer run): when the failure issue is open, one
    comment says so (the newer run decides), so nobody wonders why a red run changed nothing."""
    if f.fingerprint not in inbox.cache.issues:
        inbox.warm(drill=False)
    entry = inbox.lookup(f.fingerprint, drill=False)
    if entry is None or entry["state"] != "open" or entry["status"] != "firing":
        return
    try:
        inbox.api.comment(entry["number"], f"**Not counted** at {inbox.stamp}: {f.where()} {why}")
    except GitHubError as exc:
        if not inbox.forget_if_gone(f.fingerprint, exc):
            raise
        return
    inbox.outcome.add(f.fingerprint, "noted_not_counted", entry["number"])
