"""The runtime derives every job's status from what the job reports (runtime.derive_status)."""

from __future__ import annotations

import pytest

from observability.runtime import JobResult, derive_status


@pytest.mark.parametrize(
    ("failed", "skipped", "dry_run", "findings", "status"),
    [
        (False, None, False, [], "ok"),
        (False, None, False, ["input_warnings"], "warning"),
        (False, None, False, ["alert_firing", "rows_rejected"], "warning"),
        (False, None, True, [], "dry_run"),
        (False, None, True, ["input_warnings"], "dry_run"),  # a dry run never reports warning
        (False, "lock_not_acquired", False, [], "skipped"),
        (False, "already_delivered", True, ["input_warnings"], "skipped"),
        (True, None, False, [], "error"),
        (True, None, True, ["input_warnings"], "error"),
        (True, "lock_not_acquired", True, ["x"], "error"),
    ],
)
def test_derivation_table(failed, skipped, dry_run, findings, status):
    assert derive_status(failed=failed, skipped=skipped, dry_run=dry_run, findings=findings) == status
    result = JobResult(failed=failed, skipped=skipped, dry_run=dry_run, findings=list(findings))
    assert result.status == status


def test_a_plain_result_is_ok():
    assert JobResult().status == "ok"


def test_findings_added_after_construction_count():
    result = JobResult()
    result.findings.append("mirror_failed")
    assert result.status == "warning"
    result.failed = True
    assert result.status == "error"
