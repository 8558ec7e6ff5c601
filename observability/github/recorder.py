"""A stand-in for GitHubClient under ``--dry-run``: records every call it would make, makes none."""

from __future__ import annotations

from typing import Any

from observability.github.rest import repo_path


class RecordingClient:
    """Same operations as GitHubClient; returns empty lists and placeholder issues."""

    def __init__(self, repo: str):
        self.repo = repo
        self.calls = 0  # HTTP requests actually made: always 0
        self.waited_seconds = 0.0
        self.not_modified = 0
        self.recorded: list[dict[str, Any]] = []
        self._next_number = 0

    def repo_path(self, *parts: str | int) -> str:
        return repo_path(self.repo, *parts)

    def _record(self, method: str, path: str, *, params: dict | None = None, json: Any = None) -> None:
        entry: dict[str, Any] = {"method": method, "path": path}
        if params:
            entry["params"] = params
        if json is not None:
            entry["body"] = json
        self.recorded.append(entry)

    def close(self) -> None:
        pass

    def list_issues(self, *, labels: str, state: str = "all", store=None, reduce=None) -> list[dict]:
        self._record("GET", self.repo_path("issues"), params={"labels": labels, "state": state, "per_page": 100})
        return []

    def list_workflow_runs(
        self, workflow: str, *, branch: str | None = None, limit: int = 100, **filters: str | None
    ) -> list[dict]:
        """Recorded with the branch and the event filter (``status`` is not recorded)."""
        params: dict[str, Any] = {"per_page": min(limit, 100), **({"branch": branch} if branch else {})}
        params |= {"event": filters["event"]} if filters.get("event") else {}
        self._record("GET", self.repo_path("actions", "workflows", workflow, "runs"), params=params)
        return []

    def get_issue(self, number: int) -> dict:
        self._record("GET", self.repo_path("issues", number))
        return {"number": number, "state": "open", "state_reason": None}

    def create_issue(self, title: str, body: str, labels: list[str], assignees: list[str] | None = None) -> dict:
        fields: dict[str, Any] = {"title": title, "body": body, "labels": labels}
        if assignees:
            fields["assignees"] = assignees
        self._record("POST", self.repo_path("issues"), json=fields)
        self._next_number += 1
        return {"number": self._next_number, "html_url": None, "state": "open"}

    def add_assignees(self, number: int, logins: list[str]) -> dict:
        self._record("POST", self.repo_path("issues", number, "assignees"), json={"assignees": logins})
        return {"number": number, "assignees": [{"login": login} for login in logins]}

    def update_issue(self, number: int, **fields: Any) -> dict:
        self._record("PATCH", self.repo_path("issues", number), json=fields)
        return {"number": number, **fields}

    def comment(self, number: int, body: str) -> dict:
        self._record("POST", self.repo_path("issues", number, "comments"), json={"body": body})
        return {}

    def list_labels(self, *, store=None) -> list[dict]:
        self._record("GET", self.repo_path("labels"), params={"per_page": 100})
        return []

    def create_label(self, name: str, color: str, description: str) -> None:
        self._record("POST", self.repo_path("labels"), json={"name": name, "color": color, "description": description})

    def add_labels(self, number: int, labels: list[str]) -> None:
        self._record("POST", self.repo_path("issues", number, "labels"), json={"labels": labels})

    def remove_label(self, number: int, name: str) -> None:
        self._record("DELETE", self.repo_path("issues", number, "labels", name))
