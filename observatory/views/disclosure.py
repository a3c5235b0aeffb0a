"""Basic disclosure control for published cells.

A cell is withheld when the count it rests on is below the indicator's `min_count`:
the denominator for ratios, the value itself for counts. Withheld cells are removed,
not blanked, and counted so the page can say how many were withheld.

Limit (stated, not solved here): a withheld cell can still be recovered by
subtracting its published siblings from their published parent for `sum`
indicators; complementary suppression belongs in the core (`observatory/disclosure.py`).
"""

from __future__ import annotations

import polars as pl


def count_column(frame: pl.DataFrame, *, aggregation: str) -> str:
    """The column the disclosure rule tests: `denominator` for ratios, else `value`."""
    if aggregation == "ratio" and "denominator" in frame.columns:
        return "denominator"
    return "value"


def suppress_small_cells(
    frame: pl.DataFrame, *, min_count: int, aggregation: str
) -> tuple[pl.DataFrame, int]:
    """The cells whose count is at least `min_count`, and how many were withheld."""
    column = count_column(frame, aggregation=aggregation)
    keep = pl.col(column).is_not_null() & (pl.col(column) >= min_count)
    published = frame.filter(keep)
    return published, frame.height - published.height
