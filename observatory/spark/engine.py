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
import os
import shutil
import tempfile
import threading
import uuid
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
from observatory.sandbox import BUILD_SECONDS_ENV, build_limits, one_query
from observatory.spark.session import DEFAULT_MASTER, spark_session
from observatory.spark.tables import SKIPPED, export_tables, register
from observatory.spark.translate import Macro, line_naming, store_macros, to_spark

# Where the Parquet partitions go: $OBSERVATORY_SPARK_WORKDIR (storage a cluster's
# executors share), else a temporary folder (local mode); a build's folder is removed after.
WORKDIR_ENV = "OBSERVATORY_SPARK_WORKDIR"


class SparkQueryError(LocatedError):
    """A translated definition that Spark refused or failed on."""


def _no_window(columns: dict[str, str], **_: object) -> nullcontext[None]:
    return nullcontext()


def _translated(loaded: LoadedSpec, *, macros: dict[str, Macro], tables: set[str]) -> str:
    """The definition's Spark SQL: DuckDB's parser first (exactly one read-only query),
    then SQLGlot, reading only the store's tables."""
    sql = str(loaded.query)
    where = _display(loaded.path.parent / str(loaded.spec.sql))
    one_query(sql, where=where)
    return to_spark(sql, parameters=dict(loaded.spec.parameters), macros=macros,
                    where=where, tables=tables)


def _run(spark: Any, loaded: LoadedSpec, text: str, *, results: Path) -> pl.DataFrame:
    sql = str(loaded.query)
    where = _display(loaded.path.parent / str(loaded.spec.sql))
    target = results / f"indicator={loaded.spec.name}"
    group, limit = f"observatory-{loaded.spec.name}", build_limits().timeout_s
    spark.sparkContext.setJobGroup(group, f"indicator {loaded.spec.name}",
                                   interruptOnCancel=True)
    timer = threading.Timer(limit, spark.sparkContext.cancelJobGroup, args=(group,))
    timer.start()
    try:
        spark.sql(text).write.mode("overwrite").parquet(str(target))
    except Exception as exc:  # Spark's AnalysisException and friends: one line, a place
        if not timer.is_alive():
            raise SparkQueryError(where, f"stopped after {limit:g} s, the time limit "
                                  f"(${BUILD_SECONDS_ENV}).") from None
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        line = line_naming(sql, first)
        raise SparkQueryError(where, f"Spark: {first}",
                              position=f"line {line}" if line else "") from None
    finally:
        timer.cancel()
    return pl.read_parquet(target / "*.parquet") if any(target.glob("*.parquet")) else (
        pl.DataFrame())


def _failed(loaded: LoadedSpec, error: Exception) -> Ran:
    return attempt(functools.partial(_raise, error), _no_window, loaded, None)


def _raise(error: Exception) -> pl.DataFrame:
    raise error


class SparkRunner:
    """Runs a build's definitions on Spark (`master`), in a scratch folder of Parquet."""

    def __init__(self, master: str = DEFAULT_MASTER, *, workdir: Path | None = None,
                 progress: Progress = silent_progress) -> None:
        shared = os.environ.get(WORKDIR_ENV, "").strip()
        self.master, self.progress = master, progress
        self.workdir = workdir or (Path(shared) / f"build-{uuid.uuid4().hex[:12]}"
                                   if shared else None)
        self.partitions = 0

    def __call__(self, con: duckdb.DuckDBPyConnection, chosen: list[LoadedSpec],
                 window: PeriodFilter | None) -> dict[str, Ran]:
        del window  # a Spark build recomputes every period
        scratch = self.workdir or Path(tempfile.mkdtemp(prefix="observatory-spark-"))
        try:
            return self._run_all(con, chosen, scratch)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    def _run_all(self, con: duckdb.DuckDBPyConnection, chosen: list[LoadedSpec],
                 scratch: Path) -> dict[str, Ran]:
        from observatory.registry.engine import present_inputs

        macros, ran, texts = store_macros(con), {}, {}
        present = present_inputs(con) - set(SKIPPED)  # what Spark gets: not the results
        for loaded in (item for item in chosen if item.query is not None):
            try:  # every translation before any Spark time is spent
                texts[loaded.spec.name] = _translated(loaded, macros=macros, tables=present)
            except LocatedError as exc:
                ran[loaded.spec.name] = _failed(loaded, exc)
        if ran:
            return ran  # the build stops on these problems: Spark need not start
        spark = spark_session(self.master)
        exported = export_tables(con, scratch / "tables")
        self.partitions = sum(1 for _ in (scratch / "tables").rglob("*.parquet"))
        register(spark, con, scratch / "tables", exported, macros)
        self.progress(f"spark: {len(exported)} tables as {self.partitions} Parquet files on "
                      f"{self.master}")
        for loaded in chosen:
            if loaded.query is None:
                run = functools.partial(run_python, con, loaded)
            else:
                run = functools.partial(_run, spark, loaded, texts[loaded.spec.name],
                                        results=scratch / "results")
            ran[loaded.spec.name] = attempt(run, _no_window, loaded, None)
        return ran


def check_translations(con: duckdb.DuckDBPyConnection,
                       chosen: list[LoadedSpec]) -> dict[Path, list[str]]:
    """What `indicators validate --engine spark` reports: definitions SQLGlot cannot
    translate, or that read anything but the store's tables, by definition file. No
    Spark session is started: this runs before any cluster time is spent."""
    from observatory.registry.engine import present_inputs

    macros, tables = store_macros(con), present_inputs(con) - set(SKIPPED)
    found: dict[Path, list[str]] = {}
    for loaded in chosen:
        if loaded.query is None or not set(loaded.spec.inputs) <= tables:
            continue  # Python is code; a definition waiting for data is checked once it has it
        try:
            _translated(loaded, macros=macros, tables=tables)
        except LocatedError as exc:
            found.setdefault(loaded.path, []).append(str(exc))
    return found
