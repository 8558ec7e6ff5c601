"""Typed exceptions of the state store, each with its error_code."""

from __future__ import annotations

from observability.errors import ObservabilityError
from observability.storage.errors import StoreUrlError  # the storage layer's: raised by its URL parser

__all__ = ["SnapshotCorrupt", "StateConflict", "StoreNotInitialised", "StoreUnreachable", "StoreUrlError"]


class StoreUnreachable(ObservabilityError):
    """The state store cannot be reached, read or written; nothing local was changed."""

    error_code = "store_unreachable"


class SnapshotCorrupt(ObservabilityError):
    """A manifest or blob in the store fails its schema or checksum; nothing local was changed."""

    error_code = "snapshot_corrupt"


class StateConflict(ObservabilityError):
    """Another run pushed a snapshot that changed the same files as this run; nothing was pushed."""

    error_code = "state_conflict"


class StoreNotInitialised(ObservabilityError):
    """The store URL names no initialised store (no marker, no generation); nothing was changed."""

    error_code = "store_not_initialised"
