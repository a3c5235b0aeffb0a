"""An independent reference for walks from snapped points: networkx on an explicitly split graph.

Every edge that points were snapped onto is cut at each of them (a chain a - p1 - p2 - b
in order along the edge), and each point is joined to its split by an edge as long as its
snap distance. Shortest paths on that graph are what routers compute; our code gets the
same result without changing the graph (observatory.snapping).
"""

from __future__ import annotations

from collections import defaultdict

import networkx as nx
import numpy as np

from observatory.network import WalkGraph, undirected_edges
from observatory.snapping import Snapped


def split_graph(graph: WalkGraph, points: dict[str, Snapped]) -> nx.Graph:
    """The graph with every snapped point as a node `(label, i)` hanging off its split."""
    u, v, length = undirected_edges(graph)
    out = nx.Graph()
    out.add_nodes_from(range(graph.n_nodes))
    on_edge: dict[tuple[int, int], list[tuple[float, object]]] = defaultdict(list)
    for label, snap in points.items():
        for i in np.flatnonzero(snap.ok):
            node = (label, int(i))
            a, b = int(snap.a[i]), int(snap.b[i])
            if a == b:  # joined at a node
                out.add_edge(node, a, weight=float(snap.distance_m[i]))
                continue
            along = float(snap.along_m[i]) if a < b else float(snap.edge_m[i] - snap.along_m[i])
            split = ("split", label, int(i))
            on_edge[(min(a, b), max(a, b))].append((along, split))
            out.add_edge(node, split, weight=float(snap.distance_m[i]))
    for a, b, w in zip(u.tolist(), v.tolist(), length.tolist(), strict=True):
        cuts = sorted(on_edge.get((a, b), []), key=lambda c: c[0])
        chain = [(0.0, a), *cuts, (w, b)]
        for (pos0, n0), (pos1, n1) in zip(chain, chain[1:], strict=False):
            weight = pos1 - pos0
            if out.has_edge(n0, n1):
                weight = min(weight, out[n0][n1]["weight"])
            out.add_edge(n0, n1, weight=weight)
    return out
