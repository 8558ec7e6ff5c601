"""A fake GitHub REST API on 127.0.0.1, checked against GitHub's published OpenAPI description.

Stateful issues, comments and labels; rate-limit headers on every answer; Link pagination;
injectable faults (5xx, secondary-limit 403, 429, primary-limit 403). Every request is checked
against the trimmed @octokit/openapi operations in tests/data/github_openapi/ (method and path,
path and query parameters, JSON body), and every answer against the operation's response schema:
problems are collected in ``server.violations`` (tests assert it stays empty). The description is
the one of API version ``API_VERSION`` (2026-03-10): a request asking for another version (header
``X-GitHub-Api-Version``) is answered 400, as GitHub answers an unsupported version. Successful
GETs carry a weak ETag (specific to the token, as GitHub's are); a GET whose ``If-None-Match``
matches is answered 304 with no body and without spending rate limit, as GitHub does. Each request records when it arrived and when its
answer was written (``started``/``ended``, monotonic seconds), for the pacing test.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from jsonschema import Draft202012Validator
from referencing import Registry
from referencing.jsonschema import DRAFT202012

SPEC_FILE = Path(__file__).parent / "data" / "github_openapi" / "api.github.com.trimmed.json"
SPEC_URI = "urn:github-openapi"
API_VERSION = json.loads(SPEC_FILE.read_text(encoding="utf-8"))["x-trimmed-from"]["api_version"]
TOKEN = "ghp_canaryTOKEN0123456789abcdefCANARY42"


def _nullable(node: Any) -> Any:
    """OpenAPI 3.0 ``nullable: true`` → JSON Schema (type lists / an anyOf with null)."""
    if isinstance(node, list):
        return [_nullable(n) for n in node]
    if not isinstance(node, dict):
        return node
    node = {k: _nullable(v) for k, v in node.items()}
    if node.pop("nullable", False):
        if isinstance(node.get("type"), str):
            node["type"] = [node["type"], "null"]
            if "enum" in node:
                node["enum"] = [*node["enum"], None]
        else:
            node = {"anyOf": [node, {"type": "null"}]}
    return node


def _pointer(*parts: str) -> str:
    return "#/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


@dataclass
class Operation:
    method: str
    template: str
    regex: re.Pattern
    op: dict
    parameters: list[dict]


class Spec:
    def __init__(self):
        raw = json.loads(SPEC_FILE.read_text(encoding="utf-8"))
        self.doc = _nullable(raw)
        self.registry = Registry().with_resource(SPEC_URI, DRAFT202012.create_resource(self.doc))
        self.operations: list[Operation] = []
        for template, item in self.doc["paths"].items():
            shared = item.get("parameters", [])
            regex = re.compile("^" + re.sub(r"\\\{([a-z_]+)\\\}", r"(?P<\1>[^/]+)", re.escape(template)) + "$")
            for method, op in item.items():
                if method == "parameters":
                    continue
                params = [self.resolve(p) for p in [*shared, *op.get("parameters", [])]]
                self.operations.append(Operation(method.upper(), template, regex, op, params))

    def resolve(self, node: dict) -> dict:
        while "$ref" in node:
            parts = node["$ref"][2:].split("/")
            target = self.doc
            for part in parts:
                target = target[part.replace("~1", "/").replace("~0", "~")]
            node = target
        return node

    def validator(self, pointer: str) -> Draft202012Validator:
        return Draft202012Validator({"$ref": SPEC_URI + pointer}, registry=self.registry)

    def find(self, method: str, path: str) -> tuple[Operation, dict] | None:
        for operation in self.operations:
            match = operation.regex.match(path)
            if match and operation.method == method:
                return operation, {k: unquote(v) for k, v in match.groupdict().items()}
        return None


_SPEC: Spec | None = None


def spec() -> Spec:
    global _SPEC
    if _SPEC is None:
        _SPEC = Spec()
    return _SPEC


def _coerce(value: str, schema: dict) -> Any:
    kind = schema.get("type")
    kind = kind[0] if isinstance(kind, list) else kind
    if kind == "integer":
        try:
            return int(value)
        except ValueError:
            return value
    if kind == "boolean":
        return {"true": True, "false": False}.get(value, value)
    return value


@dataclass
class Fault:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: dict | None = None
    match: Callable[[str, str], bool] = lambda method, path: True
    process: bool = False  # do the operation, then answer with the fault (an answer lost on the way)


@dataclass
class Hold:
    """Requests that wait for each other: the first ``parties`` matching requests are answered together."""

    barrier: threading.Barrier
    match: Callable[[str, str], bool]
    left: int


class FakeGitHub:
    """State plus the HTTP server. ``clock`` gives the fake's "now" in epoch seconds (share it with the client)."""

    def __init__(
        self,
        repo: str = "acme/ops",
        *,
        token: str = TOKEN,
        clock: Callable[[], float] | None = None,
        per_page_max: int = 100,
    ):
        self.repo, self.token = repo, token
        self.clock = clock or (lambda: 1_767_225_600.0)
        self.per_page_max = per_page_max
        self.issues: dict[int, dict] = {}
        self.comments: dict[int, list[dict]] = {}
        self.labels: dict[str, dict] = {}
        self.requests: list[dict] = []
        self.violations: list[str] = []
        self.faults: list[Fault] = []
        self.holds: list[Hold] = []
        self.rate_limit, self.remaining, self.reset_at = 5000, 5000, None
        self.oauth_scopes: str | None = None  # a classic token's X-OAuth-Scopes (None: not sent, like GITHUB_TOKEN)
        self.artifacts: list[dict] = []
        # Who can be assigned (GitHub: people with access to the repository); None: anyone.
        self.assignable: set[str] | None = None
        self.runs: dict[int, dict] = {}
        self.blobs: dict[str, bytes] = {}
        self.blob_requests: list[dict] = []
        self.not_modified = 0  # conditional GETs answered 304
        # Whether a list page's ETag changes with its Link header. False: the ETag covers the body
        # only, so a full last page stays 304 after a new item starts the next page.
        self.etag_covers_link = True
        # X-GitHub-Api-Version values answered (bench/alerts_day.py adds an older release's, to compare)
        self.api_versions = {API_VERSION}
        self._location: str | None = None
        self._next_id = 1000
        self.lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> FakeGitHub:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    # -- helpers for tests -----------------------------------------------------------------
    @property
    def calls(self) -> int:
        return len(self.requests)

    def inject(
        self,
        status: int,
        *,
        headers: dict | None = None,
        body: dict | None = None,
        match: Callable[[str, str], bool] | None = None,
        times: int = 1,
        process: bool = False,
    ) -> None:
        for _ in range(times):
            self.faults.append(Fault(status, headers or {}, body, match or (lambda m, p: True), process))

    def hold(self, parties: int, match: Callable[[str, str], bool]) -> None:
        """Hold the next ``parties`` matching requests until all have arrived (forces two clients to overlap)."""
        self.holds.append(Hold(threading.Barrier(parties), match, parties))

    def comment_bodies(self, number: int) -> list[str]:
        return [c["body"] for c in self.comments.get(number, [])]

    def label_names(self, number: int) -> list[str]:
        return sorted(label["name"] for label in self.issues[number]["labels"])

    def human_close(self, number: int, reason: str = "completed", login: str = "oncall-person") -> None:
        with self.lock:
            issue = self.issues[number]
            issue.update(
                state="closed",
                state_reason=reason,
                closed_at=self._now(),
                updated_at=self._now(),
                closed_by=self._user(login),
            )

    def add_issue_by_hand(self, title: str, body: str, labels: list[str]) -> dict:
        with self.lock:
            return self._create_issue({"title": title, "body": body, "labels": labels})

    def add_run(
        self,
        run_id: int,
        *,
        workflow: str = "research.yml",
        workflow_id: int = 161335,
        branch: str = "main",
        conclusion: str | None = "success",
        run_number: int | None = None,
        event: str = "push",
    ) -> dict:
        """A workflow run (GitHub's example run, re-keyed), listed by the workflow's file name or id."""
        with self.lock:
            example = spec().resolve(spec().doc["components"]["examples"]["workflow-run-paginated"])
            run = copy.deepcopy(example["value"]["workflow_runs"][0])
            run.update(
                id=run_id,
                run_number=run_number or run_id,
                workflow_id=workflow_id,
                head_branch=branch,
                event=event,
                path=f".github/workflows/{workflow}",
                status="completed" if conclusion else "in_progress",
                conclusion=conclusion,
                head_sha=f"{run_id:040x}"[-40:],
                html_url=f"https://github.com/{self.repo}/actions/runs/{run_id}",
                created_at=self._now(),
            )
            self.runs[run_id] = run
            return copy.deepcopy(run)

    def add_artifact(
        self,
        name: str,
        archive: bytes,
        *,
        run_id: int,
        workflow: str = "research.yml",
        branch: str = "main",
        conclusion: str = "success",
        expired: bool = False,
        created_at: str | None = None,
    ) -> dict:
        """A workflow run (if new) and an artifact of it whose download redirects to ``archive``."""
        if run_id not in self.runs:
            self.add_run(run_id, workflow=workflow, branch=branch, conclusion=conclusion)
        with self.lock:
            artifact_id = self._id()
            stamp = created_at or self._now()
            artifact = {
                "id": artifact_id,
                "node_id": f"MDg6QXJ0aWZhY3Q{artifact_id}",
                "name": name,
                "size_in_bytes": len(archive),
                "url": self._api("actions", "artifacts", artifact_id),
                "archive_download_url": self._api("actions", "artifacts", artifact_id, "zip"),
                "expired": expired,
                "created_at": stamp,
                "expires_at": "2099-01-01T00:00:00Z",
                "updated_at": stamp,
                "digest": "sha256:" + __import__("hashlib").sha256(archive).hexdigest(),
                "workflow_run": {
                    "id": run_id,
                    "repository_id": 42,
                    "head_repository_id": 42,
                    "head_branch": branch,
                    "head_sha": self.runs[run_id]["head_sha"],
                },
            }
            self.artifacts.append(artifact)
            self.blobs[f"blob-{artifact_id}"] = archive
            return copy.deepcopy(artifact)

    # -- shapes ------------------------------------------------------------------------------
    def _now(self) -> str:
        return datetime.fromtimestamp(self.clock(), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def _id(self) -> int:
        self._next_id += 1
        return self._next_id

    def _api(self, *parts: Any) -> str:
        return f"{self.url}/repos/{self.repo}" + "".join(f"/{p}" for p in parts)

    def _user(self, login: str = "github-actions[bot]", kind: str = "Bot") -> dict:
        base = f"{self.url}/users/{login}"
        return {
            "login": login,
            "id": 41898282,
            "node_id": "MDM6Qm90NDE4OTgyODI=",
            "avatar_url": "https://x.invalid/a",
            "gravatar_id": "",
            "url": base,
            "html_url": f"https://github.com/{login}",
            "followers_url": base + "/f",
            "following_url": base + "/g",
            "gists_url": base + "/gi",
            "starred_url": base + "/s",
            "subscriptions_url": base + "/su",
            "organizations_url": base + "/o",
            "repos_url": base + "/r",
            "events_url": base + "/e",
            "received_events_url": base + "/re",
            "type": kind,
            "site_admin": False,
        }

    def _label(self, name: str, color: str = "ededed", description: str | None = None) -> dict:
        return {
            "id": self._id(),
            "node_id": f"LA_{name}",
            "url": self._api("labels", name),
            "name": name,
            "description": description,
            "color": color,
            "default": False,
        }

    def _ensure_label(self, name: str) -> dict:
        key = name.lower()
        if key not in self.labels:  # GitHub creates unknown labels named on an issue (default colour)
            self.labels[key] = self._label(name)
        return self.labels[key]

    def _create_issue(self, body: dict) -> dict:
        number = max(self.issues, default=0) + 1
        now = self._now()
        issue = {
            "id": self._id(),
            "node_id": f"I_{number}",
            "url": self._api("issues", number),
            "repository_url": self._api(),
            "labels_url": self._api("issues", number, "labels{/name}"),
            "comments_url": self._api("issues", number, "comments"),
            "events_url": self._api("issues", number, "events"),
            "html_url": f"https://github.com/{self.repo}/issues/{number}",
            "number": number,
            "state": "open",
            "state_reason": None,
            "title": body["title"],
            "body": body.get("body"),
            "user": self._user(),
            "labels": [self._ensure_label(n if isinstance(n, str) else n["name"]) for n in body.get("labels", [])],
            "assignees": [
                self._user(login, kind="User") for login in body.get("assignees") or ()
            ],  # 2026-03-10: no singular "assignee"
            "milestone": None,
            "locked": False,
            "comments": 0,
            "closed_at": None,
            "created_at": now,
            "updated_at": now,
            "closed_by": None,
            "author_association": "NONE",
        }
        self.issues[number] = issue
        self.comments[number] = []
        return issue

    # -- request handling ------------------------------------------------------------------
    def _route(self, method: str, path: str, query: dict, body: Any) -> tuple[int, Any]:
        found = spec().find(method, path)
        if found is None:
            self.violations.append(f"{method} {path}: no such operation in the OpenAPI description")
            return 404, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}
        operation, params = found
        problems = self._check_request(operation, params, query, body)
        if problems:
            self.violations.extend(f"{method} {operation.template}: {p}" for p in problems)
            return 422, {
                "message": "Validation Failed",
                "documentation_url": "https://docs.github.com/rest",
                "errors": [{"resource": "Request", "code": "invalid", "field": p[:100]} for p in problems],
            }
        handler = getattr(self, "_op_" + operation.op["operationId"].split("/")[1].replace("-", "_"))
        status, data = handler(params, query, body)
        self._check_response(operation, status, data)
        return status, data

    def _check_request(self, operation: Operation, params: dict, query: dict, body: Any) -> list[str]:
        problems = []
        known = {p["name"]: p for p in operation.parameters}
        for name, value in query.items():
            p = known.get(name)
            if p is None or p["in"] != "query":
                problems.append(f"unknown query parameter {name!r}")
                continue
            errors = list(Draft202012Validator(p.get("schema", {})).iter_errors(_coerce(value, p.get("schema", {}))))
            problems += [f"query {name}: {e.message}" for e in errors]
        for p in operation.parameters:
            if p["in"] == "path":
                errors = list(Draft202012Validator(p["schema"]).iter_errors(_coerce(params[p["name"]], p["schema"])))
                problems += [f"path {p['name']}: {e.message}" for e in errors]
            if p["in"] == "query" and p.get("required") and p["name"] not in query:
                problems.append(f"missing required query parameter {p['name']!r}")
        request_body = operation.op.get("requestBody")
        if request_body is None:
            if body is not None:
                problems.append("this operation takes no body")
        else:
            if body is None and request_body.get("required"):
                problems.append("missing required JSON body")
            elif body is not None:
                pointer = _pointer(
                    "paths",
                    operation.template,
                    operation.method.lower(),
                    "requestBody",
                    "content",
                    "application/json",
                    "schema",
                )
                problems += [
                    f"body {'.'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
                    for e in spec().validator(pointer).iter_errors(body)
                ]
                schema = spec().resolve(request_body["content"]["application/json"]["schema"])
                if isinstance(body, dict) and "properties" in schema:
                    # GitHub ignores a field it does not know (one removed by an API version, such as
                    # 2026-03-10's singular "assignee"): silently lost, so the fake calls it out.
                    problems += [
                        f"body {k}: not a field of this operation" for k in body if k not in schema["properties"]
                    ]
        return problems

    def _check_response(self, operation: Operation, status: int, data: Any) -> None:
        response = operation.op["responses"].get(str(status))
        if response is None:
            self.violations.append(f"{operation.method} {operation.template}: status {status} not in the description")
            return
        if "$ref" in response:
            pointer = response["$ref"][1:] + "/content/application~1json/schema"
            if "content" not in spec().resolve(response):
                return
            validator = spec().validator("#" + pointer)
        else:
            if "content" not in response:
                return
            validator = spec().validator(
                _pointer(
                    "paths",
                    operation.template,
                    operation.method.lower(),
                    "responses",
                    str(status),
                    "content",
                    "application/json",
                    "schema",
                )
            )
        for error in validator.iter_errors(data):
            self.violations.append(
                f"response {operation.method} {operation.template} {status}: "
                f"{'.'.join(map(str, error.absolute_path))}: {error.message[:200]}"
            )

    def _issue(self, params: dict) -> dict | None:
        if params.get("owner") + "/" + params.get("repo") != self.repo:
            return None
        return self.issues.get(int(params["issue_number"])) if "issue_number" in params else None

    _NOT_FOUND = (404, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"})

    def _page(self, items: list, query: dict, path: str) -> tuple[int, Any]:
        per_page = min(int(query.get("per_page", 30)), self.per_page_max)
        page = int(query.get("page", 1))
        chunk = items[(page - 1) * per_page : page * per_page]
        if page * per_page < len(items):
            rest = {**query, "page": str(page + 1)}
            self._link = f'<{self.url}{path}?{"&".join(f"{k}={v}" for k, v in rest.items())}>; rel="next"'
        return 200, copy.deepcopy(chunk)

    # operations (named after the operationId)
    def _op_list_for_repo(self, params, query, body):
        if f"{params['owner']}/{params['repo']}" != self.repo:
            return self._NOT_FOUND
        state = query.get("state", "open")
        wanted = [n.strip().lower() for n in query.get("labels", "").split(",") if n.strip()]
        items = [
            i
            for i in self.issues.values()
            if (state == "all" or i["state"] == state)
            and all(w in {label["name"].lower() for label in i["labels"]} for w in wanted)
        ]
        items.sort(key=lambda i: i["number"], reverse=query.get("direction", "desc") == "desc")
        return self._page(items, query, f"/repos/{self.repo}/issues")

    def _can_assign(self, login: str) -> bool:
        return self.assignable is None or login.lower() in {a.lower() for a in self.assignable}

    def _op_create(self, params, query, body):
        if f"{params['owner']}/{params['repo']}" != self.repo:
            return self._NOT_FOUND
        refused = [login for login in body.get("assignees") or () if not self._can_assign(login)]
        if refused:  # GitHub refuses the whole creation, naming the field
            return 422, {
                "message": "Validation Failed",
                "documentation_url": "https://docs.github.com/rest/issues/issues#create-an-issue",
                "errors": [{"value": refused[0], "resource": "Issue", "field": "assignees", "code": "invalid"}],
            }
        return 201, copy.deepcopy(self._create_issue(body))

    def _op_add_assignees(self, params, query, body):
        issue = self._issue(params)
        if issue is None:
            return self._NOT_FOUND
        have = {a["login"].lower() for a in issue["assignees"]}
        for login in (body or {}).get("assignees") or ():
            if self._can_assign(login) and login.lower() not in have:  # the others are left out silently
                issue["assignees"].append(self._user(login, kind="User"))
                have.add(login.lower())
        issue["updated_at"] = self._now()
        return 201, copy.deepcopy(issue)

    def _op_get(self, params, query, body):
        issue = self._issue(params)
        return (200, copy.deepcopy(issue)) if issue else self._NOT_FOUND

    def _op_update(self, params, query, body):
        issue = self._issue(params)
        if issue is None:
            return self._NOT_FOUND
        for key in ("title", "body"):
            if key in body:
                issue[key] = body[key]
        if "labels" in body:
            issue["labels"] = [self._ensure_label(n if isinstance(n, str) else n["name"]) for n in body["labels"]]
        if body.get("state") == "closed" and issue["state"] != "closed":
            issue.update(
                state="closed",
                closed_at=self._now(),
                closed_by=self._user(),
                state_reason=body.get("state_reason") or "completed",
            )
        elif body.get("state") == "open" and issue["state"] != "open":
            issue.update(state="open", closed_at=None, closed_by=None, state_reason="reopened")
        issue["updated_at"] = self._now()
        return 200, copy.deepcopy(issue)

    def _op_list_comments(self, params, query, body):
        issue = self._issue(params)
        return (
            self._page(self.comments[issue["number"]], query, f"/repos/{self.repo}/issues/{issue['number']}/comments")
            if issue
            else self._NOT_FOUND
        )

    def _op_create_comment(self, params, query, body):
        issue = self._issue(params)
        if issue is None:
            return self._NOT_FOUND
        cid = self._id()
        now = self._now()
        comment = {
            "id": cid,
            "node_id": f"IC_{cid}",
            "url": self._api("issues", "comments", cid),
            "html_url": f"{issue['html_url']}#issuecomment-{cid}",
            "issue_url": issue["url"],
            "body": body["body"],
            "user": self._user(),
            "created_at": now,
            "updated_at": now,
            "author_association": "NONE",
        }
        self.comments[issue["number"]].append(comment)
        issue["comments"] += 1
        issue["updated_at"] = now
        return 201, copy.deepcopy(comment)

    def _op_list_labels_for_repo(self, params, query, body):
        return self._page(
            sorted(self.labels.values(), key=lambda label: label["name"]), query, f"/repos/{self.repo}/labels"
        )

    def _op_create_label(self, params, query, body):
        if body["name"].lower() in self.labels:
            return 422, {
                "message": "Validation Failed",
                "documentation_url": "https://docs.github.com/rest",
                "errors": [{"resource": "Label", "code": "already_exists", "field": "name"}],
            }
        label = self.labels[body["name"].lower()] = self._label(
            body["name"], body.get("color", "ededed"), body.get("description")
        )
        return 201, copy.deepcopy(label)

    def _op_add_labels(self, params, query, body):
        issue = self._issue(params)
        if issue is None:
            return self._NOT_FOUND
        names = body["labels"] if isinstance(body, dict) else body
        have = {label["name"].lower() for label in issue["labels"]}
        for name in names:
            name = name if isinstance(name, str) else name["name"]
            if name.lower() not in have:
                issue["labels"].append(self._ensure_label(name))
                have.add(name.lower())
        return 200, copy.deepcopy(issue["labels"])

    def _op_remove_label(self, params, query, body):
        issue = self._issue(params)
        if issue is None:
            return self._NOT_FOUND
        name = params["name"].lower()
        if name not in {label["name"].lower() for label in issue["labels"]}:
            return 404, {"message": "Label does not exist", "documentation_url": "https://docs.github.com/rest"}
        issue["labels"] = [label for label in issue["labels"] if label["name"].lower() != name]
        return 200, copy.deepcopy(issue["labels"])

    def _op_list_artifacts_for_repo(self, params, query, body):
        if f"{params['owner']}/{params['repo']}" != self.repo:
            return self._NOT_FOUND
        items = [a for a in self.artifacts if "name" not in query or a["name"] == query["name"]]
        items.sort(key=lambda a: (a["created_at"], a["id"]), reverse=True)
        status, chunk = self._page(items, query, f"/repos/{self.repo}/actions/artifacts")
        return status, {"total_count": len(items), "artifacts": chunk}

    def _op_list_workflow_runs(self, params, query, body):
        if f"{params['owner']}/{params['repo']}" != self.repo:
            return self._NOT_FOUND
        wanted = params["workflow_id"]
        runs = [
            r
            for r in self.runs.values()
            if wanted in (r["path"].rsplit("/", 1)[-1], str(r["workflow_id"]))
            and ("branch" not in query or r["head_branch"] == query["branch"])
            and ("event" not in query or r["event"] == query["event"])
            and ("status" not in query or query["status"] in (r["status"], r["conclusion"]))
        ]
        runs.sort(key=lambda r: r["id"], reverse=True)
        status, chunk = self._page(runs, query, f"/repos/{self.repo}/actions/workflows/{wanted}/runs")
        return status, {"total_count": len(runs), "workflow_runs": chunk}

    def _op_download_artifact(self, params, query, body):
        if f"{params['owner']}/{params['repo']}" != self.repo or params["archive_format"] != "zip":
            return self._NOT_FOUND
        artifact = next((a for a in self.artifacts if a["id"] == int(params["artifact_id"])), None)
        if artifact is None:
            return self._NOT_FOUND
        if artifact["expired"]:
            return 410, {"message": "Artifact has expired", "documentation_url": "https://docs.github.com/rest"}
        self._location = f"{self.url}/_blobs/blob-{artifact['id']}?sig=signed-by-fake-0123456789"
        return 302, None

    # -- HTTP --------------------------------------------------------------------------------
    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out as separate writes: no 40 ms stall

            def log_message(self, *args):
                pass

            def _serve(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                split = urlsplit(self.path)
                query = dict(parse_qsl(split.query, keep_blank_values=True))
                if split.path.startswith("/_blobs/"):  # the storage an artifact download redirects to
                    with fake.lock:
                        fake.blob_requests.append(
                            {"path": split.path, "authorization": self.headers.get("Authorization")}
                        )
                        blob = fake.blobs.get(split.path[len("/_blobs/") :])
                    payload = blob if blob is not None else b"no such blob"
                    self.send_response(200 if blob is not None else 404)
                    self.send_header("Content-Type", "application/zip")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                with fake.lock:
                    hold = next((h for h in fake.holds if h.left > 0 and h.match(self.command, split.path)), None)
                    if hold is not None:
                        hold.left -= 1
                if hold is not None:
                    hold.barrier.wait(timeout=60)
                with fake.lock:
                    body = None
                    if raw:
                        try:
                            body = json.loads(raw)
                        except ValueError:
                            fake.violations.append(f"{self.command} {split.path}: body is not JSON")
                    record = {
                        "method": self.command,
                        "path": split.path,
                        "query": query,
                        "body": body,
                        "authorization": self.headers.get("Authorization"),
                        "api_version": self.headers.get("X-GitHub-Api-Version"),
                        "accept": self.headers.get("Accept"),
                        "if_none_match": self.headers.get("If-None-Match"),
                        "started": time.monotonic(),
                    }
                    fake.requests.append(record)
                    fake._link = None
                    fake._location = None
                    headers: dict[str, str] = {}
                    now = fake.clock()
                    if fake.reset_at is not None and now >= fake.reset_at:
                        fake.remaining, fake.reset_at = fake.rate_limit, None
                    fault = next((f for f in fake.faults if f.match(self.command, split.path)), None)
                    version = self.headers.get("X-GitHub-Api-Version")
                    if self.headers.get("Authorization") != f"Bearer {fake.token}":
                        status, data = (
                            401,
                            {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"},
                        )
                    elif version not in fake.api_versions:
                        # GitHub: 400 for a version it does not support (none sent means 2022-11-28,
                        # which this fake, holding the 2026-03-10 description, does not model)
                        status, data = (
                            400,
                            {
                                "message": f"Unsupported API version {version!r} (this fake serves {API_VERSION})",
                                "documentation_url": "https://docs.github.com/rest/about-the-rest-api/api-versions",
                            },
                        )
                    elif fault is not None:
                        fake.faults.remove(fault)
                        if fault.process:
                            fake._route(self.command, split.path, query, body)
                        status, data, headers = (
                            fault.status,
                            fault.body or {"message": f"injected {fault.status}"},
                            dict(fault.headers),
                        )
                    elif fake.remaining <= 0:
                        status, data = (
                            403,
                            {
                                "message": "API rate limit exceeded for installation.",
                                "documentation_url": "https://docs.github.com/rest/rate-limit",
                            },
                        )
                    else:
                        if (
                            body is not None
                            and self.headers.get("Content-Type", "").split(";")[0] != "application/json"
                        ):
                            fake.violations.append(f"{self.command} {split.path}: Content-Type is not application/json")
                        status, data = fake._route(self.command, split.path, query, body)
                        etag = None
                        if self.command == "GET" and status == 200:
                            # GitHub's ETags are specific to the token that asked (github/docs#34689):
                            # a new GITHUB_TOKEN (one per job) gets 200 for an ETag stored by the last run.
                            link = fake._link if fake.etag_covers_link else None
                            seen = [data, link, self.headers.get("Authorization")]
                            digest = hashlib.sha256(json.dumps(seen, sort_keys=True).encode())
                            etag = headers["ETag"] = f'W/"{digest.hexdigest()[:40]}"'
                        wanted = [t.strip() for t in (self.headers.get("If-None-Match") or "").split(",")]
                        if etag is not None and etag in wanted:
                            status, data = 304, None  # not counted against the rate limit
                            fake.not_modified += 1
                        else:
                            fake.remaining -= 1
                        if fake.remaining <= 0 and fake.reset_at is None:
                            fake.reset_at = now + 60
                    reset = fake.reset_at if fake.reset_at is not None else now + 3600
                    headers.setdefault("x-ratelimit-limit", str(fake.rate_limit))
                    headers.setdefault("x-ratelimit-remaining", str(max(fake.remaining, 0)))
                    headers.setdefault("x-ratelimit-reset", str(int(reset)))
                    headers.setdefault("x-ratelimit-resource", "core")
                    if fake.oauth_scopes is not None and status != 401:
                        headers.setdefault("X-OAuth-Scopes", fake.oauth_scopes)
                    if fake._link and status != 304:
                        headers["Link"] = fake._link
                    record["status"] = status
                    if fake._location:
                        headers["Location"] = fake._location
                payload = json.dumps(data).encode() if data is not None else b""
                # Taken before the answer goes out: the client cannot have read it earlier, so a pacing
                # gap measured from here is never shorter than the one the client kept.
                record["ended"] = time.monotonic()
                self.send_response(status)
                if status != 304:  # a 304 has no body
                    self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(payload)))
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _serve

        return Handler


class FakeClock:
    """Shared fake time: the client's injected sleep advances it, the fake server reads it."""

    def __init__(self, start: float = 1_767_225_600.0):
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def unpaced(ws: Path) -> Path:
    """Write ``configs/observability/alerts.yaml`` with ``github.write_interval_seconds: 0`` (when the
    workspace has none) for runs in a subprocess, which tests/conftest.py does not reach."""
    config = ws / "configs" / "observability" / "alerts.yaml"
    if not config.exists():
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text("github:\n  write_interval_seconds: 0  # tests: no pacing\n", encoding="utf-8")
    return ws


ALERT_ENV_CLEAR = {
    "GITHUB_ACTIONS": None,
    "GITHUB_OUTPUT": None,
    "GITHUB_STEP_SUMMARY": None,
    "OBS_WORKSPACE": None,
    "GITHUB_TOKEN": None,
    "GH_TOKEN": None,
    "GITHUB_API_URL": None,
    "GITHUB_REPOSITORY": None,
    "GITHUB_WORKFLOW": None,
    "GITHUB_RUN_ID": None,
    "GITHUB_SHA": None,
    "GITHUB_SERVER_URL": None,
    # the reported run's context (report-failure reads them when no option gives them)
    "GITHUB_REF": None,
    "GITHUB_REF_NAME": None,
    "GITHUB_HEAD_REF": None,
    "GITHUB_ACTOR": None,
    "GITHUB_TRIGGERING_ACTOR": None,
    "GITHUB_RUN_NUMBER": None,
    "GITHUB_RUN_ATTEMPT": None,
    "GITHUB_WORKFLOW_REF": None,
    "GITHUB_EVENT_NAME": None,
    "OBS_ALERTS_SLACK_WEBHOOK": None,
    "SLACK_CI_WEBHOOK": None,
    "OBS_PAGERDUTY_ROUTING_KEY": None,
    "OBS_PAGERDUTY_EVENTS_URL": None,
    "OBS_WEEKLY_WEBHOOK_URL": None,
    "OBS_WEBHOOK_SECRET": None,
    "LATENCY_SLO_MS": None,
}


class CliRun:
    def __init__(self, result):
        self.exit_code, self.stdout, self.stderr = result.exit_code, result.stdout, result.stderr
        self.exception = result.exception
        try:
            self.summary = json.loads(result.stdout)
        except ValueError:
            self.summary = None

    def __repr__(self) -> str:
        return f"CliRun(exit={self.exit_code}, stderr={self.stderr[-2000:]!r}, stdout={self.stdout[-3000:]!r})"


def alerts_cli(ws: Path, *args: str, now: str, fake: FakeGitHub | None = None, env: dict | None = None) -> CliRun:
    """``observability alerts ARGS --workspace ws`` in-process, pointed at the fake API when given."""
    from click.testing import CliRunner

    from observability.cli import cli

    environ = {**ALERT_ENV_CLEAR, "OBS_NOW": now}
    if fake is not None:
        environ.update(GITHUB_TOKEN=fake.token, GITHUB_API_URL=fake.url, GITHUB_REPOSITORY=fake.repo)
    environ.update(env or {})
    result = CliRunner().invoke(cli, ["alerts", *args, "--workspace", str(ws)], env=environ, catch_exceptions=True)
    return CliRun(result)


class Receiver:
    """A loopback HTTP receiver for the mirrors: records each POST, answers from a script.

    ``script`` items are ``(status, headers)`` or ``("sleep", seconds)`` (answer late, to force a
    client timeout); once exhausted every request gets 200/202.
    """

    def __init__(self, default_status: int = 200):
        self.received: list[dict] = []
        self.script: list[tuple] = []
        self.default_status = default_status
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):  # noqa: N802 - http.server API
                import time as _time

                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.received.append(
                    {
                        "path": self.path,
                        "headers": {k.lower(): v for k, v in self.headers.items()},
                        "raw": raw,
                        "json": json.loads(raw) if raw else None,
                    }
                )
                step = receiver.script.pop(0) if receiver.script else (receiver.default_status, {})
                if step[0] == "sleep":
                    _time.sleep(step[1])
                    step = (receiver.default_status, {})
                status, headers = step
                try:
                    self.send_response(status)
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except OSError:
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class Pages:
    """An in-memory PageStore (observability.github.rest): the conditional list pages a client keeps."""

    def __init__(self):
        self.pages: dict[str, dict] = {}

    def page(self, key):
        return self.pages.get(key)

    def remember(self, key, etag, items, next_url):
        self.pages[key] = {"etag": etag, "items": items, "next": next_url}


def github_client(fake: FakeGitHub, clock, **kw):
    """A GitHubClient on ``fake`` with the fake clock's sleep and time (no real waits)."""
    from observability import secrets
    from observability.github.rest import GitHubClient

    return GitHubClient(
        secrets.Secret("GITHUB_TOKEN", fake.token),
        fake.repo,
        api_url=fake.url,
        sleep=clock.sleep,
        wall_clock=clock,
        **kw,
    )
