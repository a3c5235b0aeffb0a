"""H3 parents by bit arithmetic agree with the h3 library, in Python and in SQL."""

from __future__ import annotations

import duckdb
import h3
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from observatory.h3grid import (
    MACROS_SQL,
    cell_resolution,
    cell_to_hex,
    cell_to_parent,
    cells_to_parents,
    hex_to_cell,
)

lats = st.floats(min_value=-85, max_value=85, allow_nan=False)
lngs = st.floats(min_value=-180, max_value=180, allow_nan=False)


@given(lat=lats, lng=lngs, res=st.integers(0, 15), up=st.integers(0, 15))
@settings(max_examples=300, deadline=None)
def test_parent_matches_h3(lat: float, lng: float, res: int, up: int) -> None:
    parent_res = min(res, up)
    cell = hex_to_cell(h3.latlng_to_cell(lat, lng, res))
    expected = hex_to_cell(h3.cell_to_parent(cell_to_hex(cell), parent_res))
    assert cell_to_parent(cell, parent_res) == expected
    assert int(cells_to_parents(np.array([cell], dtype=np.int64), parent_res)[0]) == expected
    assert cell_resolution(cell) == res


def test_sql_macros_match_h3() -> None:
    con = duckdb.connect()
    for statement in MACROS_SQL:
        con.execute(statement)
    cell = hex_to_cell(h3.latlng_to_cell(60.17, 24.94, 10))
    rows = con.execute(
        "SELECT h3_parent($c, 7), h3_parent($c, 10), h3_resolution($c), h3_hex($c)",
        {"c": cell},
    ).fetchall()
    assert rows[0][0] == hex_to_cell(h3.cell_to_parent(cell_to_hex(cell), 7))
    assert rows[0][1] == cell
    assert rows[0][2] == 10
    assert rows[0][3] == cell_to_hex(cell) == "8a1126d338dffff"
