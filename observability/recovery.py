"""How to restore or rebuild each file the jobs keep under ops/: named in the error a corrupt one causes.

One table, so every reader of a damaged file says the same thing and docs/runbook.md ("Corrupt or
missing files") can be checked against it.
"""

from __future__ import annotations

import re
from pathlib import PurePath

PULL = "restore it with `observability state pull` (the last pushed copy)"

# file name (or pattern) -> what to do; the first match wins.
RECOVERY: tuple[tuple[str, str], ...] = (
    (
        r"latency_state\.json",
        PULL + ", or move it aside: the next `observability latency sample` starts a new "
        "state that adopts ops/signal_latency.csv and reads the inputs again",
    ),
    (
        r"signal_latency_rollup\.csv",
        PULL + ", or delete it: the next `observability latency sample` rebuilds it "
        "from the raw samples in ops/signal_latency.csv (hours already rotated into "
        "ops/signal_latency_archive/ are not rebuilt)",
    ),
    (
        r"signal_latency_rollup/\d{4}-\d{2}-\d{2}\.csv",
        PULL + ", or delete it: the next `observability latency "
        "sample` rebuilds that day from the raw samples in "
        "ops/signal_latency.csv (a day already rotated into "
        "ops/signal_latency_archive/ is not rebuilt)",
    ),
    (
        r"signal_latency\.csv",
        PULL + ", or move it aside: the next `observability latency sample` starts a new raw "
        "store (the samples it held stay in the hourly rollups and the archives)",
    ),
    (r".*_heartbeat\.json", "nothing to do: the job's next run replaces it (or delete it)"),
    (
        r"\.state_pulled\.json",
        "delete it and run `observability state pull`: it rewrites the record (local files "
        "that differ from the store are kept in ops/.state_backup/)",
    ),
    (
        r"alert_inbox\.json",
        "delete it: the next `observability alerts sync` rebuilds it from the repository's "
        "issues (a cold cache finds every open alert issue)",
    ),
    (r"inputs_state\.json", "delete it: the next `observability inputs pull` fetches every input again"),
    (r"verify_alerts\.json", "delete it: the next `observability verify` rewrites it"),
    (r"ci_alerts\.json", "delete it: the next `observability ci metrics` on the default branch rewrites it"),
    (
        r"ci_metrics\.json",
        PULL + ", or move it aside: the next `observability ci metrics` starts a new history",
    ),
    (r"automation_runs\.log", PULL + "; lines written since the last push are lost"),
)


def hint(path: str | PurePath) -> str | None:
    """What to do about a damaged ``path`` (by its file name), or None for a file not in the table."""
    pure = PurePath(str(path))
    names = (pure.name, f"{pure.parent.name}/{pure.name}")  # a day file is named by its directory too
    for pattern, advice in RECOVERY:
        if any(re.fullmatch(pattern, name) for name in names):
            return advice
    return None


def explain(message: str, path: str | PurePath) -> str:
    """``message`` with the recovery advice for ``path`` appended (unchanged when there is none)."""
    advice = hint(path)
    if advice is None or advice in message:
        return message
    return f"{message.rstrip('.')}; {advice}"


# error code -> (where it is described, what to do): what a failed run's step summary says
# (observability/runsummary.py). tests/test_runsummary.py checks each page names its code.
ERRORS: dict[str, tuple[str, str]] = {
    "invalid_config": (
        "docs/runbook.md",
        "fix the config file (the message names file, line and field), the flag or the variable, then rerun",
    ),
    "invalid_store_url": ("docs/state.md", "fix the store URL (`--store`, OBS_STATE_STORE), then rerun"),
    "not_a_workspace": (
        "docs/workspace.md",
        "run in the workspace, or start one: `observability state pull --store URL` or `observability init DIR`",
    ),
    "missing_input": (
        "docs/runbook.md",
        "the input file named does not exist: pull it (`observability inputs pull`) or restore it "
        "(`observability state pull` for a file under ops/)",
    ),
    "invalid_input": (
        "docs/runbook.md",
        "the file named is malformed (file and line in the message): an upstream input is fixed upstream and "
        "pulled again, a state file under ops/ restored with `observability state pull` (see the file's row "
        'in "Corrupt or missing files")',
    ),
    "input_unavailable": ("docs/inputs.md", "the source, path or token of the input named in the message"),
    "unsafe_input": ("docs/inputs.md", "a destination or archive entry escapes the workspace: fix inputs.yaml"),
    "workspace_error": (
        "docs/workspace.md",
        "the workspace cannot be written (disk full, permissions, a symlink leading outside it): fix that, rerun",
    ),
    "schema_validation_failed": ("docs/runbook.md", "a document failed its schema before it was written: a bug"),
    "log_write_failed": ("docs/workspace.md", "the automation log cannot be written: see `diagnostics.log_error`"),
    "store_unreachable": ("docs/state.md", "network, DNS, credentials or permissions of the state store"),
    "store_not_initialised": ("docs/state.md", "the URL names no store: fix it, or run `observability state init`"),
    "snapshot_corrupt": ("docs/state.md", 'a stored object fails its checksum: "Failure modes" in docs/state.md'),
    "state_conflict": ("docs/state.md", "another run changed the same state meanwhile: run the workflow again"),
    "github_api_error": ("docs/alerts.md", "the message names the call and the HTTP status (403: token scopes)"),
    "github_rate_limited": ("docs/alerts.md", "rerun later; nothing is lost (the next run carries on)"),
    "upload_failed": ("docs/dashboard.md", "the upload command failed: its exit status and stderr are in diagnostics"),
    "sync_failed": ("docs/sync.md", "the shared storage refused or lost an object: the message names it; rerun"),
    "bundle_invalid": ("docs/sync.md", "a bundle failed its checks before upload: the message names the file"),
    "lake_unavailable": ("docs/lake.md", "no lake at that root yet: run `observability lake ingest`, or pass --lake"),
    "lake_extra_missing": ("docs/lake.md", "the lake needs DuckDB and PyArrow: pip install 'observability[lake]'"),
    "lake_conflict": ("docs/lake.md", "another ingest or compact committed to the lake meanwhile: run again"),
    "invalid_query": ("docs/lake.md", "the query was refused or failed: the message names the bad column or statement"),
    "query_timeout": ("docs/lake.md", "the query ran past --timeout: narrow it (--since, a WHERE) or raise --timeout"),
    "internal_error": (
        "docs/runbook.md",
        "a bug: the traceback is on this step's stderr; open an issue with the job id",
    ),
}
DEFAULT_ERROR = (
    "docs/runbook.md",
    "fix the cause and rerun once; every artefact is either the old or the new version, so no cleanup is needed",
)


def for_error(error_code: str | None, message: str) -> tuple[str, str, str | None]:
    """(the page describing ``error_code``, what to do, the recovery advice for the file the message
    starts with when it is in RECOVERY and the message does not already carry it, else None)."""
    page, todo = ERRORS.get(error_code or "", DEFAULT_ERROR)
    head = message.split(": ", 1)[0] if ": " in message else ""
    advice = hint(head) if head and " " not in head.strip() else None
    return page, todo, (advice if advice and advice not in message else None)
