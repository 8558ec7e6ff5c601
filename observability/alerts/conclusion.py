"""What a finished workflow run's conclusion means for its failure issue (seed 003's CI alerting).

A run that failed, timed out or failed to start counts as a failure; a cancelled run counts too,
unless a newer run of the same workflow on the same branch superseded it (a newer push cancelled it
through the workflow's concurrency group): then the newer run decides and this one is not counted.
Success is a recovery. A run awaiting approval, skipped, neutral or stale says nothing either way.
Imported by the CLI at start-up (its choices): it imports nothing of the package.
"""

from __future__ import annotations

from dataclasses import dataclass

FAILURE, RECOVERY, NOT_COUNTED = "failure", "recovery", "not_counted"
# The acknowledgement a failure issue asks for (report-failure --acknowledge-within): a scheduled job's
# 10 minutes (docs/alerts.md), or CI's one business hour (seed 003's on-call expectations).
ACK_MINUTES, ACK_BUSINESS_HOUR = "10-minutes", "1-business-hour"
ACKS = (ACK_MINUTES, ACK_BUSINESS_HOUR)


@dataclass(frozen=True)
class Meaning:
    counts_as: str  # failure | recovery | not_counted
    said: str  # how the issue and Slack say it: "failed", "timed out", ...
    why: str  # the docs table's explanation


# GitHub's workflow-run conclusions (the REST API's and github.event.workflow_run.conclusion's values).
TABLE: dict[str, Meaning] = {
    "success": Meaning(RECOVERY, "succeeded", "the issue is closed (recovered); nothing happens when none is open"),
    "failure": Meaning(FAILURE, "failed", "opens or appends to the failure issue"),
    "timed_out": Meaning(FAILURE, "timed out", "a failure: a job ran past its timeout-minutes"),
    "startup_failure": Meaning(FAILURE, "failed to start", "a failure: the workflow file or its set-up is broken"),
    "cancelled": Meaning(
        FAILURE,
        "was cancelled",
        "a failure, unless a newer run of the workflow on the same branch superseded it: then not counted",
    ),
    "action_required": Meaning(NOT_COUNTED, "awaits approval", "not counted: nothing ran (a maintainer must approve)"),
    "neutral": Meaning(NOT_COUNTED, "ended neutral", "not counted"),
    "skipped": Meaning(NOT_COUNTED, "was skipped", "not counted"),
    "stale": Meaning(NOT_COUNTED, "went stale", "not counted"),
}
CONCLUSIONS = tuple(TABLE)
SUPERSEDED = "superseded"


def meaning(conclusion: str) -> Meaning:
    return TABLE[conclusion]


def newer_run(api, workflow_id: str, branch: str, run_number: int, event: str | None = None) -> dict | None:
    """The newest run of ``workflow_id`` on ``branch`` triggered by ``event`` (when known) when it was
    created after run ``run_number`` (run numbers of one workflow grow with each new run; a re-run keeps
    its number), else None. One request: the list is newest first, so its first run is the only one to
    look at. The event matters: a run of another event never cancels this one through the concurrency
    group (a pull request's ref is not the branch's), yet the API's branch is the head branch, so a pull
    request from a fork's branch of the same name would otherwise pass for the newer push."""
    runs = api.list_workflow_runs(workflow_id, branch=branch, limit=1, status=None, event=event or None)
    for run in runs[:1]:
        number = run.get("run_number")
        if isinstance(number, int) and number > run_number:
            return run
    return None
