"""What the inbox writes on GitHub: titles, labels, the hidden marker, issue bodies and comments.

Bodies stay under GitHub's 65,535-character limit: the evidence block is cut first, with a note.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from observability import clock
from observability.alerts.sources import Alert
from observability.markdown import cell, details, user_text

BODY_LIMIT = 65535
MARKER_RE = re.compile(
    r"<!--\s*observability-alert\s+fingerprint=([A-Za-z0-9_.:-]{1,128})\s+kind=(alert|failure)\s*-->"
)
BASE_LABEL = "observability"
DRILL_LABEL = "drill"
FAILURE_LABEL = "job-failure"
LABELS = {  # name -> (colour, description); created when missing
    BASE_LABEL: ("5319e7", "Opened by the observability alert inbox"),
    "severity:info": ("c5def5", "Alert severity: info"),
    "severity:warning": ("fbca04", "Alert severity: warning"),
    "severity:critical": ("b60205", "Alert severity: critical (page-worthy)"),
    DRILL_LABEL: ("0e8a16", "Synthetic alert from a drill; not a real incident"),
    FAILURE_LABEL: ("d93f0b", "A scheduled workflow job is failing"),
}
SOURCE_COLOUR, SOURCE_DESCRIPTION = "1d76db", "Alert source: {}"

_RULE_TITLES = {
    "latency_slo": "Latency SLO breach on {subject}",
    "no_data": "No latency samples from {subject}",
    "stale": "Stale latency source: {subject}",
    "webhook_delivery": "Weekly report not delivered",
    "export_failed": "Dashboard export failing: {subject}",
    # observability verify (observability/verify/findings.py)
    "missed_run": "Missed scheduled runs: {subject}",
    "stale_heartbeat": "Stale heartbeat: {subject}",
    "log_invalid_line": "Invalid automation log lines",
    "log_sequence_gap": "Automation log sequence gap",
    "log_sequence_duplicate": "Duplicate automation log sequence numbers",
    "log_segment_damaged": "Damaged automation log segment",
    "log_missing": "Automation log missing",
    "artefact_missing": "Artefact missing or changed: {subject}",
}


# The episode's running state, kept in the issue body too (hidden), so a lost cache loses no count,
# no first failure and no escalation: a rebuilt cache reads it back (Cache.warm_up → from_issue).
FAILURE_STATE_RE = re.compile(r"<!--\s*observability-failures\s+(\{.*?\})\s*-->")
_FAILURE_STATE_KEYS = (
    "failures",
    "first_failure",
    "last_failure",
    "notified_failures",
    "escalated_at",
    "page",
    "drill",
)


def failure_state_marker(entry: dict) -> str:
    state = {k: entry.get(k) for k in _FAILURE_STATE_KEYS if entry.get(k) is not None}
    state["notified_at"] = entry.get("last_notified_at")
    state["workflow"], state["job"] = entry.get("subject"), entry.get("origin")
    text = json.dumps(state, sort_keys=True, separators=(",", ":")).replace(">", "\\u003e")
    return f"<!-- observability-failures {text} -->"


_RUN_URL_RE = re.compile(
    r"https://[A-Za-z0-9.-]+(:[0-9]{1,5})?/[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+/actions/runs/[0-9]+(/attempts/[0-9]+)?"
)
SHA_RE = re.compile(r"[0-9a-f]{7,40}")
EVENT_RE = re.compile(r"[a-z_]{1,50}")
WORKFLOW_ID_RE = re.compile(r"[0-9]{1,20}|[A-Za-z0-9_.-]{1,100}\.ya?ml")
# What git and GitHub allow in a branch name, less what could end a code span or start Markdown.
BRANCH_RE = re.compile(r"[A-Za-z0-9._/+@=-]{1,255}")
ACTOR_RE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})(?:\[bot\])?")
MAX_READ_BACK_COUNT = 1_000_000  # a running count past this in a body was not written by the inbox


def failure_state(body: str | None, *, repo_url: str | None = None) -> dict[str, Any]:
    """The episode state a failure issue's body carries (only well-formed fields; {} when none).

    The body can be edited by any person who can edit the issue: what is read back is what the
    inbox itself writes, or dropped. Times are RFC 3339; a run link only a run of ``repo_url``
    (the issue's own repository, from GitHub's ``html_url``; no link at all without it); a commit
    hex, an event a plain word; counts whole, at most ``MAX_READ_BACK_COUNT``, the notified count
    never above the count.
    """
    match = FAILURE_STATE_RE.search(body or "")
    if not match:
        return {}
    try:
        state = json.loads(match.group(1))
    except ValueError:
        return {}
    if not isinstance(state, dict):
        return {}
    out: dict[str, Any] = {}
    for key in ("failures", "notified_failures"):
        value = state.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_READ_BACK_COUNT:
            out[key] = value
    if "notified_failures" in out and out["notified_failures"] > out.get("failures", 1):
        out["notified_failures"] = out.get("failures", 1)
    runs = f"{repo_url.rstrip('/')}/actions/runs/" if repo_url else None
    for key in ("first_failure", "last_failure"):
        run = state.get(key)
        if isinstance(run, dict) and clock.is_timestamp(run.get("at")):
            url, sha, event = run.get("run_url"), run.get("sha"), run.get("event")
            attempt = run.get("attempt")
            out[key] = {
                "at": run["at"],
                "run_url": url
                if runs and isinstance(url, str) and url.startswith(runs) and _RUN_URL_RE.fullmatch(url)
                else None,
                "sha": sha if isinstance(sha, str) and SHA_RE.fullmatch(sha) else None,
                "event": event if isinstance(event, str) and EVENT_RE.fullmatch(event) else None,
                **{
                    k: run[k]
                    for k, pattern in (("branch", BRANCH_RE), ("actor", ACTOR_RE), ("conclusion", EVENT_RE))
                    if isinstance(run.get(k), str) and pattern.fullmatch(run[k])
                },
                "attempt": attempt
                if isinstance(attempt, int) and not isinstance(attempt, bool) and 1 <= attempt <= MAX_READ_BACK_COUNT
                else None,
            }
    for key, target in (("escalated_at", "escalated_at"), ("notified_at", "last_notified_at")):
        if clock.is_timestamp(state.get(key)):
            out[target] = state[key]
    for key, target in (("workflow", "subject"), ("job", "origin")):
        if isinstance(state.get(key), str) and 0 < len(state[key]) <= 256:
            out[target] = state[key]
    if state.get("page") in ("sent", "failed", "skipped", "dry_run", "off"):
        out["page"] = state["page"]
    if isinstance(state.get("drill"), bool):  # the episode's kind: a label left from an earlier drill says nothing
        out["drill"] = state["drill"]
    return out


def issue_repo_url(issue: dict) -> str | None:
    """The repository's web URL from an issue's ``html_url`` as GitHub gave it (…/owner/name/issues/N)."""
    url = issue.get("html_url")
    if isinstance(url, str) and "/issues/" in url:
        return url.rsplit("/issues/", 1)[0]
    return None


def label_spec(name: str) -> tuple[str, str]:
    if name in LABELS:
        return LABELS[name]
    if name.startswith("source:"):
        return SOURCE_COLOUR, SOURCE_DESCRIPTION.format(name[len("source:") :])[:100]
    return "ededed", "observability"


def source_label(origin: str) -> str:
    return "source:" + re.sub(r"[^A-Za-z0-9_.:-]+", "-", origin)[:40]


def marker(fingerprint: str, kind: str) -> str:
    return f"<!-- observability-alert fingerprint={fingerprint} kind={kind} -->"


def alert_labels(alert: Alert, drill: bool) -> list[str]:
    labels = [BASE_LABEL, f"severity:{alert.severity}", source_label(alert.origin)]
    return labels + [DRILL_LABEL] if drill else labels


def alert_title(alert: Alert, drill: bool) -> str:
    template = _RULE_TITLES.get(alert.rule, "{origin}: {rule} on {subject}")
    title = template.format(subject=alert.subject, origin=alert.origin, rule=alert.rule)
    return (f"[drill] {title}" if drill else title)[:256]


def duration(start: str | None, end: str | None) -> str:
    """``2 h 05 min``-style span between two timestamps; ``unknown`` when either is missing."""
    if not start or not end:
        return "unknown"
    seconds = int((clock.parse_iso(end) - clock.parse_iso(start)).total_seconds())
    if seconds < 0:
        return "unknown"
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes:02d} min"
    return f"{minutes} min"


@dataclass(frozen=True)
class Links:
    """Where a relative path in an issue points: docs/ at the pinned observability release
    (``OBS_DOCS_URL``), out/ and ops/ in the run's artifacts (per-run outputs and state never reach
    the repository), the rest in the repository that holds the issues."""

    repo_url: str | None = None
    docs_url: str | None = None
    run_url: str | None = None
    drill_reason: str | None = None  # why a drill runs (user text), shown in its issues' drill note

    def url(self, target: str) -> str | None:
        if target.startswith(("http://", "https://")):
            return target
        relative = target.lstrip("/")
        if relative.startswith("docs/") and self.docs_url:
            return f"{self.docs_url.rstrip('/')}/{relative}"
        if relative.startswith(("out/", "ops/")):
            return f"{self.run_url}#artifacts" if self.run_url else None
        return f"{self.repo_url}/blob/HEAD/{relative}" if self.repo_url else target


def link(text: str, target: str | None, links: Links | None) -> str:
    url = (links or Links()).url(target) if target else None
    return f"[{cell(text)}]({url})" if url else cell(text)


def _clip(head: list[str], evidence: list[str], tail: list[str]) -> str:
    body = "\n".join([*head, *evidence, *tail])
    if len(body) <= BODY_LIMIT:
        return body
    note = "_Evidence cut to respect GitHub's 65,535-character limit; the full file is linked above._"
    room = BODY_LIMIT - len("\n".join([*head, note, *tail])) - 2
    text = "\n".join(evidence)
    cut = text[: max(0, room)].rsplit("\n", 1)[0] if room > 0 else ""
    return "\n".join([*head, *([cut] if cut else []), note, *tail])[:BODY_LIMIT]


def drill_reason(links: Links) -> list[str]:
    """The drill note's reason line (user text, inert: see markdown.user_text); none when not given."""
    return [f"> Reason: {user_text(links.drill_reason)}"] if links.drill_reason else []


def team_text(team: str, *, mention: bool) -> str:
    """The owning team: an @mention (it notifies) where the team is to be told, else the same name as
    code, which GitHub never turns into a notification (a body rewritten later, a reminder)."""
    return team if mention else f"`{team}`"


def alert_body(
    alert: Alert,
    *,
    drill: bool,
    runbook: str,
    links: Links,
    team: str | None = None,
    mention: bool = False,
    updated_at: str | None = None,
) -> str:
    """The issue body; ``runbook`` is the alert kind's (observability/alerts/owners.py), ``team`` is
    @mentioned only when ``mention`` (the body an issue opens with); ``updated_at``: rewritten in
    place at a reminder or escalation (the current count, first and last breach without a comment)."""
    rows = [
        ("Severity", alert.severity),
        ("What", alert.rule),
        ("Where", alert.subject),
        ("Source", alert.origin),
        ("Streak", f"{alert.breach_streak} consecutive breach(es)"),
        ("Breaches", alert.breach_count),
        ("Firing since", alert.started_at or "unknown"),
        ("Last breach", alert.last_breach_at or "n/a"),
        ("Owner", alert.owner),
        *([("Team", team_text(team, mention=mention))] if team else []),
    ]
    if updated_at:
        rows.append(("Updated", f"{updated_at} (this table is rewritten at each reminder)"))
    head = [marker(alert.fingerprint, "alert")]
    if drill:
        head += [
            "> [!NOTE]",
            "> **Drill.** Synthetic alert from an alert drill; no real incident. "
            "It resolves and closes by itself when the drill ends.",
            *drill_reason(links),
            "",
        ]
    head += [
        f"**{cell(alert.message)}**",
        "",
        "| | |",
        "| --- | --- |",
        *(f"| {k} | {cell(v)} |" for k, v in rows),
        "",
        f"**Next action:** {cell(alert.next_action)}",
        "",
        "Acknowledge within 10 minutes: assign yourself and comment what you are doing "
        f"({link('on-call runbook', runbook, links)}).",
        "",
        "**Links:** "
        + " · ".join(
            x
            for x in (
                link("runbook", runbook, links),
                link("run", links.run_url, links) if links.run_url else "",
                link("evidence", alert.evidence_path, links) if alert.evidence_path else "",
                f"job id `{alert.job_id}`" if alert.job_id else "",
            )
            if x
        ),
        "",
    ]
    evidence = details(
        "Evidence", ["```json", json.dumps(alert.evidence, indent=2, sort_keys=True, default=str), "```"]
    )
    tail = [
        "",
        f"_Fingerprint `{alert.fingerprint}`. Kept up to date by `observability alerts sync`: "
        "escalation and recovery are commented here; the issue closes itself when the alert resolves._",
    ]
    return _clip(head, evidence, tail)


def reminder_comment(alert: Alert, *, since: str | None, now: str, interval_hours: float, run_url: str | None) -> str:
    lines = [
        f"**Still firing** ({alert.severity}) for {duration(since, now)}: {cell(alert.message)}",
        "",
        f"Streak {alert.breach_streak}, {alert.breach_count} breach(es), last breach "
        f"{alert.last_breach_at or 'n/a'}. Next action: {cell(alert.next_action)}",
        "",
        f"_Next reminder in {interval_hours:g} h unless something changes._",
    ]
    if run_url:
        lines.append(f"Run: {run_url}")
    return "\n".join(lines)


def escalation_comment(alert: Alert, previous: str | None, run_url: str | None) -> str:
    lines = [
        f"**Escalated: {previous or 'unknown'} → {alert.severity}.** {cell(alert.message)}",
        "",
        f"Streak {alert.breach_streak}, {alert.breach_count} breach(es), last breach {alert.last_breach_at or 'n/a'}.",
        "",
        f"Next action: {cell(alert.next_action)}",
    ]
    if run_url:
        lines += ["", f"Run: {run_url}"]
    return "\n".join(lines)


def refire_comment(alert: Alert, run_url: str | None, team: str | None = None) -> str:
    text = f"**Firing again** ({alert.severity}) since {alert.started_at or 'now'}: {cell(alert.message)}"
    text += f"\n\n{team}: a new episode of an alert you own." if team else ""
    return text + (f"\n\nRun: {run_url}" if run_url else "")


def reopened_comment(alert: Alert, closed_by: str | None) -> str:
    who = f"@{closed_by}" if closed_by else "someone"
    return (
        f"Reopened: {who} closed this issue while the alert is still firing ({alert.severity}: "
        f"{cell(alert.message)}). It closes by itself when the alert resolves. To silence reminders "
        "for this episode, close it as **not planned** instead."
    )


def resolved_comment(*, started_at: str | None, resolved_at: str, last_message: str | None, run_url: str | None) -> str:
    lines = [
        f"**Resolved** at {resolved_at} after {duration(started_at, resolved_at)} "
        f"(firing since {started_at or 'unknown'}). Closing."
    ]
    if last_message:
        lines += ["", f"Last state: {cell(last_message)}"]
    if run_url:
        lines += ["", f"Run: {run_url}"]
    return "\n".join(lines)
