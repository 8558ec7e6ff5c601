"""The step summary the runtime writes for a run whose job wrote none, and for every failed run:
what failed and where to look (the log line's job id, the runbook's advice, the artefacts)."""

from __future__ import annotations

from typing import Any

from observability import recovery
from observability.markdown import cell

_ICON = {"ok": "✅", "warning": "⚠️", "dry_run": "🧪", "skipped": "⏭️", "error": "❌"}


def _code(value: Any) -> str:
    """``value`` as one inline code span: a backtick in it would end the span early and let the rest
    render as Markdown or HTML, so it becomes ``'``."""
    return f"`{cell(value).replace('`', chr(39))}`"


def _block(text: str) -> list[str]:
    """``text`` as a fenced block: shown as written, no Markdown, HTML or @mention rendered in it."""
    return ["```text", str(text).replace("```", "'''"), "```"]


def plain(job: str, summary: dict[str, Any]) -> str:
    """A short summary for a run whose job wrote none: status, job id, duration, artefacts."""
    status = summary["status"]
    lines = [
        f"## {_ICON.get(status, '')} observability {job} — {status}",
        "",
        f"Job `{summary['job_id']}` in {summary['duration_ms']:,} ms.",
    ]
    reason = summary["diagnostics"].get("reason")
    if reason:
        lines[-1] += f" Reason: {_code(reason)}."
    return "\n".join(lines + _artefacts(summary)) + "\n"


def failure(job: str, summary: dict[str, Any], exit_code: int, run_url: str | None = None) -> str:
    """What failed (error code and message) and where to look, for a run that ended ``error``."""
    diagnostics = summary["diagnostics"]
    code = diagnostics.get("error_code") or "job_failed"
    message = str(diagnostics.get("error_message") or "the job failed without a message")
    page, todo, advice = recovery.for_error(code, message)
    job_id = summary["job_id"]
    lines = [
        f"## ❌ observability {job} — failed: {_code(code)} (exit {exit_code})",
        "",
        *_block(message),
        "",
        "**Where to look**",
        "",
        f"- **What to do** ({page}): {todo}.",
    ]
    if advice:
        lines.append(f'- **Recovering the file** (docs/runbook.md, "Corrupt or missing files"): {advice}.')
    lines.append(
        f"- **Log line**: job id `{job_id}` in `ops/automation_runs.log`; trace it with "
        f"`observability verify job --job-id {job_id}`."
    )
    if code == "internal_error":
        lines.append("- **Traceback**: on this step's stderr (the job log).")
    if run_url:
        lines.append(f"- **This run**: {run_url}")
    return "\n".join(lines + _artefacts(summary)) + "\n"


def _artefacts(summary: dict[str, Any]) -> list[str]:
    written = summary.get("artefacts") or []
    if not written:
        return ["", "_No artefact written._"]
    shown = [f"- {_code(path)}" for path in written[:20]]
    if len(written) > 20:
        shown.append(f"- … and {len(written) - 20} more (the run's JSON summary lists them all)")
    return ["", "**Artefacts**", "", *shown]
