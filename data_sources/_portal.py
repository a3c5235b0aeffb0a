"""What the portal connectors share: storing records, upserts and the unchanged check."""

from __future__ import annotations

import duckdb
import polars as pl

from data_sources._common import ensure_table
from data_sources._records import with_point_cells


def stored_as_of(con: duckdb.DuckDBPyConnection, source_id: str) -> str | None:
    """The portal's modification stamp recorded at the last load of this source."""
    rows = con.execute("SELECT json_extract_string(options, '$.portal_modified') FROM sources "
                       "WHERE source_id = $s", {"s": source_id}).fetchall()
    return rows[0][0] if rows else None


def _add_missing_columns(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> None:
    have = {r[0] for r in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = $t",
        {"t": table}).fetchall()}
    con.register("_shape", frame.head(0).to_arrow())
    types = dict(con.execute("SELECT column_name, data_type FROM (DESCRIBE _shape)").fetchall())
    con.unregister("_shape")
    for column in frame.columns:
        if column not in have:
            con.execute(f'ALTER TABLE {table} ADD COLUMN "{column}" {types[column]}')


def store_records(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame, *,
                  source_id: str, key: str | None = None, incremental: bool = False) -> int:
    """Write records for one source: replace them all, or upsert on `key` when incremental."""
    frame = with_point_cells(frame).with_columns(pl.lit(source_id).alias("source_id"))
    ensure_table(con, table, frame)
    _add_missing_columns(con, table, frame)
    if incremental and key:
        con.register("_keys", frame.select(pl.col(key).cast(pl.String)).to_arrow())
        con.execute(f'DELETE FROM {table} WHERE source_id = $s AND CAST("{key}" AS VARCHAR) '
                    f'IN (SELECT "{key}" FROM _keys)', {"s": source_id})
        con.unregister("_keys")
    else:
        con.execute(f"DELETE FROM {table} WHERE source_id = $s", {"s": source_id})
    if frame.height:
        con.register("_rows", frame.to_arrow())
        con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _rows")
        con.unregister("_rows")
    return con.execute(f"SELECT count(*) FROM {table} WHERE source_id = $s",
                       {"s": source_id}).fetchall()[0][0]


def newest_value(con: duckdb.DuckDBPyConnection, table: str, column: str,
                 source_id: str) -> str | None:
    """The largest value of `column` already loaded for this source, as text."""
    exists = con.execute("SELECT count(*) FROM information_schema.columns WHERE table_name = $t "
                         "AND column_name = $c", {"t": table, "c": column}).fetchall()[0][0]
    if not exists:
        return None
    value = con.execute(f'SELECT max("{column}") FROM {table} WHERE source_id = $s',
                        {"s": source_id}).fetchall()[0][0]
    return None if value is None else str(value)
