"""Walking access scaled out by region: the network cut by a coarse H3 parent, each region
computed inside Spark by the same single-machine engine, its halo's results discarded.

A region is the set of graph nodes whose H3 parent at `resolution` is one cell. Its
subgraph holds every node within the search limit of the region, in a straight line (the
region's bounding box grown by the limit, in ground metres): a walk of at most the limit
never leaves that box, because no walk is shorter than the straight line. So the distances
of the region's own nodes are those of the whole graph, and the halo's are dropped. Each region runs
`observatory.network.dijkstra_from` (SciPy's Dijkstra, as on one machine) inside a Spark
task (`mapInArrow`); the graph reaches the tasks as a broadcast variable.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa

from observatory.h3grid import with_cells
from observatory.network import ROUNDING_SLACK_M, WalkGraph, dijkstra_from

# $OBSERVATORY_SPARK_REGION_RESOLUTION: H3 resolution of the regions (6: about 36 km²).
REGION_RESOLUTION_ENV = "OBSERVATORY_SPARK_REGION_RESOLUTION"
DEFAULT_REGION_RESOLUTION = 6
SCHEMA = "node long, distance double"


@dataclass(frozen=True)
class RegionStats:
    """How the last scale-out went: regions, nodes computed (halos included) and nodes."""

    regions: int
    computed_nodes: int
    nodes: int

    @property
    def halo_overhead(self) -> float:
        """Nodes computed beyond the graph's own, as a share of them (0.25: 25 % more)."""
        return self.computed_nodes / max(self.nodes, 1) - 1.0


def region_resolution() -> int:
    """The regions' H3 resolution ($OBSERVATORY_SPARK_REGION_RESOLUTION, default 6)."""
    text = os.environ.get(REGION_RESOLUTION_ENV, "").strip()
    return int(text) if text.isdigit() else DEFAULT_REGION_RESOLUTION


def node_regions(graph: WalkGraph, resolution: int) -> np.ndarray:
    """The H3 cell at `resolution` of every node (its region)."""
    if graph.projection is None:
        raise ValueError("the graph has no projection: regions need the nodes' lon/lat.")
    lon, lat = graph.projection.to_lonlat(graph.xy)
    cells = with_cells(pl.DataFrame({"lat": lat, "lon": lon}), res=resolution)
    return cells["h3_cell"].to_numpy()


def region_distances(graph: dict[str, np.ndarray], region: int, *, sources: np.ndarray,
                     offsets_m: np.ndarray, limit_m: float) -> tuple[np.ndarray, np.ndarray,
                                                                     int]:
    """One region: the indices of its nodes, their distances, and the subgraph's size."""
    import scipy.sparse as sp

    own = np.flatnonzero(graph["regions"] == region)
    xy = graph["xy"]
    # projected metres overstate ground ones by up to 1 / min_scale (LocalProjection), and
    # edge lengths carry a rounding slack: the box is grown by both
    reach = limit_m / float(graph["min_scale"]) + ROUNDING_SLACK_M
    low, high = xy[own].min(axis=0) - reach, xy[own].max(axis=0) + reach
    inside = np.flatnonzero(np.all((xy >= low) & (xy <= high), axis=1))
    csr = sp.csr_array((graph["data"], graph["indices"], graph["indptr"]),
                       shape=(xy.shape[0], xy.shape[0]))[inside][:, inside]
    local = np.full(xy.shape[0], -1, dtype=np.int64)
    local[inside] = np.arange(inside.size)
    keep = local[sources] >= 0
    found = dijkstra_from(sp.csr_array(csr), sources=local[sources[keep]],
                          offsets_m=offsets_m[keep], limit_m=limit_m)
    return own, found[local[own]], int(inside.size)


def _payload(graph: WalkGraph, regions: np.ndarray) -> dict[str, np.ndarray]:
    scale = graph.projection.min_scale if graph.projection is not None else 1.0
    return {"xy": graph.xy, "data": graph.csr.data, "indices": graph.csr.indices,
            "indptr": graph.csr.indptr, "regions": regions, "min_scale": np.float64(scale)}


def regional_distances(spark: Any, graph: WalkGraph, *, sources: np.ndarray,
                       offsets_m: np.ndarray, limit_m: float,
                       resolution: int | None = None) -> tuple[np.ndarray, RegionStats]:
    """Every node's distance to the nearest source, computed region by region on Spark;
    equal to `distances_from_sources` on the whole graph."""
    regions = node_regions(graph, resolution or region_resolution())
    ids = np.unique(regions)
    shared = spark.sparkContext.broadcast(
        {**_payload(graph, regions), "sources": np.asarray(sources, dtype=np.int64),
         "offsets": np.asarray(offsets_m, dtype=np.float64), "limit": float(limit_m)})

    def compute(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        payload = shared.value
        for batch in batches:
            for region in batch.column("region").to_pylist():
                nodes, found, size = region_distances(
                    payload, region, sources=payload["sources"],
                    offsets_m=payload["offsets"], limit_m=payload["limit"])
                yield pa.RecordBatch.from_pydict({
                    "node": np.append(nodes, -1 - size), "distance": np.append(found, 0.0)})

    frame = spark.createDataFrame([(int(r),) for r in ids], "region long").repartition(
        max(1, min(len(ids), spark.sparkContext.defaultParallelism * 4)))
    rows = pl.from_arrow(frame.mapInArrow(compute, SCHEMA).toArrow())
    shared.unpersist()
    marks = rows.filter(pl.col("node") < 0)  # one row per region: -1 - its subgraph's size
    rows = rows.filter(pl.col("node") >= 0)
    out = np.full(graph.n_nodes, np.inf)
    out[rows["node"].to_numpy()] = rows["distance"].to_numpy()
    computed = int((-1 - marks["node"]).sum())
    return out, RegionStats(int(ids.size), computed, graph.n_nodes)


class RegionalEngine:
    """`distances_from_sources` for the accessibility model, run region by region on a
    Spark session (the build's `--engine spark`); `stats` keeps the last run's figures."""

    def __init__(self, spark: Any, *, resolution: int | None = None) -> None:
        self.spark, self.resolution = spark, resolution
        self.stats: list[RegionStats] = []

    def __call__(self, graph: WalkGraph, *, sources: np.ndarray, offsets_m: np.ndarray,
                 limit_m: float) -> np.ndarray:
        nodes = np.asarray(sources, dtype=np.int64).reshape(-1)
        if nodes.size == 0:
            return np.full(graph.n_nodes, np.inf)
        out, stats = regional_distances(self.spark, graph, sources=nodes,
                                        offsets_m=np.asarray(offsets_m).reshape(-1),
                                        limit_m=limit_m, resolution=self.resolution)
        self.stats.append(stats)
        return out
