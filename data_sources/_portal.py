"""What the portal connectors share: storing records, upserts and the unchanged check."""

from __future__ import annotations

import json
from typing import Any

import duckdb
import polars as pl

from data_sources._common import MAX_JSON_DEPTH, ensure_table
from data_sources._http import PortalError, get_json
from data_sources._records import with_point_cells
from observatory.errors import InputError


def portal_json(url: str) -> Any:
    """`get_json(url)`; an answer nested too deep for Python's JSON parser is a PortalError.

    (_http.get_json lets the parser's RecursionError through: it belongs there.)
    """
    try:
        return get_json(url)
    except RecursionError:
        raise PortalError(f"{url}: the answer is JSON nested more than {MAX_JSON_DEPTH} "
                          "levels deep, which no portal record needs; is this the portal's "
                          "API?") from None


def _quoted(name: str) -> str:
    """A column name as a DuckDB identifier (CKAN field ids may hold any character)."""
    return '"' + name.replace('"', '""') + '"'


def _table_exists(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    return bool(con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = $t",
                            {"t": table}).fetchall()[0][0])


def _last_load(con: duckdb.DuckDBPyConnection, source_id: str) -> tuple[dict, list[str]]:
    """The options and the tables of the last load of this source (empty before any)."""
    rows = con.execute("SELECT options, row_counts FROM sources WHERE source_id = $s",
                       {"s": source_id}).fetchall()
    if not rows:
        return {}, []
    return json.loads(rows[0][0] or "{}"), list(json.loads(rows[0][1] or "{}"))


def is_unchanged(con: duckdb.DuckDBPyConnection, source_id: str, *, modified: str, table: str,
                 **same: object) -> bool:
    """Whether the last load read the same portal version (and `same` options) into `table`."""
    options, tables = _last_load(con, source_id)
    return (bool(modified) and options.get("portal_modified") == modified
            and tables == [table] and _table_exists(con, table)
            and all(options.get(k) == v for k, v in same.items()))


def forget_elsewhere(con: duckdb.DuckDBPyConnection, source_id: str, *, table: str) -> None:
    """Remove this source's rows from tables it was loaded into before, other than `table`."""
    for old in _last_load(con, source_id)[1]:
        if old != table and _table_exists(con, old):
            con.execute(f"DELETE FROM {old} WHERE source_id = $s", {"s": source_id})


def _column_types(con: duckdb.DuckDBPyConnection, relation: str) -> dict[str, str]:
    return dict(con.execute(f"SELECT column_name, column_type FROM (DESCRIBE {relation})"
                            ).fetchall())


def _fit_columns(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> None:
    """Add the frame's new columns to `table`; widen columns its values would not fit.

    Without widening, a field that held only integers (or only nulls) at the first load
    would silently round (or refuse) the decimals (or text) of a later load.
    """
    have = _column_types(con, table)
    con.register("_shape", frame.head(0).to_arrow())
    try:
        incoming = _column_types(con, "_shape")
    finally:
        con.unregister("_shape")
    for column, new in incoming.items():
        old = have.get(column)
        if old is None:
            con.execute(f"ALTER TABLE {table} ADD COLUMN {_quoted(column)} {new}")
        elif old != new:
            common = con.execute(f"SELECT typeof(c) FROM (SELECT NULL::{old} AS c UNION ALL "
                                 f"SELECT NULL::{new}) LIMIT 1").fetchall()[0][0]
            if common != old:
                con.execute(f"ALTER TABLE {table} ALTER {_quoted(column)} TYPE {common}")


def store_records(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame, *,
                  source_id: str, key: str | None = None, incremental: bool = False) -> int:
    """Write records for one source: replace them all, or upsert on `key` when incremental."""
    forget_elsewhere(con, source_id, table=table)
    upsert = bool(incremental and key)
    if upsert and frame.height and key not in frame.columns:
        raise InputError(f"--key `{key}`: the records have no such field (they have "
                         f"{', '.join(frame.columns)}).")
    if not (upsert and frame.height == 0):  # an upsert of nothing changes nothing
        _write(con, table, with_point_cells(frame).with_columns(
            pl.lit(source_id).alias("source_id")), source_id=source_id,
            key=key if upsert else None)
    return con.execute(f"SELECT count(*) FROM {table} WHERE source_id = $s",
                       {"s": source_id}).fetchall()[0][0]


def _write(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame, *, source_id: str,
           key: str | None) -> None:
    ensure_table(con, table, frame)
    _fit_columns(con, table, frame)
    if key:
        con.register("_keys", frame.select(pl.col(key).cast(pl.String).alias("k")).to_arrow())
        con.execute(f"DELETE FROM {table} WHERE source_id = $s AND CAST({_quoted(key)} AS "
                    "VARCHAR) IN (SELECT k FROM _keys)", {"s": source_id})
        con.unregister("_keys")
    else:
        con.execute(f"DELETE FROM {table} WHERE source_id = $s", {"s": source_id})
    if frame.height:
        con.register("_rows", frame.to_arrow())
        con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _rows")
        con.unregister("_rows")


def newest_value(con: duckdb.DuckDBPyConnection, table: str, column: str,
                 source_id: str) -> str | None:
    """The largest value of `column` already loaded for this source, as text."""
    exists = con.execute("SELECT count(*) FROM information_schema.columns WHERE table_name = $t "
                         "AND column_name = $c", {"t": table, "c": column}).fetchall()[0][0]
    if not exists:
        return None
    value = con.execute(f"SELECT max({_quoted(column)}) FROM {table} WHERE source_id = $s",
                        {"s": source_id}).fetchall()[0][0]
    return None if value is None else str(value)
