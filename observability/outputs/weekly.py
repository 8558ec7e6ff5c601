"""What other jobs need of the weekly job's outputs: the payload's schema and checksum, its delivery alert.

``verify job`` checks stored payloads against :func:`checksum`; the alert webhook mirror sends its
alerts block under :data:`SCHEMA_VERSION`; the alert inbox raises the delivery alert by its id.
"""

from __future__ import annotations

from observability import alertitem, fsio

SCHEMA_NAME = "observability_weekly_report"
# 2.0.0: this project's payload. Its releases before labelled the same shape 1.0.0 (1.1.0 once `freshness`
# was added); the legacy scripts' 1.0.0 (the original design) is another shape: `runs` a list, `budget_status`
# `normal` for ok, an upper-case checksum. docs/weekly.md, "Versions".
# 2.1.0 added `latency.slo_target_percent` and `latency.sources[].hours` (the week's SLO attainment).
SCHEMA_VERSION = "2.1.0"
EARLIER_VERSIONS = ("1.0.0", "1.1.0", "2.0.0")  # this project's own, before 2.1.0: still accepted (stored payloads)
CHECKSUM_FIELD = "payload_checksum_sha256"
LEGACY_BUDGET_STATUS = {"normal": "ok"}  # the legacy scripts' words for our budget statuses

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


MAX_EXACT = 2**53  # the largest magnitude a JSON number keeps exactly as a double; the payload's counts stay far below


def odd_number(doc: object, path: str = "") -> str | None:
    """The first number of a stored payload that is not a finite number within +/-2^53 (its path and value),
    else None. JSON's NaN and Infinity, and a 400-digit integer, are numbers to the payload schema; the
    canonical body is never written with them, and the review's arithmetic raised on them."""
    if isinstance(doc, bool) or doc is None or isinstance(doc, str):
        return None
    if isinstance(doc, float) and not (-MAX_EXACT <= doc <= MAX_EXACT):  # NaN fails both comparisons
        return f"{path or '<root>'}: {doc!r} is not a finite number within +/-2^53"
    if isinstance(doc, int) and not -MAX_EXACT <= doc <= MAX_EXACT:
        return f"{path or '<root>'}: a {len(str(abs(doc)))}-digit number is beyond +/-2^53"
    items = doc.items() if isinstance(doc, dict) else enumerate(doc) if isinstance(doc, list) else ()
    for key, value in items:
        found = odd_number(value, f"{path}[{key}]" if isinstance(key, int) else f"{path}.{key}" if path else key)
        if found:
            return found
    return None


def is_legacy(doc: dict) -> bool:
    """A payload written by the legacy scripts (the original design, ``schema_version`` 1.0.0): ``runs`` is a
    list of runs, not this project's ``{baseline, rolling, summary}``."""
    return isinstance(doc.get("runs"), list)


def budget_status(doc: dict) -> str | None:
    """``portfolio.budget_status`` as this project names it: a legacy payload's ``normal`` reads ``ok``."""
    portfolio = doc.get("portfolio")
    value = portfolio.get("budget_status") if isinstance(portfolio, dict) else None
    return LEGACY_BUDGET_STATUS.get(value, value) if isinstance(value, str) else None


def checksum_matches(doc: dict) -> bool:
    """The stored ``payload_checksum_sha256`` is the body's; a legacy payload may spell it in upper case."""
    stored = doc.get(CHECKSUM_FIELD)
    if not isinstance(stored, str):
        return False
    expected = checksum(doc)
    return stored == expected or (is_legacy(doc) and stored.lower() == expected)
