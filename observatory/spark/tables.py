"""The store's inputs as Parquet partitions, registered as Spark views.

Spatial tables (those with an `h3_cell`) are written partitioned by their cell's parent
at resolution 5 (`h3_r5=…`: about 250 km², a region of a metropolitan area); the others
as one folder each. The lake's tables (sensor readings and their hourly and daily
aggregates) are already Parquet, by source and month: Spark reads exactly the files the
snapshot lists. The store's other views are translated like any definition.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import sqlglot
from sqlglot import exp

from observatory import lake
from observatory.spark.translate import Macro, to_spark

PARTITION_RESOLUTION = 5
# Tables a definition never reads: results, bookkeeping.
SKIPPED = ("indicator_results", "indicator_runs", "indicator_series", "indicator_status",
           "indicator_forecasts", "indicator_backtests", "store_meta", "lake_files",
           "source_appends")
_SPARK_TYPES = {"BIGINT": "BIGINT", "TIMESTAMPTZ": "TIMESTAMP", "DOUBLE": "DOUBLE",
                "VARCHAR": "STRING", "INTEGER": "INT", "DATE": "DATE"}


def _base_tables(con: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    rows = con.execute(
        "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema "
        "= 'main' AND table_catalog = current_database() AND table_name IN (SELECT "
        "table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE' AND "
        "table_schema = 'main' AND table_catalog = current_database()) "
        "ORDER BY table_name, ordinal_position").fetchall()
    tables: dict[str, list[str]] = {}
    for table, column in rows:
        if table not in SKIPPED:
            tables.setdefault(table, []).append(column)
    return tables


def export_tables(con: duckdb.DuckDBPyConnection, folder: Path) -> dict[str, list[str]]:
    """Write every input table of the store `con` reads under `folder/<table>/`; the
    tables and their columns."""
    tables = _base_tables(con)
    folder.mkdir(parents=True, exist_ok=True)
    for table, columns in tables.items():
        target = folder / table
        empty = not con.execute(f'SELECT count(*) FROM "{table}"').fetchall()[0][0]
        if "h3_cell" in columns and not empty:  # an empty one: one file that holds its schema
            con.execute(f"COPY (SELECT *, h3_parent(h3_cell, {PARTITION_RESOLUTION}) AS h3_r5 "
                        f'FROM "{table}") TO \'{target}\' (FORMAT parquet, PARTITION_BY '
                        "(h3_r5), OVERWRITE_OR_IGNORE true)")
        else:
            target.mkdir(parents=True, exist_ok=True)
            con.execute(f"COPY \"{table}\" TO '{target / 'part.parquet'}' (FORMAT parquet)")
    return tables


def _lake_view(spark: Any, con: duckdb.DuckDBPyConnection, table: str) -> None:
    root, files = lake.lake_root(con), lake.paths(con, table)
    columns = ", ".join(f"CAST(`{c}` AS {_SPARK_TYPES[t]}) AS `{c}`"
                        for c, t in lake.LAKE_TABLES[table].items())
    if files:
        frame = spark.read.parquet(*[str(root / f) for f in files])
        frame.createOrReplaceTempView(f"_files_{table}")
        spark.sql(f"SELECT {columns} FROM _files_{table}").createOrReplaceTempView(table)
    else:
        nulls = ", ".join(f"CAST(NULL AS {_SPARK_TYPES[t]}) AS `{c}`"
                          for c, t in lake.LAKE_TABLES[table].items())
        spark.sql(f"SELECT {nulls} WHERE false").createOrReplaceTempView(table)


def _store_views(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """The store's own views (not the lake's) by name, as the SELECT they run."""
    rows = con.execute("SELECT view_name, sql FROM duckdb_views() WHERE NOT internal AND "
                       "schema_name = 'main' AND database_name = current_database()"
                       ).fetchall()
    views = {}
    for name, text in rows:
        if name in lake.LAKE_TABLES:
            continue
        created = sqlglot.parse_one(text, read="duckdb")
        query = created.expression if isinstance(created, exp.Create) else created
        views[name] = query.sql(dialect="duckdb")
    return views


def register(spark: Any, con: duckdb.DuckDBPyConnection, folder: Path,
             tables: dict[str, list[str]], macros: dict[str, Macro]) -> set[str]:
    """Spark views of the exported tables, the lake and the store's views; their names."""
    for table, columns in tables.items():
        listed = ", ".join(f"`{c}`" for c in columns)
        spark.read.parquet(str(folder / table)).createOrReplaceTempView(f"_parts_{table}")
        spark.sql(f"SELECT {listed} FROM _parts_{table}").createOrReplaceTempView(table)
    for table in lake.LAKE_TABLES:
        _lake_view(spark, con, table)
    views = _store_views(con)
    for name, query in views.items():
        spark.sql(to_spark(query, parameters={}, macros=macros, where=f"view {name}")
                  ).createOrReplaceTempView(name)
    return set(tables) | set(lake.LAKE_TABLES) | set(views)
