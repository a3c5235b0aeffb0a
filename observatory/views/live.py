"""What the feeds sent last: the newest reading of every sensor series, and how fresh."""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb
import polars as pl

from observatory.alerts.tables import has_table
from observatory.store import read_frame
from observatory.views.model import CellMap
from observatory.views.provenance import provenance_for_tables

LATEST_SQL = """
WITH last AS (
    SELECT series_id, max(time) AS time, arg_max(value, time) AS value, count(*) AS readings
    FROM sensor_values WHERE flag IS NULL GROUP BY series_id  -- no impossible, no repeats
)
SELECT s.station_id AS station, s.variable, s.unit, l.time, l.value, l.readings,
       src.simulated, s.source_id
FROM last AS l JOIN sensor_series AS s USING (series_id)
JOIN sources AS src USING (source_id)
ORDER BY l.time DESC, s.station_id, s.variable
"""
_EMPTY = {"station": pl.String, "variable": pl.String, "unit": pl.String,
          "time": pl.Datetime("us", "UTC"), "value": pl.Float64, "readings": pl.Int64,
          "simulated": pl.Boolean, "source_id": pl.String}


def latest_readings(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """The newest usable reading of every series, newest first (one pass over the
    snapshot's readings: cache it per snapshot)."""
    if not has_table(con, "sensor_values"):
        return pl.DataFrame(schema=_EMPTY)
    return read_frame(con, LATEST_SQL).with_columns(
        pl.col("time").dt.convert_time_zone("UTC").dt.cast_time_unit("us"))


def with_ages(latest: pl.DataFrame, *, now: datetime | None = None) -> pl.DataFrame:
    """`latest_readings` with each reading's age in seconds at `now`."""
    stamp = pl.lit(now or datetime.now(UTC), dtype=pl.Datetime("us", "UTC"))
    return latest.with_columns((stamp - pl.col("time")).dt.total_seconds().cast(pl.Int64)
                               .alias("age_s"))


def newest_alerts(alerts: pl.DataFrame, *, limit: int = 10) -> pl.DataFrame:
    """The alerts that changed last (fired, updated, resolved), newest first."""
    if alerts.is_empty():
        return alerts
    return alerts.sort("updated_at", descending=True, nulls_last=True).head(limit).select(
        "id", "severity", "state", "rule", "place", "message", "updated_at")


CELLS_SQL = """
WITH last AS (
    SELECT series_id, arg_max(value, time) AS value
    FROM sensor_values WHERE flag IS NULL GROUP BY series_id
)
SELECT h3_hex(h3_parent(s.h3_cell, $r)) AS h3_hex, avg(l.value) AS value,
       count(*) AS stations
FROM last AS l JOIN sensor_series AS s USING (series_id)
WHERE s.variable = $v AND s.h3_cell IS NOT NULL
GROUP BY ALL ORDER BY h3_hex
"""


def latest_cells(con: duckdb.DuckDBPyConnection, *, variable: str,
                 resolution: int = 9) -> CellMap:
    """The newest reading of `variable` per cell (the mean where a cell has several
    stations), on the study area's cells."""
    cells = read_frame(con, CELLS_SQL, {"v": variable, "r": resolution})
    units = con.execute("SELECT any_value(unit) FROM sensor_series WHERE variable = $v",
                        {"v": variable}).fetchall()
    unit = str(units[0][0]) if units and units[0][0] else ""
    # the readings' sources, and the OpenStreetMap extract the cells come from
    provenance = provenance_for_tables(con, ["sensor_readings", "study_cells"],
                                       unit_label=unit)
    return CellMap(title=f"Newest {variable} reading per cell", cells=cells, unit_label=unit,
                   resolution=resolution, provenance=provenance)
