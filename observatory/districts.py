"""Districts and the population-weighted crosswalk from H3 cells to districts.

Where districts come from, in order of preference:

1. a file loaded with `observatory ingest districts PATH` (GeoJSON or GeoPackage);
2. OpenStreetMap administrative boundaries (admin_level 9 or 10) in the loaded extract;
3. otherwise, when the extract holds `place=suburb|quarter|neighbourhood` nodes (central
   Helsinki has six), districts *approximated* as the study cells nearest to each named
   place. The source is flagged `modelled`: the names are real, the edges are not.

The crosswalk `district_cells(district_id, resolution, h3_cell, weight, population)` gives
each cell's share in each district. At resolution 10 a cell split by a boundary is shared
by area (its residents assumed evenly spread over ~15,000 m²); a cell outside every
district joins the nearest one, so every cell's weights sum to 1 and district totals add up
to the whole area. Coarser cells take their children's weights weighted by residents.
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import duckdb
import h3
import polars as pl

from observatory.connectors import Progress, silent_progress
from observatory.h3grid import BASE_RESOLUTION, ROLLUP_RESOLUTIONS
from observatory.store import SourceRecord, file_sha256, inputs_as_of, read_frame, record_source

DISTRICT_SOURCE_TYPES = ("districts", "districts_osm")
OSM_SOURCE_ID = "districts:osm"
PLACE_KINDS = ("suburb", "quarter", "neighbourhood")
TABLES_SQL = (
    """CREATE TABLE IF NOT EXISTS districts (
        district_id VARCHAR PRIMARY KEY, name VARCHAR NOT NULL, source_id VARCHAR NOT NULL,
        method VARCHAR NOT NULL,      -- boundary | nearest_place
        geometry_wkt VARCHAR,         -- EPSG:4326 polygon; NULL for nearest_place
        lat DOUBLE, lon DOUBLE)""",
    """CREATE TABLE IF NOT EXISTS district_cells (
        district_id VARCHAR NOT NULL, resolution TINYINT NOT NULL, h3_cell BIGINT NOT NULL,
        weight DOUBLE NOT NULL, population DOUBLE NOT NULL)""",
)


def init_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the district tables if missing."""
    for statement in TABLES_SQL:
        con.execute(statement)


def replace_districts(con: duckdb.DuckDBPyConnection, frame: pl.DataFrame) -> None:
    """Replace every district by `frame` (district_id, name, source_id, method, geometry_wkt,
    lat, lon) and drop the provenance of the previous ones."""
    init_tables(con)
    con.execute("DELETE FROM districts")
    con.execute("DELETE FROM district_cells")
    con.execute("DELETE FROM sources WHERE type IN $types", {"types": list(DISTRICT_SOURCE_TYPES)})
    con.register("_districts", frame.to_arrow())
    con.execute("INSERT INTO districts BY NAME SELECT * FROM _districts")
    con.unregister("_districts")


# -- districts from OpenStreetMap ---------------------------------------------------------

def _osm_path(con: duckdb.DuckDBPyConnection) -> Path | None:
    rows = con.execute("SELECT path FROM sources WHERE type = 'osm_pbf' "
                       "ORDER BY loaded_at DESC").fetchall()
    path = Path(rows[0][0]) if rows else None
    return path if path is not None and path.is_file() else None


def _osm_boundaries(osm: object) -> pl.DataFrame | None:
    with warnings.catch_warnings():  # pyrosm warns when an extract has no boundaries
        warnings.simplefilter("ignore")
        found = osm.get_boundaries()  # type: ignore[attr-defined]
    if found is None or "admin_level" not in found.columns:
        return None
    chosen = found[found["admin_level"].astype(str).isin(["9", "10"]) & found["name"].notna()]
    chosen = chosen[chosen.geometry.geom_type.isin(["Polygon", "MultiPolygon"])]
    if chosen.empty:
        return None
    centres = chosen.geometry.representative_point()
    return pl.DataFrame({
        "name": chosen["name"].astype(str).tolist(), "method": "boundary",
        "geometry_wkt": chosen.geometry.to_wkt().tolist(),
        "lat": centres.y.tolist(), "lon": centres.x.tolist()})


def _osm_places(osm: object) -> pl.DataFrame | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        found = osm.get_data_by_custom_criteria(  # type: ignore[attr-defined]
            custom_filter={"place": list(PLACE_KINDS)}, filter_type="keep", keep_nodes=True,
            keep_ways=False, keep_relations=False, tags_as_columns=["name", "place"])
    if found is None or "name" not in found.columns:
        return None
    found = found[found["name"].notna()].drop_duplicates("name")
    if found.empty:
        return None
    points = found.geometry.representative_point()
    return pl.DataFrame({"name": found["name"].astype(str).tolist(),
                         "method": "nearest_place", "geometry_wkt": None,
                         "lat": points.y.tolist(), "lon": points.x.tolist()},
                        schema_overrides={"geometry_wkt": pl.String})


def districts_from_osm(con: duckdb.DuckDBPyConnection, *,
                       progress: Progress = silent_progress) -> bool:
    """Derive districts from the loaded OSM extract unless a districts file is loaded.

    Returns True when the store holds districts afterwards."""
    init_tables(con)
    has_file = con.execute("SELECT count(*) FROM sources WHERE type = 'districts'"
                           ).fetchall()[0][0]
    path = _osm_path(con)
    if has_file or path is None:
        return bool(con.execute("SELECT count(*) FROM districts").fetchall()[0][0])
    from pyrosm import OSM

    osm = OSM(str(path))
    frame = _osm_boundaries(osm)
    modelled = frame is None
    frame = _osm_places(osm) if modelled else frame
    if frame is None:
        return False
    frame = frame.sort("name").with_row_index("n", offset=1).select(
        pl.format("osm-{}", pl.col("n")).alias("district_id"), "name",
        pl.lit(OSM_SOURCE_ID).alias("source_id"), "method", "geometry_wkt", "lat", "lon")
    replace_districts(con, frame)
    record_source(con, _osm_record(con, path, frame, modelled=modelled))
    progress(f"{frame.height} districts from OpenStreetMap"
             + (" (approximated around place nodes)" if modelled else ""))
    return True


def _osm_record(con: duckdb.DuckDBPyConnection, path: Path, frame: pl.DataFrame, *,
                modelled: bool) -> SourceRecord:
    how = ("approximated: each study cell joins the nearest OSM place=suburb/quarter/"
           "neighbourhood node (real names, approximate edges); load official boundaries "
           "with `observatory ingest districts PATH`" if modelled
           else "OSM administrative boundaries, admin_level 9-10")
    return SourceRecord(
        source_id=OSM_SOURCE_ID, type="districts_osm", path=str(path),
        licence="ODbL-1.0 (derived from OpenStreetMap)",
        attribution="© OpenStreetMap contributors", sha256=file_sha256(path),
        row_counts={"districts": frame.height, "district_cells": 0}, modelled=modelled,
        data_as_of=inputs_as_of(con, ("osm_pbf",)), notes=f"{frame.height} districts, {how}",
        options={"names": json.dumps(frame["name"].to_list(), ensure_ascii=False)})


# -- crosswalk ----------------------------------------------------------------------------

def _nearest(lat: float, lon: float, centres: list[tuple[str, float, float]]) -> str:
    scale = math.cos(math.radians(lat))
    return min(centres, key=lambda c: (c[1] - lat) ** 2 + ((c[2] - lon) * scale) ** 2)[0]


def _base_weights(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    cells = read_frame(con, "SELECT h3_cell, lat, lon FROM study_cells "
                       f"WHERE resolution = {BASE_RESOLUTION}")
    districts = read_frame(con, "SELECT district_id, geometry_wkt, lat, lon FROM districts")
    centres = [(r["district_id"], r["lat"], r["lon"]) for r in districts.iter_rows(named=True)]
    shares = (_area_shares(cells, districts) if districts["geometry_wkt"].null_count() == 0
              else pl.DataFrame(schema={"h3_cell": pl.Int64, "district_id": pl.String,
                                        "weight": pl.Float64}))
    missing = cells.join(shares.select("h3_cell").unique(), on="h3_cell", how="anti")
    nearest = pl.DataFrame({
        "h3_cell": missing["h3_cell"],
        "district_id": [_nearest(a, b, centres) for a, b in missing.select("lat", "lon").rows()],
        "weight": [1.0] * missing.height}, schema=shares.schema)
    return pl.concat([shares, nearest])


def _area_shares(cells: pl.DataFrame, districts: pl.DataFrame) -> pl.DataFrame:
    import geopandas as gpd
    from shapely import wkt
    from shapely.geometry import Polygon

    grid = gpd.GeoDataFrame({"h3_cell": cells["h3_cell"].to_list()}, crs="EPSG:4326", geometry=[
        Polygon([(lng, lat) for lat, lng in h3.cell_to_boundary(h3.int_to_str(c))])
        for c in cells["h3_cell"].to_list()])
    shapes = gpd.GeoDataFrame({"district_id": districts["district_id"].to_list()},
                              crs="EPSG:4326", geometry=[wkt.loads(t) for t in
                                                         districts["geometry_wkt"].to_list()])
    metric = grid.estimate_utm_crs()
    pieces = gpd.overlay(grid.to_crs(metric), shapes.to_crs(metric), how="intersection",
                         keep_geom_type=True)
    if pieces.empty:
        return pl.DataFrame(schema={"h3_cell": pl.Int64, "district_id": pl.String,
                                    "weight": pl.Float64})
    pieces["area"] = pieces.geometry.area
    pieces["weight"] = pieces["area"] / pieces.groupby("h3_cell")["area"].transform("sum")
    return pl.DataFrame({"h3_cell": pieces["h3_cell"].astype("int64").tolist(),
                         "district_id": pieces["district_id"].tolist(),
                         "weight": pieces["weight"].tolist()})


def build_crosswalk(con: duckdb.DuckDBPyConnection) -> int:
    """Rebuild `district_cells` at every rollup resolution; returns the base rows."""
    init_tables(con)
    con.execute("DELETE FROM district_cells")
    if not con.execute("SELECT count(*) FROM districts").fetchall()[0][0]:
        return 0
    base = _base_weights(con)
    con.register("_base_weights", base.to_arrow())
    con.execute(f"""
        INSERT INTO district_cells
        SELECT w.district_id, {BASE_RESOLUTION}, w.h3_cell, w.weight,
               w.weight * coalesce(p.population, 0)
        FROM _base_weights w LEFT JOIN population_cells p USING (h3_cell)""")
    con.unregister("_base_weights")
    for res in ROLLUP_RESOLUTIONS:
        if res < BASE_RESOLUTION:
            con.execute(f"""
                INSERT INTO district_cells
                WITH kids AS (
                    SELECT district_id, h3_parent(h3_cell, {res}) AS parent, weight, population,
                           sum(population) OVER (PARTITION BY h3_parent(h3_cell, {res})) AS pp,
                           count(DISTINCT h3_cell) OVER (PARTITION BY h3_parent(h3_cell, {res}))
                               AS nc
                    FROM district_cells WHERE resolution = {BASE_RESOLUTION})
                SELECT district_id, {res}, parent,
                       CASE WHEN max(pp) > 0 THEN sum(population) / max(pp)
                            ELSE sum(weight) / max(nc) END,
                       sum(population)
                FROM kids GROUP BY district_id, parent""")
    con.execute("UPDATE sources SET row_counts = $rc WHERE type IN $types",
                {"rc": json.dumps({"districts": _count(con, "districts"),
                                   "district_cells": base.height}, sort_keys=True),
                 "types": list(DISTRICT_SOURCE_TYPES)})
    return base.height


def _count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    return int(con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0])


# -- district series ----------------------------------------------------------------------

def district_series_sql() -> str:
    """Per indicator, period and district, from base cells and the crosswalk.

    Expects a registered `_specs(indicator, resolution, aggregation, scale)`."""
    return """
        SELECT r.indicator, 'district' AS area_kind, c.district_id AS area_id,
               d.name AS area_name, r.period,
               CASE s.aggregation
                   WHEN 'ratio' THEN CASE WHEN sum(c.weight * r.denominator) > 0 THEN
                       max(s.scale) * sum(c.weight * r.numerator)
                       / sum(c.weight * r.denominator) END
                   WHEN 'sum' THEN sum(c.weight * r.value)
                   ELSE max(r.value) END AS value,
               sum(c.weight * r.numerator) AS numerator,
               sum(c.weight * r.denominator) AS denominator
        FROM indicator_results r
        JOIN _specs s ON s.indicator = r.indicator AND s.resolution = r.resolution
        JOIN district_cells c ON c.h3_cell = r.h3_cell AND c.resolution = r.resolution
             AND c.weight > 0
        JOIN districts d USING (district_id)
        GROUP BY r.indicator, c.district_id, d.name, r.period, s.aggregation"""
