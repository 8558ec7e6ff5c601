"""The workspace root and the default location of every artefact in it."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from observability import fsio, jobs
from observability.errors import ConfigError, NotAWorkspaceError, WorkspaceError

# What makes a directory a workspace: the configuration `observability init` scaffolds, or the ops/
# tree a state pull, an earlier run or an upstream trading checkout brings. A code checkout has neither.
MARKERS = ("ops", "configs/observability")


@dataclass(frozen=True)
class Workspace:
    """The repository checkout a job reads and writes: its paths and their rules."""

    root: Path

    @classmethod
    def open(cls, root: str | os.PathLike | None) -> Workspace:
        """Resolve ``--workspace`` / OBS_WORKSPACE / the current directory and check it exists."""
        chosen = Path(root or os.environ.get("OBS_WORKSPACE") or ".").expanduser()
        if not chosen.is_dir():
            # A path that is not a directory is bad usage (exit 2), not a workspace that failed.
            reason = "does not exist" if not chosen.exists() else "is a file, not a directory"
            raise ConfigError(f"workspace {chosen} (--workspace / OBS_WORKSPACE): {reason}")
        return cls(chosen.resolve())

    def output_file(self, value: str | os.PathLike, option: str) -> Path:
        """The file ``option`` names for a job to write, checked before anything is written.

        A directory at that path, or a file where one of its directories should be, is a usage
        error (exit 2) naming the option, instead of a failure halfway through the run.
        """
        path = self._given(value, option)
        if path.is_dir():
            raise ConfigError(f"{self._named(option, path)}: is a directory, expected a file")
        self._ancestors_are_directories(path, option)
        self._not_the_run_log(path, option)
        return path

    def _not_the_run_log(self, path: Path, option: str) -> None:
        """The automation log, its sequence and segments are written only by the log itself: a report
        sent there (``log kpi --output ops/automation_runs.log``) would replace every run's record."""
        real = path.resolve()
        for owned, what in ((self.run_log, "automation log"), (self.run_sequence, "automation log sequence")):
            if real == owned.resolve():
                raise ConfigError(
                    f"{self._named(option, path)}: is the {what} (only runs write it); choose another path"
                )
        if real.is_relative_to(self.run_segments.resolve()):
            raise ConfigError(f"{self._named(option, path)}: is under the automation log's segments")

    def output_dir(self, value: str | os.PathLike, option: str) -> Path:
        """The directory ``option`` names for a job to write into, checked like ``output_file``
        (``option`` empty for a fixed location: the message then names only the path)."""
        path = self._given(value, option)
        if path.exists() and not path.is_dir():
            raise ConfigError(f"{self._named(option, path)}: is a file, expected a directory")
        self._ancestors_are_directories(path, option)
        return path

    def _given(self, value: str | os.PathLike, option: str) -> Path:
        """An empty value (an unset variable or action input) would name the workspace root itself: a
        bundle written there, and an upload of ``{bundle_dir}``, would take the whole workspace."""
        if not str(value).strip():
            raise ConfigError(
                f"{option or 'output path'}: empty path (an unset variable?); give a path, or leave "
                "the option out for its default"
            )
        return self.path(value)

    def _named(self, option: str, path: Path) -> str:
        return f"{option} {self.rel(path)}" if option else self.rel(path)

    def _ancestors_are_directories(self, path: Path, option: str) -> None:
        for ancestor in path.parents:
            if ancestor.exists():
                if not ancestor.is_dir():
                    raise ConfigError(
                        f"{self._named(option, path)}: {self.rel(ancestor)} is a file, expected a directory"
                    )
                return

    def path(self, relative: str | os.PathLike) -> Path:
        """A workspace path; absolute paths are kept as given."""
        candidate = Path(relative)
        return candidate if candidate.is_absolute() else self.root / candidate

    def rel(self, path: str | os.PathLike) -> str:
        """Workspace-relative POSIX path when inside the workspace, else the absolute path."""
        resolved = Path(path)
        if not resolved.is_absolute():
            resolved = self.root / resolved
        try:
            return resolved.relative_to(self.root).as_posix()
        except ValueError:
            return resolved.as_posix()

    # Shared locations (every job)
    @property
    def ops(self) -> Path:
        return self.root / "ops"

    @property
    def out(self) -> Path:
        return self.root / "out"

    @property
    def run_log(self) -> Path:
        return self.ops / "automation_runs.log"

    @property
    def run_sequence(self) -> Path:
        return self.ops / "automation_runs.sequence"

    @property
    def run_segments(self) -> Path:
        """Rotated, gzip-compressed segments of the automation log (``YYYY/MM/<range>.jsonl.gz``)."""
        return self.ops / "automation_runs"

    def heartbeat(self, job: str) -> Path:
        return self.ops / jobs.heartbeat_name(job)

    def lock(self, job: str) -> Path:
        return self.ops / f".{job}.lock"

    def config(self, name: str) -> Path:
        return self.root / "configs" / "observability" / name

    def ensure_writable(self) -> None:
        """Fail early, naming the directory, when ops/ or out/ cannot be written."""
        for directory in (self.ops, self.out):
            try:
                directory.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise WorkspaceError(f"{directory}: cannot create ({exc.strerror or exc})") from None
            if not os.access(directory, os.W_OK):
                raise WorkspaceError(f"{directory}: not writable")

    def is_workspace(self) -> bool:
        return any((self.root / marker).is_dir() for marker in MARKERS)

    def require_workspace(self) -> None:
        """Refuse a directory that is not a workspace, rather than quietly creating ops/ and out/ in it."""
        if not self.is_workspace():
            raise NotAWorkspaceError(
                f"{self.root} is not an observability workspace (it has no ops/ or configs/observability/); "
                "run the job in one (--workspace DIR or OBS_WORKSPACE), or make this one with "
                "`observability state pull --store URL` (restores ops/ from the state store) or "
                "`observability init DIR --repository OWNER/REPO --ref SHA` (scaffolds configs/observability/)",
                directory=str(self.root),
            )

    def sweep_temps(self, *, max_age_s: float = fsio.TEMP_MAX_AGE_S) -> list[str]:
        """Remove temp files killed atomic writes left in ops/ and out/; returns their workspace paths."""
        return [self.rel(p) for p in fsio.sweep_temps([self.ops, self.out], max_age_s=max_age_s)]
