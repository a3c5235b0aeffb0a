"""The walking network as a sparse graph: snapping points to it and multi-source shortest paths.

A `WalkGraph` is built once and reused (what-if scenarios re-run only the sources that
changed): a symmetric scipy CSR of edge lengths in metres (pedestrians walk every edge
both ways), node coordinates in a local metric projection, a KD-tree for snapping and
the convex hull of the nodes, which stands for the edge of the loaded extract.

Nearest-service distances come from one Dijkstra run per source set: every source is
joined to a virtual super-source by an edge as long as its snap distance, so the walk
from a service to the network counts, and the run stops at `limit_m`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import duckdb
import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components, dijkstra
from scipy.spatial import ConvexHull, QhullError, cKDTree

from observatory.errors import InputError

MAX_SNAP_M = 250.0  # points farther than this from every network node are not snapped
EARTH_RADIUS_M = 6_371_008.8


class NetworkError(InputError, ValueError):
    """The walking network in the store cannot be turned into a graph."""


@dataclass(frozen=True)
class LocalProjection:
    """Equirectangular metres around (lon0, lat0); `min_scale` bounds its length error.

    Lengths measured in this plane are at most 1 / min_scale times the true ones inside
    the latitude range it was made for, so `projected × min_scale` never overstates a
    distance on the ground.
    """

    lon0: float
    lat0: float
    min_scale: float = 1.0

    def to_xy(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """(m, 2) array of x (east) and y (north) metres."""
        lon = np.asarray(lon, dtype=np.float64)
        lat = np.asarray(lat, dtype=np.float64)
        k = np.pi / 180.0 * EARTH_RADIUS_M
        x = (lon - self.lon0) * k * np.cos(np.radians(self.lat0))
        return np.column_stack([x, (lat - self.lat0) * k])


def projection_from_lonlat(lon: np.ndarray, *, lat: np.ndarray) -> LocalProjection:
    """A projection centred on the points, with its scale bound over their latitudes."""
    lat = np.asarray(lat, dtype=np.float64)
    lat0 = float((lat.min() + lat.max()) / 2)
    worst = float(np.abs(lat).max())  # east-west lengths shrink most at the highest latitude
    scale = min(1.0, np.cos(np.radians(worst)) / np.cos(np.radians(lat0)))
    return LocalProjection(lon0=float((np.min(lon) + np.max(lon)) / 2), lat0=lat0,
                           min_scale=float(scale))


@dataclass(frozen=True)
class Snapped:
    """Where points joined the network: node index (-1 when not snapped) and distance."""

    node: np.ndarray  # int64 graph node index, -1 beyond the snap limit
    distance_m: np.ndarray  # straight-line metres to that node (to the nearest one if not)

    @property
    def ok(self) -> np.ndarray:
        """True where the point was snapped."""
        return self.node >= 0


@dataclass(eq=False)
class WalkGraph:
    """A walking network: undirected lengths in a CSR, node coordinates in metres."""

    node_ids: np.ndarray  # int64 id of each graph node (OSM node id)
    xy: np.ndarray  # (n, 2) float64 metres
    csr: sp.csr_array  # (n, n) lengths in metres, both directions stored
    projection: LocalProjection | None = None

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return int(self.node_ids.shape[0])

    @property
    def n_edges(self) -> int:
        """Number of undirected edges."""
        return int(self.csr.nnz // 2)

    @cached_property
    def tree(self) -> cKDTree:
        """KD-tree of the node coordinates, for snapping."""
        return cKDTree(self.xy)

    @cached_property
    def hull_equations(self) -> np.ndarray | None:
        """(k, 3) outward unit normals and offsets of the nodes' convex hull (None: flat)."""
        try:
            return ConvexHull(self.xy).equations
        except (QhullError, ValueError):
            return None

    def components(self) -> np.ndarray:
        """Connected-component label of each node."""
        return connected_components(self.csr, directed=False)[1]


def graph_from_edges(node_ids: np.ndarray, *, xy: np.ndarray, u: np.ndarray, v: np.ndarray,
                     length_m: np.ndarray,
                     projection: LocalProjection | None = None) -> WalkGraph:
    """A graph from node ids with coordinates and edges between node ids.

    Each edge is walkable both ways; of parallel edges the shortest is kept; self-loops
    are dropped (they never shorten a walk).
    """
    node_ids = np.asarray(node_ids, dtype=np.int64)
    order = np.argsort(node_ids, kind="stable")
    sorted_ids = node_ids[order]
    if sorted_ids.size and (np.diff(sorted_ids) == 0).any():
        raise NetworkError("osm_nodes: node ids repeat; each node must appear once. "
                           "Re-ingest the extract.")
    ui, vi = _index_of(sorted_ids, order, u), _index_of(sorted_ids, order, v)
    length = np.asarray(length_m, dtype=np.float64)
    _check_lengths(length)
    keep = ui != vi
    csr = symmetric_csr(ui[keep], vi[keep], length[keep], n=node_ids.shape[0])
    return WalkGraph(node_ids=node_ids, xy=np.asarray(xy, dtype=np.float64), csr=csr,
                     projection=projection)


def _index_of(sorted_ids: np.ndarray, order: np.ndarray, ids: np.ndarray) -> np.ndarray:
    ids = np.asarray(ids, dtype=np.int64)
    pos = np.searchsorted(sorted_ids, ids).clip(max=max(sorted_ids.size - 1, 0))
    missing = sorted_ids.size == 0 or (sorted_ids[pos] != ids)
    if np.any(missing):
        bad = ids[np.asarray(missing) & np.ones(ids.shape, dtype=bool)][:5].tolist()
        raise NetworkError(f"osm_edges: edges refer to nodes missing from osm_nodes "
                           f"(e.g. {bad}); re-ingest the extract so both tables match.")
    return order[pos].astype(np.int64)


def _check_lengths(length: np.ndarray) -> None:
    bad = ~np.isfinite(length) | (length < 0)
    if bad.any():
        rows = np.flatnonzero(bad)[:5].tolist()
        raise NetworkError(f"osm_edges: {int(bad.sum())} edges have a negative or missing "
                           f"length_m (rows {rows}); lengths must be metres >= 0.")


def symmetric_csr(u: np.ndarray, v: np.ndarray, w: np.ndarray, *, n: int) -> sp.csr_array:
    """CSR with w on (u, v) and (v, u); duplicates keep their minimum (not their sum)."""
    rows = np.concatenate([u, v]).astype(np.int64)
    cols = np.concatenate([v, u]).astype(np.int64)
    weights = np.concatenate([w, w])
    order = np.lexsort((weights, cols, rows))  # by row, then column, shortest first
    rows, cols, weights = rows[order], cols[order], weights[order]
    first = np.ones(rows.shape[0], dtype=bool)
    first[1:] = (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])
    rows, cols, weights = rows[first], cols[first], weights[first]
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
    index_type = np.int32 if max(n, rows.shape[0]) < 2**31 - 1 else np.int64
    csr = sp.csr_array((weights, cols.astype(index_type), indptr.astype(index_type)),
                       shape=(n, n))
    csr.has_sorted_indices = True
    return csr


def graph_from_store(con: duckdb.DuckDBPyConnection) -> WalkGraph:
    """The walking network of `osm_nodes` and `osm_edges`."""
    nodes = con.sql("SELECT node_id, lon, lat FROM osm_nodes ORDER BY node_id").fetchnumpy()
    edges = con.sql("SELECT u, v, length_m FROM osm_edges").fetchnumpy()
    if len(nodes["node_id"]) == 0 or len(edges["u"]) == 0:
        raise NetworkError("osm_nodes/osm_edges: the store holds no walking network; "
                           "ingest an OpenStreetMap extract first (`observatory ingest osm`).")
    lon, lat = np.asarray(nodes["lon"]), np.asarray(nodes["lat"])
    projection = projection_from_lonlat(lon, lat=lat)
    return graph_from_edges(
        np.asarray(nodes["node_id"]), xy=projection.to_xy(lon, lat),
        u=np.asarray(edges["u"]), v=np.asarray(edges["v"]),
        length_m=np.asarray(edges["length_m"], dtype=np.float64), projection=projection,
    )


def snap_points(graph: WalkGraph, xy: np.ndarray, *, max_m: float = MAX_SNAP_M) -> Snapped:
    """The nearest node of each point (metres), or -1 where it is farther than `max_m`."""
    xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    if xy.shape[0] == 0:
        return Snapped(node=np.zeros(0, dtype=np.int64), distance_m=np.zeros(0))
    distance, node = graph.tree.query(xy, k=1)
    node = np.where(np.isfinite(distance) & (distance <= max_m), node, -1).astype(np.int64)
    return Snapped(node=node, distance_m=np.asarray(distance, dtype=np.float64))


def boundary_distances(graph: WalkGraph, xy: np.ndarray) -> np.ndarray:
    """Straight-line metres from each point to the edge of the network's hull (0 outside).

    A walk that leaves the hull is at least this long, so a network distance found inside
    the extract that is no longer than this cannot be beaten by anything outside it.
    """
    xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    equations = graph.hull_equations
    if equations is None or xy.shape[0] == 0:
        return np.zeros(xy.shape[0])
    scale = graph.projection.min_scale if graph.projection else 1.0
    out = np.empty(xy.shape[0])
    for start in range(0, xy.shape[0], 65_536):  # bound the (points × facets) temporary
        chunk = xy[start:start + 65_536]
        signed = chunk @ equations[:, :2].T + equations[:, 2]
        out[start:start + chunk.shape[0]] = np.clip(-signed.max(axis=1), 0.0, None)
    return out * scale


def distances_from_sources(graph: WalkGraph, nodes: np.ndarray, *, offsets_m: np.ndarray,
                           limit_m: float) -> np.ndarray:
    """Shortest walk (m) from any source to every node, the source's offset included.

    `nodes` are source node indices and `offsets_m` the walk from each source to its node
    (its snap distance). Nodes farther than `limit_m` get inf; with no source, all do.
    """
    nodes = np.asarray(nodes, dtype=np.int64)
    offsets = np.asarray(offsets_m, dtype=np.float64)
    n = graph.n_nodes
    if nodes.size == 0:
        return np.full(n, np.inf)
    best = np.full(n, np.inf)
    np.minimum.at(best, nodes, offsets)  # one super-source edge per node: the shortest
    targets = np.flatnonzero(np.isfinite(best))
    csr = graph.csr
    index_type = csr.indices.dtype
    indptr = np.append(csr.indptr, csr.indptr[-1] + targets.size).astype(index_type)
    extended = sp.csr_array(
        (np.concatenate([csr.data, best[targets]]),
         np.concatenate([csr.indices, targets.astype(index_type)]), indptr),
        shape=(n + 1, n + 1),
    )
    out = dijkstra(extended, directed=True, indices=n, limit=limit_m)
    return np.asarray(out[:n])


def undirected_edges(graph: WalkGraph) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(u, v, length) node indices with u < v, one row per undirected edge."""
    coo = sp.triu(graph.csr, k=1, format="coo")
    return coo.row.astype(np.int64), coo.col.astype(np.int64), coo.data.astype(np.float64)
