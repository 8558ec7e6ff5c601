"""Where the bundled schemas and the ops-template live, in a checkout or in an installed wheel."""

from __future__ import annotations

from functools import cache
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


# Where each bundled item lives in a source checkout (the wheel keeps them all under _data/).
_CHECKOUT = {"schemas": "schemas", "ops-template": "ops-template", "credentials.md": "docs/credentials.md"}


@cache
def data_path(name: str) -> Path:
    """A bundled file or directory: the wheel's copy first, then the source checkout's."""
    for candidate in (_PACKAGE_DIR / "_data" / name, _PACKAGE_DIR.parent / _CHECKOUT[name]):
        if candidate.exists():
            return candidate
    raise FileNotFoundError(f"bundled {name!r} not found next to {_PACKAGE_DIR}")


def data_dir(name: str) -> Path:
    """The bundled directory ``schemas`` or ``ops-template``."""
    return data_path(name)


def schema_path(name: str) -> Path:
    return data_dir("schemas") / f"{name}.schema.json"


def template_dir() -> Path:
    return data_dir("ops-template")
