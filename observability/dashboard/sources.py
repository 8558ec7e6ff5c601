"""What a reader hands to a dataset builder: parsed values, the inputs read and their hashes."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from observability import fsio


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

        doc = {"dataset": dataset, "builder_version": builder_version, "package": __version__, "options": options,
               "inputs": sorted(self.inputs)}
        return hashlib.sha256(fsio.canonical_json(doc).encode("utf-8")).hexdigest()

    @property
    def input_paths(self) -> list[str]:
        return sorted({path for path, _ in self.inputs})
