"""Points join the walking network at the nearest point of the nearest walkable edge.

As routers do, a point is snapped onto an edge, not to a node: the edge is split there
(virtually: the point enters the graph at both ends of its edge, at its snap distance
plus the length from the split to that end) and the straight-line snap distance counts
in the walk. Two points on the same edge also walk straight along it to each other
(`same_edge_walks`). The result equals a search on the graph with every edge actually
split at every point (tests/test_snapping.py checks this against networkx).

Ground-level edges (see observatory.walkable) come first: a point snaps to another edge
(a tunnel, another layer, indoors) only when no ground-level edge lies within the limit.
Only edges of components of at least MIN_COMPONENT_NODES nodes take points.

The nearest edge is found exactly and fast. A KD-tree holds the nodes of the edges and
points cutting edges longer than PIECE_M into pieces no longer than that; the edges
through a point's k nearest index points are candidates, whose true distance is computed,
and the k-th index point's distance proves the answer or the point is searched again with
more. Edges longer than LONG_M are few and are checked directly against the points near
them.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import scipy.sparse as sp
from scipy.spatial import cKDTree

from observatory.network import MAX_SNAP_M, WalkGraph, indptr_of, stack_rows, undirected_edges

PIECE_M = 20.0  # longest piece of an edge between two index points
LONG_M = 400.0  # edges longer than this are checked directly, not cut into pieces
CANDIDATES = (4, 8, 32)  # nearest index points examined per point, then for the unproven


@dataclass(frozen=True)
class Snapped:
    """Where points joined the network: an edge split at `along_m`, or a node.

    A point joined at a node (a park's area node) has a == b, along 0 and edge_m 0.
    """

    edge: np.ndarray  # int64 undirected edge index (-1: at a node, or not snapped)
    a: np.ndarray  # int64 node index of the edge's first end (-1: not snapped)
    b: np.ndarray  # int64 node index of the edge's other end
    along_m: np.ndarray  # metres along the edge from a to the split
    edge_m: np.ndarray  # the edge's length in metres
    distance_m: np.ndarray  # straight-line metres from the point to the split (or nearest)

    @property
    def ok(self) -> np.ndarray:
        """True where the point was snapped."""
        return self.a >= 0

    @property
    def size(self) -> int:
        """Number of points."""
        return int(self.a.shape[0])

    def entries(self) -> tuple[np.ndarray, np.ndarray]:
        """(node, offset) pairs through which the snapped points enter the graph."""
        ok = self.ok
        d, along, length = self.distance_m[ok], self.along_m[ok], self.edge_m[ok]
        return (np.r_[self.a[ok], self.b[ok]],
                np.r_[d + along, d + (length - along)])

    def walks_from(self, node_distances: np.ndarray) -> np.ndarray:
        """Metres from the field's sources to each point via its edge's ends (inf: none)."""
        out = np.full(self.size, np.inf)
        ok = self.ok
        a, b = self.a[ok], self.b[ok]
        via_a = node_distances[a] + self.along_m[ok]
        via_b = node_distances[b] + (self.edge_m[ok] - self.along_m[ok])
        out[ok] = np.minimum(via_a, via_b) + self.distance_m[ok]
        return out

    def take(self, index: np.ndarray) -> Snapped:
        """The points at `index` (an integer or boolean index)."""
        return Snapped(edge=self.edge[index], a=self.a[index], b=self.b[index],
                       along_m=self.along_m[index], edge_m=self.edge_m[index],
                       distance_m=self.distance_m[index])


def at_nodes(nodes: np.ndarray, *, distance_m: np.ndarray) -> Snapped:
    """Points that join the graph at given nodes (-1: not snapped)."""
    nodes = np.asarray(nodes, dtype=np.int64)
    zero = np.zeros(nodes.shape[0])
    return Snapped(edge=np.full(nodes.shape[0], -1, dtype=np.int64), a=nodes, b=nodes.copy(),
                   along_m=zero, edge_m=zero.copy(),
                   distance_m=np.asarray(distance_m, dtype=np.float64))


def concat(parts: list[Snapped]) -> Snapped:
    """The points of several `Snapped` one after the other."""
    return Snapped(**{f: np.concatenate([getattr(p, f) for p in parts])
                      for f in ("edge", "a", "b", "along_m", "edge_m", "distance_m")})


def same_edge_walks(points: Snapped, sources: Snapped) -> np.ndarray:
    """Metres from the nearest source lying on a point's own edge, straight along it.

    inf where no source shares the point's edge. Together with `walks_from` this is the
    walk on the graph split at every point.
    """
    out = np.full(points.size, np.inf)
    src = np.flatnonzero(sources.edge >= 0)
    if src.size == 0 or points.size == 0:
        return out
    order = src[np.argsort(sources.edge[src], kind="stable")]
    keys = sources.edge[order]
    first = np.searchsorted(keys, points.edge, side="left")
    last = np.searchsorted(keys, points.edge, side="right")
    hit = np.flatnonzero((points.edge >= 0) & (last > first))
    if hit.size == 0:
        return out
    counts = last[hit] - first[hit]
    point = np.repeat(hit, counts)
    member = order[np.repeat(first[hit], counts) + _ranges(counts)]
    walk = (np.abs(points.along_m[point] - sources.along_m[member])
            + sources.distance_m[member] + points.distance_m[point])
    np.minimum.at(out, point, walk)
    return out


def _ranges(counts: np.ndarray) -> np.ndarray:
    """0..c-1 for each count, concatenated."""
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    return np.arange(int(counts.sum())) - starts


@dataclass(eq=False)
class EdgeIndex:
    """The graph's undirected edges as straight segments, indexed for snapping.

    Index points are the nodes of large enough components (tree points 0..k-1, node
    `point_node[i]`: a node's edges are its row of the graph's CSR), then points cutting
    the edges up to LONG_M long into pieces of at most PIECE_M (`cut_edge`).
    """

    graph: WalkGraph
    u: np.ndarray
    v: np.ndarray
    keys: np.ndarray  # u * n + v, ascending: an edge's number from its two ends
    length_m: np.ndarray
    ground: np.ndarray  # bool per edge
    long: np.ndarray  # bool per edge: longer than LONG_M in the plane
    point_node: np.ndarray
    cut_edge: np.ndarray
    tree: cKDTree | None
    x: np.ndarray  # the nodes' coordinates, one contiguous array each
    y: np.ndarray

    @property
    def n_node_points(self) -> int:
        """Index points that are nodes (the first ones)."""
        return int(self.point_node.shape[0])

    @property
    def all_ground(self) -> bool:
        """Whether every edge lies at ground level."""
        return self.graph.ground_pairs is None

    @cached_property
    def entry_ground(self) -> np.ndarray:
        """Whether the edge of each entry of the graph's CSR lies at ground level."""
        return self.ground[_entry_edges(self.graph, self.u, self.v, self.keys)]

    def edge_of(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """The number of the edge between nodes a and b."""
        n = self.graph.n_nodes
        return np.searchsorted(self.keys, np.minimum(a, b) * n + np.maximum(a, b))


def edge_index(graph: WalkGraph) -> EdgeIndex:
    """The graph's edge index (built once per graph and kept on it)."""
    if "_edge_index" not in graph.__dict__:
        graph.__dict__["_edge_index"] = _build_index(graph)
    return graph.__dict__["_edge_index"]


def _build_index(graph: WalkGraph) -> EdgeIndex:
    u, v, length = undirected_edges(graph)
    n, xy = graph.n_nodes, graph.xy
    keys = u * n + v
    ground = (np.ones(u.shape[0], dtype=bool) if graph.ground_pairs is None
              else np.isin(keys, graph.ground_pairs))
    allowed = np.zeros(n, dtype=bool)
    allowed[graph.snappable] = True
    allowed[np.diff(graph.csr.indptr) == 0] = False  # an isolated node has no edge
    span = np.hypot(*(xy[v] - xy[u]).T)
    long = span > LONG_M
    short = np.flatnonzero(allowed[u] & ~long & (span > PIECE_M))
    cuts = np.ceil(span[short] / PIECE_M).astype(np.int64) - 1
    cut_edge = np.repeat(short, cuts)
    t = ((_ranges(cuts) + 1) / np.repeat(cuts + 1, cuts))[:, None]
    cut_xy = xy[u[cut_edge]] + t * (xy[v[cut_edge]] - xy[u[cut_edge]])
    point_node = np.flatnonzero(allowed)
    points = np.r_[xy[point_node], cut_xy]
    tree = (cKDTree(points, balanced_tree=False, compact_nodes=False) if points.size
            else None)
    return EdgeIndex(graph=graph, u=u, v=v, keys=keys, length_m=length, ground=ground,
                     long=long & allowed[u], point_node=point_node, cut_edge=cut_edge,
                     tree=tree, x=np.ascontiguousarray(xy[:, 0]),
                     y=np.ascontiguousarray(xy[:, 1]))


def _entry_edges(graph: WalkGraph, u: np.ndarray, v: np.ndarray,
                 keys: np.ndarray) -> np.ndarray:
    """The undirected edge of each entry of the graph's CSR.

    `symmetric_csr` lays each row out as its lower-triangle entries then its upper ones,
    both sorted: the same layout built with edge numbers as data gives them in O(E).
    """
    n, csr = graph.n_nodes, graph.csr
    index_type = csr.indices.dtype
    upper = sp.csr_array((np.arange(u.shape[0], dtype=np.float64), v.astype(index_type),
                          indptr_of(u, n, index_type)), shape=(n, n))
    stacked = stack_rows(upper.tocsc(), upper, index_type)
    if np.array_equal(stacked.indptr, csr.indptr) and np.array_equal(stacked.indices,
                                                                     csr.indices):
        return stacked.data.astype(np.int64)
    rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(csr.indptr))
    cols = csr.indices.astype(np.int64)
    return np.searchsorted(keys, np.minimum(rows, cols) * n + np.maximum(rows, cols))


def snap_points(graph: WalkGraph, *, xy: np.ndarray, max_m: float = MAX_SNAP_M) -> Snapped:
    """Each point's nearest point on the nearest snappable edge, ground level first.

    Points farther than `max_m` from every such edge are not snapped (a = -1) and keep
    their distance to the nearest edge.
    """
    xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    index = edge_index(graph)
    if index.u.size == 0:  # no edge at all: nothing to join
        return at_nodes(np.full(xy.shape[0], -1), distance_m=np.full(xy.shape[0], np.inf))
    edge, dist = _nearest(index, xy, ground_only=not index.all_ground, max_m=max_m)
    if not index.all_ground and (left := np.flatnonzero(edge < 0)).size:
        edge[left], dist[left] = _nearest(index, xy[left], ground_only=False, max_m=max_m)
    for i in np.flatnonzero(edge < 0):  # few: how far they are, to say so
        dist[i] = _nearest(index, xy[i:i + 1], ground_only=False, max_m=np.inf)[1][0]
    return _snapped(index, xy, edge=edge, distance_m=dist)


def _nearest(index: EdgeIndex, xy: np.ndarray, *, ground_only: bool,
             max_m: float) -> tuple[np.ndarray, np.ndarray]:
    """(edge, distance) of each point's nearest edge within max_m (-1, inf)."""
    m = xy.shape[0]
    edge, best = np.full(m, -1, dtype=np.int64), np.full(m, np.inf)
    todo = np.arange(m) if index.tree is not None else np.zeros(0, dtype=np.int64)
    for k in CANDIDATES:
        if todo.size == 0:
            break
        found = _k_nearest(index, xy[todo], ground_only=ground_only, k=k, max_m=max_m)
        edge[todo], best[todo] = found[0], found[1]
        todo = todo[found[2]]
    for i in todo:  # rare: the k nearest did not prove it; every point in the proven ball
        r = float(np.hypot(min(best[i], max_m, 1e12), PIECE_M / 2))
        near = np.asarray(index.tree.query_ball_point(xy[i], r=r), dtype=np.int64)
        _, a, b = _candidates(index, near, ground_only=ground_only)
        if a.size:
            ds = _distance(index, xy[i], a, b)
            j = int(np.argmin(ds))
            edge[i], best[i] = index.edge_of(a[j:j + 1], b[j:j + 1])[0], ds[j]
    long = np.flatnonzero(index.long & (index.ground | (not ground_only)))
    if long.size and m:
        _nearest_long(index, long, xy, max_m=max_m, edge=edge, best=best)
    edge[best > max_m] = -1
    return edge, best


def _candidates(index: EdgeIndex, points: np.ndarray, *,
                ground_only: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(position in `points`, a, b) of every edge (a, b) through the given index points."""
    at_node = points < index.n_node_points
    node = index.point_node[points[at_node]]
    csr = index.graph.csr
    counts = (csr.indptr[node + 1] - csr.indptr[node]).astype(np.int64)
    entries = np.repeat(csr.indptr[node].astype(np.int64), counts) + _ranges(counts)
    cut = np.flatnonzero(~at_node)
    cut_edge = index.cut_edge[points[cut] - index.n_node_points]
    pos = np.r_[np.repeat(np.flatnonzero(at_node), counts), cut]
    a = np.r_[np.repeat(node, counts), index.u[cut_edge]]
    b = np.r_[csr.indices[entries], index.v[cut_edge]]
    if ground_only:
        keep = np.r_[index.entry_ground[entries], index.ground[cut_edge]]
        return pos[keep], a[keep], b[keep]
    return pos, a, b


def _distance(index: EdgeIndex, p: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Straight-line metres from points p (one per segment) to the segments a -> b."""
    x, y = index.x, index.y
    ax, ay = x[a], y[a]
    dx, dy = x[b] - ax, y[b] - ay
    px, py = p[..., 0] - ax, p[..., 1] - ay
    norm = dx * dx + dy * dy
    t = (px * dx + py * dy) / np.where(norm > 0, norm, 1.0)
    np.clip(t, 0.0, 1.0, out=t)
    px -= t * dx
    py -= t * dy
    return np.sqrt(px * px + py * py)


def _project(p: np.ndarray, start: np.ndarray, end: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(t, distance): where p projects on each segment (0..1 from start) and how far."""
    step = end - start
    rel = p - start
    norm = np.einsum("...i,...i->...", step, step)
    t = np.einsum("...i,...i->...", rel, step) / np.where(norm > 0, norm, 1.0)
    np.clip(t, 0.0, 1.0, out=t)
    rel -= t[..., None] * step
    return t, np.sqrt(np.einsum("...i,...i->...", rel, rel))


def _nearest_long(index: EdgeIndex, long: np.ndarray, xy: np.ndarray, *, max_m: float,
                  edge: np.ndarray, best: np.ndarray) -> None:
    """Improve (edge, best) in place with the long edges within max_m of each point."""
    xy_graph = index.graph.xy
    a, b = xy_graph[index.u[long]], xy_graph[index.v[long]]
    reach = np.hypot(*(b - a).T) / 2 + min(max_m, 1e12)
    found = cKDTree(xy).query_ball_point((a + b) / 2, r=reach, return_sorted=False)
    which = np.repeat(np.arange(long.size), [len(f) for f in found])
    point = np.fromiter(itertools.chain.from_iterable(found), dtype=np.int64, count=which.size)
    d = _projection(index, xy[point], long[which])[1]
    better = d < best[point]
    for p, e, dist in zip(point[better], long[which][better], d[better], strict=True):
        if dist < best[p]:
            edge[p], best[p] = e, dist


def _k_nearest(index: EdgeIndex, xy: np.ndarray, *, ground_only: bool, k: int,
               max_m: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The best edge through the k nearest index points, and where it is unproven.

    An edge on none of the k nearest index points has the two ends of every piece at
    least D (the k-th point's distance) away, so it is at least sqrt(D² - (PIECE_M/2)²)
    away: the answer is proven when it is no farther than that.
    """
    m = xy.shape[0]
    k = min(k, index.tree.n)
    reach = min(max_m, 1e12) + PIECE_M
    centre_d, found = index.tree.query(xy, k=k, distance_upper_bound=reach, workers=-1)
    centre_d, found = centre_d.reshape(m, k), found.reshape(m, k)
    hit = np.flatnonzero(found.ravel() < index.tree.n)
    pos, a, b = _candidates(index, found.ravel()[hit], ground_only=ground_only)
    row = hit[pos] // k
    d = _distance(index, xy[row], a, b)
    edge, best = np.full(m, -1, dtype=np.int64), np.full(m, np.inf)
    np.minimum.at(best, row, d)
    win = np.flatnonzero(d == best[row])
    edge[row[win]] = index.edge_of(a[win], b[win])
    last = centre_d[:, -1]
    proven = np.sqrt(np.clip(last * last - (PIECE_M / 2) ** 2, 0.0, None))
    return edge, best, np.isfinite(last) & (best > proven)


def _projection(index: EdgeIndex, p: np.ndarray,
                edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(t, distance): where p projects on each edge's segment (0..1 from u) and how far."""
    e = np.maximum(edges, 0)
    return _project(p, index.graph.xy[index.u[e]], index.graph.xy[index.v[e]])


def _snapped(index: EdgeIndex, xy: np.ndarray, *, edge: np.ndarray,
             distance_m: np.ndarray) -> Snapped:
    ok = edge >= 0
    t = _projection(index, xy, edge)[0]
    e = np.maximum(edge, 0)
    length = index.length_m[e]
    return Snapped(edge=np.where(ok, edge, -1), a=np.where(ok, index.u[e], -1),
                   b=np.where(ok, index.v[e], -1), along_m=np.where(ok, t * length, 0.0),
                   edge_m=np.where(ok, length, 0.0), distance_m=distance_m)


def nodes_within(graph: WalkGraph, *, xy: np.ndarray,
                 radius_m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(point index, node index) of every node of a snappable edge within each radius."""
    xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    radius = np.asarray(radius_m, dtype=np.float64).reshape(-1)
    index = edge_index(graph)
    asked = np.flatnonzero(radius > 0)
    if asked.size == 0 or index.tree is None:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    found = index.tree.query_ball_point(xy[asked], r=radius[asked], return_sorted=False)
    owner = np.repeat(asked, [len(f) for f in found]).astype(np.int64)
    flat = np.fromiter(itertools.chain.from_iterable(found), dtype=np.int64, count=owner.size)
    node = flat < index.n_node_points
    return owner[node], index.point_node[flat[node]]
