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

import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from observatory import lake
from observatory.errors import InputError

_ALLOWED = {duckdb.StatementType.SELECT}
_LINE = re.compile(r"^LINE (\d+):(.*)$", re.MULTILINE)
_WRAP = "SELECT * FROM ("  # the row cap: the user's query runs as a subquery


class SandboxError(InputError, ValueError):
    """User SQL refused before it ran, or stopped while running: what, where and how to fix."""


@dataclass(frozen=True)
class Limits:
    """What one query may use."""

    timeout_s: float = 10.0
    max_rows: int = 10_000
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
    return message.strip().splitlines()[0] if message.strip() else "failed"


def one_query(sql: str, *, where: str = "the query") -> str:
    """The text of the one read-only query in `sql`; SandboxError otherwise."""
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        position = _position(str(exc))
        raise SandboxError(f"{where}{' ' + position if position else ''}: not valid SQL: "
                           f"{_first_line(str(exc))}") from None
    if len(statements) != 1:
        raise SandboxError(f"{where}: {len(statements)} statements; write exactly one query "
                           "(a SELECT, or WITH … SELECT).")
    statement = statements[0]
    if statement.type not in _ALLOWED:
        kind = str(statement.type).rsplit(".", 1)[-1]
        raise SandboxError(f"{where}: a {kind} statement is not allowed here; only one "
                           "read-only query (SELECT) runs in the sandbox.")
    return statement.query.strip().rstrip(";").rstrip()


class Sandbox:
    """One snapshot, attached read-only on a locked-down in-memory DuckDB."""

    def __init__(self, snapshot: Path, *, lake_root: Path | None = None,
                 limits: Limits = Limits()) -> None:
        self.snapshot, self.limits = Path(snapshot), limits
        config = {"autoinstall_known_extensions": False, "autoload_known_extensions": False,
                  "allow_community_extensions": False, "threads": limits.threads,
                  "memory_limit": limits.memory_limit}
        con = duckdb.connect(":memory:", config=config)
        try:
            self._lock_down(con, lake_root)
        except BaseException:
            con.close()
            raise
        self._con = con
        self._busy = threading.Lock()

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
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")

    def close(self) -> None:
        """Close the sandbox's connection."""
        self._con.close()

    def _located(self, wrapped: str, params: dict[str, object] | None,
                 exc: duckdb.Error) -> str:
        """The error with DuckDB's `LINE n:` context: the relational API leaves it out of
        binder errors, a DB-API EXPLAIN of the same text keeps it."""
        if _LINE.search(str(exc)):
            return str(exc)
        try:
            self._con.execute(f"EXPLAIN {wrapped}", params or {})
        except duckdb.Error as again:
            return str(again)
        return str(exc)

    def query(self, sql: str, *, params: dict[str, object] | None = None,
              where: str = "the query", max_rows: int | None = None) -> QueryResult:
        """Run one read-only query: at most `max_rows` rows (the limits' by default),
        stopped at the time limit. SandboxError says what was refused or went wrong."""
        text = one_query(sql, where=where)
        cap = self.limits.max_rows if max_rows is None else max_rows
        with self._busy:  # one query at a time: temp views live on this one connection
            timer = threading.Timer(self.limits.timeout_s, self._con.interrupt)
            started = time.perf_counter()
            timer.start()
            try:
                wrapped = f"{_WRAP}{text}\n) LIMIT {int(cap) + 1}"
                frame = self._con.sql(wrapped, params=params or {}).pl()
            except duckdb.InterruptException:
                raise SandboxError(f"{where}: stopped after {self.limits.timeout_s:g} s, the "
                                   "time limit; narrow it (filter, aggregate, LIMIT).") from None
            except duckdb.Error as exc:
                position = _position(self._located(wrapped, params, exc), shift=len(_WRAP))
                raise SandboxError(f"{where}{' ' + position if position else ''}: "
                                   f"{_first_line(str(exc))}") from None
            finally:
                timer.cancel()
        truncated = frame.height > cap
        return QueryResult(frame.head(cap), truncated, time.perf_counter() - started)
