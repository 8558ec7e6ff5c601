"""Print the CHANGELOG.md section of one release, for the release workflow (no dependencies).

Usage: python3 .github/release_notes.py TAG [CHANGELOG.md] [pyproject.toml]

TAG is ``vX.Y.Z``. Exits 1, naming the file, when the tag does not match the version in
pyproject.toml, or when CHANGELOG.md has no non-empty ``## [X.Y.Z] - YYYY-MM-DD`` section: a
release is cut only from a commit whose changelog says what it holds.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

TAG = re.compile(r"^v(\d+\.\d+\.\d+)$")


class ReleaseError(Exception):
    """The tag, the package version and the changelog disagree."""


def project_version(pyproject: str) -> str:
    match = re.search(r'^version\s*=\s*"([^"]+)"', pyproject, re.M)
    if not match:
        raise ReleaseError('pyproject.toml: no version = "..." line in [project]')
    return match.group(1)


def section(changelog: str, version: str) -> str:
    """The body of ``## [version] - date`` up to the next ``## `` heading, stripped."""
    heading = re.compile(rf"^## \[{re.escape(version)}\] - \d{{4}}-\d{{2}}-\d{{2}}\s*$", re.M)
    match = heading.search(changelog)
    if not match:
        raise ReleaseError(f"CHANGELOG.md: no '## [{version}] - YYYY-MM-DD' section")
    rest = changelog[match.end() :]
    following = re.search(r"^## ", rest, re.M)
    body = (rest[: following.start()] if following else rest).strip()
    if not body:
        raise ReleaseError(f"CHANGELOG.md: the [{version}] section is empty")
    return body


def notes(tag: str, changelog: str, pyproject: str) -> str:
    match = TAG.match(tag)
    if not match:
        raise ReleaseError(f"tag {tag!r}: expected vX.Y.Z")
    version = match.group(1)
    declared = project_version(pyproject)
    if declared != version:
        raise ReleaseError(f"pyproject.toml: version {declared} does not match tag {tag}")
    return section(changelog, version) + "\n"


def main(argv: list[str]) -> int:
    if not 1 <= len(argv) <= 3:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    changelog = Path(argv[1] if len(argv) > 1 else "CHANGELOG.md").read_text(encoding="utf-8")
    pyproject = Path(argv[2] if len(argv) > 2 else "pyproject.toml").read_text(encoding="utf-8")
    try:
        sys.stdout.write(notes(argv[0], changelog, pyproject))
    except ReleaseError as exc:
        print(f"release: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
