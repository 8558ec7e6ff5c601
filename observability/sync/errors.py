"""Typed exceptions of ``sync``, each with its error_code."""

from __future__ import annotations

from observability.errors import ObservabilityError


class SyncFailed(ObservabilityError):
    """Shared storage could not be reached, written or verified; every local artefact is intact."""

    error_code = "sync_failed"
