"""A reference implementation called with coverage's measurement paused, for the agreement tables.

Some tests compare the product with a reference (jsonschema in test_schemacheck.py, PyYAML in
test_plainyaml.py) thousands of times. The reference is not code under test and coverage does not
measure it, but under ``--cov`` coverage's tracer still sees every one of its calls: in
test_schemacheck.py that was about half the file's time. :func:`untraced` stops measurement around
such a call (coverage's public ``stop``/``start``) and is a plain call without ``--cov``. Only for calls
that never run the package's own code: nothing is measured in between.

:func:`measured_only_if` is for the same tables' bulk: the product code they run thousands of times
is measured on a sample of the cases (the first seeds), and the rest of the table runs with measurement
paused. Every case is still checked; only coverage's bookkeeping (which doubles the time of Python
code on 3.11, measured or not, while a tracer is set) is skipped where it would record nothing new.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import TypeVar

try:
    import coverage
except ImportError:  # pragma: no cover - coverage comes with the [test] extra (pytest-cov)
    coverage = None  # type: ignore[assignment]

T = TypeVar("T")
_paused = False  # inside measured_only_if(False): untraced must not restart coverage


@contextlib.contextmanager
def measured_only_if(measured: bool) -> Iterator[None]:
    """The block with coverage's measurement on (``measured``) or paused (a plain block without --cov)."""
    global _paused
    cov = coverage.Coverage.current() if coverage is not None else None
    if measured or cov is None or _paused:
        yield
        return
    cov.stop()
    _paused = True
    try:
        yield
    finally:
        _paused = False
        cov.start()


def untraced(call: Callable[..., T], *args, **kwargs) -> T:
    """``call(*args, **kwargs)`` with coverage's measurement paused when it is running."""
    cov = coverage.Coverage.current() if coverage is not None else None
    if cov is None or _paused:
        return call(*args, **kwargs)
    cov.stop()
    try:
        return call(*args, **kwargs)
    finally:
        cov.start()
