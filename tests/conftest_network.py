"""Fixtures of the walking-network and accessibility tests: one real Helsinki store per session.

Loaded as a plugin by tests/test_network.py, tests/test_accessibility.py and
tests/test_bench_accessibility.py (`pytest_plugins`). The store is built without the
rest of the registry so that these tests depend only on the accessibility definitions.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from observatory.accessibility import AccessModel, compute_walk_access, model_from_store
from observatory.build import default_pbf, ingest_into
from observatory.connectors import silent_progress
from observatory.datasets import known_datasets
from observatory.registry import Registry, load_registry
from observatory.registry.engine import RunResult, compute_all
from observatory.settings import indicators_dir
from observatory.store import SourceRecord, connect_read, record_source, write_session


def accessibility_registry(con: duckdb.DuckDBPyConnection) -> Registry:
    """The definitions under indicators/accessibility/, validated against the store."""
    return load_registry(indicators_dir() / "accessibility", known_inputs=known_datasets(con))


@dataclass(frozen=True)
class WalkStore:
    """A Helsinki store with walk access and the accessibility indicators computed."""

    path: Path
    record: SourceRecord
    results: dict[str, RunResult]

    def connect(self) -> duckdb.DuckDBPyConnection:
        """A read-only connection."""
        return connect_read(self.path)


def build_walk_store(path: Path) -> WalkStore:
    """Ingest the embedded extract, compute walk access and the accessibility indicators."""
    with write_session(path, fresh=True) as con:
        ingest_into(con, "osm", default_pbf())
        record = compute_walk_access(con, progress=silent_progress)
        record_source(con, record)
        results = compute_all(con, accessibility_registry(con))
    return WalkStore(path=path, record=record, results={r.indicator: r for r in results})


@pytest.fixture(scope="session")
def walk_store(tmp_path_factory: pytest.TempPathFactory) -> WalkStore:
    """The shared store (read only: copy it with `walk_store_copy` to change it)."""
    return build_walk_store(tmp_path_factory.mktemp("walk") / "walk.duckdb")


@pytest.fixture(scope="session")
def walk_model(walk_store: WalkStore) -> AccessModel:
    """The accessibility model of the shared store (do not change it in a test)."""
    con = walk_store.connect()
    try:
        return model_from_store(con)
    finally:
        con.close()
