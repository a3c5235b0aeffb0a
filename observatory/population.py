"""Modelled population per H3 cell from the residential floor area of OSM buildings.

Used when no population grid is loaded. The method, stated in the methodology pages:

    residents(building) = footprint_m2 × levels × residential_share × NET_TO_GROSS
                          / DWELLING_M2_PER_RESIDENT

- `levels`: `building:levels`, else `height` / 3 m, else DEFAULT_LEVELS.
- `residential_share`: 1 for residential building types, MIXED_USE_SHARE for untyped
  buildings (`building=yes`) with no shop, amenity or office tag, 0 otherwise.
- Residents are placed in the resolution-10 cell of the building's representative point.

The constants are assumptions of the order of magnitude of Nordic inner cities, not
measurements: the result is flagged `modelled` in the store and in every view.
"""

from __future__ import annotations

import duckdb

from observatory.store import SourceRecord, inputs_as_of

DEFAULT_LEVELS = 5.0
MIXED_USE_SHARE = 0.5
NET_TO_GROSS = 0.8
DWELLING_M2_PER_RESIDENT = 35.0
RESIDENTIAL_TYPES = (
    "apartments", "residential", "house", "detached", "semidetached_house", "terrace",
    "dormitory", "bungalow",
)
SOURCE_ID = "population:modelled_from_buildings"
METHOD = "modelled_floor_area"

METHOD_TEXT = (
    f"Residents per building = footprint × levels × residential share × {NET_TO_GROSS} "
    f"(net-to-gross) / {DWELLING_M2_PER_RESIDENT} m² of dwelling per resident. Levels from "
    f"`building:levels`, else height / 3 m, else {DEFAULT_LEVELS:g}. Residential share 1 for "
    f"residential building types, {MIXED_USE_SHARE} for untyped buildings without shop, "
    "amenity or office tags, 0 otherwise. Modelled, not counted."
)


def model_population(con: duckdb.DuckDBPyConnection) -> SourceRecord:
    """Write `population_cells` from `osm_buildings`; return the provenance record."""
    con.execute(
        """
        CREATE OR REPLACE TABLE building_residents AS
        SELECT osm_type, osm_id, h3_cell,
               coalesce(levels_tagged, $default_levels) AS levels,
               CASE WHEN building IN $residential THEN 1.0
                    WHEN building = 'yes' AND NOT has_business THEN $mixed ELSE 0.0 END
                   AS residential_share,
               footprint_m2 * coalesce(levels_tagged, $default_levels) AS floor_area_m2,
               floor_area_m2 * residential_share * $net_to_gross / $m2_per_resident AS residents
        FROM osm_buildings
        """,
        {
            "default_levels": DEFAULT_LEVELS, "residential": list(RESIDENTIAL_TYPES),
            "mixed": MIXED_USE_SHARE, "net_to_gross": NET_TO_GROSS,
            "m2_per_resident": DWELLING_M2_PER_RESIDENT,
        },
    )
    con.execute("DELETE FROM population_cells WHERE method = $m", {"m": METHOD})
    con.execute(
        """
        INSERT INTO population_cells
        SELECT h3_cell, sum(residents), $method, $source FROM building_residents
        WHERE residents > 0 GROUP BY h3_cell
        """,
        {"method": METHOD, "source": SOURCE_ID},
    )
    cells, total = con.execute(
        "SELECT count(*), coalesce(sum(population), 0) FROM population_cells"
    ).fetchall()[0]
    return SourceRecord(
        source_id=SOURCE_ID, type="population_model", path="osm_buildings",
        licence="ODbL-1.0 (derived from OpenStreetMap)", sha256="-",
        row_counts={"population_cells": int(cells), "building_residents": int(
            con.execute("SELECT count(*) FROM building_residents").fetchall()[0][0])},
        modelled=True, data_as_of=inputs_as_of(con, ("osm_pbf",)),
        notes=f"{total:.0f} residents. {METHOD_TEXT}",
    )
