"""What other jobs read of the alert inbox's cache (``ops/alert_inbox.json``): the channels that told
people about an alert, for the ``notified_channels`` of the alert entries they publish (seed 002 §5.2).
"""

from __future__ import annotations

from typing import Any

from observability import fsio
from observability.errors import ObservabilityError
from observability.workspace import Workspace

CACHE_PATH = "ops/alert_inbox.json"
# issue: an issue was opened, commented on (escalation, reminder) or closed; slack, pagerduty, webhook:
# that mirror accepted the message. Only what was actually delivered counts, never what was configured.
CHANNELS = ("issue", "slack", "pagerduty", "webhook")


def channels_of(entry: Any) -> list[str]:
    """The known channels an inbox cache entry lists, in CHANNELS order ([] for anything else)."""
    found = entry.get("notified_channels") if isinstance(entry, dict) else None
    return [c for c in CHANNELS if isinstance(found, list) and c in found]


def notified_channels(ws: Workspace, path: str = CACHE_PATH) -> dict[str, list[str]]:
    """Fingerprint -> the channels notified in the alert's current episode; {} when the cache is missing
    or unreadable (the alerts job rebuilds it; a report then says [] rather than guess)."""
    try:
        doc = fsio.read_json(ws.path(path), default=None)
    except ObservabilityError:
        return {}
    issues = doc.get("issues") if isinstance(doc, dict) else None
    if not isinstance(issues, dict):
        return {}
    return {fp: found for fp, entry in issues.items() if (found := channels_of(entry))}
