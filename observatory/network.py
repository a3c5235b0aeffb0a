"""The walking network as a sparse graph and multi-source shortest paths on it.

A `WalkGraph` is built once and reused (what-if scenarios re-run only the sources that
changed): a symmetric scipy CSR of edge lengths in metres (pedestrians walk every edge
both ways), node coordinates in a local metric projection, which edges lie at ground
level, and the convex hull of the nodes, which stands for the edge of the loaded
extract. Points join it in observatory.snapping.

Nearest-service distances come from one Dijkstra run per source set: every source is
joined to a virtual super-source by an edge as long as its offset (the walk from the
service to the node), and the run stops at `limit_m`. The run works on
the graph with its chains of degree-2 nodes contracted (`ContractedGraph`), which holds
under half the nodes of a street network, and fills the chains in afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components, dijkstra
from scipy.spatial import ConvexHull, QhullError

from observatory.errors import InputError

if TYPE_CHECKING:  # the graph code itself needs no database (the benchmark's child process)
    import duckdb

MAX_SNAP_M = 250.0  # points farther than this from every walkable way are not snapped
# Points snap only to components of at least this many nodes (or to the largest one when
# none is that big): smaller ones are fragments of footway cut off by the extract or by a
# missing connection in OpenStreetMap, and a building snapped there would reach nothing.
MIN_COMPONENT_NODES = 50
EARTH_RADIUS_M = 6_371_008.8  # the mean radius pyrosm's haversine edge lengths use
# Edge lengths come rounded to the millimetre, so a walk can be a little shorter than the
# straight line it follows: straight-line bounds give up this much (2,000 edges' worth).
ROUNDING_SLACK_M = 1.0


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

    def to_xy(self, lon: np.ndarray, *, lat: np.ndarray) -> np.ndarray:
        """(m, 2) array of x (east) and y (north) metres."""
        lon = np.asarray(lon, dtype=np.float64)
        lat = np.asarray(lat, dtype=np.float64)
        k = np.pi / 180.0 * EARTH_RADIUS_M
        x = (lon - self.lon0) * k * np.cos(np.radians(self.lat0))
        return np.column_stack([x, (lat - self.lat0) * k])

    def to_lonlat(self, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The inverse of `to_xy`: (lon, lat) arrays."""
        xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
        k = np.pi / 180.0 * EARTH_RADIUS_M
        return self.lon0 + xy[:, 0] / (k * np.cos(np.radians(self.lat0))), self.lat0 + xy[:, 1] / k


def projection_from_lonlat(lon: np.ndarray, *, lat: np.ndarray) -> LocalProjection:
    """A projection centred on the points, with its scale bound over their latitudes."""
    lat = np.asarray(lat, dtype=np.float64)
    lat0 = float((lat.min() + lat.max()) / 2)
    worst = float(np.abs(lat).max())  # east-west lengths shrink most at the highest latitude
    scale = min(1.0, np.cos(np.radians(worst)) / np.cos(np.radians(lat0)))
    return LocalProjection(lon0=float((np.min(lon) + np.max(lon)) / 2), lat0=lat0,
                           min_scale=float(scale))


@dataclass(eq=False)
class WalkGraph:
    """A walking network: undirected lengths in a CSR, node coordinates in metres."""

    node_ids: np.ndarray  # int64 id of each graph node (OSM node id)
    xy: np.ndarray  # (n, 2) float64 metres
    csr: sp.csr_array  # (n, n) lengths in metres, both directions stored
    projection: LocalProjection | None = None
    min_component_nodes: int = 1  # see MIN_COMPONENT_NODES
    # Sorted keys u * n + v (u < v) of the node pairs joined by a ground-level edge; None
    # when every edge is at ground level (see observatory.walkable).
    ground_pairs: np.ndarray | None = None

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return int(self.node_ids.shape[0])

    @property
    def n_edges(self) -> int:
        """Number of undirected edges."""
        return int(self.csr.nnz // 2)

    @cached_property
    def snappable(self) -> np.ndarray:
        """Indices of the nodes points may snap to (those of large enough components)."""
        if self.min_component_nodes <= 1:
            return np.arange(self.n_nodes)
        labels = self.components()
        sizes = np.bincount(labels)
        need = min(self.min_component_nodes, int(sizes.max()))
        return np.flatnonzero(sizes[labels] >= need)

    @cached_property
    def hull_equations(self) -> np.ndarray | None:
        """(k, 3) outward unit normals and offsets of the nodes' convex hull (None: flat)."""
        try:
            return ConvexHull(self.xy).equations
        except (QhullError, ValueError):
            return None

    @cached_property
    def core(self) -> ContractedGraph:
        """The graph with its chains of degree-2 nodes contracted (built on first use)."""
        return contracted_from_csr(self.csr)

    def components(self) -> np.ndarray:
        """Connected-component label of each node."""
        if "_components" not in self.__dict__:
            self.__dict__["_components"] = connected_components(self.csr, directed=False)[1]
        return self.__dict__["_components"]


def graph_from_edges(node_ids: np.ndarray, *, xy: np.ndarray, u: np.ndarray, v: np.ndarray,
                     length_m: np.ndarray, projection: LocalProjection | None = None,
                     min_component_nodes: int = 1,
                     ground_level: np.ndarray | None = None) -> WalkGraph:
    """A graph from node ids with coordinates and edges between node ids.

    Each edge is walkable both ways; of parallel edges the shortest is kept; self-loops
    are dropped (they never shorten a walk). `ground_level` flags the edges at ground
    level (default: all); a node pair is at ground level when any of its edges is.
    """
    node_ids = np.asarray(node_ids, dtype=np.int64)
    ui, vi = _indices_of(node_ids, u), _indices_of(node_ids, v)
    length = np.asarray(length_m, dtype=np.float64)
    _check_lengths(length)
    n = node_ids.shape[0]
    csr = symmetric_csr(ui, v=vi, length_m=length, n=n)
    pairs = None
    if ground_level is not None and not np.all(ground := np.asarray(ground_level, dtype=bool)):
        pairs = np.unique(np.minimum(ui, vi)[ground] * n + np.maximum(ui, vi)[ground])
    return WalkGraph(node_ids=node_ids, xy=np.asarray(xy, dtype=np.float64), csr=csr,
                     projection=projection, min_component_nodes=min_component_nodes,
                     ground_pairs=pairs)


def _indices_of(node_ids: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Graph index of each id in `ids`; NetworkError naming the ids that are not nodes."""
    ids = np.asarray(ids, dtype=np.int64)
    n = node_ids.shape[0]
    ascending = n < 2 or bool((node_ids[1:] > node_ids[:-1]).all())
    if ascending and n and node_ids[0] == 0 and node_ids[-1] == n - 1:
        pos, order = ids, None  # ids are already the indices
        missing = (ids < 0) | (ids >= n)
    else:
        order = None if ascending else np.argsort(node_ids, kind="stable")
        ordered = node_ids if order is None else node_ids[order]
        if not ascending and (np.diff(ordered) == 0).any():
            raise NetworkError("osm_nodes: node ids repeat; each node must appear once. "
                               "Re-ingest the extract.")
        pos = np.searchsorted(ordered, ids).clip(0, max(n - 1, 0))
        missing = (ordered[pos] != ids) if n else np.ones(ids.shape, dtype=bool)
    if missing.any():
        raise NetworkError(f"osm_edges: {int(missing.sum())} edge ends refer to nodes missing "
                           f"from osm_nodes (e.g. {ids[missing][:5].tolist()}); re-ingest the "
                           "extract so both tables match.")
    return pos if order is None else order[pos]


def _check_lengths(length: np.ndarray) -> None:
    bad = ~np.isfinite(length) | (length < 0)
    if bad.any():
        rows = np.flatnonzero(bad)[:5].tolist()
        raise NetworkError(f"osm_edges: {int(bad.sum())} edges have a negative or missing "
                           f"length_m (rows {rows}); lengths must be metres >= 0.")


def symmetric_csr(u: np.ndarray, *, v: np.ndarray, length_m: np.ndarray,
                  n: int) -> sp.csr_array:
    """CSR with the length on (u, v) and (v, u); of parallel edges the shortest is kept.

    Self-loops are dropped. Built from the upper triangle: a row of the result is its
    lower-triangle entries (columns < row) followed by its upper ones, both sorted.
    """
    u = np.asarray(u, dtype=np.int64)
    v = np.asarray(v, dtype=np.int64)
    key = np.minimum(u, v) * n + np.maximum(u, v)
    keep = u != v
    key, w = key[keep], np.asarray(length_m, dtype=np.float64)[keep]
    order = np.argsort(key)
    key, w = key[order], w[order]
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]]) if key.size else key
    w = np.minimum.reduceat(w, starts) if key.size else w
    a = key[starts] // n if n else key
    b = key[starts] - a * n
    index_type = np.int32 if max(n, 2 * a.size) < 2**31 - 1 else np.int64
    upper = sp.csr_array((w, b.astype(index_type), indptr_of(a, n, index_type)), shape=(n, n))
    lower = upper.tocsc()  # its column-major layout is the lower triangle's row-major one
    return stack_rows(lower, upper, index_type)


def indptr_of(rows: np.ndarray, n: int, index_type: type) -> np.ndarray:
    indptr = np.zeros(n + 1, dtype=index_type)
    np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
    return indptr


def stack_rows(lower: sp.csc_array, upper: sp.csr_array, index_type: type) -> sp.csr_array:
    n = upper.shape[0]
    low_count, up_count = np.diff(lower.indptr), np.diff(upper.indptr)
    indptr = (lower.indptr + upper.indptr).astype(index_type)
    low_rows = np.repeat(np.arange(n), low_count)
    up_rows = np.repeat(np.arange(n), up_count)
    low_dest = indptr[low_rows] + np.arange(low_rows.size) - lower.indptr[low_rows]
    up_dest = (indptr[up_rows] + low_count[up_rows] + np.arange(up_rows.size)
               - upper.indptr[up_rows])
    indices = np.empty(indptr[-1], dtype=index_type)
    data = np.empty(indptr[-1], dtype=np.float64)
    indices[low_dest], data[low_dest] = lower.indices, lower.data
    indices[up_dest], data[up_dest] = upper.indices, upper.data
    csr = sp.csr_array((data, indices, indptr), shape=(n, n))
    csr.has_sorted_indices = True
    return csr


def graph_from_store(con: duckdb.DuckDBPyConnection) -> WalkGraph:
    """The walking network of `osm_nodes` and `osm_edges`."""
    nodes = con.sql("SELECT node_id, lon, lat FROM osm_nodes ORDER BY node_id").fetchnumpy()
    columns = {c for (c,) in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'osm_edges'"
    ).fetchall()}
    ground = "ground_level" if "ground_level" in columns else "true"  # stores before the rule
    edges = con.sql(f"SELECT u, v, length_m, {ground} AS ground_level FROM osm_edges").fetchnumpy()
    if len(nodes["node_id"]) == 0 or len(edges["u"]) == 0:
        raise NetworkError("osm_nodes/osm_edges: the store holds no walking network; "
                           "ingest an OpenStreetMap extract first (`observatory ingest osm`).")
    lon, lat = np.asarray(nodes["lon"]), np.asarray(nodes["lat"])
    projection = projection_from_lonlat(lon, lat=lat)
    return graph_from_edges(
        np.asarray(nodes["node_id"]), xy=projection.to_xy(lon, lat=lat),
        u=np.asarray(edges["u"]), v=np.asarray(edges["v"]),
        length_m=np.asarray(edges["length_m"], dtype=np.float64), projection=projection,
        min_component_nodes=MIN_COMPONENT_NODES,
        ground_level=np.asarray(edges["ground_level"], dtype=bool),
    )


def boundary_distances(graph: WalkGraph, *, xy: np.ndarray) -> np.ndarray:
    """Straight-line metres from each point to the edge of the network's hull (0 outside).

    A walk that leaves the hull is at least this long, so a network distance found inside
    the extract that is no longer than this cannot be beaten by anything outside it. The
    figure is on the safe side: scaled by the projection's `min_scale` and less
    ROUNDING_SLACK_M.
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
    return np.clip(out * scale - ROUNDING_SLACK_M, 0.0, None)


def distances_from_sources(graph: WalkGraph, *, sources: np.ndarray, offsets_m: np.ndarray,
                           limit_m: float, contracted: bool = True) -> np.ndarray:
    """Shortest walk (m) from any source to every node, the source's offset included.

    `sources` are node indices and `offsets_m` the walk from each source to its node
    (its snap distance). Nodes farther than `limit_m` get inf; with no source, all do.
    `contracted` runs Dijkstra on the graph without its chains of degree-2 nodes and
    fills those in afterwards (same result, about twice as fast on street networks).
    """
    nodes = np.asarray(sources, dtype=np.int64).reshape(-1)
    offsets = np.asarray(offsets_m, dtype=np.float64).reshape(-1)
    if nodes.size == 0:
        return np.full(graph.n_nodes, np.inf)
    if not contracted:
        return dijkstra_from(graph.csr, sources=nodes, offsets_m=offsets, limit_m=limit_m)
    return graph.core.distances(sources=nodes, offsets_m=offsets, limit_m=limit_m)


def dijkstra_from(csr: sp.csr_array, *, sources: np.ndarray, offsets_m: np.ndarray,
                  limit_m: float) -> np.ndarray:
    """One Dijkstra run from a virtual node joined to each source by an edge of its offset."""
    n = csr.shape[0]
    best = np.full(n, np.inf)
    np.minimum.at(best, sources, offsets_m)  # one super-source edge per node: the shortest
    targets = np.flatnonzero(np.isfinite(best))
    index_type = csr.indices.dtype
    indptr = np.append(csr.indptr, csr.indptr[-1] + targets.size).astype(index_type)
    extended = sp.csr_array(
        (np.concatenate([csr.data, best[targets]]),
         np.concatenate([csr.indices, targets.astype(index_type)]), indptr),
        shape=(n + 1, n + 1),
    )
    out = dijkstra(extended, directed=True, indices=n, limit=limit_m)
    return np.asarray(out[:n])


@dataclass(frozen=True)
class ContractedGraph:
    """A graph whose chains of degree-2 nodes are replaced by one edge per chain.

    Street networks split ways at every vertex, so most nodes lie inside such chains. A
    walk can only enter a chain through its two ends (or start inside it), so Dijkstra
    runs on the core and each inner node's distance follows from its chain's ends.
    """

    nodes: np.ndarray  # graph index of each core node
    csr: sp.csr_array  # core lengths: edges between core nodes and one edge per chain
    core_index: np.ndarray  # graph index -> core index, -1 for inner nodes
    inner: np.ndarray  # graph index of each inner node, grouped by chain, in walk order
    slot: np.ndarray  # graph index -> position in `inner`, -1 for core nodes
    end_a: np.ndarray  # per inner node: core index of its chain's first end
    end_b: np.ndarray  # per inner node: core index of its chain's other end
    pos: np.ndarray  # per inner node: metres from end_a along the chain
    length: np.ndarray  # per inner node: its chain's length end to end
    chain_start: np.ndarray  # per inner node: position in `inner` of its chain's first node
    chain_size: np.ndarray  # per inner node: number of inner nodes of its chain

    def distances(self, *, sources: np.ndarray, offsets_m: np.ndarray,
                  limit_m: float) -> np.ndarray:
        """Same contract as `distances_from_sources` on the full graph."""
        nodes = sources
        on_core = self.core_index[nodes] >= 0
        k = self.slot[nodes[~on_core]]  # sources inside chains enter the core at both ends
        off = offsets_m[~on_core]
        core_d = dijkstra_from(
            self.csr, sources=np.concatenate([self.core_index[nodes[on_core]], self.end_a[k],
                                              self.end_b[k]]),
            offsets_m=np.concatenate([offsets_m[on_core], off + self.pos[k],
                                      off + self.length[k] - self.pos[k]]),
            limit_m=limit_m)
        inner_d = np.minimum(core_d[self.end_a] + self.pos,
                             core_d[self.end_b] + (self.length - self.pos))
        if k.size:  # a walk from a source inside a chain to a node of the same chain
            sizes = self.chain_size[k]
            first = np.repeat(np.cumsum(sizes) - sizes, sizes)
            member = np.repeat(self.chain_start[k], sizes) + np.arange(sizes.sum()) - first
            via = np.repeat(off, sizes) + np.abs(self.pos[member] - np.repeat(self.pos[k], sizes))
            np.minimum.at(inner_d, member, via)
        out = np.empty(self.core_index.shape[0])
        out[self.nodes] = core_d
        out[self.inner] = inner_d
        out[out > limit_m] = np.inf
        return out


def contracted_from_csr(csr: sp.csr_array) -> ContractedGraph:
    """Contract every chain of degree-2 nodes of a symmetric graph without self-loops."""
    n = csr.shape[0]
    rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(csr.indptr))
    cols, data = csr.indices.astype(np.int64), csr.data
    inner, labels = _chain_labels(csr, rows, cols)
    stub = inner[rows] & ~inner[cols]  # entries from a chain's end node to a core node
    order = np.argsort(labels[rows[stub]], kind="stable")
    s_in, s_core, s_len = rows[stub][order], cols[stub][order], data[stub][order]
    a_in, a_core, a_len = s_in[0::2], s_core[0::2], s_len[0::2]  # two stubs per chain
    b_in, b_core, b_len = s_in[1::2], s_core[1::2], s_len[1::2]
    both = inner[rows] & inner[cols]
    start = sp.csr_array((np.r_[data[both], a_len],
                          (np.r_[rows[both], np.full(a_in.size, n)], np.r_[cols[both], a_in])),
                         shape=(n + 1, n + 1))
    from_a = dijkstra(start, directed=True, indices=n)[:n]  # metres from end a along chains
    chain_ids = labels[a_in]
    size = int(labels.max()) + 1 if n else 0
    end_a, end_b, total = (np.full(size, -1), np.full(size, -1), np.zeros(size))
    end_a[chain_ids], end_b[chain_ids] = a_core, b_core
    total[chain_ids] = from_a[b_in] + b_len
    core_nodes = np.flatnonzero(~inner)
    core_index = np.full(n, -1, dtype=np.int64)
    core_index[core_nodes] = np.arange(core_nodes.size)
    between = ~inner[rows] & ~inner[cols] & (rows < cols)
    ring = end_a[chain_ids] == end_b[chain_ids]  # a loop back to the same core node
    core_csr = symmetric_csr(
        core_index[np.r_[rows[between], a_core[~ring]]],
        v=core_index[np.r_[cols[between], b_core[~ring]]],
        length_m=np.r_[data[between], total[chain_ids][~ring]], n=core_nodes.size)
    return _with_inner(core_nodes, core_csr, core_index, labels=labels, inner=inner,
                       from_a=from_a, ends=(end_a, end_b, total))


def _chain_labels(csr: sp.csr_array, rows: np.ndarray,
                  cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Which nodes are inside chains, and a chain label per node.

    A node of degree 2 is inside a chain; a ring made only of such nodes keeps its lowest
    node in the core, so that every chain has two ends on the core.
    """
    n = csr.shape[0]
    inner = np.diff(csr.indptr) == 2
    while True:
        both = inner[rows] & inner[cols]
        links = sp.csr_array((np.ones(int(both.sum())), (rows[both], cols[both])), shape=(n, n))
        labels = connected_components(links, directed=False)[1]
        stub = inner[rows] & ~inner[cols]
        stubs = np.bincount(labels[rows[stub]], minlength=int(labels.max()) + 1 if n else 0)
        in_ring = np.flatnonzero(inner & (stubs[labels] == 0))
        if in_ring.size == 0:
            break
        _, first = np.unique(labels[in_ring], return_index=True)
        inner[in_ring[first]] = False
    return inner, labels


def _with_inner(core_nodes: np.ndarray, core_csr: sp.csr_array, core_index: np.ndarray, *,
                labels: np.ndarray, inner: np.ndarray, from_a: np.ndarray,
                ends: tuple[np.ndarray, np.ndarray, np.ndarray]) -> ContractedGraph:
    """Order the inner nodes chain by chain and attach their chain's ends and length."""
    end_a, end_b, total = ends
    members = np.flatnonzero(inner)
    members = members[np.lexsort((from_a[members], labels[members]))]
    chain = labels[members]
    new_chain = np.r_[True, chain[1:] != chain[:-1]] if chain.size else chain.astype(bool)
    starts = np.flatnonzero(new_chain)
    sizes = np.diff(np.r_[starts, chain.size])
    slot = np.full(core_index.shape[0], -1, dtype=np.int64)
    slot[members] = np.arange(members.size)
    return ContractedGraph(
        nodes=core_nodes, csr=core_csr, core_index=core_index, inner=members, slot=slot,
        end_a=core_index[end_a[chain]], end_b=core_index[end_b[chain]], pos=from_a[members],
        length=total[chain], chain_start=np.repeat(starts, sizes),
        chain_size=np.repeat(sizes, sizes),
    )


def undirected_edges(graph: WalkGraph) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(u, v, length) node indices with u < v, one row per undirected edge (zeros kept)."""
    csr = graph.csr
    rows = np.repeat(np.arange(graph.n_nodes, dtype=np.int64), np.diff(csr.indptr))
    cols = csr.indices.astype(np.int64)
    upper = rows < cols
    return rows[upper], cols[upper], csr.data[upper].astype(np.float64)
