"""Typed failures of an input pull; each names the input and its source (never a credential)."""

from __future__ import annotations

from observability.errors import ObservabilityError


class InputUnavailable(ObservabilityError):
    """A source could not be read (network, permission, missing object, bad answer)."""

    error_code = "input_unavailable"


class UnsafeInput(ObservabilityError):
    """A source or destination would write outside its place (``..``, absolute path, symlink)."""

    error_code = "unsafe_input"
