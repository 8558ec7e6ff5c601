"""The XML reports CI leaves behind, read safely: Cobertura coverage (pytest-cov) and JUnit (pytest).

Parsed with expat directly: a DOCTYPE naming an external DTD (coverage.py writes one) is accepted but
never fetched; an internal subset, any entity declaration and any entity expat would have to resolve
are refused, so no entity is ever expanded (the billion-laughs and external-entity attacks).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from observability.errors import InputError, MissingInputError

MAX_BYTES = 256 * 1024 * 1024  # a coverage report of a very large project is tens of MB
SLOWEST = 5  # the slowest test cases an entry keeps
DEDUP_LIMIT = 200_000  # test ids remembered to fold rerun attempts into one test (memory bound)


class _Refused(Exception):
    def __init__(self, what: str):
        super().__init__(what)
        self.what = what


class _Element:
    """What a report reader sees of an element: its tag and attributes (no tree is built: a report of
    tens of MB is read in constant memory)."""

    __slots__ = ("tag", "attrib")

    def __init__(self, tag: str, attrib: dict[str, str]):
        self.tag, self.attrib = tag, attrib

    def get(self, name: str) -> str | None:
        return self.attrib.get(name)


def parse(
    path: Path,
    *,
    display: str,
    what: str,
    start: Callable[[_Element, int], None],
    end: Callable[[str, int], None] | None = None,
) -> None:
    """Read the XML file ``path`` through expat, calling ``start(element, depth)`` and ``end(tag, depth)``
    (the root at depth 0); InputError naming ``display`` and the line when it is missing, unreadable, not
    XML, or declares a DTD subset or entities."""
    import xml.parsers.expat as expat

    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise MissingInputError(f"{display}: {what} not found") from None
    except OSError as exc:
        raise InputError(f"{display}: cannot read {what} ({exc.strerror or exc})") from None
    if path.is_dir():
        raise InputError(f"{display}: {what} is a directory, expected a file")
    if size > MAX_BYTES:
        raise InputError(f"{display}: {what} is {size} bytes, more than the {MAX_BYTES} read")
    parser = expat.ParserCreate()
    depth = 0

    def doctype(name, system_id, public_id, has_internal_subset):
        if has_internal_subset:
            raise _Refused("a DOCTYPE with an internal DTD subset")

    def entity(name, *args):
        raise _Refused(f"an entity declaration ({name})")

    def unresolved(*args):
        raise _Refused("a reference to an entity that is not predefined")

    def started(tag, attrib):
        nonlocal depth
        start(_Element(tag, attrib), depth)
        depth += 1

    def ended(tag):
        nonlocal depth
        depth -= 1
        if end is not None:
            end(tag, depth)

    parser.StartDoctypeDeclHandler = doctype
    parser.EntityDeclHandler = entity
    parser.UnparsedEntityDeclHandler = entity
    parser.ExternalEntityRefHandler = unresolved
    parser.SkippedEntityHandler = unresolved
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartElementHandler = started
    parser.EndElementHandler = ended
    try:
        with open(path, "rb") as handle:
            parser.ParseFile(handle)
    except _Refused as exc:
        raise InputError(
            f"{display}:{parser.CurrentLineNumber}: {what} refused: {exc.what} (entities are never expanded; "
            "write the report without a DTD)",
            error_code="hostile_input",
        ) from None
    except expat.ExpatError as exc:
        raise InputError(
            f"{display}:{exc.lineno}: {what} is not well-formed XML ({expat.errors.messages[exc.code]})"
        ) from None
    except OSError as exc:
        raise InputError(f"{display}: cannot read {what} ({exc.strerror or exc})") from None


def _number(element: _Element, name: str, display: str, *, integer: bool = False) -> float | None:
    raw = element.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = int(raw) if integer else float(raw)
    except ValueError:
        raise InputError(f"{display}: attribute {name}={raw!r} of <{element.tag}> is not a number") from None
    if value < 0 or value != value or value in (float("inf"),):
        raise InputError(f"{display}: attribute {name}={raw!r} of <{element.tag}> must be a finite number >= 0")
    return value


@dataclass(frozen=True)
class Coverage:
    """A Cobertura report's totals: percentages with two decimals, branch figures None when not measured."""

    line_pct: float
    branch_pct: float | None
    lines_valid: int | None
    lines_covered: int | None
    branches_valid: int | None
    branches_covered: int | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "line_pct": self.line_pct,
            "branch_pct": self.branch_pct,
            "lines_valid": self.lines_valid,
            "lines_covered": self.lines_covered,
            "branches_valid": self.branches_valid,
            "branches_covered": self.branches_covered,
        }


def _pct(covered: float | None, valid: float | None, rate: float | None) -> float | None:
    """The percentage from the counts when there are any (exact), else from the rate attribute."""
    if covered is not None and valid:
        return round(100.0 * covered / valid, 2)
    if rate is not None and valid is None:
        return round(100.0 * rate, 2)
    return None


def coverage(path: Path, *, display: str) -> Coverage:
    """The totals of a Cobertura XML report (``coverage xml``, ``pytest --cov-report=xml``)."""
    found: list[_Element] = []

    def start(element: _Element, depth: int) -> None:
        if depth == 0:
            found.append(element)  # the totals are the root's attributes; the rest is only checked as XML

    parse(path, display=display, what="coverage report", start=start)
    root = found[0]
    if root.tag != "coverage":
        raise InputError(f"{display}: not a Cobertura coverage report (root element <{root.tag}>, expected <coverage>)")
    line_rate = _number(root, "line-rate", display)
    branch_rate = _number(root, "branch-rate", display)
    for name, rate in (("line-rate", line_rate), ("branch-rate", branch_rate)):
        if rate is not None and rate > 1:
            raise InputError(f"{display}: attribute {name}={rate} of <coverage> must be between 0 and 1")
    lines_valid = _number(root, "lines-valid", display, integer=True)
    lines_covered = _number(root, "lines-covered", display, integer=True)
    branches_valid = _number(root, "branches-valid", display, integer=True)
    branches_covered = _number(root, "branches-covered", display, integer=True)
    for covered, valid, name in ((lines_covered, lines_valid, "lines"), (branches_covered, branches_valid, "branches")):
        if covered is not None and valid is not None and covered > valid:
            raise InputError(f"{display}: {name}-covered={covered:g} is more than {name}-valid={valid:g}")
    line_pct = _pct(lines_covered, lines_valid, line_rate)
    if line_pct is None:
        if lines_valid == 0:
            line_pct = 100.0  # nothing to cover: coverage.py reports line-rate 1
        else:
            raise InputError(f"{display}: <coverage> has neither line-rate nor lines-covered/lines-valid")
    # coverage.py writes branch-rate="0" and branches-valid="0" when branch coverage is off: not measured
    branch_pct = _pct(branches_covered, branches_valid, branch_rate) if branches_valid != 0 else None
    return Coverage(
        line_pct=line_pct,
        branch_pct=branch_pct,
        lines_valid=None if lines_valid is None else int(lines_valid),
        lines_covered=None if lines_covered is None else int(lines_covered),
        branches_valid=None if branches_valid is None else int(branches_valid),
        branches_covered=None if branches_covered is None else int(branches_covered),
    )


@dataclass(frozen=True)
class Tests:
    """A JUnit report's counts: one outcome per test case, durations in seconds."""

    total: int
    passed: int
    failed: int
    errors: int
    skipped: int
    duration_seconds: float
    slowest: tuple[tuple[str, float], ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "passed": self.passed,
            "failed": self.failed,
            "errors": self.errors,
            "skipped": self.skipped,
            "duration_seconds": self.duration_seconds,
            "slowest": [{"test": name, "seconds": seconds} for name, seconds in self.slowest],
        }


def junit(path: Path, *, display: str) -> Tests:
    """The test counts and durations of a JUnit XML report (``pytest --junitxml``)."""
    # One outcome per test, the last attempt's: pytest-rerunfailures writes a <testcase> for every
    # attempt (an earlier one empty, as if passed), so a test rerun twice must count once, not thrice.
    # Memory stays bounded: at most DEDUP_LIMIT test ids are remembered (a real suite has far fewer);
    # past that a case counts as a test of its own and only the slowest such cases are kept.
    seen: dict[str, list[Any]] = {}  # key -> [outcome, seconds over every attempt, name]
    counts = {"passed": 0, "failed": 0, "errors": 0, "skipped": 0}
    cases: list[tuple[str, float]] = []  # the slowest cases past the limit
    beyond, total = [0], [0.0]  # cases past the limit; every case's seconds
    times: list[float] = []
    root: list[str] = []
    case: list[Any] = []  # the open <testcase>: [name, seconds, depth, child tags, key]

    def start(element: _Element, depth: int) -> None:
        if depth == 0:
            root.append(element.tag)
            if element.tag not in ("testsuites", "testsuite"):
                raise InputError(f"{display}: not a JUnit report (root element <{element.tag}>, expected <testsuites>)")
        if element.tag == "testsuite":
            seconds = _number(element, "time", display)
            if seconds is not None:
                times.append(seconds)
        elif element.tag == "testcase" and not case:
            name = "::".join(p for p in (element.get("classname"), element.get("name")) if p) or "(unnamed)"
            key = (
                "\0".join(element.get(a) or "" for a in ("file", "classname", "name")) if name != "(unnamed)" else None
            )
            case.extend((name[:300], _number(element, "time", display) or 0.0, depth, set(), key))
        elif case and depth == case[2] + 1:
            case[3].add(element.tag)

    def end(tag: str, depth: int) -> None:
        if tag != "testcase" or not case or depth != case[2]:
            return
        name, seconds, _, kinds, key = case
        kind = next((k for k in ("error", "failure", "skipped") if k in kinds), None)
        outcome = {"error": "errors", "failure": "failed", "skipped": "skipped", None: "passed"}[kind]
        total[0] += seconds
        entry = seen.get(key) if key is not None else None
        if entry is not None:  # another attempt of a test seen before
            entry[0] = outcome
            entry[1] += seconds
        elif key is not None and len(seen) < DEDUP_LIMIT:
            seen[key] = [outcome, seconds, name]
        else:
            counts[outcome] += 1
            beyond[0] += 1
            cases.append((name, seconds))
            if len(cases) >= 8 * SLOWEST:
                cases[:] = _slowest(cases)
        case.clear()

    parse(path, display=display, what="JUnit report", start=start, end=end)
    for outcome, seconds, name in seen.values():
        counts[outcome] += 1
        cases.append((name, seconds))
        if len(cases) >= 8 * SLOWEST:
            cases[:] = _slowest(cases)
    suite_time, timed = sum(times), bool(times)
    duration = suite_time if timed else total[0]
    return Tests(
        total=len(seen) + beyond[0],
        duration_seconds=round(duration, 3),
        slowest=tuple((name, round(seconds, 3)) for name, seconds in _slowest(cases)),
        **counts,
    )


def _slowest(cases: list[tuple[str, float]]) -> list[tuple[str, float]]:
    return sorted(cases, key=lambda c: (-c[1], c[0]))[:SLOWEST]
