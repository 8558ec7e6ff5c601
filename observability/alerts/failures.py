"""Failure issues: one "<workflow>/<job> failing" issue per job, appended to while it keeps failing.

``report_failure`` opens it (or reopens it, or comments on it); ``report_recovery`` comments
with the count and duration and closes it as completed. Both share the alert inbox's cache, so
a recovery when nothing was failing costs no API call.
"""

from __future__ import annotations

from dataclasses import dataclass

from observability.alertitem import fingerprint
from observability.alerts import owners, render
from observability.alerts.inbox import Event, Inbox
from observability.markdown import cell


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

    @property
    def fingerprint(self) -> str:
        return fingerprint("failure", self.workflow, self.job)

    def what(self) -> str:
        """What failed, as said in the issue and in Slack: ``CI`` (jobs ``lint``, ``tests``) or ``workflow/job``."""
        if self.failed_jobs:
            names = ", ".join(f"`{cell(j)}`" for j in self.failed_jobs)
            return f"`{cell(self.workflow)}` (job{'s' if len(self.failed_jobs) > 1 else ''} {names})"
        return f"`{cell(self.workflow)}` / `{cell(self.job)}`"

    def jobs_note(self) -> str:
        return f" Failed: {', '.join(f'`{cell(j)}`' for j in self.failed_jobs)}." if self.failed_jobs else ""

    @property
    def issue_title(self) -> str:
        title = self.title or f"{self.workflow}/{self.job} failing"
        return (f"[drill] {title}" if self.drill else title)[:256]

    def labels(self, extra: tuple[str, ...]) -> list[str]:
        labels = [render.BASE_LABEL, render.FAILURE_LABEL, render.source_label(self.job), *extra]
        return labels + [render.DRILL_LABEL] if self.drill else labels

    def where(self) -> str:
        bits = [f"run {self.run_url}" if self.run_url else "run (no URL given)"]
        if self.attempt and self.attempt > 1:
            bits.append(f"attempt {self.attempt}")
        if self.sha:
            bits.append(f"commit `{self.sha[:12]}`")
        if self.event:
            bits.append(f"event `{self.event}`")
        return ", ".join(bits)


def _body(f: Failure, stamp: str, route: owners.Route, links: render.Links, *, mention: bool = True) -> str:
    """The body a failure issue opens with (``mention``: the team @mentioned; False for a rewrite)."""
    runbook = route.runbook
    lines = [render.marker(f.fingerprint, "failure")]
    if f.drill:
        lines += [
            "> [!NOTE]",
            "> **Drill.** Opened on purpose by an alert drill; the next successful run closes it.",
            *render.drill_reason(links),
            "",
        ]
    lines += [
        f"**{f.what()} failed** at {stamp}: {f.where()}.",
        "",
        *([f"Owning team: {render.team_text(route.team, mention=mention)}", ""] if route.team else []),
        "**Next action:** open the run, read the failing step's log and the job summary JSON "
        "(`error_code`, `error_message`); fix or rerun. This issue closes itself on the next successful run.",
        "",
        f"Acknowledge within 10 minutes ({render.link('on-call runbook', runbook, links)}).",
        "",
        "_Every further failure is appended below as a comment._",
    ]
    return "\n".join(lines)


def report_failure(inbox: Inbox, f: Failure, extra_labels: tuple[str, ...] = ()) -> Event:
    cache, api, stamp = inbox.cache, inbox.api, inbox.stamp
    fp = f.fingerprint
    if fp not in cache.issues:
        inbox.warm(drill=False)  # a drill failure shares the real failure issue (seed 003)
    entry = inbox.lookup(fp, drill=False)
    labels = f.labels(extra_labels)
    route = owners.for_failure(inbox.cfg)
    if entry is None:
        body = _body(f, stamp, route, inbox.links)  # the team @mentioned once, when the issue opens
        issue, adopted = inbox.create(fp, f.issue_title, body, labels, route.assignees)
        entry = cache.issues[fp] = {
            "number": int(issue["number"]),
            "kind": "failure",
            "origin": f.job,
            "subject": f.workflow,
            "title": f.issue_title,
            "html_url": issue.get("html_url"),
            "state": "open",
            "status": "firing",
            "severity": None,
            "drill": f.drill,
            "silenced": False,
            "started_at": stamp,
            "opened_at": stamp,
            "last_notified_at": stamp,
            "resolved_at": None,
            "failures": 1,
            "assignees": sorted(route.assignees),
        }
        action = "opened"
        if adopted:  # a concurrent run opened it first: this failure is its second, not lost
            entry["failures"] = 2
            api.comment(
                entry["number"],
                f"**Failed again** at {stamp} (failure 2, reported by a concurrent run): {f.where()}.{f.jobs_note()}",
            )
            action = "adopted"
    else:
        if entry["state"] != "open" or entry["status"] != "firing":
            inbox.ensure_labels(labels)
            api.update_issue(entry["number"], state="open")
            api.add_labels(entry["number"], labels)
            entry.update(state="open", status="firing", started_at=stamp, failures=0, resolved_at=None, drill=f.drill)
            action = "reopened"
        else:
            action = "appended"
        entry.pop("closing", None)  # a "Recovered" whose close failed is overtaken by this failure
        entry["failures"] = int(entry.get("failures") or 0) + 1
        team = f"\n\n{route.team}: failing again after a recovery." if action == "reopened" and route.team else ""
        api.comment(
            entry["number"],
            f"**Failed again** at {stamp} (failure {entry['failures']} since "
            f"{entry.get('started_at') or 'unknown'}): {f.where()}.{f.jobs_note()}{team}"
            + "".join(f"\n\n{line}" for line in (render.drill_reason(inbox.links) if f.drill else [])),
        )
        inbox.top_up_assignees(entry, route)
        entry["last_notified_at"] = stamp
    cache.save(inbox.now)
    inbox.outcome.add(fp, action, entry["number"])
    event = Event(
        "failing",
        fp,
        entry["title"],
        "critical",
        f"{f.workflow} failed (job{'s' if len(f.failed_jobs) > 1 else ''} {', '.join(f.failed_jobs)}): {f.where()}"
        if f.failed_jobs
        else f"{f.workflow}/{f.job} failed: {f.where()}",
        entry.get("drill", False),
        entry.get("html_url"),
        f.run_url,
        f.job,
        None,
        entry.get("started_at"),
    )
    inbox.outcome.events.append(event)
    return event


def report_recovery(inbox: Inbox, f: Failure) -> Event | None:
    cache, api, stamp = inbox.cache, inbox.api, inbox.stamp
    fp = f.fingerprint
    if fp not in cache.issues:
        inbox.warm(drill=False)  # free when the cache is warm: nothing known failing means nothing to close
    entry = cache.issues.get(fp)
    if entry is None or entry["state"] != "open":
        return None
    if entry.get("closing"):
        stamp = entry["closing"]  # commented by an earlier run whose close failed: only close now
    else:
        api.comment(
            entry["number"],
            f"**Recovered** at {stamp}: {f.where()} succeeded after "
            f"{int(entry.get('failures') or 1)} failure(s) over "
            f"{render.duration(entry.get('started_at'), stamp)}. Closing.",
        )
        entry["closing"] = stamp
        cache.save(inbox.now)  # before the close: a close that fails (rate limit) is retried without it
    api.update_issue(entry["number"], state="closed", state_reason="completed")
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
