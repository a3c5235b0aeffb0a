"""Origins (where residents live) and services (where they walk to), read from the store.

Origins are residential buildings, each weighted by its residents scaled so that every
cell's buildings add up to `population_cells` exactly (the identity for the modelled
population; a dasymetric split when a population grid is loaded), plus the centre of each
populated cell without a residential building. The centre of every study cell is a
separate origin set that gives each cell of the map a walking time.

Parks are polygons the store keeps as one representative point and an area. Their
access points are that point plus every (snappable) network node inside the circle of
the park's area around it: a stand-in for the park's edge, entered at distance 0. Every
other point joins the nearest walkable edge (observatory.snapping).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, replace

import duckdb
import h3
import numpy as np

from observatory.accessibility.targets import Target
from observatory.network import NetworkError, WalkGraph, boundary_distances
from observatory.snapping import Snapped, at_nodes, concat, nodes_within, snap_points
from observatory.store import table_names


@dataclass(frozen=True)
class Origins:
    """Points walks start from, snapped to the graph."""

    ids: np.ndarray  # str: `way/123`, `node/45`, `cell/8a...`
    kind: np.ndarray  # str: building | cell_centre (residents) or map_centre (the map)
    h3_cell: np.ndarray  # int64
    residents: np.ndarray  # float64 (0 for map centres)
    lon: np.ndarray
    lat: np.ndarray
    snap: Snapped
    certain_within_m: np.ndarray  # distance to the extract's edge; 0 when not snapped

    @property
    def size(self) -> int:
        """Number of origins."""
        return int(self.ids.shape[0])


@dataclass(frozen=True)
class Services:
    """The access points of one target's services, snapped to the graph."""

    target: str
    ids: np.ndarray  # str poi_id (several rows per park)
    kind: np.ndarray  # str: poi | park_area_node
    lon: np.ndarray
    lat: np.ndarray
    snap: Snapped
    radius_m: np.ndarray  # a park's equal-area radius on its point, else 0


_ORIGINS_SQL = """
WITH b AS (
    SELECT r.osm_type, r.osm_id, r.h3_cell, r.residents, g.lon, g.lat
    FROM building_residents AS r JOIN osm_buildings AS g USING (osm_type, osm_id)
    WHERE r.residents > 0 AND g.lon IS NOT NULL AND g.lat IS NOT NULL
), cell_total AS (SELECT h3_cell, sum(residents) AS total FROM b GROUP BY h3_cell)
SELECT b.osm_type || '/' || b.osm_id AS id, 'building' AS kind, b.h3_cell,
       b.residents * p.population / t.total AS residents, b.lon, b.lat
FROM b JOIN cell_total AS t USING (h3_cell) JOIN population_cells AS p USING (h3_cell)
WHERE p.population > 0
UNION ALL
SELECT 'cell/' || h3_hex(p.h3_cell), 'cell_centre', p.h3_cell, p.population, NULL, NULL
FROM population_cells AS p
WHERE p.population > 0 AND p.h3_cell NOT IN (SELECT h3_cell FROM cell_total)
ORDER BY 1
"""
_NO_BUILDINGS_SQL = """
SELECT 'cell/' || h3_hex(h3_cell) AS id, 'cell_centre' AS kind, h3_cell,
       population AS residents, NULL::DOUBLE AS lon, NULL::DOUBLE AS lat
FROM population_cells WHERE population > 0 ORDER BY 1
"""


@dataclass(frozen=True)
class PointRows:
    """Points read from the store, not yet snapped: columns by name, lon and lat."""

    rows: dict[str, np.ndarray]
    lon: np.ndarray
    lat: np.ndarray


def origin_rows(con: duckdb.DuckDBPyConnection) -> PointRows:
    """Residents' origins: buildings, else populated cells' centres."""
    tables = set(table_names(con))
    has_buildings = {"building_residents", "osm_buildings"} <= tables
    return _with_centres(con.sql(_ORIGINS_SQL if has_buildings else _NO_BUILDINGS_SQL)
                         .fetchnumpy())


def centre_rows(con: duckdb.DuckDBPyConnection) -> PointRows:
    """The centre of every study or populated cell, with no residents: the map's times."""
    return _with_centres(con.sql(
        "SELECT 'cell/' || h3_hex(h3_cell) AS id, 'map_centre' AS kind, h3_cell, "
        "0.0 AS residents, lon, lat FROM study_cells UNION ALL "
        "SELECT 'cell/' || h3_hex(h3_cell), 'map_centre', h3_cell, 0.0, NULL, NULL "
        "FROM population_cells WHERE h3_cell NOT IN (SELECT h3_cell FROM study_cells) "
        "ORDER BY h3_cell").fetchnumpy())


def _with_centres(rows: dict[str, np.ndarray]) -> PointRows:
    lon, lat = _fill_centres(np.asarray(rows["h3_cell"], dtype=np.int64),
                             _floats(rows["lon"]), _floats(rows["lat"]))
    return PointRows(rows=rows, lon=lon, lat=lat)


Snapper = Callable[[WalkGraph, np.ndarray], Snapped]


def snap_to_edges(graph: WalkGraph, xy: np.ndarray) -> Snapped:
    """The default snapper: the nearest point of the nearest walkable edge."""
    return snap_points(graph, xy=xy)


def snap_rows(graph: WalkGraph, parts: list[PointRows], *,
              snapper: Snapper = snap_to_edges) -> list[Snapped]:
    """Snap several sets of points in one pass (one search of the edge index)."""
    sizes = [p.lon.shape[0] for p in parts]
    lon = np.concatenate([p.lon for p in parts]) if parts else np.zeros(0)
    lat = np.concatenate([p.lat for p in parts]) if parts else np.zeros(0)
    snap = snapper(graph, _to_xy(graph, lon, lat))
    bounds = np.cumsum([0, *sizes])
    return [snap.take(np.arange(a, b)) for a, b in itertools.pairwise(bounds)]


def _floats(column: object) -> np.ndarray:
    values = np.ma.filled(np.ma.asarray(column, dtype=np.float64), np.nan)
    return np.asarray(values, dtype=np.float64)


def _fill_centres(cells: np.ndarray, lon: np.ndarray,
                  lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    for i in np.flatnonzero(np.isnan(lon) | np.isnan(lat)):
        lat[i], lon[i] = h3.cell_to_latlng(h3.int_to_str(int(cells[i])))
    return lon, lat


def origins_from_rows(graph: WalkGraph, points: PointRows, *, snap: Snapped) -> Origins:
    """Origins from their rows and where they were snapped."""
    rows = points.rows
    xy = _to_xy(graph, points.lon, points.lat)
    within = np.where(snap.ok, boundary_distances(graph, xy=xy), 0.0)
    return Origins(
        ids=np.asarray(rows["id"], dtype=object), kind=np.asarray(rows["kind"], dtype=object),
        h3_cell=np.asarray(rows["h3_cell"], dtype=np.int64),
        residents=_floats(rows["residents"]), lon=points.lon, lat=points.lat, snap=snap,
        certain_within_m=within,
    )


def _to_xy(graph: WalkGraph, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    if graph.projection is None:
        raise NetworkError("this walking graph has no lon/lat projection, so points cannot be "
                           "placed on it; build it with `graph_from_store` (or pass "
                           "`projection=` to `graph_from_edges`).")
    return graph.projection.to_xy(lon, lat=lat)


FREQUENT_STOPS_SQL = """
WITH peak AS (
    SELECT feed_id, stop_id, sum(departures) / $peak_hours AS per_hour
    FROM gtfs_stop_departures WHERE hour IN $hours GROUP BY ALL
),
capacity AS (
    SELECT st.feed_id, st.stop_id, bool_or(r.capacity = 'high') AS high
    FROM gtfs_stop_times AS st JOIN gtfs_trips AS t USING (feed_id, trip_id)
    JOIN gtfs_routes AS r USING (feed_id, route_id) GROUP BY ALL
)
SELECT s.feed_id || ':' || s.stop_id AS poi_id, s.lon, s.lat, NULL::DOUBLE AS area_m2
FROM gtfs_stops AS s JOIN peak USING (feed_id, stop_id) JOIN capacity USING (feed_id, stop_id)
WHERE peak.per_hour >= $min_per_hour AND capacity.high = ($capacity = 'high')
ORDER BY poi_id
"""


def _has_gtfs(con: duckdb.DuckDBPyConnection) -> bool:
    return bool(con.execute("SELECT count(*) FROM information_schema.tables "
                            "WHERE table_name = 'gtfs_stop_departures'").fetchall()[0][0])


def _gtfs_rows(con: duckdb.DuckDBPyConnection, target: Target) -> dict[str, np.ndarray]:
    from observatory.accessibility.targets import (
        FREQUENT_DEPARTURES_PER_HOUR,
        MORNING_PEAK_HOURS,
    )

    return con.sql(FREQUENT_STOPS_SQL, params={
        "peak_hours": len(MORNING_PEAK_HOURS), "hours": list(MORNING_PEAK_HOURS),
        "min_per_hour": FREQUENT_DEPARTURES_PER_HOUR, "capacity": target.pt_capacity,
    }).fetchnumpy()


def service_rows(con: duckdb.DuckDBPyConnection, target: Target) -> PointRows | None:
    """One target's points of interest (`poi_id`, `area_m2`), or None: no such data."""
    if target.source == "gtfs":
        if not _has_gtfs(con):
            return None
        rows = _gtfs_rows(con, target)
    else:
        rows = con.sql(
            "SELECT poi_id, lon, lat, area_m2 FROM osm_pois WHERE category = $category "
            "AND ($capacity IS NULL OR pt_capacity = $capacity) AND lon IS NOT NULL "
            "AND lat IS NOT NULL ORDER BY poi_id",
            params={"category": target.category, "capacity": target.pt_capacity},
        ).fetchnumpy()
    return PointRows(rows=rows, lon=_floats(rows["lon"]), lat=_floats(rows["lat"]))


def services_from_rows(graph: WalkGraph, points: PointRows, *, target: Target,
                       snap: Snapped) -> Services:
    """One target's access points from its rows and where they were snapped."""
    services = Services(target=target.name,
                        ids=np.asarray(points.rows["poi_id"], dtype=object),
                        kind=np.full(snap.size, "poi", dtype=object), lon=points.lon,
                        lat=points.lat, snap=snap, radius_m=np.zeros(snap.size))
    if target.category != "park":
        return services
    return with_park_area_nodes(services, graph=graph,
                                area_m2=_floats(points.rows["area_m2"]))


def services_from_points(graph: WalkGraph, *, target: str, ids: np.ndarray, lon: np.ndarray,
                         lat: np.ndarray) -> Services:
    """Services at given points (e.g. a scenario's new facility), snapped to the graph."""
    lon, lat = np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)
    snap = snap_points(graph, xy=_to_xy(graph, lon, lat))
    return Services(target=target, ids=np.asarray(ids, dtype=object),
                    kind=np.full(len(ids), "poi", dtype=object), lon=lon, lat=lat, snap=snap,
                    radius_m=np.zeros(len(ids)))


def with_park_area_nodes(parks: Services, *, graph: WalkGraph,
                         area_m2: np.ndarray) -> Services:
    """Add, for each park, the network nodes within its equal-area circle (at distance 0)."""
    radius = np.sqrt(np.nan_to_num(area_m2, nan=0.0) / np.pi)
    park_index, nodes = nodes_within(graph, xy=_to_xy(graph, parks.lon, parks.lat),
                                     radius_m=radius)
    if nodes.size == 0:
        return replace(parks, radius_m=radius)
    lon, lat = graph.projection.to_lonlat(graph.xy[nodes])  # type: ignore[union-attr]
    return Services(
        target=parks.target, ids=np.r_[parks.ids, parks.ids[park_index]],
        kind=np.r_[parks.kind, np.full(nodes.size, "park_area_node", dtype=object)],
        lon=np.r_[parks.lon, lon], lat=np.r_[parks.lat, lat],
        snap=concat([parks.snap, at_nodes(nodes, distance_m=np.zeros(nodes.size))]),
        radius_m=np.r_[radius, np.zeros(nodes.size)],
    )
