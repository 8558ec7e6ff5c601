"""What other jobs need of the weekly job's outputs: the payload's schema and checksum, its delivery alert.

``verify job`` checks stored payloads against :func:`checksum`; the alert webhook mirror sends its
alerts block under :data:`SCHEMA_VERSION`; the alert inbox raises the delivery alert by its id.
"""

from __future__ import annotations

from observability import alertitem, fsio

SCHEMA_NAME = "observability_weekly_report"
SCHEMA_VERSION = "1.1.0"  # 1.1.0 added `freshness` and `stale_input` alerts
CHECKSUM_FIELD = "payload_checksum_sha256"

DELIVERY_RULE = "webhook_delivery"  # the alert raised while a week waits for a replay
DELIVERY_SUBJECT = "weekly_report"


def checksum(payload: dict) -> str:
    """SHA-256 (lowercase hex) of the canonical body without the checksum field."""
    from observability.digest import sha256_hex  # hashlib (OpenSSL) only when a payload is checked

    body = {k: v for k, v in payload.items() if k != CHECKSUM_FIELD}
    return sha256_hex(fsio.canonical_json(body).encode("utf-8"))


def delivery_alert_id() -> str:
    """The delivery alert's fingerprint (``weekly|webhook_delivery|weekly_report``)."""
    return alertitem.fingerprint("weekly", DELIVERY_RULE, DELIVERY_SUBJECT)
