"""Trim @octokit/openapi's api.github.com.json to the operations observability uses."""

import json
import sys

# Usage: npm pack @octokit/openapi && tar xzf octokit-openapi-*.tgz
#        python trim.py package/generated/api.github.com.json api.github.com.trimmed.json
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
doc["x-trimmed-from"] = {
    "package": "@octokit/openapi",
    "version": "23.0.2",
    "file": "generated/api.github.com.json",
    "operations": sorted(f"{m.upper()} {p}" for p, m in WANT),
}
with open(sys.argv[2], "w") as handle:
    json.dump(doc, handle, indent=1, sort_keys=True)
print(len(seen), "components")
