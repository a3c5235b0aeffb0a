"""`observatory bench scenario`: one facility added on the ~1 M-node graph, incrementally
against the full recompute (the common approach: rerun the target's multi-source search).

The graph is the central-Helsinki network tiled to about `nodes` nodes (as `bench
accessibility` builds it), with its grocery stores copied into every tile. One new store is
added in the middle tile; `edit_s` is the incremental update (`WhatIf.add_xy`: snapping
plus one search limited to the search limit), `full_s` the multi-source search over every
store, and `max_abs_diff_m` the largest difference between the two fields (unreached
nodes must agree too). A closing is timed as well (`close_s`), against the same full run.
"""

from __future__ import annotations

import sys
import time
from typing import Any

import numpy as np

GROCERY = "grocery"


def _say(message: str) -> None:
    print(f"[bench scenario] {message}", file=sys.stderr)


def _model(nodes: int) -> tuple[Any, np.ndarray]:
    """A one-target accessibility model on the tiled graph, and the middle tile's offset."""
    from observatory.accessibility.model import AccessModel
    from observatory.accessibility.points import Origins, Services
    from observatory.bench.accessibility import (
        _copies,
        base_from_model,
        helsinki_model,
        tiled_from_base,
    )
    from observatory.network import MIN_COMPONENT_NODES, distances_from_sources, graph_from_edges
    from observatory.snapping import snap_points

    base = base_from_model(helsinki_model())
    tiled = tiled_from_base(base, nodes=nodes)
    graph = graph_from_edges(np.arange(tiled.xy.shape[0]), xy=tiled.xy, u=tiled.u, v=tiled.v,
                             length_m=tiled.length, min_component_nodes=MIN_COMPONENT_NODES)
    graph.core  # noqa: B018 - built once, as the app's model is
    xy = _copies(base.services[GROCERY], tiled.offsets)
    snap = snap_points(graph, xy=xy)
    k = xy.shape[0]
    nan = np.full(k, np.nan)
    services = Services(target=GROCERY, ids=np.array([f"store-{i}" for i in range(k)],
                                                      dtype=object),
                        kind=np.full(k, "poi", dtype=object), lon=nan, lat=nan, snap=snap,
                        radius_m=np.zeros(k))
    nodes_, offsets = snap.entries()
    field = distances_from_sources(graph, sources=nodes_, offsets_m=offsets, limit_m=3000.0)
    home = snap_points(graph, xy=base.origins[:1])
    origins = Origins(ids=np.array(["o"], dtype=object), kind=np.array(["building"],
                      dtype=object), h3_cell=np.zeros(1, np.int64), residents=np.ones(1),
                      lon=np.zeros(1), lat=np.zeros(1), snap=home, certain_within_m=np.zeros(1))
    model = AccessModel(graph=graph, origins=origins, centres=origins,
                        services={GROCERY: services}, node_distances={GROCERY: field})
    middle = tiled.offsets[len(tiled.offsets) // 2]
    return model, middle + np.median(base.origins, axis=0)


def _diff(a: np.ndarray, b: np.ndarray) -> float:
    if not np.array_equal(np.isfinite(a), np.isfinite(b)):
        return float("inf")
    finite = np.isfinite(a)
    return float(np.abs(a[finite] - b[finite]).max()) if finite.any() else 0.0


def main(*, nodes: int = 1_000_000, repeats: int = 5) -> dict[str, Any]:
    """Run the benchmark; the figures as one JSON-ready dict."""
    from observatory.scenarios.engine import WhatIf

    _say(f"building the tiled graph of about {nodes:,} nodes")
    model, point = _model(nodes)
    edits, closes, fulls, diffs = [], [], [], []
    for attempt in range(repeats):
        whatif = WhatIf(model)
        start = time.perf_counter()
        whatif.add_xy(GROCERY, facility_id=f"new-{attempt}", xy=point)
        edits.append(time.perf_counter() - start)
        start = time.perf_counter()
        full = whatif.full_recompute(GROCERY)
        fulls.append(time.perf_counter() - start)
        diffs.append(_diff(whatif.fields[GROCERY].node_distances, full))
        start = time.perf_counter()
        whatif.close(GROCERY, facility_id=f"store-{attempt}")
        closes.append(time.perf_counter() - start)
        diffs.append(_diff(whatif.fields[GROCERY].node_distances,
                           whatif.full_recompute(GROCERY)))
    edit_s, full_s = float(np.median(edits)), float(np.median(fulls))
    _say(f"add {edit_s * 1000:.1f} ms, close {np.median(closes) * 1000:.1f} ms, full "
         f"recompute {full_s * 1000:.1f} ms (medians of {repeats})")
    return {"nodes": model.graph.n_nodes, "edit_s": round(edit_s, 4),
            "close_s": round(float(np.median(closes)), 4), "full_s": round(full_s, 4),
            "ratio": round(full_s / edit_s, 1), "max_abs_diff_m": max(diffs)}
