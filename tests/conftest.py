"""Suite-wide settings for in-process runs.

GitHub write pacing (``github.write_interval_seconds``, default 1 s between mutating calls) is set
to 0 for every test: the defaults are read when a client or an alerts.yaml is made, so patching
them here reaches every in-process run. The pacing itself is proven by the tests of
tests/test_alerts_conditional.py that undo this (timestamps recorded by the fake API).
"""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _no_github_write_pacing(monkeypatch):
    from observability.config import alerts as alerts_config
    from observability.github import rest

    monkeypatch.setattr(rest, "WRITE_INTERVAL_SECONDS", 0.0)
    monkeypatch.setattr(alerts_config, "DEFAULT_WRITE_INTERVAL_SECONDS", 0.0)
