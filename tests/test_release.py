"""The release workflow's notes come from CHANGELOG.md, and a tag that disagrees with the package fails."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / ".github" / "release_notes.py"
spec = importlib.util.spec_from_file_location("release_notes", SCRIPT)
release_notes = importlib.util.module_from_spec(spec)
spec.loader.exec_module(release_notes)

CHANGELOG = """# Changelog

## [Unreleased]

### Added
- next thing

## [1.2.0] - 2026-11-28

### Added
- a thing

### Fixed
- a bug

## [1.1.0] - 2026-10-01

- older
"""
PYPROJECT = '[project]\nname = "observability"\nversion = "1.2.0"\n'


def test_notes_are_the_section_of_the_tagged_version():
    text = release_notes.notes("v1.2.0", CHANGELOG, PYPROJECT)
    assert text.startswith("### Added\n- a thing") and "- a bug" in text
    assert "next thing" not in text and "older" not in text


@pytest.mark.parametrize(
    "tag,pyproject,changelog,message",
    [
        ("v1.2", PYPROJECT, CHANGELOG, "expected vX.Y.Z"),
        ("v1.3.0", PYPROJECT, CHANGELOG, "version 1.2.0 does not match tag v1.3.0"),
        ("v1.3.0", PYPROJECT.replace("1.2.0", "1.3.0"), CHANGELOG, "no '## [1.3.0] - YYYY-MM-DD' section"),
        (
            "v1.2.0",
            PYPROJECT,
            CHANGELOG.replace("### Added\n- a thing\n\n### Fixed\n- a bug\n", ""),
            "section is empty",
        ),
        ("v1.2.0", "[project]\n", CHANGELOG, "no version"),
    ],
)
def test_a_release_that_disagrees_is_refused(tag, pyproject, changelog, message):
    with pytest.raises(release_notes.ReleaseError, match=message.replace("[", r"\[").replace("]", r"\]")):
        release_notes.notes(tag, changelog, pyproject)


def test_the_repository_can_release_its_current_version():
    """pyproject's version has its CHANGELOG section: tagging HEAD as v<version> would publish."""
    pyproject = (ROOT / "pyproject.toml").read_text()
    version = release_notes.project_version(pyproject)
    done = subprocess.run([sys.executable, str(SCRIPT), f"v{version}"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip()
    wrong = subprocess.run([sys.executable, str(SCRIPT), "v0.0.0"], cwd=ROOT, capture_output=True, text=True)
    assert wrong.returncode == 1 and "does not match tag v0.0.0" in wrong.stderr
