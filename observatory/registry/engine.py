"""Run every indicator over the store and write `indicator_results` with its rollups.

Each definition yields one row per base cell (`h3_cell`, `value`, and `numerator` /
`denominator` for ratios). The engine checks that contract, then rolls cells up to their
parents down to resolution 7 and to the whole area (resolution and h3_cell NULL):
ratios by summing numerators and denominators, counts by summing values, worst-place
measures (`max`, e.g. hours above a legal limit at the worst station) by their maximum.
"""

from __future__ import annotations

import importlib.util
import json
import re
import time
import traceback
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl

from observatory.connectors import Progress, silent_progress
from observatory.errors import IndicatorComputeError, InputError
from observatory.h3grid import ROLLUP_RESOLUTIONS
from observatory.registry.loader import Registry, _display
from observatory.registry.spec import IndicatorSpec, LoadedSpec
from observatory.store import now_utc, read_frame, rows_between

_TOLERANCE = 1e-6
_NUMBERS = ("value", "numerator", "denominator")


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


def _run_query(con: duckdb.DuckDBPyConnection, loaded: LoadedSpec) -> pl.DataFrame:
    spec = loaded.spec
    if loaded.query is not None:
        return read_frame(con, loaded.query, dict(spec.parameters))
    module_path = loaded.path.parent / str(spec.python)
    module_spec = importlib.util.spec_from_file_location(f"indicator_{spec.name}", module_path)
    if module_spec is None or module_spec.loader is None:
        raise IndicatorComputeError(f"{_display(module_path)}: cannot be imported.")
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module.compute(con, parameters=dict(spec.parameters))


def _check_output(frame: pl.DataFrame, loaded: LoadedSpec) -> list[str]:
    spec, where = loaded.spec, _display(loaded.path)
    needed = {"h3_cell", "value"} | ({"numerator", "denominator"}
                                     if spec.aggregation == "ratio" else set())
    if missing := sorted(needed - set(frame.columns)):
        return [f"{where}: the query returns no column {', '.join(missing)} "
                f"(it returns {', '.join(frame.columns)}); name its output columns so."]
    if problems := _check_types(frame, where):
        return problems
    keys = ["h3_cell", "period"] if "period" in frame.columns else ["h3_cell"]
    if frame.select(keys).is_duplicated().any():
        problems.append(f"{where}: several rows for the same {' and '.join(keys)}; "
                        "return one row per cell (GROUP BY h3_cell).")
    if frame["h3_cell"].null_count():
        problems.append(f"{where}: rows with a NULL h3_cell; filter them out.")
    if spec.aggregation == "ratio" and not problems:
        problems += _check_ratio(frame, loaded)
    return problems


def _check_types(frame: pl.DataFrame, where: str) -> list[str]:
    """Integer cells and finite numbers: text, infinity or NaN is never a result."""
    problems = []
    cell = frame["h3_cell"].dtype
    if not (cell.is_integer() or cell == pl.Null):
        problems.append(f"{where}: column h3_cell holds {cell} (e.g. "
                        f"{_example(frame['h3_cell'])}); return the cell as BIGINT, as the "
                        "store's tables hold it.")
    numbers = [c for c in _NUMBERS if c in frame.columns]
    for column in numbers:
        kind = frame[column].dtype
        if not (kind.is_numeric() or kind in (pl.Boolean, pl.Null)):
            problems.append(f"{where}: column {column} holds {kind} (e.g. "
                            f"{_example(frame[column])}), not numbers; compute a number "
                            "(CAST(… AS DOUBLE) where the text is one).")
    if problems:
        return problems
    for column in numbers:
        values = frame[column].cast(pl.Float64)
        broken = values.is_infinite() | values.is_nan()
        if broken.any():
            first = frame.filter(broken).row(0, named=True)
            problems.append(
                f"{where}: {int(broken.sum())} rows with an infinite or NaN {column} (first: "
                f"h3_cell {first['h3_cell']}, {column} {first[column]}); such a figure is "
                "never stored. Return NULL where there is none (e.g. divide by "
                "NULLIF(denominator, 0)).")
    return problems


def _example(values: pl.Series) -> str:
    present = values.drop_nulls()
    return repr(present[0]) if present.len() else "NULL"


def _check_ratio(frame: pl.DataFrame, loaded: LoadedSpec) -> list[str]:
    spec = loaded.spec
    rows = frame.filter(pl.col("denominator") > 0)
    expected = pl.col("numerator") / pl.col("denominator") * spec.scale
    off = rows.filter((pl.col("value") - expected).abs() > _TOLERANCE * (1 + expected.abs()))
    if off.height:
        return [f"{_display(loaded.path)}: value differs from numerator / denominator × "
                f"{spec.scale:g} in {off.height} rows (unit `{spec.unit}`); compute value as "
                "that ratio so that rollups stay consistent."]
    return []


def _rollup_sql(spec_aggregation: str, scale: float) -> str:
    if spec_aggregation == "ratio":
        value = (f"CASE WHEN sum(denominator) > 0 "
                 f"THEN {scale!r} * sum(numerator) / sum(denominator) END")
    else:
        value = f"{spec_aggregation}(value)"  # sum or max
    return f"{value} AS value, sum(numerator) AS numerator, sum(denominator) AS denominator"


def _results(con: duckdb.DuckDBPyConnection, frame: pl.DataFrame, loaded: LoadedSpec,
             *, period: str, computed_at: datetime) -> pl.DataFrame:
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


def input_years(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """For each table, the year of the newest non-simulated data loaded into it."""
    years: dict[str, int] = {}
    rows = con.execute("SELECT row_counts, data_as_of FROM sources "
                       "WHERE NOT simulated AND data_as_of IS NOT NULL").fetchall()
    for counts, as_of in rows:
        for table in json.loads(counts):
            years[table] = max(years.get(table, as_of.year), as_of.year)
    return years


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


def _query_in_window(con: duckdb.DuckDBPyConnection, loaded: LoadedSpec,
                     window: PeriodFilter | None) -> tuple[pl.DataFrame, bool]:
    """Run the definition, on the window's rows when one is given and it applies; returns
    the frame and whether it was cut to the window."""
    if (window is None or not loaded.spec.grain.periods_independent
            or not set(loaded.spec.inputs) & set(window.time_columns)):
        return _run_query(con, loaded), False
    # a day's margin either side: the definition may count years in any time zone; the
    # partial periods the margin makes are dropped with every period outside the window
    start = datetime(window.first_year - 1, 12, 31, tzinfo=UTC)
    end = datetime(window.last_year + 1, 1, 2, tzinfo=UTC)
    columns = {t: c for t, c in window.time_columns.items() if t in loaded.spec.inputs}
    with rows_between(con, columns, start=start, end=end):
        frame = _run_query(con, loaded)
    if "period" not in frame.columns:  # one figure over all time: recompute in full
        return _run_query(con, loaded), False
    years = pl.col("period").cast(pl.String).str.slice(0, 4)
    return frame.filter(years.is_in(sorted(window.years))), True


def _compute_one(con: duckdb.DuckDBPyConnection, loaded: LoadedSpec, *, period: str,
                 computed_at: datetime, window: PeriodFilter | None = None,
                 ) -> tuple[pl.DataFrame | None, list[str], bool]:
    try:
        frame, cut = _query_in_window(con, loaded, window)
    except (duckdb.Error, Exception) as exc:  # any failure of analyst code is reported
        return None, [_failure(loaded, exc)], False
    if problems := _check_output(frame, loaded):
        return None, problems, False
    return _results(con, frame, loaded, period=period, computed_at=computed_at), [], cut


def _failure(loaded: LoadedSpec, exc: BaseException) -> str:
    """`<sql or py file> line N: the query of `name` failed: <first line of the error>`;
    the line is DuckDB's (`LINE n:`) or that of the module's deepest frame."""
    spec, line = loaded.spec, None
    if loaded.query is not None:
        code = loaded.path.parent / str(spec.sql)
        found = re.search(r"^LINE (\d+):", str(exc), re.MULTILINE)
        line = int(found.group(1)) if found else None
    else:
        code = loaded.path.parent / str(spec.python)
        lines = [f.lineno for f in traceback.extract_tb(exc.__traceback__)
                 if Path(f.filename).resolve() == code.resolve()]
        line = lines[-1] if lines else None
    first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    where = _display(code) + (f" line {line}" if line else "")
    return f"{where}: the query of `{spec.name}` failed: {first}"


def compute_all(con: duckdb.DuckDBPyConnection, registry: Registry, *,
                names: list[str] | None = None, window: PeriodFilter | None = None,
                progress: Progress = silent_progress) -> list[RunResult]:
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
    for loaded in chosen:
        if missing := missing_inputs(con, loaded.spec, present=present):
            waiting[loaded.spec.name] = (f"waiting for data: {', '.join(missing)} not loaded "
                                         "(see `observatory ingest --help`)")
            continue
        start = time.perf_counter()
        frame, problems, cut = _compute_one(
            con, loaded, period=default_period(loaded.spec, years), computed_at=computed_at,
            window=window)
        failures += problems
        if frame is None:
            continue
        if cut and window is not None:
            partial[loaded.spec.name] = window.years
        seconds = time.perf_counter() - start
        whole = frame.filter(pl.col("resolution").is_null())["value"]
        results.append(RunResult(loaded.spec.name, frame.height, seconds,
                                 whole[-1] if whole.len() else None))
        frames.append(frame)
        progress(f"{loaded.spec.name}: {frame.height} rows")
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
