"""Disclosure control as the views apply it (the rule itself: `observatory.disclosure`).

`indicator_disclosure` reads every row of one indicator and period and decides, once for
all resolutions, what the public may see: small cells withheld, merged into their parent
where that reaches `min_count`, and complementary cells withheld so that nothing withheld
can be recovered by subtracting published cells (across resolutions and the whole area).
"""

from __future__ import annotations

import duckdb
import polars as pl

from observatory.disclosure import Disclosure, disclosure_from_results
from observatory.registry.spec import IndicatorSpec
from observatory.store import read_frame


def count_column(frame: pl.DataFrame, *, aggregation: str) -> str:
    """The column the disclosure rule tests: `denominator` for ratios, else `value`."""
    if aggregation == "ratio" and "denominator" in frame.columns:
        return "denominator"
    return "value"


def suppress_small_cells(
    frame: pl.DataFrame, *, min_count: int, aggregation: str
) -> tuple[pl.DataFrame, int]:
    """The cells whose count is at least `min_count`, and how many were withheld.

    The threshold alone, for a frame with no hierarchy; `indicator_disclosure` adds the
    merging and complementary suppression that nested cells need.
    """
    column = count_column(frame, aggregation=aggregation)
    keep = pl.col(column).is_not_null() & (pl.col(column) >= min_count)
    published = frame.filter(keep)
    return published, frame.height - published.height


def indicator_disclosure(
    con: duckdb.DuckDBPyConnection, spec: IndicatorSpec, *, period: str
) -> Disclosure:
    """What the public may see of one indicator and period, at every resolution."""
    results = read_frame(
        con, "SELECT CAST(resolution AS BIGINT) AS resolution, h3_cell, value, numerator, "
        "denominator, computed_at FROM indicator_results "
        "WHERE indicator = $name AND period = $period ORDER BY resolution, h3_cell",
        {"name": spec.name, "period": period})
    return disclosure_from_results(results, min_count=spec.min_count,
                                   aggregation=spec.aggregation, scale=spec.scale)
