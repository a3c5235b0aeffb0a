"""H3 helpers. Cells are stored as signed BIGINT (the top bit of an H3 index is always 0).

Parents come from the H3 bit layout (resolution in bits 52-55, one 3-bit digit per
resolution, unused digits set to 7), so SQL needs no extension: see `PARENT_MACRO_SQL`.
"""

from __future__ import annotations

import h3
import numpy as np
import polars as pl
import polars_h3 as plh3

BASE_RESOLUTION = 10
ROLLUP_RESOLUTIONS = (10, 9, 8, 7)
_RES_SHIFT = 52
_RES_MASK = 0xF << _RES_SHIFT

# h3_parent(cell, res): the ancestor of `cell` at resolution `res` (res <= cell's own).
PARENT_MACRO_SQL = (
    "CREATE OR REPLACE MACRO h3_parent(cell, res) AS "
    f"((cell & ~CAST({_RES_MASK} AS BIGINT)) | (CAST(res AS BIGINT) << {_RES_SHIFT}) "
    "| ((CAST(1 AS BIGINT) << (3 * (15 - CAST(res AS BIGINT)))) - 1))"
)
# h3_resolution(cell) and h3_hex(cell): the cell's resolution and its usual hex string.
RESOLUTION_MACRO_SQL = (
    f"CREATE OR REPLACE MACRO h3_resolution(cell) AS ((cell >> {_RES_SHIFT}) & 15)"
)
HEX_MACRO_SQL = "CREATE OR REPLACE MACRO h3_hex(cell) AS ltrim(lower(hex(cell)), '0')"
MACROS_SQL = (PARENT_MACRO_SQL, RESOLUTION_MACRO_SQL, HEX_MACRO_SQL)


def cell_to_parent(cell: int, res: int) -> int:
    """Parent of one BIGINT cell at `res`, by bit arithmetic (same as the SQL macro)."""
    return (cell & ~_RES_MASK) | (res << _RES_SHIFT) | ((1 << (3 * (15 - res))) - 1)


def cells_to_parents(cells: np.ndarray, res: int) -> np.ndarray:
    """Vectorised `cell_to_parent` over an int64 array."""
    cells = cells.astype(np.int64, copy=False)
    digits = np.int64((1 << (3 * (15 - res))) - 1)
    return (cells & np.int64(~_RES_MASK)) | np.int64(res << _RES_SHIFT) | digits


def cell_resolution(cell: int) -> int:
    """Resolution of a BIGINT cell."""
    return (cell >> _RES_SHIFT) & 0xF


def cell_to_hex(cell: int) -> str:
    """BIGINT cell to the usual hex string (`8a1126d338dffff`)."""
    return h3.int_to_str(int(cell))


def hex_to_cell(text: str) -> int:
    """Hex string to BIGINT cell."""
    return int(h3.str_to_int(text))


def with_cells(
    frame: pl.DataFrame, *, lat: str = "lat", lon: str = "lon", res: int = BASE_RESOLUTION,
    name: str = "h3_cell",
) -> pl.DataFrame:
    """Add the H3 cell (Int64) of each row's point; rows with null coordinates get null."""
    cell = plh3.latlng_to_cell(lat, lon, res).cast(pl.Int64)
    return frame.with_columns(cell.alias(name))


def cells_covering_bbox(
    west: float, south: float, east: float, north: float, *, res: int = BASE_RESOLUTION
) -> list[int]:
    """Every cell at `res` whose centre lies in the box, plus those touching its corners."""
    shape = h3.LatLngPoly([(south, west), (south, east), (north, east), (north, west)])
    cells = {h3.str_to_int(c) for c in h3.h3shape_to_cells(shape, res)}
    for lat, lng in ((south, west), (south, east), (north, east), (north, west)):
        cells.add(h3.str_to_int(h3.latlng_to_cell(lat, lng, res)))
    return sorted(int(c) for c in cells)


def cell_table(cells: list[int]) -> pl.DataFrame:
    """One row per cell: id, resolution, centre, area in m², parents at 9..7."""
    hexes = [h3.int_to_str(c) for c in cells]
    centres = [h3.cell_to_latlng(x) for x in hexes]
    frame = pl.DataFrame(
        {
            "h3_cell": pl.Series(cells, dtype=pl.Int64),
            "lat": [c[0] for c in centres],
            "lon": [c[1] for c in centres],
            "area_m2": [h3.cell_area(x, unit="m^2") for x in hexes],
        }
    )
    return frame.with_columns(pl.lit(BASE_RESOLUTION, dtype=pl.Int8).alias("resolution"))
