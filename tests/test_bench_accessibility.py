"""The shipped accessibility benchmark: its tiling, and a small run that must agree."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.sparse.csgraph import connected_components

from observatory.bench.accessibility import JOIN_NODES, Base, main, tiled_from_base
from observatory.network import graph_from_edges

KEYS = {"nodes", "edges", "categories", "ours_s", "networkx_s", "speedup", "max_abs_diff_m",
        "peak_rss_mb"}


def _square() -> Base:
    """A 30-node ladder: two rails of 15 nodes 10 m apart, rungs every 10 m."""
    xy = np.array([[10.0 * (i % 15), 10.0 * (i // 15)] for i in range(30)])
    rails = [(i, i + 1) for i in range(14)] + [(i, i + 1) for i in range(15, 29)]
    rungs = [(i, i + 15) for i in range(15)]
    u, v = np.array(rails + rungs).T
    return Base(xy=xy, u=u, v=v, length=np.full(u.size, 10.0),
                services={"grocery": xy[:1]}, radius_m={"grocery": np.zeros(1)},
                origins=xy[-1:])


def test_tiles_copy_the_network_and_join_neighbours() -> None:
    base = _square()
    tiled = tiled_from_base(base, nodes=30 * 6)  # 6 tiles on a 3-wide grid: 2 rows
    assert tiled.tiles == 6 and tiled.xy.shape == (180, 2)
    joins = tiled.u.size - 6 * base.u.size
    assert joins == (4 + 3) * JOIN_NODES  # 4 east-west and 3 north-south neighbour pairs
    graph = graph_from_edges(np.arange(180), xy=tiled.xy, u=tiled.u, v=tiled.v,
                             length_m=tiled.length)
    assert connected_components(graph.csr, directed=False)[0] == 1
    assert (tiled.length[-joins:] > 0).all()  # joins are as long as the gap they bridge


@pytest.mark.slow
def test_small_benchmark_agrees_with_networkx() -> None:
    result = main(nodes=30_000, repeats=1)
    assert KEYS <= set(result)
    assert 25_000 <= result["nodes"] <= 35_000 and result["categories"] == 10
    assert result["agree"] and result["reach_mismatch"] == 0
    assert result["max_abs_diff_m"] <= 1e-6
    assert result["helsinki_check"]["max_abs_diff_m"] <= 1e-6
    assert result["helsinki_check"]["reach_mismatch"] == 0
    assert 0 < result["ours_s"] < result["networkx_s"]
    assert 0 < result["peak_rss_mb"] < 1024
