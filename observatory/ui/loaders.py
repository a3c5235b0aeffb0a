"""Cached loaders: the only way pages reach the store.

- The connection is a `st.cache_resource` keyed on the current snapshot file (the store
  link is swapped atomically by every build, observatory/snapshots.py), so a new build is
  picked up on the next rerun without a restart, and a rerun never mixes two snapshots;
  each query runs on its own cursor, which is safe across Streamlit's script threads.
- Data is `st.cache_data` with a TTL and `max_entries`. Every cached function takes the
  `Context` (store and registry fingerprints) and the viewer's role as arguments, so the
  role is part of every cache key and filtered data cannot leak between roles.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl
import streamlit as st

from observatory import settings, views
from observatory.datasets import known_datasets
from observatory.errors import StoreMissingError
from observatory.population import METHOD_TEXT
from observatory.registry import Registry, load_registry
from observatory.registry.loader import definitions_signature
from observatory.roles import Role
from observatory.snapshots import current_snapshot
from observatory.store import connect_read
from observatory.ui.auth import page_role

ROLE_KEY = "role"
_TTL = "10m"
_ENTRIES = 256


@dataclass(frozen=True)
class Context:
    """Fingerprints of the store file and the indicator folder: part of every cache key."""

    store: str
    snapshot: str  # the current snapshot file when the rerun started: immutable
    indicators: str
    indicators_signature: tuple[tuple[str, int], ...]


def current_role() -> Role:
    """The role whose page this run shows, which the viewer holds (observatory/ui/auth.py
    establishes both on the server at the top of every run); the public otherwise. Every
    cached loader takes it as an argument, so data cached for one role is never served to
    another."""
    return page_role()


def context() -> Context:
    """Fingerprints of the store and the registry; raises StoreMissingError if no store."""
    store = settings.store_path()
    if not store.exists():
        raise StoreMissingError(
            f"No store at {store}. Build the demo store with `uv run observatory demo`, "
            f"or point ${settings.STORE_ENV} at an existing store file.")
    folder = settings.indicators_dir()
    snapshot = current_snapshot(store)
    if snapshot is None:
        raise StoreMissingError(f"The store link {store} points at no snapshot; rebuild it "
                                "with `uv run observatory demo --rebuild`.")
    return Context(store=str(store), snapshot=str(snapshot),
                   indicators=str(folder), indicators_signature=definitions_signature(folder))


def store_problem() -> str | None:
    """Why the store cannot be read (missing file), or None when it can."""
    try:
        context()
    except StoreMissingError as exc:
        return str(exc)
    return None


def _close(con: duckdb.DuckDBPyConnection) -> None:
    con.close()


@st.cache_resource(max_entries=2, on_release=_close, show_spinner=False)
def _connection(store: str, snapshot: str) -> duckdb.DuckDBPyConnection:
    return connect_read(Path(store), snapshot=Path(snapshot))


@contextmanager
def _cursor(ctx: Context) -> Iterator[duckdb.DuckDBPyConnection]:
    cursor = _connection(ctx.store, ctx.snapshot).cursor()
    try:
        yield cursor
    finally:
        cursor.close()


@st.cache_resource(max_entries=4, show_spinner=False)
def _registry(ctx: Context) -> Registry:
    with _cursor(ctx) as con:
        return load_registry(Path(ctx.indicators), known_inputs=known_datasets(con))


# -- indicators --------------------------------------------------------------------------

@st.cache_data(ttl=_TTL, max_entries=_ENTRIES, show_spinner=False)
def _catalogue(ctx: Context, role: Role) -> pl.DataFrame:
    with _cursor(ctx) as con:
        return views.indicator_catalogue(con, _registry(ctx), role=role)


def catalogue(*, theme: str | None = None, headline_only: bool = False,
              with_results: bool = True) -> pl.DataFrame:
    """Indicators the viewer may see: of one theme, headline ones only, with results."""
    frame = _catalogue(context(), current_role())
    if theme is not None:
        frame = frame.filter(pl.col("theme") == theme)
    if headline_only and frame["headline"].any():
        frame = frame.filter(pl.col("headline"))
    return frame.filter(pl.col("has_results")) if with_results else frame


@st.cache_data(ttl=_TTL, max_entries=_ENTRIES, show_spinner=False)
def _periods(ctx: Context, role: Role, name: str | None) -> list[str]:
    with _cursor(ctx) as con:
        if name is not None:
            views.visible_spec(_registry(ctx), name, role=role)
        return views.available_periods(con, name=name)


def periods(name: str | None = None) -> list[str]:
    """Periods with results, newest first (of one indicator if named)."""
    return _periods(context(), current_role(), name)


@st.cache_data(ttl=_TTL, max_entries=_ENTRIES, show_spinner=False)
def _resolutions(ctx: Context, role: Role, name: str, period: str) -> list[int]:
    with _cursor(ctx) as con:
        views.visible_spec(_registry(ctx), name, role=role)
        counts = views.available_resolutions(con, name=name, period=period)
    return views.map_resolutions(counts)


def resolutions(name: str, *, period: str) -> list[int]:
    """Resolutions of one indicator that stay under the map cell limit, finest first."""
    return _resolutions(context(), current_role(), name, period)


@st.cache_data(ttl=_TTL, max_entries=_ENTRIES, show_spinner=False)
def _cells(ctx: Context, role: Role, name: str, period: str, resolution: int) -> views.CellMap:
    with _cursor(ctx) as con:
        loaded = views.visible_spec(_registry(ctx), name, role=role)
        return views.indicator_cells(con, loaded, role=role, resolution=resolution,
                                     period=period)


def indicator_cells(name: str, *, period: str, resolution: int) -> views.CellMap:
    """The cells of one indicator the viewer may see (disclosure-controlled for the public)."""
    return _cells(context(), current_role(), name, period, resolution)


def ranked_cells(name: str, *, period: str, resolution: int, limit: int = 20) -> pl.DataFrame:
    """The best `limit` cells of one indicator at `resolution`, best first."""
    cells = indicator_cells(name, period=period, resolution=resolution)
    direction = summary(name, period=period).direction
    return views.ranked_cells(cells, direction=direction, limit=limit)


@st.cache_data(ttl=_TTL, max_entries=_ENTRIES, show_spinner=False)
def _summary(ctx: Context, role: Role, name: str, period: str | None) -> views.IndicatorSummary:
    with _cursor(ctx) as con:
        loaded = views.visible_spec(_registry(ctx), name, role=role)
        return views.indicator_summary(con, loaded, role=role, period=period)


def summary(name: str, *, period: str | None = None) -> views.IndicatorSummary:
    """Whole-area value, target status and provenance of one indicator."""
    return _summary(context(), current_role(), name, period)


@st.cache_data(ttl=_TTL, max_entries=_ENTRIES, show_spinner=False)
def _scorecard(ctx: Context, role: Role, period: str | None) -> pl.DataFrame:
    with _cursor(ctx) as con:
        return views.headline_scorecard(con, _registry(ctx), role=role, period=period)


def scorecard(*, period: str | None = None) -> pl.DataFrame:
    """Headline indicators against their targets."""
    return _scorecard(context(), current_role(), period)


@st.cache_data(ttl=_TTL, max_entries=_ENTRIES, show_spinner=False)
def _methodology(ctx: Context, role: Role, name: str) -> views.Methodology:
    return views.indicator_methodology(views.visible_spec(_registry(ctx), name, role=role),
                                       role=role)


def methodology(name: str) -> views.Methodology:
    """Method, parameters and code of one indicator."""
    return _methodology(context(), current_role(), name)


@st.cache_data(ttl=_TTL, max_entries=_ENTRIES, show_spinner=False)
def _registry_status(ctx: Context, role: Role) -> pl.DataFrame:
    with _cursor(ctx) as con:
        return views.registry_status(con, _registry(ctx), role=role)


def registry_status() -> pl.DataFrame:
    """Every definition the viewer may see, valid or not, with its last run."""
    return _registry_status(context(), current_role())


# -- datasets ----------------------------------------------------------------------------

@st.cache_data(ttl=_TTL, max_entries=_ENTRIES, show_spinner=False)
def _sources(ctx: Context, role: Role) -> pl.DataFrame:
    del role  # sources are public provenance; the role stays in the key by rule
    with _cursor(ctx) as con:
        return views.sources_catalogue(con)


def sources() -> pl.DataFrame:
    """Loaded sources with provenance, row counts, issues and freshness."""
    return _sources(context(), current_role())


@st.cache_data(ttl=_TTL, max_entries=_ENTRIES, show_spinner=False)
def _service_performance(ctx: Context, role: Role) -> pl.DataFrame:
    del role  # staff pages only; the role stays in the key by rule
    registry = _registry(ctx)
    target = registry.specs.get(views.services.TARGET_INDICATOR)
    with _cursor(ctx) as con:
        return views.service_performance(con, parameters=target.spec.parameters if target
                                         else {})


def service_performance() -> pl.DataFrame:
    """Service requests per service and year, median days to close against target."""
    return _service_performance(context(), current_role())


@st.cache_data(ttl=_TTL, max_entries=_ENTRIES, show_spinner=False)
def _datasets(ctx: Context, role: Role) -> pl.DataFrame:
    del role
    with _cursor(ctx) as con:
        return views.dataset_catalogue(con)


def datasets() -> pl.DataFrame:
    """Every store table with its row count and sources."""
    return _datasets(context(), current_role())


@st.cache_data(ttl=_TTL, max_entries=_ENTRIES, show_spinner=False)
def _dataset_cells(ctx: Context, role: Role, table: str, resolution: int) -> views.CellMap:
    with _cursor(ctx) as con:
        if table == "osm_pois":
            return views.poi_counts_by_cell(con, role=role, resolution=resolution)
        return views.dataset_cells(con, table, role=role, resolution=resolution)


def dataset_cells(table: str = "osm_pois", *, resolution: int = 10) -> views.CellMap:
    """Rows of one store table per cell (points of interest by default): data coverage."""
    return _dataset_cells(context(), current_role(), table, resolution)


@st.cache_data(ttl=_TTL, max_entries=_ENTRIES, show_spinner=False)
def _mappable_tables(ctx: Context, role: Role) -> list[str]:
    with _cursor(ctx) as con:
        return views.mappable_tables(con, role=role)


def mappable_tables() -> list[str]:
    """Store tables the viewer may map per cell."""
    return _mappable_tables(context(), current_role())


@st.cache_data(ttl=_TTL, max_entries=_ENTRIES, show_spinner=False)
def _coverage_resolutions(ctx: Context) -> list[int]:
    with _cursor(ctx) as con:
        return views.coverage_resolutions(con)


def coverage_resolutions() -> list[int]:
    """Resolutions at which the whole study area fits on a map, finest first."""
    return _coverage_resolutions(context())


def population_method() -> str:
    """How residents are modelled when no population grid is loaded."""
    return METHOD_TEXT


def walking_method() -> views.WalkingMethod:
    """How walks are computed: the method, the walkable-ways rule and what changed."""
    return views.walking_method()


@st.cache_data(ttl=_TTL, max_entries=_ENTRIES, show_spinner=False)
def _streets(ctx: Context) -> pl.DataFrame:
    with _cursor(ctx) as con:
        return views.street_context(con)


def streets() -> pl.DataFrame:
    """Street segments drawn under every map for orientation."""
    return _streets(context())


def snapshot_label() -> str | None:
    """Which snapshot the figures come from: its build time and id (None without a store)."""
    try:
        ctx = context()
    except StoreMissingError:
        return None
    return _snapshot_label(ctx)


@st.cache_data(max_entries=8, show_spinner=False)
def _snapshot_label(ctx: Context) -> str:
    with _cursor(ctx) as con:
        return views.snapshot_caption(con, Path(ctx.snapshot))


def store_label() -> str:
    """The store file as shown in the sidebar."""
    path = settings.store_path()
    home = os.path.expanduser("~")
    return str(path).replace(home, "~", 1)
