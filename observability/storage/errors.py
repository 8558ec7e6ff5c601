"""The storage layer's two failures: a bad URL (usage, exit 2) and a failed call (each user's job names it)."""

from __future__ import annotations

from observability.errors import ConfigError


class StoreUrlError(ConfigError):
    """A storage URL (--store / OBS_STATE_STORE, --to / OBS_SYNC_TO) is missing or malformed."""

    error_code = "invalid_store_url"


class StorageError(Exception):
    """One storage call failed; the job that made it turns this into its own typed error.

    ``message`` names the storage, the action and the key (never a credential); ``detail`` is the
    part in parentheses (``NoSuchBucket: ...``). ``retryable`` when another attempt may work
    (connection refused, timeout, 5xx, throttling); ``missing`` when the key does not exist;
    ``conflict`` when a conditional write found the key already there.
    """

    def __init__(
        self,
        message: str,
        *,
        detail: str = "",
        code: str = "",
        status: int = 0,
        retryable: bool = False,
        missing: bool = False,
        conflict: bool = False,
    ):
        super().__init__(message)
        self.message = message
        self.detail = detail
        self.code = code
        self.status = status
        self.retryable = retryable
        self.missing = missing
        self.conflict = conflict
