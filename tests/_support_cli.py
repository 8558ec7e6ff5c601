"""What every in-process CLI test gets back: exit code, both streams apart, the parsed JSON summary."""

from __future__ import annotations

import json


class Run:
    def __init__(self, result):
        self.exit_code = result.exit_code
        self.stdout = result.stdout
        self.stderr = result.stderr
        self.exception = result.exception
        try:
            self.summary = json.loads(result.stdout)
        except ValueError:
            self.summary = None

    @property
    def error_code(self):
        return (self.summary or {}).get("diagnostics", {}).get("error_code")

    def rules(self) -> dict[tuple[str, str], dict]:
        """Alerts of the summary by (rule, source)."""
        return {(a["rule"], a["source"]): a for a in self.summary["alerts"]}

    def __repr__(self) -> str:  # shown by pytest on failure
        return f"Run(exit={self.exit_code}, stderr={self.stderr[-3000:]!r}, stdout={self.stdout[-3000:]!r})"
