"""Real files from the package registry (fetched once into a cache, never committed)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
from importlib import resources
from pathlib import Path

import duckdb
import pytest

from observatory.store import init_schema

CACHE = Path(os.environ.get("OBSERVATORY_TEST_CACHE", Path.home() / ".cache" / "observatory"))
R5PY_SDIST = "r5py-1.1.7.tar.gz"


def _pythons() -> list[str]:
    """Every python3 on PATH outside this venv (the venv made by uv has no pip), then ours."""
    venv = Path(sys.prefix).resolve()
    found = []
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        if folder and not Path(folder).resolve().is_relative_to(venv):
            python = shutil.which("python3", path=folder)
            if python:
                found.append(python)
    return [*found, sys.executable]


def _pip() -> list[str]:
    """A pip to download with."""
    for python in _pythons():
        if subprocess.run([python, "-m", "pip", "--version"], capture_output=True).returncode == 0:
            return [python, "-m", "pip"]
    pytest.fail("no pip to download the r5py sdist with; run the README's test command")


@pytest.fixture(scope="session")
def broken_gtfs_zip() -> Path:
    """`tests/data/test_broken_gtfs.zip` of the r5py 1.1.7 sdist: a real, broken HSL fragment."""
    target = CACHE / "r5py-1.1.7" / "test_broken_gtfs.zip"
    if not target.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        sdist = CACHE / R5PY_SDIST
        if not sdist.exists():
            subprocess.run([*_pip(), "download", "-q", "--no-deps", "--no-binary", "r5py",
                            "r5py==1.1.7", "-d", str(CACHE)], check=True)
        with tarfile.open(sdist) as archive:
            member = archive.extractfile("r5py-1.1.7/tests/data/test_broken_gtfs.zip")
            assert member is not None
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(member.read())
    return target


@pytest.fixture(scope="session")
def seattle_weather_csv() -> Path:
    """Daily Seattle weather 2012-2015 (NOAA via vega_datasets): a real series."""
    return Path(str(resources.files("vega_datasets") / "_data" / "seattle-weather.csv"))


@pytest.fixture(scope="session")
def seattle_temps_csv() -> Path:
    """Hourly Seattle temperatures 2010 in °F (vega_datasets): a real series."""
    return Path(str(resources.files("vega_datasets") / "_data" / "seattle-temps.csv"))


@pytest.fixture
def empty_con() -> duckdb.DuckDBPyConnection:
    """An in-memory store with the core schema and no study area."""
    con = duckdb.connect()
    init_schema(con)
    return con
