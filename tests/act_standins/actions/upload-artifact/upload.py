"""actions/upload-artifact stand-in (see action.yml).

Search paths are resolved like the real action's: globs (``**`` included), ``!`` lines exclude,
hidden files skipped unless asked, and the files keep their layout relative to the least common
ancestor of the search paths.
"""

import glob
import hashlib
import json
import os
import shutil
import sys
from pathlib import Path

env = os.environ


def hidden(path: Path, base: Path) -> bool:
    try:
        parts = path.relative_to(base).parts
    except ValueError:
        parts = path.parts
    return any(part.startswith(".") for part in parts)


def literal_prefix(pattern: str) -> str:
    parts = []
    for part in Path(pattern).parts:
        if any(ch in part for ch in "*?["):
            break
        parts.append(part)
    return os.path.join(*parts) if parts else "/"


def main() -> int:
    name = env["IN_NAME"].strip() or "artifact"
    if any(ch in name for ch in '"/:<>|*?\\\r\n'):
        print(f"::error::The artifact name is not valid: {name}")
        return 1
    root = env.get("OBS_ACT_ARTIFACTS", "")
    if not root:
        print("::error::upload-artifact stand-in: OBS_ACT_ARTIFACTS is not set (the act harness sets it)")
        return 1
    workspace = env.get("GITHUB_WORKSPACE", os.getcwd())
    include, exclude = [], []
    for line in env["IN_PATH"].splitlines():
        line = line.strip()
        if not line:
            continue
        target = exclude if line.startswith("!") else include
        line = os.path.expanduser(line.lstrip("!"))
        target.append(os.path.normpath(line if os.path.isabs(line) else os.path.join(workspace, line)))
    excluded = {os.path.normpath(p) for pattern in exclude for p in glob.glob(pattern, recursive=True)}
    files, roots = {}, []
    for pattern in include:
        roots.append(literal_prefix(pattern) if any(ch in pattern for ch in "*?[") else pattern)
        for match in sorted(glob.glob(pattern, recursive=True)):
            match = Path(match)
            found = [match] if match.is_file() else sorted(p for p in match.rglob("*") if p.is_file())
            for f in found:
                if str(f) in excluded or any(str(f).startswith(e + os.sep) for e in excluded):
                    continue
                if env["IN_INCLUDE_HIDDEN_FILES"] != "true" and hidden(f, match if match.is_dir() else match.parent):
                    continue
                files[str(f)] = f
    if not files:
        mode = env["IN_IF_NO_FILES_FOUND"].strip() or "warn"
        message = (
            f"No files were found with the provided path: {env['IN_PATH'].strip()}. No artifacts will be uploaded."
        )
        if mode == "error":
            print(f"::error::{message}")
            return 1
        if mode == "warn":
            print(f"::warning::{message}")
        return 0
    # The least common ancestor of the search paths (a lone file's parent).
    bases = [r if os.path.isdir(r) else os.path.dirname(r) for r in roots]
    base = os.path.commonpath(bases) if bases else workspace
    dest = Path(root) / name
    if dest.exists():
        if env["IN_OVERWRITE"] != "true":
            print(
                f"::error::Failed to CreateArtifact: an artifact with this name already exists on the workflow run: {name}"
            )
            return 1
        shutil.rmtree(dest)
    digest = hashlib.sha256()
    for key in sorted(files):
        rel = os.path.relpath(key, base)
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(key, dest / rel)
        digest.update(rel.encode() + b"\0" + Path(key).read_bytes())
    index = Path(root) / ".index.json"
    records = json.loads(index.read_text()) if index.exists() else []
    records = [r for r in records if r["name"] != name]
    artifact_id = max([r["id"] for r in records], default=0) + 1
    records.append(
        {"id": artifact_id, "name": name, "retention_days": env["IN_RETENTION_DAYS"].strip(), "files": len(files)}
    )
    index.write_text(json.dumps(records, indent=1))
    with open(env["GITHUB_OUTPUT"], "a", encoding="utf-8") as out:
        out.write(f"artifact-id={artifact_id}\nartifact-url={dest.as_uri()}\nartifact-digest={digest.hexdigest()}\n")
    print(f"upload-artifact stand-in: {len(files)} file(s) -> {dest}")
    return 0


sys.exit(main())
