"""The locked-down DuckDB connection user-written SQL runs on.

A sandbox is an in-memory DuckDB that attaches one snapshot read-only and then, before any
user text runs, turns file access off (`enable_external_access = false`; only the
snapshot file and its own lake of Parquet partitions stay readable), sets `memory_limit`
and `threads`, and locks the configuration (`lock_configuration = true`). Extensions are
neither installed nor loaded. On top of that, every text is parsed by DuckDB's own parser
first and refused unless it is exactly one read-only query (no COPY, EXPORT, ATTACH,
INSTALL, LOAD, SET, PRAGMA or CALL); a query is interrupted at the time limit and its
result capped at a number of rows.

The engine's own steps that write (storing results) never run on a sandbox, and a sandbox
never runs anything but the user's query.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
import polars as pl

from observatory import lake
from observatory.errors import InputError, LocatedError, ObservatoryError
from observatory.store import window_condition

_ALLOWED = {duckdb.StatementType.SELECT}
_LINE = re.compile(r"^LINE (\d+):(.*)$", re.MULTILINE)
_WRAP = "SELECT * FROM ("  # the row cap: the user's query runs as a subquery
_EXPLAIN = "EXPLAIN "


class SandboxError(LocatedError):
    """User SQL refused before it ran, or stopped while running: what, where and how to fix.

    `where` names the text (a file, "your query"), `position` its "line L, column C" when
    known, and `reason` what was refused or went wrong.
    """


@dataclass(frozen=True)
class Limits:
    """What one query may use."""

    timeout_s: float = 10.0
    max_rows: int | None = 10_000  # None: no cap
    memory_limit: str = "1GB"
    threads: int = 2


@dataclass(frozen=True)
class QueryResult:
    """A capped result and how long the query took."""

    frame: pl.DataFrame
    truncated: bool  # more rows than the cap: only the first `max_rows` are here
    seconds: float


def _position(message: str, *, shift: int = 0) -> str:
    """"line L, column C" of DuckDB's `LINE n:` context and its caret ("line L" when the
    context is cut); `shift` characters of line 1 are the sandbox's own wrapper."""
    found = _LINE.search(message)
    if not found:
        return ""
    line = int(found.group(1))
    below = message[found.end():].split("\n")
    caret = below[1].find("^") if len(below) > 1 else -1
    if caret < 0 or found.group(2).lstrip().startswith("..."):
        return f"line {line}"
    column = caret - len(f"LINE {line}: ") + 1 - (shift if line == 1 else 0)
    return f"line {line}, column {max(column, 1)}"


def _first_line(message: str) -> str:
    """DuckDB's message in one line, with its suggestion when it has one ("Did you mean
    …?", or the first of its candidate columns)."""
    lines = message.strip().splitlines()
    if not lines:
        return "failed"
    hint = lines[1].strip() if len(lines) > 1 else ""
    if hint.startswith("Did you mean"):
        return f"{lines[0]} {hint}"
    if hint.startswith("Candidate bindings:"):
        first = hint.removeprefix("Candidate bindings:").split(",")[0].strip().strip('"')
        return f"{lines[0]} Did you mean \"{first}\"?" if first else lines[0]
    return lines[0]


def one_query(sql: str, *, where: str = "the query") -> str:
    """The text of the one read-only query in `sql`; SandboxError otherwise."""
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise SandboxError(where, f"not valid SQL: {_first_line(str(exc))}",
                           position=_position(str(exc))) from None
    if len(statements) != 1:
        raise SandboxError(where, f"{len(statements)} statements; write exactly one query "
                           "(a SELECT, or WITH … SELECT).")
    statement = statements[0]
    if statement.type not in _ALLOWED:
        kind = str(statement.type).rsplit(".", 1)[-1]
        raise SandboxError(where, f"a {kind} statement is not allowed here; only one "
                           "read-only query (SELECT) runs in the sandbox.")
    return statement.query.strip().rstrip(";").rstrip()


class Sandbox:
    """One snapshot, attached read-only on a locked-down in-memory DuckDB."""

    def __init__(self, snapshot: Path, *, lake_root: Path | None = None,
                 limits: Limits = Limits()) -> None:
        self.snapshot, self.limits = Path(snapshot), limits
        self._lake = lake_root.resolve() if lake_root is not None else None
        # spills go to a folder of this sandbox's own
        self._spill = tempfile.mkdtemp(prefix="observatory-sandbox-spill-")
        config = {"autoinstall_known_extensions": False, "autoload_known_extensions": False,
                  "allow_community_extensions": False, "threads": limits.threads,
                  "memory_limit": limits.memory_limit, "temp_directory": self._spill}
        con = duckdb.connect(":memory:", config=config)
        try:
            self._lock_down(con, lake_root)
        except BaseException:
            con.close()
            shutil.rmtree(self._spill, ignore_errors=True)
            raise
        self._con = con
        self._busy = threading.Lock()
        # the window the tables are narrowed to (see rows_between), and whether a block of
        # it is running
        self._narrowed: tuple[tuple[tuple[str, str], ...], datetime, datetime | None] | None = None
        self._inside = False

    def _lock_down(self, con: duckdb.DuckDBPyConnection, lake_root: Path | None) -> None:
        path = str(self.snapshot.resolve())
        con.execute("SET allowed_paths = $p", {"p": [path]})
        if lake_root is not None:
            con.execute("SET allowed_directories = $d", {"d": [f"{lake_root.resolve()}/"]})
        con.execute("ATTACH $p AS store (READ_ONLY)", {"p": path})
        con.execute("USE store")
        if lake_root is not None:  # the lake's views with absolute paths, as temp views
            for table in lake.LAKE_TABLES:
                lake.refresh_view(con, table, root=lake_root.resolve(), temporary=True)
        con.execute("SET TimeZone = 'UTC'")  # ICU is built in; years counted as Spark does
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")

    def close(self) -> None:
        """Close the sandbox's connection (after the query running on it, if any)."""
        with self._busy:
            self._con.close()
        shutil.rmtree(self._spill, ignore_errors=True)

    @contextlib.contextmanager
    def rows_between(self, columns: dict[str, str], *, start: datetime,
                     end: datetime | None = None) -> Iterator[None]:
        """Within the block, queries see only the rows of the tables (or views) of `columns`
        whose time column lies in [start, end): a build's window of periods. The lake's
        views are recreated over the window's months with the condition, other tables
        shadowed by temporary views. The views stay narrowed after the block until a query
        outside any window, so definitions with the same window (an append's) share them."""
        key = (tuple(sorted(columns.items())), start, end)
        with self._busy:
            if self._narrowed != key:
                self._widen()
                self._narrowed = key  # first: a failure below still widens them all later
                for table, column in columns.items():
                    self._narrow(table, column, start, end)
            self._inside = True
        try:
            yield
        finally:
            self._inside = False

    def _narrow(self, table: str, column: str, start: datetime, end: datetime | None) -> None:
        condition = window_condition(column, start, end)
        if table in lake.LAKE_TABLES and self._lake is not None:
            last = end or datetime.now(start.tzinfo)
            months = [f"{n // 12:04d}-{n % 12 + 1:02d}"  # the window's own months only
                      for n in range(start.year * 12 + start.month - 1,
                                     last.year * 12 + last.month)]
            lake.refresh_view(self._con, table, root=self._lake, temporary=True,
                              where=condition, months=months)
        else:
            self._con.execute(f'CREATE OR REPLACE TEMP VIEW "{table}" AS SELECT * '
                              f'FROM store.main."{table}" WHERE {condition}')

    def _widen(self) -> None:
        """Every table whole again (the lock is held)."""
        if self._narrowed is None:
            return
        for table, _ in self._narrowed[0]:
            if table in lake.LAKE_TABLES and self._lake is not None:
                lake.refresh_view(self._con, table, root=self._lake, temporary=True)
            else:
                self._con.execute(f'DROP VIEW IF EXISTS temp.main."{table}"')
        self._narrowed = None

    def _located(self, wrapped: str, params: dict[str, object] | None,
                 exc: duckdb.Error) -> tuple[str, int]:
        """The error with DuckDB's `LINE n:` context, and how many characters of line 1
        precede the wrapped text there: the relational API leaves the context out of
        binder errors, a DB-API EXPLAIN of the same text keeps it."""
        if _LINE.search(str(exc)):
            return str(exc), 0
        try:
            self._con.execute(f"{_EXPLAIN}{wrapped}", params or {})
        except duckdb.Error as again:
            return str(again), len(_EXPLAIN)
        return str(exc), 0

    def describe(self, sql: str, *, params: dict[str, object] | None = None,
                 where: str = "the query") -> dict[str, str]:
        """The columns and DuckDB types the one read-only query in `sql` returns, found by
        binding it, without running it (validation as one types: milliseconds, whatever
        the query would cost). SandboxError as `query` words it."""
        text = one_query(sql, where=where)
        wrapped = f"{_WRAP}{text}\n)"
        with self._busy:
            if not self._inside:
                self._widen()
            try:
                relation = self._con.sql(wrapped, params=params or {})
                return dict(zip(relation.columns, (str(t) for t in relation.types),
                                strict=True))
            except duckdb.Error as exc:
                message, before = self._located(wrapped, params, exc)
                raise SandboxError(where, _first_line(str(exc)),
                                   position=_position(message, shift=len(_WRAP) + before)
                                   ) from None

    def query(self, sql: str, *, params: dict[str, object] | None = None,
              where: str = "the query", max_rows: int | None = None) -> QueryResult:
        """Run one read-only query: at most `max_rows` rows (the limits' by default),
        stopped at the time limit. SandboxError says what was refused or went wrong."""
        text = one_query(sql, where=where)
        cap = self.limits.max_rows if max_rows is None else max_rows
        with self._busy:  # one query at a time: temp views live on this one connection
            if not self._inside:
                self._widen()
            timer = threading.Timer(self.limits.timeout_s, self._con.interrupt)
            started = time.perf_counter()
            timer.start()
            try:
                wrapped = f"{_WRAP}{text}\n)" + (f" LIMIT {int(cap) + 1}" if cap is not None
                                                  else "")
                frame = self._con.sql(wrapped, params=params or {}).pl()
            except duckdb.InterruptException:
                raise SandboxError(where, f"stopped after {self.limits.timeout_s:g} s, the "
                                   "time limit; narrow it (filter, aggregate, LIMIT).") from None
            except duckdb.Error as exc:
                message, before = self._located(wrapped, params, exc)
                position = _position(message, shift=len(_WRAP) + before)
                raise SandboxError(where, _first_line(str(exc)), position=position) from None
            finally:
                timer.cancel()
        truncated = cap is not None and frame.height > cap
        kept = frame if cap is None else frame.head(cap)
        return QueryResult(kept, truncated, time.perf_counter() - started)


# How long one indicator query of a build may run, and how many rows it may return.
BUILD_SECONDS_ENV = "OBSERVATORY_BUILD_QUERY_SECONDS"
BUILD_ROWS_ENV = "OBSERVATORY_BUILD_MAX_ROWS"
DEFAULT_BUILD_SECONDS = 900.0
DEFAULT_BUILD_ROWS = 5_000_000


def _env_number(name: str, default: float) -> float:
    text = os.environ.get(name, "").strip()
    try:
        return float(text) if text else default
    except ValueError:
        raise InputError(f"${name} is {text!r}, not a number; unset it or give e.g. "
                         f"{default:g}.") from None


def build_limits() -> Limits:
    """The limits of a build's indicator queries: all cores, 60 % of the machine's memory,
    $OBSERVATORY_BUILD_QUERY_SECONDS (15 min) per query and $OBSERVATORY_BUILD_MAX_ROWS
    (5 M) rows per result, well above one row per cell of a metropolitan area."""
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return Limits(timeout_s=_env_number(BUILD_SECONDS_ENV, DEFAULT_BUILD_SECONDS),
                  max_rows=int(_env_number(BUILD_ROWS_ENV, DEFAULT_BUILD_ROWS)),
                  memory_limit=f"{memory * 6 // 10 // 2**20}MB", threads=os.cpu_count() or 1)


def _attached_store(con: duckdb.DuckDBPyConnection) -> tuple[str, str] | None:
    """The name and file of the store `con` works on when it is an attached database (a
    write session: observatory.store.write_session), which can be let go of for a while."""
    rows = con.execute("SELECT database_name, path FROM duckdb_databases() WHERE "
                       "database_name = current_database()").fetchall()
    primary = con.execute("SELECT count(*) FROM duckdb_databases() WHERE database_name = "
                          "'memory' AND path IS NULL AND NOT internal").fetchall()[0][0]
    name, path = rows[0]
    return (name, path) if primary and name != "memory" and path else None


@contextlib.contextmanager
def isolated(con: duckdb.DuckDBPyConnection, *, limits: Limits) -> Iterator[Sandbox]:
    """A sandbox over the store `con` is writing, for the block: the engine's user text
    (indicator SQL) runs there, never on the writable connection.

    A write session checkpoints and lets go of its file while the sandbox reads it, then
    takes it back (DuckDB opens one file once per process). Any other connection (a plain
    file or an in-memory store: tests, scratch work) is copied to a temporary file first.
    """
    root = lake.lake_root(con)
    attached = _attached_store(con)
    if attached is None:
        with _copied(con) as copy:
            box = Sandbox(copy, lake_root=root, limits=limits)
            try:
                yield box
            finally:
                box.close()
        return
    name, path = attached
    con.execute(f'CHECKPOINT "{name}"')
    con.execute("USE memory")
    con.execute(f'DETACH "{name}"')
    try:
        box = Sandbox(Path(path), lake_root=root, limits=limits)
        try:
            yield box
        finally:
            box.close()
    finally:
        con.execute(f'ATTACH $p AS "{name}"', {"p": path})
        con.execute(f'USE "{name}"')


@contextlib.contextmanager
def _copied(con: duckdb.DuckDBPyConnection) -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="observatory-sandbox-"))
    copy = folder / "copy.duckdb"
    database = con.execute("SELECT current_database()").fetchall()[0][0]
    try:
        try:
            con.execute("ATTACH $p AS _sandbox_copy", {"p": str(copy)})
            try:
                con.execute(f'COPY FROM DATABASE "{database}" TO _sandbox_copy')
            finally:
                con.execute("DETACH _sandbox_copy")
        except duckdb.Error as exc:
            raise ObservatoryError(f"cannot copy the store for the sandbox: {exc}") from exc
        yield copy
    finally:
        shutil.rmtree(folder, ignore_errors=True)
