"""``inputs pull``: fetch every declared input into staging, then install them all (or none).

Order on a runner: ``state pull`` (ops/, with the latency cursor), ``inputs pull``, the job,
``state push``. The record ``out/inputs/pulled.json`` (not synced) tells the later jobs of the same
workspace where each input came from; provenance.py puts it in their artefacts.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from observability import clock, fsio, markdown, schemas, secrets
from observability.digest import sha256_file
from observability.errors import ConfigError, ObservabilityError
from observability.inputs import incremental, sources, staging
from observability.inputs.config import INPUTS_CONFIG, InputSpec, load
from observability.inputs.errors import InputUnavailable, UnsafeInput
from observability.runtime import JobContext, JobResult

PULLED = "out/inputs/pulled.json"
STATE = "ops/inputs_state.json"
LATENCY_STATE = "ops/latency_state.json"


@dataclass(frozen=True)
class PullOptions:
    config: str | None = None
    only: tuple[str, ...] = ()
    dry_run: bool = False
    for_job: str | None = None


def _select(specs: tuple[InputSpec, ...], opts: PullOptions, display: str) -> list[InputSpec]:
    if opts.for_job:
        specs = tuple(s for s in specs if s.wanted_by(opts.for_job))
    if not opts.only:
        return list(specs)
    known = {s.name for s in specs}
    unknown = [name for name in opts.only if name not in known]
    if unknown:
        listed = ", ".join(sorted(known)) or "none"
        scope = f" read by {opts.for_job}" if opts.for_job else ""
        raise ConfigError(f"--only {unknown[0]!r}: no such input{scope} in {display} (known: {listed})")
    return [s for s in specs if s.name in opts.only]


def _latency_cursors(ctx: JobContext) -> dict[str, dict]:
    path = ctx.workspace.path(LATENCY_STATE)
    try:
        state = fsio.read_json(path, what="latency state", default={}, display=LATENCY_STATE)
    except ObservabilityError as exc:
        ctx.warn(f"{exc.message}; incremental logs are fetched whole")
        return {}
    cursors = state.get("cursors") if isinstance(state, dict) else None
    return cursors if isinstance(cursors, dict) else {}


def _github_client_factory(environ: Mapping[str, str]):
    from observability.github.rest import DEFAULT_API_URL, GitHubClient

    def make(repo: str, token_env: str | None):
        name = token_env or "GITHUB_TOKEN"
        token = secrets.from_env(name, environ=environ)
        if token is None:
            raise ConfigError(
                f"artifact {repo}: environment variable {name} is not set (a token with "
                "`actions: read` on that repository)"
            )
        api_url = environ.get("GITHUB_API_URL", "").strip() or DEFAULT_API_URL
        return GitHubClient(token, repo, api_url=api_url)

    return make


def pull(ctx: JobContext, opts: PullOptions, environ: Mapping[str, str] = os.environ) -> JobResult:
    ws = ctx.workspace
    path = ws.path(opts.config or INPUTS_CONFIG)
    display = ws.rel(path)
    if path.is_dir():
        raise ConfigError(f"{display}: is a directory, expected the inputs config file")
    if not path.is_file():
        raise ConfigError(f"{display}: config file not found (declare the upstream inputs there; see docs/inputs.md)")
    declared = load(path, display=display)
    selected = _select(declared, opts, display)
    for spec in selected:
        staging.confined(ws.root, spec.destination, what=f"inputs {spec.name}")
        # A file where a directory of the destination should be: refused before anything is fetched.
        ws.output_dir(Path(spec.destination).parent, f"{display}: inputs {spec.name} destination")
    out_dir = ws.output_dir(ws.out / "inputs", "")

    if opts.dry_run:
        planned = [sources.plan(spec, environ) for spec in selected]
        artefact = out_dir / f"{ctx.job_id}.json"
        fsio.atomic_write_json(
            artefact,
            {"job_id": ctx.job_id, "dry_run": True, "config": display, "planned": planned, **ctx.provenance([display])},
        )
        ctx.artefact(artefact)
        return JobResult(
            dry_run=True,
            figures={"inputs_planned": len(planned), "inputs": planned},
            summary_markdown=_summary(ctx, planned, dry_run=True),
        )
    if not selected:
        figures = {"inputs_pulled": 0, "bytes_fetched": 0, "inputs": []}
        if opts.for_job and declared:
            # Normal for a job that reads nothing upstream (latency with probes only, verify).
            ctx.note(
                f"no input of {display} is read by {opts.for_job} (each input's `jobs`; by default an "
                "incremental log is latency's, the rest weekly's and dashboard's)"
            )
            return JobResult(figures=figures)
        ctx.warn(f"{display} declares no inputs: nothing pulled")
        return JobResult(findings=["no_inputs_declared"], figures=figures)

    cursors = _latency_cursors(ctx)
    state_path = ws.path(STATE)
    saved_state = fsio.read_json(state_path, what="inputs state", default={}, display=STATE)
    if not isinstance(saved_state, dict):
        saved_state = {}
    saved_inputs = dict(saved_state.get("inputs") or {})
    stage_root = out_dir / f".staging-{ctx.job_id}"
    shutil.rmtree(stage_root, ignore_errors=True)
    fetched: list[Fetched] = []
    try:
        fetched = _fetch_all(ctx, selected, stage_root, cursors, saved_inputs, environ)
        # Everything that can still refuse an input (digests, confinement) runs before the first install.
        records = [_record(ctx, item) for item in fetched]
        destinations = [
            staging.confined(ws.root, item.spec.destination, what=f"inputs {item.spec.name}") for item in fetched
        ]
        for item, destination in zip(fetched, destinations, strict=True):
            staging.install(item.staged, destination, stage_root / "old")
            if item.saved is not None:
                saved_inputs[item.spec.name] = {**item.saved, "destination": item.spec.destination}
            ctx.artefact(destination)
    finally:
        shutil.rmtree(stage_root, ignore_errors=True)

    new_state = {"version": 1, "inputs": saved_inputs}
    if new_state != saved_state and any(item.saved is not None for item in fetched):
        # Only what the remotes say (no timestamps): a pull that saw nothing new changes no byte of ops/.
        fsio.atomic_write_json(state_path, new_state)
        ctx.artefact(state_path)
    pulled = _merge_record(ctx, records, selected)
    total = sum(r["bytes_fetched"] for r in records)
    figures = {
        "inputs_pulled": len(records),
        "bytes_fetched": total,
        "requests": sum(item.requests for item in fetched),
        "inputs": records,
    }
    return JobResult(
        findings=["logged_warnings"] if ctx.warnings else [],
        figures=figures,
        outputs={"pulled": ws.rel(pulled)},
        summary_markdown=_summary(ctx, records, dry_run=False),
    )


Fetched = sources.Fetched


def _fetch_all(
    ctx: JobContext, selected: list[InputSpec], stage_root: Path, cursors: dict, saved: dict, environ: Mapping[str, str]
) -> list[Fetched]:
    out: list[Fetched] = []
    git: dict[tuple, sources.GitFetch] = {}
    artifacts: dict[tuple, tuple] = {}
    try:
        for index, spec in enumerate(selected):
            slot = stage_root / f"{index:03d}-{spec.name}"
            what = f"inputs {spec.name}"
            try:
                if spec.kind == "repository":
                    s = spec.source
                    key = (s["url"], s.get("ref", "HEAD"), s.get("token_env"))
                    if key not in git:
                        git[key] = sources.GitFetch(s["url"], s.get("ref", "HEAD"), s.get("token_env"), environ, what)
                    fetcher = git[key]
                    requests_before = fetcher.requests
                    bytes_before = fetcher.bytes_fetched
                    staged = fetcher.checkout(s["path"], slot, what)
                    out.append(
                        Fetched(
                            spec,
                            staged,
                            sources.describe(spec, environ),
                            {"commit": fetcher.commit},
                            fetcher.bytes_fetched - bytes_before,
                            fetcher.requests - requests_before,
                        )
                    )
                elif spec.kind == "artifact":
                    out.append(sources.fetch_artifact(spec, slot, environ, _github_client_factory(environ), artifacts))
                else:
                    out.append(_fetch_object(spec, slot, cursors, saved, environ))
            except (InputUnavailable, UnsafeInput) as exc:
                exc.details.setdefault("input", spec.name)
                exc.details.setdefault("source", sources.describe(spec, environ))
                raise
            except ObservabilityError as exc:
                exc.details.setdefault("input", spec.name)
                raise
    finally:
        for fetcher in git.values():
            fetcher.close()
    for item in out:
        if item.staged.is_dir():
            staging.tree_digest(item.staged, what=f"inputs {item.spec.name}")  # refuses symlinks before install
            staging.fsync_tree(item.staged)
        elif item.staged.is_symlink():
            raise UnsafeInput(
                f"inputs {item.spec.name}: {item.source} is a symlink; inputs hold regular files only",
                input=item.spec.name,
                source=item.source,
            )
        elif not item.staged.is_file():
            raise InputUnavailable(
                f"inputs {item.spec.name}: {item.source} gave no regular file", input=item.spec.name, source=item.source
            )
        for note in item.notes:
            ctx.warn(note)
    return out


def _fetch_object(spec: InputSpec, slot: Path, cursors: dict, saved: dict, environ: Mapping[str, str]) -> Fetched:
    source = sources.HttpsSource(spec, environ) if spec.kind == "https" else sources.S3Source(spec, environ)
    try:
        if spec.incremental:
            staged = slot / "file"
            got = incremental.pull(
                source, cursors.get(spec.destination), (saved.get(spec.name) or {}), staged, what=f"inputs {spec.name}"
            )
            notes = (
                [
                    f"inputs {spec.name}: {source.display} was rotated or truncated; fetched it whole and the "
                    "latency job reads it from the start"
                ]
                if got.rotated
                else []
            )
            return Fetched(
                spec,
                staged,
                source.display,
                got.identity,
                got.bytes_fetched,
                got.requests,
                incremental={
                    "start": got.start,
                    "end": got.total,
                    "sha256_fetched": got.sha256,
                    "rotated": got.rotated,
                },
                saved=got.saved,
                notes=notes,
            )
        if spec.kind == "s3" and "prefix" in spec.source:
            staged = slot / "dir"
            assert isinstance(source, sources.S3Source)
            size, identity = source.download_prefix(staged)
            return Fetched(spec, staged, source.display, identity, size, source.requests)
        staged = slot / "file"
        sha, size, identity = source.download(staged)
        return Fetched(spec, staged, source.display, identity, size, source.requests)
    finally:
        source.close()


def _record(ctx: JobContext, item: Fetched) -> dict[str, Any]:
    what = f"inputs {item.spec.name}"
    if item.staged.is_dir():
        sha, size, count = staging.tree_digest(item.staged, what=what)
    elif item.incremental is not None:  # the local copy is partly a hole: the digest is of the bytes fetched
        sha, size, count = item.incremental["sha256_fetched"], item.staged.stat().st_size, 1
    else:
        sha, size, count = sha256_file(item.staged), item.staged.stat().st_size, 1
    record = {
        "name": item.spec.name,
        "kind": item.spec.kind,
        "destination": item.spec.destination,
        "source": secrets.redact(item.source),
        "identity": item.identity,
        "sha256": sha,
        "bytes": size,
        "files": count,
        "bytes_fetched": item.bytes_fetched,
        "job_id": ctx.job_id,
        "pulled_at": clock.iso(ctx.now),
    }
    if item.incremental is not None:
        record["incremental"] = item.incremental
    return record


def _merge_record(ctx: JobContext, records: list[dict], selected: list[InputSpec]) -> Path:
    """out/inputs/pulled.json: this pull's inputs plus earlier pulls' of the same workspace (``--only``)."""
    path = ctx.workspace.out / "inputs" / "pulled.json"
    previous = fsio.read_json(path, what="pulled-inputs record", default={}, display=PULLED)
    kept = []
    if isinstance(previous, dict) and isinstance(previous.get("inputs"), list):
        names = {s.name for s in selected}
        kept = [
            r
            for r in previous["inputs"]
            if isinstance(r, dict)
            and r.get("name") not in names
            and ctx.workspace.path(str(r.get("destination", ""))).exists()
        ]
    doc = {
        "schema_version": "1.0.0",
        "job_id": ctx.job_id,
        "generated_at": clock.iso(ctx.now),
        "inputs": sorted(kept + records, key=lambda r: r["name"]),
    }
    schemas.validate("inputs_pulled", doc, what=PULLED)
    fsio.atomic_write_json(path, doc)
    ctx.artefact(path)
    return path


def _summary(ctx: JobContext, rows: list[dict], *, dry_run: bool) -> str:
    title = "Inputs to pull (dry run)" if dry_run else "Inputs pulled"
    lines = [
        f"## {title} `{ctx.job_id}`",
        "",
        "| input | kind | destination | source | identity | bytes fetched |",
        "| --- | --- | --- | --- | --- | ---: |",
    ]
    for r in rows:
        identity = r.get("identity") or {}
        shown = identity.get("commit") or identity.get("etag") or identity.get("artifact_id") or ""
        lines.append(
            f"| {markdown.cell(r['name'])} | {r['kind']} | `{markdown.cell(r['destination'])}` | "
            f"{markdown.cell(r['source'])} | {markdown.cell(str(shown))} | {r.get('bytes_fetched', '')} |"
        )
    return "\n".join(lines) + "\n"
