"""configs/observability/inputs.yaml: the one place that says where each upstream input comes from."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from observability import jobs as registry
from observability.config import load_yaml
from observability.errors import ConfigError

INPUTS_CONFIG = "configs/observability/inputs.yaml"
KINDS = ("repository", "s3", "https", "artifact")
JOBS = registry.input_readers()  # the jobs that read upstream inputs (observability.jobs)
# Who reads an input when inputs.yaml does not say: the signal log feeds latency; runs/, reports/
# and the state archive feed the weekly report and the dashboard.
DEFAULT_JOBS = {True: ("latency",), False: ("weekly", "dashboard")}


@dataclass(frozen=True)
class InputSpec:
    """One declared input: a workspace destination and the source it is copied from."""

    name: str
    destination: str
    kind: str
    source: dict[str, Any] = field(repr=False)  # the kind's block as validated (names env vars, holds no secret)
    incremental: bool = False
    jobs: tuple[str, ...] = ()

    def wanted_by(self, job: str) -> bool:
        """True when ``job`` reads this input (``chain`` runs latency, weekly and dashboard)."""
        return job == registry.job("workflow").workflow or job in self.jobs

    @property
    def single_file(self) -> bool:
        """True when the source names one file (the destination is a file), else a directory."""
        if self.kind == "https":
            return True
        if self.kind == "s3":
            return "key" in self.source
        return False  # repository / artifact: decided by what the path names at fetch time


def load(path: Path, *, display: str) -> tuple[InputSpec, ...]:
    """Parse and validate inputs.yaml; errors name the file, line and field (exit 2)."""
    data = load_yaml(path, "inputs_config", display=display)
    specs: list[InputSpec] = []
    names: set[str] = set()
    destinations: list[tuple[str, str]] = []
    for index, item in enumerate(data.get("inputs", [])):
        where = f"{display}: field inputs[{index}]"
        kind = next(k for k in KINDS if k in item)
        name, dest = item["name"], _normalise(item["destination"], f"{where}.destination")
        if name in names:
            raise ConfigError(f"{where}.name: {name!r} is declared twice")
        names.add(name)
        for other_name, other in destinations:
            if dest == other or dest.startswith(other + "/") or other.startswith(dest + "/"):
                raise ConfigError(f"{where}.destination: {dest!r} overlaps input {other_name!r} ({other!r})")
        destinations.append((name, dest))
        incremental = bool(item.get("incremental", False))
        if incremental and not (kind == "https" or (kind == "s3" and "key" in item["s3"])):
            raise ConfigError(f"{where}.incremental: only an https source or an s3 key can be read incrementally")
        if dest.split("/")[0] in ("out",) or dest in ("ops", "configs") or dest.startswith("configs/"):
            raise ConfigError(
                f"{where}.destination: {dest!r} is not an input location (out/ and configs/ "
                "belong to the jobs and the repository)"
            )
        if dest.startswith("ops/") and not (dest == "ops/state_archive" or dest.startswith("ops/state_archive/")):
            raise ConfigError(
                f"{where}.destination: under ops/ only ops/state_archive is an upstream input "
                "(the rest of ops/ is the state the store carries)"
            )
        jobs = tuple(item.get("jobs") or DEFAULT_JOBS[incremental])
        specs.append(InputSpec(name, dest, kind, dict(item[kind]), incremental, jobs))
    return tuple(specs)


def _normalise(rel: str, where: str) -> str:
    parts = [p for p in rel.split("/") if p not in ("", ".")]
    if not parts or rel.startswith("/") or ".." in parts or "\\" in rel:
        raise ConfigError(f"{where}: {rel!r} must be a workspace-relative path without '..'")
    return "/".join(parts)
