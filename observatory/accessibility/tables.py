"""Write the accessibility model into the store: the tables the indicators and the map read.

- `walk_access_origins`: one row per origin (residential building, or populated cell
  centre) and target, with its residents, the walk to the nearest service (`distance_m`,
  NULL when none lies within `search_limit_m`) and `certain_within_m`, the straight-line
  distance to the edge of the extract (0 when the origin could not be snapped): a result
  no longer than that cannot be beaten by a service outside the extract.
- `walk_access_cells`: one row per cell, target and speed variant: the walk from the cell
  centre (for the map, flagged `minutes_certain`) and the residents served, unserved and
  uncertain at `max_minutes`.
- `walk_access_services`: every access point of every target (a POI's point, or a park's
  network node within its equal-area `radius_m`), snapped or left out, with `snap_m` and
  where it joins: `along_m` metres from `from_node_id` on the way segment to `to_node_id`
  (both the same node for a park's node).

Shares and times at other parameters are plain SQL over `walk_access_origins` (see
indicators/accessibility/*.sql); `walk_access_cells` is the map at the defaults.
"""

from __future__ import annotations

import duckdb
import numpy as np
import polars as pl

from observatory.accessibility.macros import create_macros
from observatory.accessibility.model import AccessModel
from observatory.accessibility.points import Origins
from observatory.accessibility.targets import MAX_MINUTES, SPEEDS_KMH, cutoff_m

TABLES: tuple[str, ...] = ("walk_access_origins", "walk_access_cells", "walk_access_services")


def _nullable(values: np.ndarray) -> pl.Series:
    return pl.Series(np.where(np.isfinite(values), values, np.nan)).fill_nan(None)


def origins_frame(model: AccessModel, *, target: str,
                  origins: Origins | None = None) -> pl.DataFrame:
    """One target's rows of `walk_access_origins` (or of the cell centres)."""
    points = model.origins if origins is None else origins
    return pl.DataFrame({
        "origin_id": pl.Series(points.ids.tolist(), dtype=pl.String),
        "origin_type": pl.Series(points.kind.tolist(), dtype=pl.String),
        "h3_cell": pl.Series(points.h3_cell, dtype=pl.Int64),
        "residents": pl.Series(points.residents, dtype=pl.Float64),
        "lon": points.lon, "lat": points.lat,
        "snapped": points.snap.ok,
        "snap_m": points.snap.distance_m,
        "certain_within_m": points.certain_within_m,
        "category": pl.Series([target] * points.size, dtype=pl.String),
        "distance_m": _nullable(model.distances(target, origins=points)),
        "search_limit_m": pl.Series([model.limit_m] * points.size, dtype=pl.Float64),
    })


def services_frame(model: AccessModel, *, target: str) -> pl.DataFrame:
    """One target's rows of `walk_access_services`."""
    services = model.services[target]
    snap = services.snap
    ids = model.graph.node_ids
    return pl.DataFrame({
        "poi_id": pl.Series(services.ids.tolist(), dtype=pl.String),
        "category": pl.Series([target] * snap.size, dtype=pl.String),
        "access_point": pl.Series(services.kind.tolist(), dtype=pl.String),
        "lon": services.lon, "lat": services.lat,
        "from_node_id": pl.Series(ids[np.maximum(snap.a, 0)], dtype=pl.Int64),
        "to_node_id": pl.Series(ids[np.maximum(snap.b, 0)], dtype=pl.Int64),
        "along_m": snap.along_m,
        "snapped": snap.ok, "snap_m": snap.distance_m,
        "radius_m": services.radius_m,
    }).with_columns(pl.when(pl.col("snapped")).then(pl.col(c)).alias(c)
                    for c in ("from_node_id", "to_node_id", "along_m"))


_CELLS_SQL = """
WITH res AS (
    SELECT o.h3_cell, o.category, v.variant, sum(o.residents) AS residents,
           coalesce(sum(o.residents) FILTER (WHERE o.distance_m <= v.cutoff_m), 0) AS served,
           coalesce(sum(o.residents) FILTER (WHERE coalesce(o.distance_m > v.cutoff_m, true)
                                             AND o.certain_within_m >= v.cutoff_m), 0) AS unserved,
           coalesce(sum(o.residents) FILTER (WHERE coalesce(o.distance_m > v.cutoff_m, true)
                                             AND o.certain_within_m < v.cutoff_m), 0) AS uncertain
    FROM walk_access_origins AS o CROSS JOIN _variants AS v
    WHERE o.category IN (SELECT category FROM _centres)
    GROUP BY ALL
)
SELECT c.h3_cell, c.category, v.variant, v.speed_kmh, v.max_minutes,
       c.snapped AS on_network, c.distance_m, c.distance_m / (v.speed_kmh * 1000 / 60) AS minutes,
       c.certain_within_m >= least(coalesce(c.distance_m, c.search_limit_m), c.search_limit_m)
           AS minutes_certain,
       coalesce(r.residents, 0) AS residents,
       coalesce(r.served, 0) AS residents_served_15min,
       coalesce(r.unserved, 0) AS residents_unserved_15min,
       coalesce(r.uncertain, 0) AS residents_uncertain_15min
FROM _centres AS c CROSS JOIN _variants AS v
LEFT JOIN res AS r ON r.h3_cell = c.h3_cell AND r.category = c.category AND r.variant = v.variant
ORDER BY c.category, v.variant, c.h3_cell
"""


def _variants() -> pl.DataFrame:
    return pl.DataFrame({
        "variant": list(SPEEDS_KMH), "speed_kmh": list(SPEEDS_KMH.values()),
        "max_minutes": [MAX_MINUTES] * len(SPEEDS_KMH),
        "cutoff_m": [cutoff_m(speed_kmh=s, minutes=MAX_MINUTES) for s in SPEEDS_KMH.values()],
    })


def write_walk_access(con: duckdb.DuckDBPyConnection, *, model: AccessModel,
                      targets: list[str] | None = None) -> dict[str, int]:
    """Write the tables for `targets` (default: all, replacing the tables); row counts.

    With `targets`, only those targets' rows are replaced, so a scenario that changed one
    category rewrites one category.
    """
    names = list(model.services) if targets is None else targets
    origins = pl.concat([origins_frame(model, target=t) for t in names])
    centres = pl.concat([origins_frame(model, target=t, origins=model.centres) for t in names])
    services = pl.concat([services_frame(model, target=t) for t in names])
    if targets is None:
        for table, frame in (("walk_access_origins", origins),
                             ("walk_access_services", services)):
            _create(con, table, frame)
    else:
        _replace_rows(con, "walk_access_origins", origins, names)
        _replace_rows(con, "walk_access_services", services, names)
    con.register("_centres", centres.to_arrow())
    con.register("_variants", _variants().to_arrow())
    cells = con.sql(_CELLS_SQL).pl()
    con.unregister("_centres")
    con.unregister("_variants")
    if targets is None:
        _create(con, "walk_access_cells", cells)
    else:
        _replace_rows(con, "walk_access_cells", cells, names)
    create_macros(con)
    return {t: int(con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0]) for t in TABLES}


def _create(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> None:
    con.register("_incoming", frame.to_arrow())
    con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM _incoming")
    con.unregister("_incoming")


def _replace_rows(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame,
                  targets: list[str]) -> None:
    con.execute(f"DELETE FROM {table} WHERE category IN $targets", {"targets": targets})
    con.register("_incoming", frame.to_arrow())
    con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _incoming")
    con.unregister("_incoming")
