"""GitHub Actions runner I/O: step outputs, step summary, annotations, masks.

Only this module touches the runner's files and workflow commands, and only when
GITHUB_ACTIONS=true. Workflow commands go to stderr (the runner reads both
streams) so that stdout stays one JSON document.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

SUMMARY_LIMIT = 1024 * 1024  # GitHub refuses step summaries over 1 MiB


def enabled(environ=os.environ) -> bool:
    return environ.get("GITHUB_ACTIONS") == "true"


# A line the runner would read as a workflow command: ``::`` after blanks at its start (a line ends at
# CR or LF), or the old ``##[`` form anywhere in it.
_COMMAND_START = re.compile(r"(^|[\r\n])([^\S\r\n]*)::")


def inert(text: str, environ=os.environ) -> str:
    """``text`` (human output for stderr, which the runner also reads for workflow commands) with every
    command start broken (``::`` becomes ``: :``, ``##[`` becomes ``## [``), so a message carrying user
    text cannot forge an annotation, a mask or stop-commands; unchanged off GitHub."""
    if not enabled(environ):
        return text
    return _COMMAND_START.sub(r"\1\2: :", text).replace("##[", "## [")


def escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(value: str) -> str:
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")


def _command(name: str, message: str, properties: dict[str, str] | None = None) -> str:
    props = ""
    if properties:
        props = " " + ",".join(f"{k}={escape_property(str(v))}" for k, v in properties.items() if v is not None)
    return f"::{name}{props}::{escape_data(message)}"


def add_mask(value: str) -> None:
    if enabled():
        sys.stderr.write(_command("add-mask", value) + "\n")
        sys.stderr.flush()


def annotate(
    level: str,
    message: str,
    *,
    title: str | None = None,
    file: str | None = None,
    line: int | None = None,
    col: int | None = None,
) -> None:
    """Emit an ``error``/``warning``/``notice`` annotation (no-op off GitHub); ``file``, ``line`` and
    ``col`` (1-based) make GitHub link it to that place in the repository."""
    if not enabled():
        return
    props: dict[str, str] = {}
    if file:
        props["file"] = file
        if line:
            props["line"] = str(line)
            if col:
                props["col"] = str(col)
    if title:
        props["title"] = title
    sys.stderr.write(_command(level, message, props) + "\n")
    sys.stderr.flush()


def repo_path(path: Path, environ=os.environ) -> str | None:
    """``path`` relative to the checkout ($GITHUB_WORKSPACE), as an annotation's ``file=`` must be;
    None when it lies outside the checkout (GitHub could not link it) or off GitHub."""
    checkout = environ.get("GITHUB_WORKSPACE")
    if not enabled(environ) or not checkout:
        return None
    try:
        return path.resolve().relative_to(Path(checkout).resolve()).as_posix()
    except (ValueError, OSError):
        return None


def set_outputs(values: dict[str, str], environ=os.environ) -> None:
    """Append step outputs to $GITHUB_OUTPUT with a random heredoc delimiter (multiline-safe)."""
    target = environ.get("GITHUB_OUTPUT")
    if not enabled(environ) or not target:
        return
    import uuid  # here, not at the top: it imports platform, a few ms of every job's start-up

    chunks = []
    for name, value in values.items():
        value = str(value)
        delimiter = f"ghadelimiter_{uuid.uuid4()}"
        while delimiter in value:
            delimiter = f"ghadelimiter_{uuid.uuid4()}"
        chunks.append(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")
    with open(target, "a", encoding="utf-8") as handle:
        handle.write("".join(chunks))


def append_summary(markdown: str, environ=os.environ) -> bool:
    """Append Markdown to $GITHUB_STEP_SUMMARY, cut to stay under GitHub's 1 MiB limit."""
    target = environ.get("GITHUB_STEP_SUMMARY")
    if not enabled(environ) or not target:
        return False
    existing = Path(target).stat().st_size if Path(target).exists() else 0
    budget = SUMMARY_LIMIT - existing - 256
    data = markdown.encode("utf-8")
    if budget <= 0:
        return False
    if len(data) > budget:
        data = data[:budget].decode("utf-8", "ignore").encode("utf-8") + b"\n\n_(summary truncated: 1 MiB limit)_\n"
    with open(target, "ab") as handle:
        handle.write(data + b"\n")
    return True


def run_context(environ=os.environ) -> dict | None:
    """The GitHub run this process belongs to, or None off GitHub."""
    if not enabled(environ):
        return None
    server = environ.get("GITHUB_SERVER_URL", "https://github.com")
    repo = environ.get("GITHUB_REPOSITORY")
    run_id = environ.get("GITHUB_RUN_ID")
    url = f"{server}/{repo}/actions/runs/{run_id}" if repo and run_id else None
    attempt = environ.get("GITHUB_RUN_ATTEMPT")
    return {
        "event": environ.get("GITHUB_EVENT_NAME"),
        "workflow": environ.get("GITHUB_WORKFLOW"),
        "job": environ.get("GITHUB_JOB"),
        "run_id": run_id,
        "run_attempt": int(attempt) if attempt and attempt.isdigit() else None,
        "run_url": url,
        "sha": environ.get("GITHUB_SHA"),
        "ref": environ.get("GITHUB_REF"),
        "schedule": environ.get("OBS_SCHEDULE") or None,
    }
