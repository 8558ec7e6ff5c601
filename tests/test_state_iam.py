"""The documented IAM policy of the S3 state store grants exactly the S3 calls the store makes."""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# boto3 client method -> the IAM action that authorises it.
ACTIONS = {
    "get_object": "s3:GetObject",
    "head_object": "s3:GetObject",
    "put_object": "s3:PutObject",
    "delete_object": "s3:DeleteObject",
    "delete_objects": "s3:DeleteObject",
    "list_objects_v2": "s3:ListBucket",
}


def _documented() -> set[str]:
    text = (ROOT / "docs" / "credentials.md").read_text(encoding="utf-8")
    block = re.search(
        r"<!-- state-store-iam-policy -->\s*```json\n(.*?)```\s*<!-- /state-store-iam-policy -->", text, re.S
    )
    assert block, "docs/credentials.md lost the marked state-store IAM policy"
    policy = json.loads(block.group(1))
    return {action for statement in policy["Statement"] for action in statement["Action"]}


def _called() -> set[str]:
    # The storage layer's S3 bucket: the state store's only way to S3 (it also serves `sync push`,
    # whose batch delete needs the same s3:DeleteObject).
    source = (ROOT / "observability" / "storage" / "s3.py").read_text(encoding="utf-8")
    methods = set(re.findall(r"self\.client\.([a-z_0-9]+)", source)) - {"get_paginator"}
    methods |= set(re.findall(r'get_paginator\("([a-z_0-9]+)"\)', source))
    unknown = methods - set(ACTIONS)
    assert not unknown, f"the S3 store calls {unknown}: map them to IAM actions here and in docs/credentials.md"
    return {ACTIONS[m] for m in methods}


def test_the_documented_policy_grants_exactly_what_the_store_calls():
    assert _called() == _documented()
    assert "s3:DeleteObject" in _documented()  # pruning


def test_the_policy_is_the_one_docs_state_points_to():
    assert "docs/credentials.md" in (ROOT / "docs" / "state.md").read_text(encoding="utf-8")
