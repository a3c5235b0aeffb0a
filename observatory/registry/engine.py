"""Run every indicator over the store and write `indicator_results` with its rollups.

Each definition yields one row per base cell (`h3_cell`, `value`, and `numerator` /
`denominator` for ratios). The engine checks that contract, then rolls cells up to their
parents down to resolution 7 and to the whole area (resolution and h3_cell NULL):
ratios by summing numerators and denominators, counts by summing values, worst-place
measures (`max`, e.g. hours above a legal limit at the worst station) by their maximum.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import importlib.util
import json
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl

from observatory.connectors import Progress, silent_progress
from observatory.errors import IndicatorComputeError, InputError, LocatedError
from observatory.h3grid import ROLLUP_RESOLUTIONS
from observatory.registry.contract import contract_problems
from observatory.registry.loader import Registry, _display
from observatory.registry.spec import IndicatorSpec, LoadedSpec
from observatory.sandbox import (
    BUILD_ROWS_ENV,
    Sandbox,
    SandboxError,
    build_limits,
    isolated,
)
from observatory.store import now_utc, read_frame, rows_between


class IndicatorRunError(IndicatorComputeError, InputError):
    """Definitions that failed on the store: their SQL or Python, or their output, is at
    fault (analyst input), so the CLI says which and where and exits 2."""


@dataclass(frozen=True)
class PeriodFilter:
    """Recompute only some periods: time-partitioned inputs are cut to whole years
    [first_year, last_year] and only result periods of those years are replaced.

    Applies to definitions that declare `grain: {periods_independent: true}` (a period's
    figure depends only on that period's input rows); the others, and a definition that
    returns no `period` column, are recomputed in full.
    """

    first_year: int
    last_year: int
    time_columns: dict[str, str]  # input table -> its time column

    @property
    def years(self) -> set[str]:
        """The years whose results are replaced."""
        return {str(y) for y in range(self.first_year, self.last_year + 1)}


@dataclass(frozen=True)
class RunResult:
    """What one indicator's computation gave."""

    indicator: str
    rows: int
    seconds: float
    whole_area_value: float | None


def run_python(con: duckdb.DuckDBPyConnection, loaded: LoadedSpec) -> pl.DataFrame:
    """A `python:` definition: code from the repository, run on the engine's connection."""
    spec = loaded.spec
    module_path = loaded.path.parent / str(spec.python)
    module_spec = importlib.util.spec_from_file_location(f"indicator_{spec.name}", module_path)
    if module_spec is None or module_spec.loader is None:
        raise IndicatorComputeError(f"{_display(module_path)}: cannot be imported.")
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module.compute(con, parameters=dict(spec.parameters))


def _run_sql(box: Sandbox, loaded: LoadedSpec) -> pl.DataFrame:
    """A `sql:` definition: user text, run in the sandbox with its parameters bound."""
    where = _display(loaded.path.parent / str(loaded.spec.sql))
    result = box.query(str(loaded.query), params=dict(loaded.spec.parameters), where=where)
    if result.truncated:  # never store part of an indicator
        raise SandboxError(where, f"returns more than {box.limits.max_rows:,} rows, the "
                           f"limit; return one row per cell (GROUP BY h3_cell), or raise "
                           f"${BUILD_ROWS_ENV} for a larger area.")
    return result.frame


def _rollup_sql(spec_aggregation: str, scale: float) -> str:
    if spec_aggregation == "ratio":
        value = (f"CASE WHEN sum(denominator) > 0 "
                 f"THEN {scale!r} * sum(numerator) / sum(denominator) END")
    else:
        value = f"{spec_aggregation}(value)"  # sum or max
    return f"{value} AS value, sum(numerator) AS numerator, sum(denominator) AS denominator"


def rolled_up(con: duckdb.DuckDBPyConnection, frame: pl.DataFrame, loaded: LoadedSpec,
             *, period: str, computed_at: datetime) -> pl.DataFrame:
    """A definition's checked base rows with their rollups: parents down to resolution 7
    and the whole area (resolution and h3_cell NULL), as `indicator_results` holds them.
    `con` runs only the engine's own text (it needs the `h3_parent` macro)."""
    spec = loaded.spec
    base_res = spec.grain.h3_resolution
    if "period" not in frame.columns:
        frame = frame.with_columns(pl.lit(period).alias("period"))
    for column in ("numerator", "denominator"):
        if column not in frame.columns:
            frame = frame.with_columns(pl.lit(None, dtype=pl.Float64).alias(column))
    con.register("_base", frame.select(
        pl.col("period").cast(pl.String), pl.col("h3_cell").cast(pl.Int64),
        *(pl.col(c).cast(pl.Float64) for c in ("value", "numerator", "denominator"))).to_arrow())
    aggregate = _rollup_sql(spec.aggregation, spec.scale)
    parts = [f"SELECT period, {base_res} AS resolution, h3_cell, value, numerator, denominator "
             "FROM _base"]
    parts += [f"SELECT period, {res} AS resolution, h3_parent(h3_cell, {res}) AS h3_cell, "
              f"{aggregate} FROM _base GROUP BY period, h3_parent(h3_cell, {res})"
              for res in ROLLUP_RESOLUTIONS if res < base_res]
    parts.append(f"SELECT period, NULL, NULL, {aggregate} FROM _base GROUP BY period")
    out = read_frame(con, " UNION ALL ".join(parts))
    con.unregister("_base")
    return out.with_columns(
        pl.lit(spec.name).alias("indicator"), pl.lit(computed_at).alias("computed_at"),
        pl.lit(loaded.definition_hash).alias("definition_hash"),
    )


# The provenance rows that date a store's inputs (see `years_of`).
SOURCE_YEARS_SQL = ("SELECT row_counts, data_as_of FROM sources "
                    "WHERE NOT simulated AND data_as_of IS NOT NULL")


def years_of(rows: Iterable[tuple[str, dt.date]]) -> dict[str, int]:
    """For each table, the year of the newest non-simulated data loaded into it, from the
    `SOURCE_YEARS_SQL` rows (the tables' row counts as JSON, and the data's date)."""
    years: dict[str, int] = {}
    for counts, as_of in rows:
        for table in json.loads(counts):
            years[table] = max(years.get(table, as_of.year), as_of.year)
    return years


def input_years(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """For each table, the year of the newest non-simulated data loaded into it."""
    return years_of(con.execute(SOURCE_YEARS_SQL).fetchall())


def default_period(spec: IndicatorSpec, years: dict[str, int]) -> str:
    """The period of results whose query names none: the year of its newest input data."""
    found = [years[i] for i in spec.inputs if i in years]
    if found:
        return str(max(found))
    return str(max(years.values())) if years else str(now_utc().year)


def present_inputs(con: duckdb.DuckDBPyConnection) -> set[str]:
    """The tables and views the store holds."""
    return {r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
    ).fetchall()}


def missing_inputs(con: duckdb.DuckDBPyConnection, spec: IndicatorSpec, *,
                   present: set[str] | None = None) -> list[str]:
    """The inputs of `spec` that the store does not hold (tables or views)."""
    present = present_inputs(con) if present is None else present
    return [name for name in spec.inputs if name not in present]


Narrowing = Callable[..., contextlib.AbstractContextManager[None]]


def _query_in_window(run: Callable[[], pl.DataFrame], narrow: Narrowing, loaded: LoadedSpec,
                     window: PeriodFilter | None) -> tuple[pl.DataFrame, bool]:
    """Run the definition (`run`), on the window's rows when one is given and it applies
    (`narrow(columns, start=, end=)` hides the others); returns the frame and whether it
    was cut to the window."""
    if (window is None or not loaded.spec.grain.periods_independent
            or not set(loaded.spec.inputs) & set(window.time_columns)):
        return run(), False
    # a day's margin either side: the definition may count years in any time zone; the
    # partial periods the margin makes are dropped with every period outside the window
    start = datetime(window.first_year - 1, 12, 31, tzinfo=UTC)
    end = datetime(window.last_year + 1, 1, 2, tzinfo=UTC)
    columns = {t: c for t, c in window.time_columns.items() if t in loaded.spec.inputs}
    with narrow(columns, start=start, end=end):
        frame = run()
    if "period" not in frame.columns:  # one figure over all time: recompute in full
        return run(), False
    years = pl.col("period").cast(pl.String).str.slice(0, 4)
    return frame.filter(years.is_in(sorted(window.years))), True


@dataclass
class Ran:
    """One definition's query: its frame (None when it failed), problems, whether it was
    cut to the window, and the seconds it took."""

    frame: pl.DataFrame | None
    problems: list[str]
    cut: bool
    seconds: float


def attempt(run: Callable[[], pl.DataFrame], narrow: Narrowing, loaded: LoadedSpec,
             window: PeriodFilter | None) -> Ran:
    started = time.perf_counter()
    try:
        frame, cut = _query_in_window(run, narrow, loaded, window)
    except Exception as exc:  # any failure of analyst code is reported
        return Ran(None, [_failure(loaded, exc)], False, time.perf_counter() - started)
    return Ran(frame, [], cut, time.perf_counter() - started)


def sandbox_runner(con: duckdb.DuckDBPyConnection, chosen: list[LoadedSpec],
                   window: PeriodFilter | None) -> dict[str, Ran]:
    """Every definition's query: SQL in one sandbox over the store (no user text touches
    the writable connection), then `python:` definitions (repository code) on `con`."""
    ran: dict[str, Ran] = {}
    sql = [loaded for loaded in chosen if loaded.query is not None]
    if sql:
        with isolated(con, limits=build_limits()) as box:
            for loaded in sql:
                ran[loaded.spec.name] = attempt(functools.partial(_run_sql, box, loaded),
                                                 box.rows_between, loaded, window)
    for loaded in (item for item in chosen if item.query is None):
        ran[loaded.spec.name] = attempt(functools.partial(run_python, con, loaded),
                                         functools.partial(rows_between, con), loaded, window)
    return ran


def _failure(loaded: LoadedSpec, exc: BaseException) -> str:
    """`<sql or py file> line N[, column C]: the query of `name` failed: <what>`; the place
    is the sandbox's (DuckDB's `LINE n:` and caret) or that of the module's deepest frame."""
    spec = loaded.spec
    if isinstance(exc, LocatedError):
        where = exc.where + (f" {exc.position}" if exc.position else "")
        return f"{where}: the query of `{spec.name}` failed: {exc.reason}"
    code = loaded.path.parent / str(spec.sql if loaded.query is not None else spec.python)
    lines = [f.lineno for f in traceback.extract_tb(exc.__traceback__)
             if Path(f.filename).resolve() == code.resolve()]
    first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    where = _display(code) + (f" line {lines[-1]}" if lines else "")
    return f"{where}: the query of `{spec.name}` failed: {first}"


# How definitions' queries run: (con, definitions, window) -> their outcomes by name. The
# default runs SQL in a sandbox over the store (observatory/sandbox.py); the Spark engine
# (observatory/spark/engine.py) supplies its own.
Runner = Callable[[duckdb.DuckDBPyConnection, list[LoadedSpec], "PeriodFilter | None"],
                  dict[str, "Ran"]]


def compute_all(con: duckdb.DuckDBPyConnection, registry: Registry, *,
                names: list[str] | None = None, window: PeriodFilter | None = None,
                progress: Progress = silent_progress,
                runner: Runner | None = None) -> list[RunResult]:
    """Compute the named indicators (default: all) into `indicator_results` (only the
    periods of `window` when given).

    Raises IndicatorRunError (an IndicatorComputeError and an InputError) listing every
    failure, each with its file; the caller's write session then leaves the store as it was.
    """
    registry.raise_if_problems()
    chosen = [registry.get(n) for n in names] if names else list(registry.specs.values())
    years, computed_at = input_years(con), now_utc()
    failures, results, frames, waiting = [], [], [], {}
    partial: dict[str, set[str]] = {}  # indicator -> the periods replaced
    present = present_inputs(con)
    ready = []
    for loaded in chosen:
        if missing := missing_inputs(con, loaded.spec, present=present):
            waiting[loaded.spec.name] = (f"waiting for data: {', '.join(missing)} not loaded "
                                         "(see `observatory ingest --help`)")
        else:
            ready.append(loaded)
    ran = (runner or sandbox_runner)(con, ready, window)
    for loaded in ready:
        name, outcome = loaded.spec.name, ran[loaded.spec.name]
        start = time.perf_counter()
        problems = outcome.problems or contract_problems(outcome.frame, loaded)
        failures += problems
        if problems or outcome.frame is None:
            continue
        frame = rolled_up(con, outcome.frame, loaded, computed_at=computed_at,
                         period=default_period(loaded.spec, years))
        if outcome.cut and window is not None:
            partial[name] = window.years
        seconds = outcome.seconds + time.perf_counter() - start
        whole = frame.filter(pl.col("resolution").is_null())["value"]
        results.append(RunResult(name, frame.height, seconds,
                                 whole[-1] if whole.len() else None))
        frames.append(frame)
        progress(f"{name}: {frame.height} rows")
    if failures:
        noun = "problem" if len(failures) == 1 else "problems"
        raise IndicatorRunError("\n".join(
            [f"{len(failures)} {noun} in the indicators; no result was written:"] +
            [f"  {f}" for f in failures]))
    _write(con, frames, chosen, results, waiting, partial=partial)
    return results


def _write(con: duckdb.DuckDBPyConnection, frames: list[pl.DataFrame],
           chosen: list[LoadedSpec], results: list[RunResult],
           waiting: dict[str, str], *, partial: dict[str, set[str]]) -> None:
    names = [loaded.spec.name for loaded in chosen]
    whole = [n for n in names if n not in partial]
    con.execute("DELETE FROM indicator_results WHERE indicator IN $names", {"names": whole})
    for name, periods in partial.items():
        con.execute("DELETE FROM indicator_results WHERE indicator = $n AND "
                    "substr(period, 1, 4) IN (SELECT unnest($p))",
                    {"n": name, "p": sorted(periods)})
    con.execute("DELETE FROM indicator_runs WHERE indicator IN $names", {"names": names})
    if frames:
        con.register("_new", pl.concat(frames, how="diagonal_relaxed").to_arrow())
        con.execute("INSERT INTO indicator_results BY NAME SELECT * FROM _new")
        con.unregister("_new")
    hashes = {loaded.spec.name: loaded.definition_hash for loaded in chosen}
    for name, message in waiting.items():
        con.execute("INSERT INTO indicator_runs VALUES ($i, 'waiting', $m, 0, 0, now(), $h)",
                    {"i": name, "m": message, "h": hashes[name]})
    for result in results:
        con.execute(
            "INSERT INTO indicator_runs VALUES ($i, 'ok', NULL, $rows, $s, now(), $h)",
            {"i": result.indicator, "rows": result.rows, "s": result.seconds,
             "h": hashes[result.indicator]},
        )
