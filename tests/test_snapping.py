"""Snapping onto edges: exact against brute force, ground level first, the real tunnel case."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from observatory.network import MAX_SNAP_M, graph_from_edges, graph_from_store, undirected_edges
from observatory.snapping import _nearest, edge_index, same_edge_walks, snap_points

if TYPE_CHECKING:
    from tests.conftest_network import WalkStore

pytest_plugins = ["tests.conftest_network"]

TUNNEL_WAY = 609208694  # an underground service road (tunnel=yes, layer=-4)
ALEKSANTERINKATU = 53185129  # the pedestrian street above it


def _grid(side: int, spacing: float = 100.0):  # noqa: ANN202 - WalkGraph
    index = np.arange(side * side).reshape(side, side)
    u = np.r_[index[:, :-1].ravel(), index[:-1, :].ravel()]
    v = np.r_[index[:, 1:].ravel(), index[1:, :].ravel()]
    xy = np.column_stack([(index % side).ravel(), (index // side).ravel()]) * spacing
    return graph_from_edges(index.ravel(), xy=xy.astype(float), u=u, v=v,
                            length_m=np.full(u.size, spacing))


def _brute(graph, xy: np.ndarray, *, max_m: float) -> np.ndarray:  # noqa: ANN001
    """Distance to the nearest snappable edge, ground level first (inf: none within max_m)."""
    index = edge_index(graph)
    allowed = np.zeros(graph.n_nodes, dtype=bool)
    allowed[graph.snappable] = True
    usable = allowed[index.u]
    a, b = graph.xy[index.u], graph.xy[index.v]
    out = np.full(xy.shape[0], np.inf)
    for i, p in enumerate(xy):
        ab = b - a
        norm = (ab * ab).sum(axis=1)
        t = np.clip(((p - a) * ab).sum(axis=1) / np.where(norm > 0, norm, 1), 0, 1)
        d = np.hypot(*(p - (a + t[:, None] * ab)).T)
        for level in (index.ground, np.ones_like(index.ground)):
            pick = d[usable & level]
            if pick.size and pick.min() <= max_m:
                out[i] = pick.min()
                break
    return out


def test_a_point_joins_the_nearest_point_of_the_nearest_edge() -> None:
    graph = _grid(3)
    snap = snap_points(graph, xy=np.array([[10.0, 20.0], [150.0, 95.0], [-400.0, 0.0]]))
    assert snap.ok.tolist() == [True, True, False]
    assert snap.distance_m[:2] == pytest.approx([10.0, 5.0])  # to x = 0 and to y = 100
    assert {int(snap.a[0]), int(snap.b[0])} == {0, 3} and snap.along_m[0] == pytest.approx(20.0)
    assert {int(snap.a[1]), int(snap.b[1])} == {4, 5} and snap.along_m[1] == pytest.approx(50.0)
    assert snap.edge_m[:2].tolist() == [100.0, 100.0]
    assert snap.distance_m[2] == pytest.approx(400.0) and 400.0 > MAX_SNAP_M
    nodes, offsets = snap.entries()  # each snapped point enters at both ends of its edge
    entered = sorted(zip(nodes.tolist(), np.round(offsets, 6).tolist(), strict=True))
    assert entered == [(0, 30.0), (3, 90.0), (4, 55.0), (5, 55.0)]


def test_a_point_beside_a_street_over_a_tunnel_joins_the_street() -> None:
    # street y = 0 (ground), tunnel y = 10 (layer -1) right under the point at y = 12
    xy = np.array([[0.0, 0.0], [100.0, 0.0], [0.0, 10.0], [100.0, 10.0], [-50.0, 5.0]])
    graph = graph_from_edges(np.arange(5), xy=xy, u=np.array([0, 2, 4, 4]),
                             v=np.array([1, 3, 0, 2]), length_m=np.array([100, 100, 51, 51.0]),
                             ground_level=np.array([True, False, True, False]))
    snap = snap_points(graph, xy=np.array([[50.0, 12.0], [50.0, 400.0]]))
    assert (int(snap.a[0]), int(snap.b[0])) == (0, 1)
    assert snap.distance_m[0] == pytest.approx(12.0)
    assert not snap.ok[1]  # nothing within the limit, tunnel or not
    only_tunnel = graph_from_edges(np.arange(2), xy=xy[2:4], u=np.array([0]), v=np.array([1]),
                                   length_m=np.array([100.0]), ground_level=np.array([False]))
    assert snap_points(only_tunnel, xy=np.array([[50.0, 12.0]])).ok.tolist() == [True]


def test_points_do_not_snap_to_small_fragments() -> None:
    big = _grid(4)
    u, v, w = undirected_edges(big)
    xy = np.r_[big.xy, [[1000.0, 1000.0], [1010.0, 1000.0]]]
    graph = graph_from_edges(np.arange(18), xy=xy, u=np.r_[u, 16], v=np.r_[v, 17],
                             length_m=np.r_[w, 10.0], min_component_nodes=5)
    snap = snap_points(graph, xy=np.array([[1000.0, 990.0]]), max_m=2000.0)
    assert {int(snap.a[0]), int(snap.b[0])} <= {11, 14, 15}  # the grid's corner, not the fragment


@st.composite
def _networks(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    n = draw(st.integers(2, 25))
    coords = st.floats(-600, 600, allow_nan=False)
    xy = np.array(draw(st.lists(st.tuples(coords, coords), min_size=n, max_size=n)))
    pairs = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)),
                          min_size=1, max_size=40))
    ground = np.array(draw(st.lists(st.booleans(), min_size=len(pairs), max_size=len(pairs))))
    return xy, np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs]), ground


@settings(max_examples=200, deadline=None)
@given(network=_networks(), points=st.lists(st.tuples(st.floats(-900, 900), st.floats(-900, 900)),
                                            min_size=1, max_size=30),
       max_m=st.sampled_from([5.0, 60.0, 250.0, 5000.0]))
def test_snapping_equals_brute_force(network: tuple[np.ndarray, ...],
                                     points: list[tuple[float, float]], max_m: float) -> None:
    """Short and long edges (over LONG_M), tunnels, zero lengths, points anywhere."""
    xy, u, v, ground = network
    length = np.hypot(*(xy[u] - xy[v]).T)
    graph = graph_from_edges(np.arange(xy.shape[0]), xy=xy, u=u, v=v, length_m=length,
                             ground_level=ground)
    p = np.array(points)
    snap = snap_points(graph, xy=p, max_m=max_m)
    expected = _brute(graph, p, max_m=max_m)
    assert np.array_equal(snap.ok, np.isfinite(expected))
    assert snap.distance_m[snap.ok] == pytest.approx(expected[snap.ok], abs=1e-6)
    if snap.ok.any():  # the split lies on the edge and is that far from the point
        a, b = graph.xy[snap.a[snap.ok]], graph.xy[snap.b[snap.ok]]
        t = np.divide(snap.along_m[snap.ok], snap.edge_m[snap.ok],
                      out=np.zeros(int(snap.ok.sum())), where=snap.edge_m[snap.ok] > 0)
        at = a + t[:, None] * (b - a)
        assert np.hypot(*(at - p[snap.ok]).T) == pytest.approx(snap.distance_m[snap.ok],
                                                               abs=1e-6)


def test_two_points_on_one_edge_walk_straight_to_each_other() -> None:
    graph = _grid(2, spacing=1000.0)
    snap = snap_points(graph, xy=np.array([[100.0, 3.0], [700.0, -4.0]]))
    walk = same_edge_walks(snap.take(np.array([0])), snap.take(np.array([1])))
    assert walk.tolist() == pytest.approx([600.0 + 3.0 + 4.0])


def test_helsinki_point_over_the_tunnel_joins_aleksanterinkatu(walk_store: WalkStore) -> None:
    con = walk_store.connect()
    graph = graph_from_store(con)
    ways = {(int(a), int(b)): int(w) for a, b, w in con.execute(
        "SELECT least(u, v), greatest(u, v), way_id FROM osm_edges").fetchall()}
    con.close()
    point = graph.projection.to_xy(np.array([24.943171]), lat=np.array([60.168894]))
    snap = snap_points(graph, xy=point)
    ids = graph.node_ids

    def way(a: int, b: int) -> int:
        return ways[(min(ids[a], ids[b]), max(ids[a], ids[b]))]

    assert way(int(snap.a[0]), int(snap.b[0])) == ALEKSANTERINKATU
    assert snap.distance_m[0] == pytest.approx(2.84, abs=0.05)
    index = edge_index(graph)
    nearest_any, d_any = _nearest(index, point, ground_only=False, max_m=MAX_SNAP_M)
    assert way(int(index.u[nearest_any[0]]), int(index.v[nearest_any[0]])) == TUNNEL_WAY
    assert d_any[0] < 0.1  # right above it: nearest of all, and still not taken
