"""Where the bundled schemas and the ops-template live, in a checkout or in an installed wheel."""

from __future__ import annotations

from functools import cache
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


@cache
def data_dir(name: str) -> Path:
    """Return the directory ``schemas`` or ``ops-template`` (wheel copy first, then the checkout)."""
    for candidate in (_PACKAGE_DIR / "_data" / name, _PACKAGE_DIR.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"bundled directory {name!r} not found next to {_PACKAGE_DIR}")


def schema_path(name: str) -> Path:
    return data_dir("schemas") / f"{name}.schema.json"


def template_dir() -> Path:
    return data_dir("ops-template")
