"""What a reader hands to a dataset builder: parsed values, the inputs read and their hashes."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from observability import fsio
from observability.errors import InputError, MissingInputError
from observability.upstream.values import json_object  # noqa: F401  (the readers' JSON parser, re-exported)


@dataclass
class SourceData:
    """Parsed input for one dataset: ``value`` plus every input file as (workspace path, sha256)."""

    value: Any
    inputs: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    skipped: int = 0

    def source_hash(self, dataset: str, options: dict[str, Any], builder_version: int) -> str:
        """SHA-256 over inputs, options and builder/package version: equal hashes mean an identical rebuild.

        Bump the dataset's ``builder_version`` whenever a builder's output changes for the same input.
        """
        from observability import __version__

        doc = {
            "dataset": dataset,
            "builder_version": builder_version,
            "package": __version__,
            "options": options,
            "inputs": sorted(self.inputs),
        }
        return hashlib.sha256(fsio.canonical_json(doc).encode("utf-8")).hexdigest()

    @property
    def input_paths(self) -> list[str]:
        return sorted({path for path, _ in self.inputs})


def finite_number(value, field: str) -> float:
    """``value`` as a float when it is a JSON number (not a bool, not NaN/inf); ValueError naming ``field``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{field}: expected a finite number, found {value!r}")
    return float(value)


def read_required(
    rel: str,
    path: Path,
    what: str,
    cache,
    parse: Callable[[bytes], Any],
    *,
    read: Callable[[Path], bytes] = Path.read_bytes,
) -> tuple[str, Any]:
    """Read and parse (through the content cache) an input the dataset cannot do without.

    Returns (sha256, parsed); a missing file is MissingInputError and an unreadable or
    unparsable one InputError, each naming the file.
    """
    try:
        data = read(path)
    except FileNotFoundError:
        raise MissingInputError(f"{rel}: {what} not found") from None
    except IsADirectoryError:
        raise InputError(f"{rel}: {what} is a directory, expected a file") from None
    except NotADirectoryError:
        raise InputError(f"{rel}: {what} cannot be read: a directory on its path is a file") from None
    except OSError as exc:
        raise InputError(f"{rel}: cannot read ({exc.strerror or exc})") from None
    try:
        return cache.get_or_compute(rel, data, parse)
    except ValueError as exc:
        raise InputError(f"{rel}: {exc}") from None
