"""The registry's definitions computed on Spark, for `compute_all(..., runner=...)`.

The write session's store is written as Parquet partitions and registered as Spark views
(observatory/spark/tables.py); each SQL definition is checked by DuckDB's parser (one
read-only query), translated (observatory/spark/translate.py, reading only the store's
tables), run on Spark, and its rows written as Parquet under `results/indicator=<name>/`.
The engine then checks the output contract, rolls cells up and stores the results in the
snapshot exactly as for DuckDB, so the app does not change. `python:` definitions
(repository code) run on the engine's connection, as in a DuckDB build; an append's window
of periods is not used (a Spark build recomputes every period).
"""

from __future__ import annotations

import functools
import shutil
import tempfile
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from observatory.connectors import Progress, silent_progress
from observatory.errors import LocatedError
from observatory.registry.engine import PeriodFilter, Ran, attempt, run_python
from observatory.registry.loader import _display
from observatory.registry.spec import LoadedSpec
from observatory.sandbox import one_query
from observatory.spark.session import DEFAULT_MASTER, spark_session
from observatory.spark.tables import export_tables, register
from observatory.spark.translate import (
    Macro,
    TranslationError,
    line_naming,
    store_macros,
    to_spark,
)


class SparkQueryError(LocatedError):
    """A translated definition that Spark refused or failed on."""


def _no_window(columns: dict[str, str], **_: object) -> nullcontext[None]:
    return nullcontext()


def _run(spark: Any, loaded: LoadedSpec, *, macros: dict[str, Macro], tables: set[str],
         results: Path) -> pl.DataFrame:
    sql = str(loaded.query)
    where = _display(loaded.path.parent / str(loaded.spec.sql))
    one_query(sql, where=where)  # DuckDB's parser: exactly one read-only query
    text = to_spark(sql, parameters=dict(loaded.spec.parameters), macros=macros,
                    where=where, tables=tables)
    target = results / f"indicator={loaded.spec.name}"
    try:
        spark.sql(text).write.mode("overwrite").parquet(str(target))
    except Exception as exc:  # Spark's AnalysisException and friends: one line, a place
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        line = line_naming(sql, first)
        raise SparkQueryError(where, f"Spark: {first}",
                              position=f"line {line}" if line else "") from None
    return pl.read_parquet(target / "*.parquet") if any(target.glob("*.parquet")) else (
        pl.DataFrame())


class SparkRunner:
    """Runs a build's definitions on Spark (`master`), in a scratch folder of Parquet."""

    def __init__(self, master: str = DEFAULT_MASTER, *, workdir: Path | None = None,
                 progress: Progress = silent_progress) -> None:
        self.master, self.workdir, self.progress = master, workdir, progress
        self.partitions = 0

    def __call__(self, con: duckdb.DuckDBPyConnection, chosen: list[LoadedSpec],
                 window: PeriodFilter | None) -> dict[str, Ran]:
        del window  # a Spark build recomputes every period
        scratch = self.workdir or Path(tempfile.mkdtemp(prefix="observatory-spark-"))
        try:
            return self._run_all(con, chosen, scratch)
        finally:
            if self.workdir is None:
                shutil.rmtree(scratch, ignore_errors=True)

    def _run_all(self, con: duckdb.DuckDBPyConnection, chosen: list[LoadedSpec],
                 scratch: Path) -> dict[str, Ran]:
        spark = spark_session(self.master)
        macros = store_macros(con)
        exported = export_tables(con, scratch / "tables")
        self.partitions = sum(1 for _ in (scratch / "tables").rglob("*.parquet"))
        tables = register(spark, con, scratch / "tables", exported, macros)
        self.progress(f"spark: {len(exported)} tables as {self.partitions} Parquet files on "
                      f"{self.master}")
        ran: dict[str, Ran] = {}
        for loaded in chosen:
            if loaded.query is None:
                ran[loaded.spec.name] = attempt(functools.partial(run_python, con, loaded),
                                                _no_window, loaded, None)
                continue
            run = functools.partial(_run, spark, loaded, macros=macros, tables=tables,
                                    results=scratch / "results")
            ran[loaded.spec.name] = attempt(run, _no_window, loaded, None)
        return ran


def check_translations(con: duckdb.DuckDBPyConnection,
                       chosen: list[LoadedSpec]) -> dict[Path, list[str]]:
    """What `indicators validate --engine spark` reports: definitions SQLGlot cannot
    translate, or that read anything but the store's tables, by definition file. No
    Spark session is started: this runs before any cluster time is spent."""
    from observatory.registry.engine import present_inputs

    macros, tables = store_macros(con), present_inputs(con)
    found: dict[Path, list[str]] = {}
    for loaded in chosen:
        if loaded.query is None or not set(loaded.spec.inputs) <= tables:
            continue  # Python is code; a definition waiting for data is checked once it has it
        where = _display(loaded.path.parent / str(loaded.spec.sql))
        try:
            one_query(str(loaded.query), where=where)
            to_spark(str(loaded.query), parameters=dict(loaded.spec.parameters),
                     macros=macros, where=where, tables=tables)
        except (TranslationError, LocatedError) as exc:
            found.setdefault(loaded.path, []).append(str(exc))
    return found
