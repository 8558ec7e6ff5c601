"""actions/checkout stand-in: clone a local repository (see action.yml)."""

import base64
import os
import shutil
import subprocess
import sys
from pathlib import Path


def git(*args, cwd=None):
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def fail(message):
    print(f"::error title=checkout stand-in::{message}")
    sys.exit(1)


def main():
    env = os.environ
    repository = env["IN_REPOSITORY"].strip()
    workspace = Path(env["GITHUB_WORKSPACE"])
    if repository.lower() == env["THIS_REPOSITORY"].lower():
        source = env.get("OBS_ACT_SOURCE", "")
        if not source:
            fail("OBS_ACT_SOURCE is not set: the act harness names the repository under test there")
        default_ref = env["THIS_SHA"]
    else:
        root = env.get("OBS_ACT_REPOS", "")
        source = str(Path(root) / repository) if root else ""
        if not source or not Path(source).is_dir():
            fail(f"no local copy of {repository}: put a git repository at $OBS_ACT_REPOS/{repository}")
        default_ref = ""
    target = (workspace / env["IN_PATH"]).resolve()
    if not str(target).startswith(str(workspace.resolve())):
        fail(f"path {env['IN_PATH']!r} leaves $GITHUB_WORKSPACE")
    if target.exists() and env["IN_CLEAN"] == "true":
        for child in target.iterdir():
            shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
    target.mkdir(parents=True, exist_ok=True)
    git("clone", "--quiet", "--no-checkout", "--no-hardlinks", source, str(target))
    patterns = [line.strip() for line in env["IN_SPARSE_CHECKOUT"].splitlines() if line.strip()]
    if patterns:
        mode = "--cone" if env["IN_SPARSE_CHECKOUT_CONE_MODE"] == "true" else "--no-cone"
        git("sparse-checkout", "set", mode, *patterns, cwd=target)
    ref = env["IN_REF"].strip() or default_ref
    if ref:
        candidates = [ref, f"origin/{ref}", f"refs/tags/{ref}"]
        sha = next(
            (
                c
                for c in candidates
                if subprocess.run(
                    ["git", "rev-parse", "--verify", "--quiet", c + "^{commit}"], cwd=target, capture_output=True
                ).returncode
                == 0
            ),
            None,
        )
        if sha is None:
            fail(f"{repository}: ref {ref!r} not found in {source}")
        git("checkout", "--quiet", "--detach", sha, cwd=target)
    else:
        git("checkout", "--quiet", cwd=target)
    commit = git("rev-parse", "HEAD", cwd=target)
    git("remote", "set-url", "origin", f"https://github.com/{repository}", cwd=target)
    token = env.get("IN_TOKEN", "")
    if env["IN_PERSIST_CREDENTIALS"] == "true" and token:
        basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
        git("config", "--local", "http.https://github.com/.extraheader", f"AUTHORIZATION: basic {basic}", cwd=target)
    with open(env["GITHUB_OUTPUT"], "a", encoding="utf-8") as out:
        out.write(f"ref={ref or git('rev-parse', '--abbrev-ref', 'HEAD', cwd=target)}\ncommit={commit}\n")
    print(f"checkout stand-in: {repository}@{commit[:12]} -> {target}")


main()
