"""`observatory bench spark`: DuckDB against Spark `local[2]` on the same data, same run.

1. **Indicators.** The demo store plus `readings` simulated sensor readings (seeded, 96
   stations every 10 minutes, flagged simulated) is copied twice; the climate and service
   indicators are computed into one copy by DuckDB and into the other by Spark, and their
   results compared cell by cell (`equal`: ratios within 1e-9 relative).
2. **Cost per row.** The hourly means of every reading (`SELECT series_id, hour, avg …
   GROUP BY`, the means summed so that both engines compute them all), the heaviest step
   a build does with raw readings, on both engines: seconds, µs per reading, and whether
   the means agree (`aggregate_equal`).
3. **Accessibility by region.** The central-Helsinki network tiled to about `nodes`
   nodes; the distances to the nearest grocery store computed on one machine and region
   by region on Spark (H3 resolution `region_resolution`, halos as wide as the search
   limit): regions, halo overhead, time and the largest difference.

The JSON summary is the last line.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

HOURLY_SQL = ("SELECT series_id, date_trunc('hour', \"time\") AS hour, avg(\"value\") AS mean, "
              "count(*) AS n FROM sensor_values GROUP BY ALL")
THEMES = ("climate", "services")


def _say(message: str) -> None:
    print(f"[bench spark] {message}", file=sys.stderr, flush=True)


def _store_with_readings(work: Path, readings: int, store: Path | None) -> Path:
    from observatory.bench.appends import SEED, SOURCE_OPTIONS, _places
    from observatory.bench.appends import readings as simulated
    from observatory.build import build_store, ingest_into
    from observatory.snapshots import copy_store
    from observatory.store import write_session

    if store is None or not store.exists():
        _say("building the demo store")
        store = work / "demo" / "observatory.duckdb"
        build_store(store)
    path = copy_store(store, work / "base" / "observatory.duckdb")
    places = _places(path, 96, np.random.default_rng(SEED))
    source = work / "readings.parquet"
    simulated(places, first=0, rows=readings, seed=SEED).write_parquet(source)
    _say(f"loading {readings:,} simulated readings")
    with write_session(path, label="bench spark load") as con:
        ingest_into(con, "timeseries", source, options=SOURCE_OPTIONS)
    return path


def _names(store: Path) -> list[str]:
    from observatory.datasets import known_datasets
    from observatory.registry import load_registry
    from observatory.settings import indicators_dir
    from observatory.store import connect_read

    con = connect_read(store)
    try:
        registry = load_registry(indicators_dir(), known_inputs=known_datasets(con))
    finally:
        con.close()
    return sorted(n for n, s in registry.specs.items() if s.spec.theme in THEMES)


def _compute(store: Path, names: list[str], engine: str) -> tuple[float, int]:
    from observatory.build import compute_into
    from observatory.store import write_session

    started = time.perf_counter()
    with write_session(store, label=f"bench spark {engine}") as con:
        compute_into(con, names=names, engine=engine, master="local[2]")
        files = con.execute("SELECT count(*) FROM lake_files").fetchall()[0][0]
    return time.perf_counter() - started, int(files)


def _hourly(store: Path, work: Path) -> dict[str, Any]:
    from observatory.spark.session import spark_session
    from observatory.spark.tables import export_tables, register
    from observatory.spark.translate import store_macros, to_spark
    from observatory.store import connect_read

    whole = f"SELECT count(*) AS hours, sum(n) AS n, sum(mean) AS means FROM ({HOURLY_SQL})"
    con = connect_read(store)
    try:
        started = time.perf_counter()
        ours = con.execute(whole).fetchall()[0]
        duck = time.perf_counter() - started
        spark = spark_session("local[2]")
        macros = store_macros(con)
        register(spark, con, work / "tables", export_tables(con, work / "tables"), macros)
        started = time.perf_counter()
        theirs = spark.sql(to_spark(whole, parameters={}, macros=macros)).collect()[0]
        sparks = time.perf_counter() - started
    finally:
        con.close()
    readings = int(ours[1] or 0)
    same = (int(theirs["hours"]) == int(ours[0]) and int(theirs["n"] or 0) == readings
            and abs(float(theirs["means"]) - float(ours[2])) <= 1e-9 * abs(float(ours[2])))
    return {"aggregate_rows": readings, "aggregate_equal": same,
            "aggregate_duckdb_s": round(duck, 2), "aggregate_spark_s": round(sparks, 2),
            "duckdb_us_per_row": round(duck / max(readings, 1) * 1e6, 4),
            "spark_us_per_row": round(sparks / max(readings, 1) * 1e6, 4)}


def _regions(nodes: int, resolution: int) -> dict[str, Any]:
    from scipy.spatial import cKDTree

    from observatory.accessibility import SEARCH_LIMIT_M
    from observatory.bench.accessibility import (
        _copies,
        base_from_model,
        helsinki_model,
        tiled_from_base,
    )
    from observatory.network import MIN_COMPONENT_NODES, distances_from_sources, graph_from_edges
    from observatory.spark.regions import regional_distances
    from observatory.spark.session import spark_session

    model = helsinki_model()
    base = base_from_model(model)
    tiled = tiled_from_base(base, nodes=nodes)
    graph = graph_from_edges(np.arange(tiled.xy.shape[0]), xy=tiled.xy, u=tiled.u, v=tiled.v,
                             length_m=tiled.length, projection=model.graph.projection,
                             min_component_nodes=MIN_COMPONENT_NODES)
    shops = _copies(base.services["grocery"], tiled.offsets)
    offsets, sources = cKDTree(graph.xy).query(shops)
    started = time.perf_counter()
    single = distances_from_sources(graph, sources=sources, offsets_m=offsets,
                                    limit_m=SEARCH_LIMIT_M)
    single_s = time.perf_counter() - started
    spark = spark_session("local[2]")
    started = time.perf_counter()
    regional, stats = regional_distances(spark, graph, sources=sources, offsets_m=offsets,
                                         limit_m=SEARCH_LIMIT_M, resolution=resolution)
    regional_s = time.perf_counter() - started
    reached = np.isfinite(single)
    same = bool(np.array_equal(reached, np.isfinite(regional)))
    diff = float(np.abs(single[reached] - regional[reached]).max()) if reached.any() else 0.0
    return {"nodes": graph.n_nodes, "region_resolution": resolution, "regions": stats.regions,
            "halo_overhead": round(stats.halo_overhead, 2), "single_s": round(single_s, 2),
            "regional_s": round(regional_s, 2), "max_abs_diff_m": diff,
            "regional_equal": same and diff < 1e-6}


def main(*, readings: int = 50_000_000, nodes: int = 1_000_000, region_resolution: int = 5,
         store: Path | None = None) -> dict[str, Any]:
    """Run the three parts; the summary."""
    from observatory.snapshots import copy_store
    from observatory.spark.compare import differences, results_of

    with tempfile.TemporaryDirectory(prefix="observatory-bench-spark-") as name:
        work = Path(name)
        base = _store_with_readings(work, readings, store)
        names = _names(base)
        duck_store = copy_store(base, work / "duck" / "observatory.duckdb")
        spark_store = copy_store(base, work / "spark" / "observatory.duckdb")
        _say(f"{len(names)} climate and service indicators on DuckDB")
        duckdb_s, _ = _compute(duck_store, names, "duckdb")
        _say("the same on Spark local[2]")
        spark_s, lake_files = _compute(spark_store, names, "spark")
        ours, theirs = results_of(duck_store, names), results_of(spark_store, names)
        equal = ours.height == theirs.height and differences(ours, theirs).is_empty()
        _say("hourly means of every reading on both engines")
        hourly = _hourly(base, work / "hourly")
        partitions = lake_files + sum(1 for _ in (work / "hourly").rglob("*.parquet"))
        _say(f"walking access by region on about {nodes:,} nodes")
        regions = _regions(nodes, region_resolution)
    return {"readings": readings, "indicators": len(names), "duckdb_s": round(duckdb_s, 2),
            "spark_s": round(spark_s, 2), "partitions": partitions, "equal": equal,
            **hourly, **regions}
