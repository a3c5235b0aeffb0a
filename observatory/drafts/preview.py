"""A draft's preview: its query run on the current snapshot in the sandbox, checked against
the output contract and rolled up exactly as a build would store it.

Nothing is written anywhere: the rollups run on a scratch in-memory DuckDB that holds only
the H3 macros and runs only the engine's own text.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import duckdb
import polars as pl

from observatory.h3grid import MACROS_SQL
from observatory.registry.contract import ContractCheck, contract_checks
from observatory.registry.engine import (
    SOURCE_YEARS_SQL,
    default_period,
    rolled_up,
    years_of,
)
from observatory.registry.spec import LoadedSpec
from observatory.sandbox import Sandbox, SandboxError, build_limits
from observatory.store import now_utc

RESULT_COLUMNS = ("period", "resolution", "h3_cell", "value", "numerator", "denominator")


@dataclass(frozen=True)
class Preview:
    """What a build would store for the draft, how it fared against the contract, and the
    time it took on the server (query, checks and rollups)."""

    results: pl.DataFrame  # RESULT_COLUMNS; empty when the query failed or broke the contract
    checks: tuple[ContractCheck, ...]
    rows: int  # base rows the query returned
    seconds: float
    problem: str | None = None  # the query failed or was refused (the sandbox's message)

    @property
    def ok(self) -> bool:
        """Whether the query ran and met the contract."""
        return self.problem is None and all(c.ok for c in self.checks)

    @property
    def period(self) -> str | None:
        """The latest period of the results."""
        periods = self.results["period"].drop_nulls()
        return str(periods.max()) if periods.len() else None

    def whole_area(self) -> float | None:
        """The whole area's value in the latest period."""
        found = self.results.filter(pl.col("resolution").is_null(),
                                    pl.col("period") == self.period)["value"]
        return found[0] if found.len() else None

    def cells(self, resolution: int) -> pl.DataFrame:
        """The latest period's cells at `resolution` (h3_cell, value, numerator,
        denominator)."""
        return self.results.filter(pl.col("resolution") == resolution,
                                   pl.col("period") == self.period).select(
            "h3_cell", "value", "numerator", "denominator")

    @property
    def resolutions(self) -> list[int]:
        """The resolutions with cells, finest first."""
        found = self.results["resolution"].drop_nulls().unique().to_list()
        return sorted((int(r) for r in found), reverse=True)


def _failed(problem: str, started: float) -> Preview:
    return Preview(pl.DataFrame(schema=dict.fromkeys(RESULT_COLUMNS, pl.Float64)), (), 0,
                   time.perf_counter() - started, problem)


def preview(sandbox: Sandbox, loaded: LoadedSpec) -> Preview:
    """Run a valid draft (`check_draft(...).loaded`) on the sandbox's snapshot."""
    started = time.perf_counter()
    where = str(loaded.path.with_name(f"{loaded.spec.name}.sql"))
    cap = build_limits().max_rows
    try:
        result = sandbox.query(str(loaded.query), params=dict(loaded.spec.parameters),
                               where=where, max_rows=cap)
        sources = sandbox.query(SOURCE_YEARS_SQL, max_rows=100_000).frame
    except SandboxError as exc:
        return _failed(str(exc), started)
    if result.truncated:
        return _failed(f"{where}: returns more than {cap:,} rows; return one row per cell "
                       "(GROUP BY h3_cell).", started)
    frame = result.frame
    checks = tuple(contract_checks(frame, loaded))
    if not all(c.ok for c in checks):
        return Preview(_failed("", started).results, checks, frame.height,
                       time.perf_counter() - started)
    period = default_period(loaded.spec, years_of(sources.iter_rows()))
    scratch = duckdb.connect()
    try:
        for macro in MACROS_SQL:
            scratch.execute(macro)
        results = rolled_up(scratch, frame, loaded, period=period, computed_at=now_utc())
    finally:
        scratch.close()
    return Preview(results.select(RESULT_COLUMNS), checks, frame.height,
                   time.perf_counter() - started)
