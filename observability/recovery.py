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
