"""Whether two stores hold the same indicator results (a Spark build against DuckDB's):
every indicator, period, resolution and cell, counts exactly and ratios within 1e-9
relative. Used by `bench spark` and the tests."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from observatory.store import connect_read, read_frame

KEYS = ["indicator", "period", "resolution", "h3_cell"]
FIGURES = ("value", "numerator", "denominator")
RELATIVE = 1e-9


def results_of(store: Path, names: list[str] | None = None) -> pl.DataFrame:
    """The store's indicator results (of `names`, or all)."""
    con = connect_read(store)
    try:
        return read_frame(con, "SELECT indicator, period, resolution, h3_cell, value, "
                          "numerator, denominator FROM indicator_results WHERE $all OR "
                          "indicator IN (SELECT unnest($n))",
                          {"all": names is None, "n": names or []})
    finally:
        con.close()


def differences(ours: pl.DataFrame, theirs: pl.DataFrame) -> pl.DataFrame:
    """The rows where the two disagree: a figure off by more than 1e-9 relative, one side
    missing a figure, or a row only one side has."""
    joined = ours.join(theirs, on=KEYS, how="full", nulls_equal=True, suffix="_b",
                       coalesce=True)
    off = pl.lit(False)
    for column in FIGURES:
        a, b = pl.col(column), pl.col(f"{column}_b")
        off = off | ((a - b).abs() > RELATIVE * (1 + a.abs())) | (a.is_null() != b.is_null())
    return joined.filter(off)
