"""Typed exceptions shared by every job; each maps to an error_code and an exit code."""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


class ObservabilityError(Exception):
    """A job failed for a reason worth explaining to the person on call."""

    error_code = "job_failed"
    exit_code = EXIT_FAILED

    def __init__(self, message: str, *, error_code: str | None = None, **details: object):
        super().__init__(message)
        self.message = message
        if error_code:
            self.error_code = error_code
        self.details = details


class ConfigError(ObservabilityError):
    """A configuration file or option is invalid (names the file and the field)."""

    error_code = "invalid_config"
    exit_code = EXIT_USAGE

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        col: int | None = None,
        error_code: str | None = None,
        **details: object,
    ):
        super().__init__(message, error_code=error_code, **details)
        # Where the problem is (a config file, 1-based line and column), when known: a GitHub
        # annotation links to it. Kept out of ``details``, which go into the JSON diagnostics.
        self.file, self.line, self.col = file, line, col


class InputError(ObservabilityError):
    """An input file is missing or malformed (names the file)."""

    error_code = "invalid_input"


class MissingInputError(InputError):
    """An input file does not exist."""

    error_code = "missing_input"


class WorkspaceError(ObservabilityError):
    """The workspace cannot be read or written."""

    error_code = "workspace_error"


class NotAWorkspaceError(WorkspaceError):
    """The directory a job was pointed at is not a workspace (names it and the command that makes one)."""

    error_code = "not_a_workspace"
    exit_code = EXIT_USAGE


class SchemaError(ObservabilityError):
    """A document we are about to write does not match its schema."""

    error_code = "schema_validation_failed"
