"""A reference implementation called with coverage's measurement paused, for the agreement tables.

Some tests compare the product with a reference (jsonschema in test_schemacheck.py, PyYAML in
test_plainyaml.py) thousands of times. The reference is not code under test and coverage does not
measure it, but under ``--cov`` coverage's tracer still sees every one of its calls: in
test_schemacheck.py that was about half the file's time. :func:`untraced` stops measurement around
such a call (coverage's public ``stop``/``start``) and is a plain call without ``--cov``. Only for calls
that never run the package's own code: nothing is measured in between.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

try:
    import coverage
except ImportError:  # pragma: no cover - coverage comes with the [test] extra (pytest-cov)
    coverage = None  # type: ignore[assignment]

T = TypeVar("T")


def untraced(call: Callable[..., T], *args, **kwargs) -> T:
    """``call(*args, **kwargs)`` with coverage's measurement paused when it is running."""
    cov = coverage.Coverage.current() if coverage is not None else None
    if cov is None:
        return call(*args, **kwargs)
    cov.stop()
    try:
        return call(*args, **kwargs)
    finally:
        cov.start()
