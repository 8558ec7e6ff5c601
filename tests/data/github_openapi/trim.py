"""Trim @octokit/openapi's api.github.com.json to the operations observability uses, as of one API version.

The description is published for the oldest supported version (2022-11-28); each later version's
breaking changes ride along as ``x-github-breaking-changes`` lists (a changeset name, the version,
and a patch: a JSON Merge Patch object or a JSON Patch list). Every change up to API_VERSION is
applied to the operations and components kept, and the changesets applied are listed in
``x-trimmed-from`` (docs/github-api.md reads them).
"""

import copy
import json
import sys

# Usage: npm pack @octokit/openapi && tar xzf octokit-openapi-*.tgz
#        python trim.py package/generated/api.github.com.json api.github.com.trimmed.json
API_VERSION = "2026-03-10"  # observability.github.rest.API_VERSION
with open(sys.argv[1]) as handle:
    src = json.load(handle)
WANT = {
    ("/repos/{owner}/{repo}/issues", "get"),
    ("/repos/{owner}/{repo}/issues", "post"),
    ("/repos/{owner}/{repo}/issues/{issue_number}", "get"),
    ("/repos/{owner}/{repo}/issues/{issue_number}", "patch"),
    ("/repos/{owner}/{repo}/issues/{issue_number}/comments", "get"),
    ("/repos/{owner}/{repo}/issues/{issue_number}/comments", "post"),
    ("/repos/{owner}/{repo}/labels", "get"),
    ("/repos/{owner}/{repo}/labels", "post"),
    ("/repos/{owner}/{repo}/issues/{issue_number}/labels", "post"),
    ("/repos/{owner}/{repo}/issues/{issue_number}/labels/{name}", "delete"),
    ("/repos/{owner}/{repo}/issues/{issue_number}/assignees", "post"),  # owners added after an issue opened
    # inputs pull: a workflow artifact of another run
    ("/repos/{owner}/{repo}/actions/artifacts", "get"),
    ("/repos/{owner}/{repo}/actions/workflows/{workflow_id}/runs", "get"),
    ("/repos/{owner}/{repo}/actions/artifacts/{artifact_id}/{archive_format}", "get"),
}
paths = {}
for p, m in sorted(WANT):
    op = src["paths"][p][m]
    paths.setdefault(p, {})[m] = op
    if "parameters" in src["paths"][p]:
        paths[p]["parameters"] = src["paths"][p]["parameters"]
doc = {"openapi": src["openapi"], "info": src["info"], "servers": src.get("servers"), "paths": paths, "components": {}}
seen = set()


def walk(node):
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/"):
            _, _, kind, name = ref.split("/", 3)
            if (kind, name) not in seen:
                seen.add((kind, name))
                target = src["components"][kind][name]
                doc["components"].setdefault(kind, {})[name] = target
                walk(target)
        for v in node.values():
            walk(v)
    elif isinstance(node, list):
        for v in node:
            walk(v)


walk(paths)


def merge_patch(target, patch):
    """RFC 7386: objects merge, null removes, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


def json_patch(target, ops):
    """RFC 6902, the operations the description uses (remove, replace, add), applied in order."""
    target = copy.deepcopy(target)
    for op in ops:
        parts = [p.replace("~1", "/").replace("~0", "~") for p in op["path"].split("/")[1:]]
        parent = target
        for part in parts[:-1]:
            parent = parent[int(part)] if isinstance(parent, list) else parent[part]
        last = parts[-1]
        key = int(last) if isinstance(parent, list) and last != "-" else last
        if op["op"] == "remove":
            del parent[key]
        elif op["op"] == "replace":
            parent[key] = op["value"]
        elif op["op"] == "add":
            if isinstance(parent, list):
                parent.insert(len(parent) if key == "-" else key, op["value"])
            else:
                parent[key] = op["value"]
        else:
            raise SystemExit(f"unsupported JSON Patch op {op['op']!r}")
    return target


applied = []


def at_version(node, where):
    """``node`` with every breaking change up to API_VERSION applied (the list itself dropped)."""
    changes = node.get("x-github-breaking-changes", [])
    node = {k: v for k, v in node.items() if k != "x-github-breaking-changes"}
    for change in changes:
        if change["version"] > API_VERSION:
            continue
        patch = change["patch"]
        node = json_patch(node, patch) if isinstance(patch, list) else merge_patch(node, patch)
        applied.append(f"{where}: {change['changeset']} ({change['version']})")
    return node


for p, item in paths.items():
    for m in list(item):
        if m != "parameters":
            item[m] = at_version(item[m], f"{m.upper()} {p}")
for kind, entries in doc["components"].items():
    for name in list(entries):
        entries[name] = at_version(entries[name], f"components/{kind}/{name}")
doc["x-trimmed-from"] = {
    "package": "@octokit/openapi",
    "version": "23.0.2",
    "file": "generated/api.github.com.json",
    "api_version": API_VERSION,
    "breaking_changes_applied": sorted(applied),
    "operations": sorted(f"{m.upper()} {p}" for p, m in WANT),
}
with open(sys.argv[2], "w") as handle:
    json.dump(doc, handle, indent=1, sort_keys=True)
print(len(seen), "components")
