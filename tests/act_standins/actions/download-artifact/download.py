"""actions/download-artifact stand-in (see action.yml)."""

import fnmatch
import json
import os
import shutil
import sys
from pathlib import Path

env = os.environ


def main() -> int:
    run_id = env["IN_RUN_ID"].strip()
    if run_id and run_id != env["THIS_RUN_ID"]:
        runs = env.get("OBS_ACT_ARTIFACT_RUNS", "")
        if not runs:
            print(
                f"::error::download-artifact stand-in: run {run_id} is not this run and OBS_ACT_ARTIFACT_RUNS is not set"
            )
            return 1
        root = Path(runs) / run_id
    else:
        root = Path(env.get("OBS_ACT_ARTIFACTS", ""))
    if not str(root) or not root.is_dir():
        print(f"::error::download-artifact stand-in: no artifacts directory {root}")
        return 1
    index = json.loads((root / ".index.json").read_text()) if (root / ".index.json").exists() else []
    names = sorted(p.name for p in root.iterdir() if p.is_dir())
    workspace = Path(env.get("GITHUB_WORKSPACE", os.getcwd()))
    dest = Path(os.path.expanduser(env["IN_PATH"].strip())) if env["IN_PATH"].strip() else workspace
    dest = dest if dest.is_absolute() else workspace / dest
    name = env["IN_NAME"].strip()
    if name:
        if name not in names:
            print(f"::error::Unable to download artifact(s): Artifact not found for name: {name}")
            return 1
        shutil.copytree(root / name, dest, dirs_exist_ok=True)
    else:
        chosen = names
        if env["IN_ARTIFACT_IDS"].strip():
            ids = {int(i) for i in env["IN_ARTIFACT_IDS"].split(",") if i.strip()}
            chosen = [r["name"] for r in index if r["id"] in ids]
        if env["IN_PATTERN"].strip():
            chosen = [n for n in chosen if fnmatch.fnmatchcase(n, env["IN_PATTERN"].strip())]
        merge = env["IN_MERGE_MULTIPLE"] == "true"
        for n in chosen:
            shutil.copytree(root / n, dest if merge else dest / n, dirs_exist_ok=True)
    with open(env["GITHUB_OUTPUT"], "a", encoding="utf-8") as out:
        out.write(f"download-path={dest}\n")
    print(f"download-artifact stand-in: -> {dest}")
    return 0


sys.exit(main())
