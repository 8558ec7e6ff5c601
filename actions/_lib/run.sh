#!/usr/bin/env bash
# Run one observability command for a composite action and expose its results.
#
# Usage: run.sh NAME -- ARGS...   (NAME names the summary file; ARGS follow `observability`)
# Needs OBS_BIN (the command). Writes the JSON summary to $RUNNER_TEMP and sets the step
# outputs `summary` (its path); the command itself sets `status` and `job-id`. Exits with
# the command's exit code, so a failed job fails the step.
set -uo pipefail

name="$1"; shift
[ "${1:-}" = "--" ] && shift
summary="${RUNNER_TEMP:?RUNNER_TEMP is not set}/observability-${name}-${GITHUB_RUN_ID:-local}-$$.json"
"${OBS_BIN:?OBS_BIN is not set}" "$@" > "$summary"
code=$?
echo "summary=$summary" >> "$GITHUB_OUTPUT"
exit "$code"
