#!/usr/bin/env bash
# Install observability for a composite action: a virtual environment under $RUNNER_TEMP
# holding only the hash-pinned dependencies beside this script (restored from the cache when
# the lock file is unchanged), and a launcher that runs this checkout's package from source.
# The package itself is never built or installed: a code change costs nothing, and the cached
# venv stays valid for every commit that keeps the lock file.
#
# Outputs (to $GITHUB_OUTPUT): venv, key (the cache key), ready (true when an earlier action of
# the same job already built the venv, so the cache restore can be skipped), bin (the command).
# Modes: `prepare` computes venv, key and ready; `install` builds the venv and the launcher.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
python="${OBS_ACTION_PYTHON:-python3}"
venv="${RUNNER_TEMP:?RUNNER_TEMP is not set}/observability-venv"
lock_hash="$(sha256sum "$here/requirements.txt" | cut -c1-16)"

case "${1:-install}" in
  prepare)
    py="$("$python" -c 'import sys; print("py%d.%d" % sys.version_info[:2])')"
    ready=false
    [ -x "$venv/bin/python" ] && [ "$(cat "$venv/.observability-lock" 2>/dev/null)" = "$lock_hash" ] && ready=true
    {
      echo "venv=$venv"
      echo "key=observability-venv-${RUNNER_OS:-Linux}-${RUNNER_ARCH:-X64}-$py-$lock_hash"
      echo "ready=$ready"
    } >> "$GITHUB_OUTPUT"
    ;;
  install)
    if [ ! -x "$venv/bin/python" ] || [ "$(cat "$venv/.observability-lock" 2>/dev/null)" != "$lock_hash" ]; then
      rm -rf "$venv"
      "$python" -m venv "$venv"
      "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps \
        -r "$here/requirements.txt"
      echo "$lock_hash" > "$venv/.observability-lock"
    fi
    # One launcher per checkout: the package runs from this action's own checkout (its schemas and
    # templates are found beside it), with nothing from the caller's PYTHONPATH.
    launcher="${RUNNER_TEMP}/observability-bin/$(printf '%s' "$root" | sha256sum | cut -c1-12)/observability"
    mkdir -p "$(dirname "$launcher")"
    # `python -c ENTRY` (observability.ENTRY), not `python -m observability`: runpy costs a few ms of
    # every job's start-up.
    entry="$(PYTHONPATH="$root" PYTHONSAFEPATH=1 "$venv/bin/python" -c 'import observability; print(observability.ENTRY)')"
    printf '#!/usr/bin/env bash\nPYTHONPATH=%q PYTHONSAFEPATH=1 exec %q -c %q "$@"\n' \
      "$root" "$venv/bin/python" "$entry" > "$launcher"
    chmod +x "$launcher"
    echo "bin=$launcher" >> "$GITHUB_OUTPUT"
    ;;
  *)
    echo "usage: install.sh prepare|install" >&2
    exit 2
    ;;
esac
