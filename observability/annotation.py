"""Which annotations a finished run makes: its failure (linked to the config file and line when a
config error knows them), each firing alert (critical: error, warning: warning) and each warning
(linked to the file and line it names, ``<file>: line <n>: …``, the text every job's skipped-row and
bad-input warnings share), bounded to what GitHub shows; and whether firing alerts fail the run
(``--fail-on``)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from observability.alertitem import RANK

# GitHub shows at most 10 error and 10 warning annotations per step (and 50 per job): past that they
# are dropped silently, so the tenth of a level says how many more there are instead.
PER_LEVEL = 10
FAIL_ON = ("never", "warning", "critical")
# ``<workspace-relative file>: line <n>`` at the start of a warning (observability.upstream.values.skip_warning)
_WHERE = re.compile(r"(?P<file>[^\s:][^:\n]{0,300}?): line (?P<line>[1-9][0-9]{0,8})\b")


@dataclass(frozen=True)
class Annotation:
    """One workflow command: ``::level file=…,line=…,col=…,title=…::message``."""

    level: str
    message: str
    title: str
    file: str | None = None
    line: int | None = None
    col: int | None = None

    def properties(self) -> dict[str, str]:
        props = {"file": self.file, "line": self.line, "col": self.col, "title": self.title}
        return {k: str(v) for k, v in props.items() if v is not None}


def firing(alerts: Sequence[dict[str, Any]], at_least: str) -> list[dict[str, Any]]:
    """The firing alerts of severity ``at_least`` or above (none for ``never``)."""
    if at_least not in RANK:
        return []
    return [a for a in alerts if a.get("status") == "firing" and RANK.get(str(a.get("severity")), -1) >= RANK[at_least]]


def fails(fail_on: str, alerts: Sequence[dict[str, Any]]) -> str | None:
    """Why ``--fail-on fail_on`` fails this run (a sentence), or None when it does not."""
    hits = firing(alerts, fail_on)
    if not hits:
        return None
    return f"--fail-on {fail_on}: {len(hits)} alert(s) firing at {fail_on} or above"


def plan(
    job: str,
    status: str,
    diagnostics: dict[str, Any],
    alerts: Sequence[dict[str, Any]],
    location: dict[str, Any] | None = None,
    locate: Callable[[str], str | None] | None = None,
) -> list[Annotation]:
    """Every annotation of one run, errors first, at most PER_LEVEL of each level.

    ``locate`` maps a workspace-relative file a warning names to its path in the checkout (None: not
    there, or not linkable); a warning it locates is linked to that file and line."""
    errors: list[Annotation] = []
    warnings: list[Annotation] = []
    if status == "error":
        code = diagnostics.get("error_code", "error")
        errors.append(
            Annotation(
                "error",
                str(diagnostics.get("error_message", "job failed")),
                f"observability {job}: {code}",
                **(location or {}),
            )
        )
    for alert in alerts:
        if alert.get("status") != "firing" or alert.get("severity") not in ("critical", "warning"):
            continue
        level = "error" if alert["severity"] == "critical" else "warning"
        title = f"{alert['severity']} alert {alert.get('rule', '?')}: {alert.get('source', '?')}"
        (errors if level == "error" else warnings).append(Annotation(level, str(alert.get("message", "")), title))
    for warning in diagnostics.get("warnings", []):
        text = str(warning)
        where = _WHERE.match(text)
        # Only a warning GitHub will show is located (each file costs a git lookup): past PER_LEVEL
        # annotations of a level the rest are summarised in one, unlinked.
        shown = len(warnings) < PER_LEVEL
        file = locate(where["file"]) if where and locate and shown else None
        line = int(where["line"]) if where and file else None
        warnings.append(Annotation("warning", text, f"observability {job}", file=file, line=line))
    return _bounded(job, errors) + _bounded(job, warnings)


def _bounded(job: str, items: list[Annotation]) -> list[Annotation]:
    if len(items) <= PER_LEVEL:
        return items
    kept, rest = items[: PER_LEVEL - 1], items[PER_LEVEL - 1 :]
    named = "; ".join(a.title for a in rest[:5]) + ("; …" if len(rest) > 5 else "")
    more = Annotation(
        rest[0].level,
        f"{len(rest)} more not shown as annotations (GitHub shows {PER_LEVEL} per step): {named}. "
        "The step summary and the run's JSON summary list them all.",
        f"observability {job}: {len(rest)} more",
    )
    return [*kept, more]
