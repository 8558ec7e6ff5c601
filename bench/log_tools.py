"""``log kpi`` and ``log rebuild`` on a year of automation log (the workspace bench/automation_log.py builds).

Each as a separate process (interpreter start-up and imports included), on a fresh copy, median of
--repeat runs after one warm-up:
1. ``log kpi --period month``: every segment of the year read and counted;
2. ``log rebuild`` on the intact year: every line read and checked, the workspace scanned for evidence,
   nothing written;
3. ``log rebuild`` after damage: 10 lines cut out of the live log and the oldest segment truncated
   (its whole range rebuilt as placeholders, the segment moved aside).
Rewrites the section "Automation log tools" of docs/performance.md unless --no-docs.

Usage: python bench/log_tools.py [--repeat N] [--no-docs]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import automation_log  # noqa: E402
from automation_log import MIB, build_year, measured  # noqa: E402
from observability import runlog  # noqa: E402
from observability.workspace import Workspace  # noqa: E402

TITLE = "## Automation log tools (`bench/log_tools.py`)"


def _damage(ws: Path) -> None:
    live = ws / "ops" / "automation_runs.log"
    lines = live.read_bytes().split(b"\n")
    keep = [line for i, line in enumerate(lines) if not 100 <= i < 110]
    live.write_bytes(b"\n".join(keep))
    oldest = runlog.segments(Workspace(ws))[0].path
    oldest.write_bytes(oldest.read_bytes()[:100])


def _bench(name: str, args: list[str], repeat: int, damage: bool) -> dict:
    times, rss, cpu, summary = [], [], [], {}
    for i in range(repeat + 1):
        ws = automation_log._fresh(automation_log.YEAR, "log_tools")
        if damage:
            _damage(ws)
        result = measured(args, ws)
        if result["rc"] != 0:
            raise SystemExit(f"{name}: exit {result['rc']}: {result['stderr']}")
        if i:
            times.append(result["seconds"])
            cpu.append(result["cpu"])
            rss.append(result["rss_kb"] / 1024)
        summary = result["summary"]
    return {
        "name": name,
        "s": statistics.median(times),
        "cpu": statistics.median(cpu),
        "rss": max(rss),
        "summary": summary,
    }


def report(size: dict, rows: list[dict]) -> str:
    out = [
        TITLE,
        "",
        f"The automation log after a simulated year (what 90 days of retention keep: {size['lines']:,} lines, "
        f"{size['segments']} segments, {size['raw_bytes'] / MIB:.0f} MiB uncompressed), each command a separate "
        "process, median of the runs:",
        "",
        "| command | wall | CPU | peak RSS | what it did |",
        "| --- | ---: | ---: | ---: | --- |",
    ]
    for row in rows:
        s = row["summary"]
        if "kpi" in s:
            did = f"{len(s['kpi']['periods'])} months counted"
        else:
            did = (
                f"{s['lines_kept']:,} lines kept, {s['lines_rebuilt']} rebuilt, {s['lines_placeholder']} placeholders, "
                f"{s['segments_damaged']} damaged segment(s)"
            )
        out.append(f"| {row['name']} | {row['s']:.2f} s | {row['cpu']:.2f} s | {row['rss']:.0f} MiB | {did} |")
    return "\n".join(out) + "\n"


def write_doc(section: str, title: str = TITLE) -> None:
    """Replace the section headed ``title`` of docs/performance.md with ``section`` (appended when absent)."""
    doc = automation_log.DOC
    text = doc.read_text(encoding="utf-8")
    if title in text:
        head, rest = text.split(title, 1)
        tail = rest.split("\n## ", 1)
        text = head + section + ("\n## " + tail[1] if len(tail) > 1 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    doc.write_text(text, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-docs", action="store_true")
    args = parser.parse_args()
    year = build_year()
    size = automation_log.log_size(year)
    rows = [
        _bench("`log kpi --period month`", ["log", "kpi", "--period", "month"], args.repeat, False),
        _bench("`log rebuild`, intact year", ["log", "rebuild"], args.repeat, False),
        _bench("`log rebuild`, 10 lines lost + oldest segment damaged", ["log", "rebuild"], args.repeat, True),
    ]
    section = report(size, rows)
    print(section)
    if not args.no_docs:
        write_doc(section)


if __name__ == "__main__":
    main()
