#!/usr/bin/env bash
# Install observability for a composite action: a virtual environment under $RUNNER_TEMP
# built from the hash-pinned requirements beside this script (restored from the cache when
# the lock file is unchanged), then this checkout of the package itself, without deps.
#
# Outputs (to $GITHUB_OUTPUT): venv, key (the cache key), bin (the observability command).
# Modes: `prepare` computes venv and key; `install` builds the venv and installs.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
python="${OBS_ACTION_PYTHON:-python3}"
venv="${RUNNER_TEMP:?RUNNER_TEMP is not set}/observability-venv"

case "${1:-install}" in
  prepare)
    lock_hash="$(sha256sum "$here/requirements.txt" | cut -c1-16)"
    py="$("$python" -c 'import sys; print("py%d.%d" % sys.version_info[:2])')"
    {
      echo "venv=$venv"
      echo "key=observability-venv-${RUNNER_OS:-Linux}-${RUNNER_ARCH:-X64}-$py-$lock_hash"
    } >> "$GITHUB_OUTPUT"
    ;;
  install)
    if [ ! -x "$venv/bin/python" ]; then
      "$python" -m venv "$venv"
      "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps \
        -r "$here/requirements.txt"
    fi
    # The package itself always comes from this checkout (the cached venv holds only its deps);
    # reinstalled only when its files changed, so several actions in one job install it once.
    source_hash="$(cd "$root" && find observability schemas ops-template pyproject.toml -type f \
      ! -path '*/__pycache__/*' -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-64)"
    if [ "$(cat "$venv/.observability-source" 2>/dev/null)" != "$source_hash" ]; then
      "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation \
        --force-reinstall "$root"
      echo "$source_hash" > "$venv/.observability-source"
    fi
    echo "bin=$venv/bin/observability" >> "$GITHUB_OUTPUT"
    ;;
  *)
    echo "usage: install.sh prepare|install" >&2
    exit 2
    ;;
esac
