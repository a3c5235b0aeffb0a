"""The walking graph: construction, snapping, hull distances and shortest paths against networkx."""

from __future__ import annotations

from typing import TYPE_CHECKING

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from observatory.accessibility import AccessModel
from observatory.errors import InputError
from observatory.network import (
    NetworkError,
    WalkGraph,
    boundary_distances,
    distances_from_sources,
    graph_from_edges,
    graph_from_store,
    projection_from_lonlat,
    symmetric_csr,
    undirected_edges,
)

if TYPE_CHECKING:
    from tests.conftest_network import WalkStore

pytest_plugins = ["tests.conftest_network"]


def _networkx(graph: WalkGraph) -> nx.Graph:
    u, v, w = undirected_edges(graph)
    out = nx.Graph()
    out.add_nodes_from(range(graph.n_nodes))
    out.add_weighted_edges_from(zip(u.tolist(), v.tolist(), w.tolist(), strict=True))
    return out


def _reference(graph: nx.Graph, nodes: np.ndarray, offsets: np.ndarray, *, n: int,
               limit: float) -> np.ndarray:
    """networkx's multi-source distances, offsets as edges from a virtual source."""
    best: dict[int, float] = {}
    for node, offset in zip(nodes.tolist(), offsets.tolist(), strict=True):
        best[node] = min(offset, best.get(node, np.inf))
    graph.add_weighted_edges_from(("s", node, o) for node, o in best.items())
    found = nx.multi_source_dijkstra_path_length(graph, {"s"}, cutoff=limit)
    graph.remove_node("s")
    out = np.full(n, np.inf)
    for node, distance in found.items():
        if node != "s":
            out[node] = distance
    return out


def _assert_same(ours: np.ndarray, theirs: np.ndarray) -> None:
    assert np.array_equal(np.isfinite(ours), np.isfinite(theirs))
    finite = np.isfinite(ours)
    if finite.any():
        assert np.abs(ours[finite] - theirs[finite]).max() <= 1e-6


def _grid(side: int, *, spacing: float = 100.0) -> WalkGraph:
    """A side × side grid of streets, `spacing` metres apart (node ids 100, 101, ...)."""
    index = np.arange(side * side).reshape(side, side)
    u = np.r_[index[:, :-1].ravel(), index[:-1, :].ravel()]
    v = np.r_[index[:, 1:].ravel(), index[1:, :].ravel()]
    xy = np.column_stack([(index % side).ravel(), (index // side).ravel()]) * spacing
    return graph_from_edges(index.ravel() + 100, xy=xy.astype(float), u=u + 100, v=v + 100,
                            length_m=np.full(u.size, spacing))


def test_helsinki_graph_has_every_node_and_each_edge_once(walk_store: WalkStore) -> None:
    con = walk_store.connect()
    graph = graph_from_store(con)
    rows = con.sql("SELECT count(*) FROM osm_nodes").fetchall()[0][0]
    pairs = con.sql("SELECT count(DISTINCT (least(u, v), greatest(u, v))) FROM osm_edges "
                    "WHERE u <> v").fetchall()[0][0]
    con.close()
    assert graph.n_nodes == rows == 6948
    assert graph.n_edges == pairs == 8277
    assert (graph.csr != graph.csr.T).nnz == 0  # walkable both ways
    assert np.unique(graph.components()).size == 22


def test_helsinki_distances_equal_networkx_for_every_target(walk_model: AccessModel) -> None:
    graph = walk_model.graph
    reference = _networkx(graph)
    for target, services in walk_model.services.items():
        nodes, offsets = services.snap.entries()
        theirs = _reference(reference, nodes, offsets, n=graph.n_nodes, limit=walk_model.limit_m)
        _assert_same(walk_model.node_distances[target], theirs)
        assert np.isfinite(theirs).sum() > 5000, target  # the main component is reached


def test_contracted_search_equals_the_full_one_on_helsinki(walk_model: AccessModel) -> None:
    graph = walk_model.graph
    rng = np.random.default_rng(7)
    core = graph.core
    assert core.nodes.size + core.inner.size == graph.n_nodes
    assert core.inner.size > graph.n_nodes / 2  # most street nodes lie inside chains
    for _ in range(20):
        sources = rng.choice(graph.n_nodes, size=int(rng.integers(1, 30)))
        offsets = rng.uniform(0, 80, sources.size)
        limit = float(rng.choice([150.0, 900.0, 3000.0, np.inf]))
        fast = distances_from_sources(graph, sources=sources, offsets_m=offsets, limit_m=limit)
        full = distances_from_sources(graph, sources=sources, offsets_m=offsets, limit_m=limit,
                                      contracted=False)
        _assert_same(fast, full)


@st.composite
def _random_graphs(draw: st.DrawFn) -> tuple[int, list[tuple[int, int, float]]]:
    n = draw(st.integers(1, 14))
    edge = st.tuples(st.integers(0, n - 1), st.integers(0, n - 1),
                     st.sampled_from([0.0, 1.0, 2.5, 7.0, 10.0, 33.3]))
    return n, draw(st.lists(edge, max_size=30))


@settings(max_examples=150, deadline=None)
@given(graph_spec=_random_graphs(), data=st.data())
def test_any_graph_matches_networkx(graph_spec: tuple[int, list[tuple[int, int, float]]],
                                    data: st.DataObject) -> None:
    """Chains, rings, parallel edges, self-loops, zero lengths and several components."""
    n, edges = graph_spec
    u, v, w = (np.array([e[i] for e in edges]) for i in range(3))
    graph = graph_from_edges(np.arange(n) * 10, xy=np.zeros((n, 2)), u=u * 10, v=v * 10,
                             length_m=w.astype(float))
    sources = np.array(data.draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=4)))
    offsets = np.array(data.draw(st.lists(st.sampled_from([0.0, 0.5, 4.0]),
                                          min_size=sources.size, max_size=sources.size)))
    limit = data.draw(st.sampled_from([0.0, 3.0, 12.0, np.inf]))
    theirs = _reference(_networkx(graph), sources, offsets, n=n, limit=limit)
    for contracted in (True, False):
        _assert_same(distances_from_sources(graph, sources=sources, offsets_m=offsets,
                                            limit_m=limit,
                                            contracted=contracted), theirs)


def test_two_components_reach_only_their_own_nodes() -> None:
    graph = graph_from_edges(np.array([1, 2, 3, 4, 5]), xy=np.zeros((5, 2)),
                             u=np.array([1, 2, 4]), v=np.array([2, 3, 5]),
                             length_m=np.array([10.0, 5.0, 1.0]))
    d = distances_from_sources(graph, sources=np.array([0]), offsets_m=np.array([2.0]),
                               limit_m=1e9)
    assert d.tolist() == [2.0, 12.0, 17.0, np.inf, np.inf]
    assert np.unique(graph.components()).size == 2


def test_no_source_reaches_nothing() -> None:
    graph = _grid(3)
    d = distances_from_sources(graph, sources=np.array([], dtype=int), offsets_m=np.array([]),
                               limit_m=1e9)
    assert d.shape == (9,) and np.isinf(d).all()


def test_parallel_edges_keep_the_shortest_and_self_loops_go() -> None:
    csr = symmetric_csr(np.array([0, 1, 0, 2]), v=np.array([1, 0, 1, 2]),
                        length_m=np.array([5.0, 3.0, 4.0, 1.0]), n=3)
    assert csr.toarray().tolist() == [[0, 3, 0], [3, 0, 0], [0, 0, 0]]
    assert csr.nnz == 2


def test_boundary_distance_is_the_straight_line_to_the_hull() -> None:
    graph = _grid(5)  # hull: the square 0..400 m
    d = boundary_distances(graph, xy=np.array([[200.0, 200.0], [50.0, 300.0], [500.0, 0.0]]))
    assert d.tolist() == pytest.approx([199.0, 49.0, 0.0])  # less the rounding slack


def test_projection_round_trips_and_bounds_its_error() -> None:
    lon, lat = np.array([24.93, 24.96]), np.array([60.16, 60.18])
    projection = projection_from_lonlat(lon, lat=lat)
    back = projection.to_lonlat(projection.to_xy(lon, lat=lat))
    assert np.allclose(back[0], lon) and np.allclose(back[1], lat)
    xy = projection.to_xy(np.array([24.95, 24.95]), lat=np.array([60.17, 60.18]))
    assert np.hypot(*(xy[1] - xy[0])) == pytest.approx(1111.95, abs=0.1)  # 0.01° of latitude
    assert 0.9995 < projection.min_scale <= 1.0


def test_edges_to_unknown_nodes_name_them() -> None:
    with pytest.raises(NetworkError, match=r"missing from osm_nodes \(e\.g\. \[99\]\)") as info:
        graph_from_edges(np.array([1, 2]), xy=np.zeros((2, 2)), u=np.array([1]),
                         v=np.array([99]), length_m=np.array([1.0]))
    assert isinstance(info.value, InputError) and "re-ingest" in str(info.value)


def test_negative_lengths_are_refused() -> None:
    with pytest.raises(NetworkError, match="negative or missing length_m"):
        graph_from_edges(np.array([1, 2]), xy=np.zeros((2, 2)), u=np.array([1]),
                         v=np.array([2]), length_m=np.array([-1.0]))
