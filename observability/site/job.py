"""The body of ``site build``: gather the workspace, render every file into a temporary directory next
to ``--out``, validate status.json, then swap the directory in (the old site is kept until then)."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from observability import fsio, markdown, schemas
from observability.errors import ConfigError
from observability.runtime import JobContext, JobResult
from observability.site import pages
from observability.site.gather import gather

MARKER = ".observability-site"
LEFTOVER = re.compile(r"\.\d{8}T\d{6}Z-[A-Za-z0-9_.-]+?(\.old)?\.tmp")  # <out>.<job_id>[.old].tmp


def files(ctx: JobContext) -> tuple[dict[str, str | Path], dict, str]:
    """Every file of the site: relative path -> text, or the workspace file to copy; and status.json."""
    site = gather(ctx.workspace, ctx.now)
    status = pages.status_doc(site, ctx.provenance(inputs=site.inputs))
    schemas.validate(pages.SCHEMA, status, what="site status.json")
    out: dict[str, str | Path] = {
        "style.css": pages.CSS,
        "index.html": pages.index(site),
        "alerts.html": pages.alerts(site),
        "jobs.html": pages.jobs_page(site),
        "weekly.html": pages.weekly_index(site),
        "datasets.html": pages.datasets_page(site),
        "ci.html": pages.ci_page(site),
        "status.json": pages.json_text(status),
        ".nojekyll": "",  # GitHub Pages serves the files as they are
        MARKER: "",  # an --out directory holding it is a site this command built (and may replace)
    }
    for week in site.weeks:
        out[f"weekly/{week['week_start']}.html"] = pages.weekly_page(site, week)
    for name, badge in pages.badges(site, status).items():
        out[f"badges/{name}.json"] = pages.json_text(badge)
    for dataset in site.datasets:
        if dataset["file"] is not None:
            out[f"data/{dataset['name']}"] = dataset["file"]
    if site.manifest is not None:
        out["data/manifest.json"] = ctx.workspace.path("out/dashboard/manifest.json")
    for problem in site.problems:
        ctx.warn(problem)
    return out, status, pages.overall_text(site)


def build(ctx: JobContext, out_dir: str, *, dry_run: bool) -> JobResult:
    ws = ctx.workspace
    target = ws.output_dir(out_dir, "--out")
    fsio.guard(target.parent)  # as every job's writes: never through a symlink leading out of the workspace
    if target.resolve() in (ws.root.resolve(), ws.ops.resolve()) or ws.root.resolve().is_relative_to(target.resolve()):
        raise ConfigError(f"--out {out_dir}: would replace the workspace or a directory holding it; choose a new one")
    if target.is_dir() and any(target.iterdir()) and not (target / MARKER).is_file():
        raise ConfigError(
            f"--out {out_dir}: exists and holds files of something else (no {MARKER}); a build replaces the "
            "whole directory: choose a new or empty one"
        )
    content, status, overall_text = files(ctx)
    listing = sorted(content)
    figures = {
        "out": str(target),
        "files": len(listing),
        "site_status": status["status"],
        "sources": len(status["sources"]),
        "open_alerts": len(status["alerts"]),
    }
    if dry_run:
        for name in listing:
            ctx.note(f"would write {target / name}")
        return JobResult(figures={**figures, "would_write": listing}, dry_run=True)
    _write_swapped(target, content, ctx.job_id)
    ctx.artefact(target / "status.json")
    ctx.note(f"wrote {len(listing)} files to {target} (site status {status['status']})")
    return JobResult(
        figures=figures,
        outputs={"site-dir": str(target), "site-status": status["status"]},
        summary_markdown=(
            f"### Status site\n\n{len(listing)} files in `{target.name}/`, status **{status['status']}**: "
            f"{markdown.cell(overall_text[len(status['status']) + 2 :])}.\n"
        ),
        findings=["site_inputs_unreadable"] if status["problems"] else [],
    )


def _write_swapped(target: Path, content: dict[str, str | Path], job_id: str) -> None:
    """Write into ``<out>.<job_id>.tmp``, then exchange it with the old site in one step (where the system
    cannot, rename the old site aside and the new one in); the old one is removed last. A killed build
    leaves the old site (and a temp directory the next build removes)."""
    parent = target.parent
    parent.mkdir(parents=True, exist_ok=True)
    for stale in parent.glob(f"{target.name}.*.tmp"):
        if LEFTOVER.fullmatch(stale.name[len(target.name) :]):  # only this command's own leftovers
            shutil.rmtree(stale, ignore_errors=True)
    staging = parent / f"{target.name}.{job_id}.tmp"
    for rel, body in content.items():
        path = staging / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(body, Path):
            shutil.copyfile(body, path)
        else:
            path.write_text(body, encoding="utf-8")
    fsio.fsync_dir(staging)
    if target.is_dir() and not target.is_symlink() and _exchange(staging, target):
        fsio.fsync_dir(parent)
        shutil.rmtree(staging, ignore_errors=True)  # now the old site
        return
    old = parent / f"{target.name}.{job_id}.old.tmp"
    if target.exists() or target.is_symlink():
        os.replace(target, old)
    os.replace(staging, target)
    fsio.fsync_dir(parent)
    if old.is_symlink() or old.is_file():
        old.unlink()
    else:
        shutil.rmtree(old, ignore_errors=True)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two directories in one step (Linux renameat2 RENAME_EXCHANGE): there is never a moment
    without a site. False where the system cannot (another OS, an old kernel, a filesystem without it):
    the caller then renames the old one aside and the new one in."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    done = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    return done == 0
