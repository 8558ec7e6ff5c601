"""The layout ``sync push`` leaves on shared storage, which the nightly ``verify --sync-to`` re-reads.

Keys under the target: ``index.json`` (schema ``sync_index``), ``dashboard/<date>/<export job_id>/``
(the bundle: datasets, README.json, manifest.json) and ``weekly/<week_start>/<week_start>.json`` + ``.sig``.
"""

from __future__ import annotations

INDEX_KEY = "index.json"
INDEX_SCHEMA = "sync_index"
KINDS = ("dashboard", "weekly")
MANIFEST = "manifest.json"
SCHEMES = "file:///abs/dir, s3://bucket/prefix"
URL_ENV = "OBS_SYNC_TO"


def weekly_keys(week: str) -> tuple[str, str]:
    """The payload's and its signature's keys for ``week`` (``YYYY-MM-DD``)."""
    prefix = f"weekly/{week}/"
    return prefix + f"{week}.json", prefix + f"{week}.sig"


def day_prefix(prefix: str) -> str:
    """``dashboard/<date>/`` for ``dashboard/<date>/<job_id>/`` (what a retention prune removes whole)."""
    return "/".join(prefix.split("/")[:2]) + "/"
