"""actions/cache stand-in: entries are directories under $OBS_ACT_CACHE (see action.yml).

Each entry is ``<sha256(key)>/`` holding ``meta.json`` (key, the absolute paths saved) and one
copy per path (``0/``, ``1/``, ...). act's host mode gives every job a new random RUNNER_TEMP
(GitHub's is stable), so a tree restored to another place has the old prefix rewritten in its
``#!`` lines (a virtual environment's executable scripts), the one thing that pins a venv to
its path.
"""

import glob
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

env = os.environ


def inp(name):
    return env.get("INPUT_" + name.upper(), "").strip()


def lines(text):
    return [line.strip() for line in text.splitlines() if line.strip()]


def paths():
    workspace = env.get("GITHUB_WORKSPACE", os.getcwd())
    out = []
    for item in lines(inp("path")):
        item = os.path.expanduser(item)
        full = item if os.path.isabs(item) else os.path.join(workspace, item)
        out.extend(sorted(glob.glob(full)) or [full])
    return [os.path.normpath(p) for p in out]


def root():
    base = env.get("OBS_ACT_CACHE", "")
    if not base:
        print("::warning::cache stand-in: OBS_ACT_CACHE is not set; the cache service is unavailable")
        return None
    Path(base).mkdir(parents=True, exist_ok=True)
    return Path(base)


def entry_dir(base, key):
    return base / hashlib.sha256(key.encode()).hexdigest()[:32]


def emit(path_var, text):
    with open(env[path_var], "a", encoding="utf-8") as fh:
        fh.write(text)


def _clear(path):
    if os.path.islink(path) or os.path.isfile(path):
        os.unlink(path)
    elif os.path.isdir(path):
        shutil.rmtree(path)


def merge(src, dst):
    """Copy ``src`` over ``dst`` as tar extraction would: existing files and links are replaced."""
    if not os.path.isdir(src) or os.path.islink(src):
        Path(dst).parent.mkdir(parents=True, exist_ok=True)
        _clear(dst)
        shutil.copy2(src, dst, follow_symlinks=False)
        return
    os.makedirs(dst, exist_ok=True)
    for here, dirs, files in os.walk(src):
        rel = os.path.relpath(here, src)
        for name in list(dirs) + files:
            s, d = os.path.join(here, name), os.path.normpath(os.path.join(dst, rel, name))
            if os.path.islink(s):
                _clear(d)
                os.symlink(os.readlink(s), d)
            elif os.path.isdir(s):
                if os.path.islink(d) or os.path.isfile(d):
                    os.unlink(d)
                os.makedirs(d, exist_ok=True)
            else:
                if os.path.islink(d):
                    os.unlink(d)
                shutil.copy2(s, d)
        dirs[:] = [n for n in dirs if not os.path.islink(os.path.join(here, n))]


def relocate(tree, old, new):
    if old == new:
        return
    old_b, new_b = ("#!" + old).encode(), ("#!" + new).encode()
    for path in [Path(tree)] if os.path.isfile(tree) else Path(tree).rglob("*"):
        if path.is_symlink() or not path.is_file() or not path.stat().st_mode & 0o111:
            continue  # scripts with a #! line are executable
        with open(path, "rb") as fh:
            head = fh.read(len(old_b))
        if head == old_b:
            data = path.read_bytes()
            mode = path.stat().st_mode
            path.write_bytes(new_b + data[len(old_b) :])
            path.chmod(mode)


def restore():
    key = inp("key")
    emit("GITHUB_STATE", f"CACHE_KEY={key}\n")
    base = root()
    found = None
    if base is not None:
        if (entry_dir(base, key) / "meta.json").is_file():
            found = entry_dir(base, key)
        else:
            metas = [json.loads(p.read_text()) | {"dir": p.parent} for p in base.glob("*/meta.json")]
            for prefix in lines(inp("restore-keys")):
                hits = sorted((m for m in metas if m["key"].startswith(prefix)), key=lambda m: m["saved"])
                if hits:
                    found = hits[-1]["dir"]
                    break
    if found is None:
        if inp("fail-on-cache-miss") == "true":
            print(f"::error::Failed to restore cache entry. Exiting as fail-on-cache-miss is set. Input key: {key}")
            return 1
        print(f"Cache not found for input keys: {key}")
        emit("GITHUB_OUTPUT", "cache-hit=false\n")
        return 0
    meta = json.loads((found / "meta.json").read_text())
    emit("GITHUB_STATE", f"CACHE_RESULT={meta['key']}\n")
    emit("GITHUB_OUTPUT", f"cache-hit={'true' if meta['key'] == key else 'false'}\n")
    if inp("lookup-only") == "true":
        print(f"Cache found and can be restored from key: {meta['key']}")
        return 0
    for index, (saved, target) in enumerate(zip(meta["paths"], paths(), strict=False)):
        src = found / str(index)
        if not src.exists():
            continue
        merge(src, target)
        relocate(target, saved, target)
    print(f"Cache restored from key: {meta['key']}")
    return 0


def save():
    key, matched = env.get("STATE_CACHE_KEY", inp("key")), env.get("STATE_CACHE_RESULT", "")
    if inp("lookup-only") == "true":
        return 0
    if matched == key:
        print(f"Cache hit occurred on the primary key {key}, not saving cache.")
        return 0
    base = root()
    if base is None:
        return 0
    final = entry_dir(base, key)
    if final.exists():
        print(f"Failed to save: Unable to reserve cache with key {key}, another job may be creating this cache.")
        return 0
    wanted = paths()
    if not any(os.path.exists(p) for p in wanted):
        print(
            "::warning::Path Validation Error: Path(s) specified in the action for caching do(es) not exist, "
            "hence no cache is being saved."
        )
        return 0
    staging = Path(tempfile.mkdtemp(dir=base, prefix=".staging-"))
    for index, path in enumerate(wanted):
        if os.path.isdir(path):
            shutil.copytree(path, staging / str(index), symlinks=True)
        elif os.path.exists(path):
            shutil.copy2(path, staging / str(index))
    (staging / "meta.json").write_text(json.dumps({"key": key, "paths": wanted, "saved": time.time()}))
    try:
        staging.rename(final)
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)
        print(f"Failed to save: another job saved {key} first.")
        return 0
    print(f"Cache saved with key: {key}")
    return 0


sys.exit({"restore": restore, "save": save}[sys.argv[1]]())
