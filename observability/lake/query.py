"""Read-only DuckDB over the lake's Parquet files: one view per table, locked to the lake root.

The lake is Parquet under ``<root>/<table>/`` (fact tables hive-partitioned by ``date=``; see
docs/lake.md). :func:`connect` opens an in-memory DuckDB with each table as a view named after it,
then turns off every file access outside the lake root and locks the configuration, so a query can
read the lake and nothing else. :func:`run_sql` refuses anything but one SELECT-like statement.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import shutil
import tempfile
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from observability.errors import EXIT_USAGE, ConfigError, InputError, MissingInputError
from observability.lake.store import MANIFEST

# Statement types a query may be: reading only (DuckDB's StatementType names).
READ_STATEMENTS = frozenset({"SELECT", "EXPLAIN"})
# Bounds of one query (docs/lake.md, "Limits"): a cross join of huge ranges stops, it does not take
# the runner. Memory past MEMORY_LIMIT spills to a private temp directory of at most TEMP_LIMIT.
QUERY_TIMEOUT_S = 300.0
MEMORY_LIMIT = "2GB"
TEMP_LIMIT = "4GB"
_EXPLAIN = re.compile(r"\s*explain\s+(?:analyze\s+)?(.*)", re.IGNORECASE | re.DOTALL)


class LakeQueryError(ConfigError):
    """A lake query is not allowed or does not parse (names the statement, column or option)."""

    error_code = "invalid_query"


class LakeUnavailableError(MissingInputError):
    """The lake, or the DuckDB/PyArrow it needs, is not there (names what to do)."""

    error_code = "lake_unavailable"


class LakeExtraMissingError(LakeUnavailableError):
    """DuckDB or PyArrow is not installed: a set-up error (exit 2, as for ``lake ingest``), not a failed run."""

    error_code = "lake_extra_missing"
    exit_code = EXIT_USAGE


@dataclass(frozen=True)
class Result:
    """A query's answer: its column names and its rows as plain Python values."""

    columns: list[str]
    rows: list[tuple[Any, ...]]

    def records(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


def _duckdb():
    try:
        import duckdb
    except ImportError as exc:  # the [lake] extra is optional
        raise LakeExtraMissingError("the lake needs DuckDB and PyArrow: pip install 'observability[lake]'") from exc
    return duckdb


def tables(root: Path) -> dict[str, Path]:
    """The lake's tables: each directory under ``root`` holding at least one Parquet file."""
    found: dict[str, Path] = {}
    if not root.is_dir():
        return found
    for child in sorted(root.iterdir()):
        if child.is_dir() and not child.name.startswith(("_", ".")) and next(child.rglob("*.parquet"), None):
            found[child.name] = child
    return found


def _listed_files(root: Path) -> dict[str, list[str]] | None:
    """Table -> the lake-relative Parquet files ``_manifest.json`` lists (None without a manifest). A
    listed path that leaves the lake or names no file there is refused: the manifest may be tampered."""
    path = root / MANIFEST
    if not path.is_file():
        return None
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        files = doc["files"]
        if not isinstance(files, dict):
            raise TypeError("files is not an object")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise LakeUnavailableError(f"{path}: not a lake manifest ({exc})") from None
    listed: dict[str, list[str]] = {}
    for rel, entry in sorted(files.items()):
        target = (root / rel).resolve()
        if not (isinstance(entry, dict) and target.is_relative_to(root) and target.is_file()):
            raise LakeUnavailableError(f"{path}: field files.{rel}: not a Parquet file of this lake")
        listed.setdefault(str(entry.get("table")), []).append(rel)
    return listed


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _quote_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def connect(root: Path, only: Iterable[str] | None = None):
    """An in-memory DuckDB connection with one view per lake table (or per table of ``only`` the lake
    has: creating a view reads the footer of every file of its table), unable to touch files outside ``root``."""
    duckdb = _duckdb()
    root = root.resolve()
    if not root.is_dir():
        raise LakeUnavailableError(f"no lake at {root}: run `observability lake ingest` first, or pass --lake DIR")
    con = duckdb.connect(
        ":memory:",
        config={
            "autoinstall_known_extensions": "false",
            "autoload_known_extensions": "false",
            "threads": "2",
            "memory_limit": MEMORY_LIMIT,
            # DuckDB spills to .tmp/ in the working directory (the workspace) by default, and may read it
            "temp_directory": _spill_directory(),
            "max_temp_directory_size": TEMP_LIMIT,
        },
    )
    # A runs query binds the views several times (columns, metrics, the query): read each footer once.
    con.execute("SET parquet_metadata_cache = true")
    wanted = None if only is None else set(only)
    listed = _listed_files(root)
    for name, path in tables(root).items():
        if wanted is not None and name not in wanted:
            continue
        if listed is None:  # a lake without a manifest (written by another tool): every file of the table
            files = _quote_literal(f"{path.as_posix()}/**/*.parquet")
        else:  # only what the manifest lists: a killed ingest may leave files it never committed
            names = listed.get(name, [])
            if not names:
                continue
            files = "[" + ", ".join(_quote_literal((root / rel).as_posix()) for rel in names) + "]"
        con.execute(
            f"CREATE VIEW {_quote_ident(name)} AS SELECT * FROM read_parquet({files}, "
            "hive_partitioning = true, union_by_name = true)"
        )
    # Reads stay inside the lake: no other file, no network, no extension, and no way to undo it.
    con.execute(f"SET allowed_directories = [{_quote_literal(root.as_posix() + '/')}]")
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")
    return con


_spill: list[str] = []


def _spill_directory() -> str:
    """One private temp directory per process for DuckDB's spill files, removed at exit."""
    if not _spill:
        import atexit

        _spill.append(tempfile.mkdtemp(prefix="obs-lake-spill-"))
        atexit.register(shutil.rmtree, _spill[0], True)
    return _spill[0]


def check_read_only(sql: str) -> None:
    """Refuse anything but one SELECT (or EXPLAIN): no writes, COPY, ATTACH, INSTALL, SET or PRAGMA."""
    duckdb = _duckdb()
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise LakeQueryError(f"the query does not parse: {_first_line(exc)}") from None
    if len(statements) != 1:
        raise LakeQueryError(f"give exactly one statement (got {len(statements)})")
    kind = statements[0].type.name
    if kind not in READ_STATEMENTS:
        raise LakeQueryError(f"the lake is read-only: {kind} statements are refused (only SELECT and EXPLAIN run)")
    if kind == "EXPLAIN":
        # EXPLAIN ANALYZE runs what it explains (a COPY in it writes the file): only a SELECT may follow.
        inner = _EXPLAIN.match(statements[0].query)
        if inner is None:
            raise LakeQueryError("EXPLAIN: write it as EXPLAIN [ANALYZE] SELECT ... (nothing before EXPLAIN)")
        check_read_only(inner.group(1))
        if duckdb.extract_statements(inner.group(1))[0].type.name != "SELECT":
            raise LakeQueryError("the lake is read-only: EXPLAIN takes a SELECT only")


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def execute(con, sql: str, params: list[Any] | None = None, *, timeout: float | None = None) -> Result:
    """Run ``sql`` on ``con`` and return plain Python rows; a DuckDB error becomes LakeQueryError, and
    so does a query still running after ``timeout`` seconds (default QUERY_TIMEOUT_S), interrupted."""
    duckdb = _duckdb()
    limit = QUERY_TIMEOUT_S if timeout is None else timeout
    if not limit > 0:
        raise LakeQueryError(f"--timeout: {limit} is not a positive number of seconds")
    timer = threading.Timer(limit, con.interrupt)
    timer.daemon = True
    timer.start()
    try:
        cursor = con.execute(sql, params or [])
        columns = [d[0] for d in cursor.description or []]
        rows = cursor.fetchall()
    except duckdb.InterruptException:
        raise LakeQueryError(
            f"the query ran past --timeout {limit:g} s and was stopped; narrow it or raise --timeout",
            error_code="query_timeout",
        ) from None
    except duckdb.PermissionException as exc:
        raise LakeQueryError(f"the query reaches outside the lake: {_first_line(exc)}") from None
    except duckdb.Error as exc:
        raise LakeQueryError(f"the query failed: {_first_line(exc)}") from None
    finally:
        timer.cancel()
    return Result(columns, [tuple(plain(v) for v in row) for row in rows])


def plain(value: Any) -> Any:
    """A value JSON can carry: dates and times as ISO text, NaN as None, decimals as floats."""
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, int | float | str | bool) or value is None:
        return value
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    try:
        return float(value)  # Decimal
    except (TypeError, ValueError):
        return str(value)


@contextmanager
def local_root(lake: str | Path, environ: Mapping[str, str] | None = None) -> Iterator[Path]:
    """The lake as a local directory: itself, or an ``s3://bucket/prefix`` copied into a temp dir
    (through observability.storage, so the S3 settings are the ones every other job uses)."""
    text = str(lake)
    if not text.startswith("s3://"):
        yield Path(text)
        return
    import os

    from observability.storage import StorageError, locate, open_bucket

    where = locate(text, option="--lake", what="lake", schemes="DIR or s3://bucket/prefix")
    tmp = Path(tempfile.mkdtemp(prefix="obs-lake-"))
    try:
        try:
            bucket = open_bucket(where, os.environ if environ is None else environ)
            listing = bucket.list("")
            for key in sorted(listing):
                if not key.endswith(".parquet"):
                    continue
                data = bucket.get(key)
                if data is None:  # deleted since the listing (a compaction): its rows live in a newer part
                    continue
                target = tmp / key
                if ".." in Path(key).parts:
                    raise InputError(f"{where.display}: refusing the object key {key!r}")
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
        except StorageError as exc:
            raise LakeUnavailableError(f"{where.display}: {exc}") from None
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
