"""Population grids: points, H3 cells and polygons; totals conserved; modelled replaced."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import h3
import pytest

from observatory.build import ingest_into
from observatory.store import connect_in_place


def _total(con: duckdb.DuckDBPyConnection) -> float:
    return con.execute("SELECT sum(population) FROM population_cells").fetchall()[0][0]


def test_points_replace_the_modelled_population(store_copy: Path, tmp_path: Path) -> None:
    path = tmp_path / "points.csv"
    path.write_text("lat,lon,population\n60.170,24.940,120\n60.172,24.945,80\n"
                    "60.171,24.946,-5\n8.17,24.95,10\n")
    con = connect_in_place(store_copy)
    # two places span a third of the study area: refused without --force (tests/
    # test_real_mistakes.py), loaded with it and said
    record = ingest_into(con, "population", path, options={"force": True})
    methods = con.execute("SELECT DISTINCT method FROM population_cells").fetchall()
    sources = [r[0] for r in con.execute("SELECT source_id FROM sources WHERE type LIKE "
                                         "'population%'").fetchall()]
    walk = con.execute("SELECT sum(residents) FROM walk_access_origins WHERE category = "
                       "'grocery'").fetchall()[0][0]
    total = _total(con)
    con.close()
    assert total == 210 and methods == [("grid",)] and sources == ["population:points"]
    assert walk == pytest.approx(210)  # walk access re-ran on the grid: every resident counted
    issues = "\n".join(record.issues)
    assert "1 row with a `population` that is not a number ≥ 0 (line 4" in issues
    assert "1 row outside the study area (a typo in lat/lon?) (line 5" in issues
    assert "% of the study area" in issues and "loaded with --force (21,936 residents" in issues


def test_coarse_cells_are_split_evenly(empty_con: duckdb.DuckDBPyConnection,
                                       tmp_path: Path) -> None:
    coarse = h3.latlng_to_cell(60.17, 24.94, 9)
    path = tmp_path / "cells.csv"
    path.write_text(f"cell,people\n{coarse},700\n{h3.latlng_to_cell(60.18, 24.95, 10)},50\n"
                    "not-a-cell,3\n")
    record = ingest_into(empty_con, "population", path, options={"cell": "cell",
                                                                 "population": "people"})
    assert _total(empty_con) == pytest.approx(750)
    assert record.row_counts == {"population_cells": 8}
    assert any("1 row with an invalid H3 cell (line 4" in i for i in record.issues)


def test_polygons_are_apportioned_by_area(empty_con: duckdb.DuckDBPyConnection,
                                          tmp_path: Path) -> None:
    square = [[24.935, 60.165], [24.950, 60.165], [24.950, 60.175], [24.935, 60.175],
              [24.935, 60.165]]
    features = [{"type": "Feature", "properties": {"pop": 1000},
                 "geometry": {"type": "Polygon", "coordinates": [square]}},
                {"type": "Feature", "properties": {"pop": -1},
                 "geometry": {"type": "Polygon", "coordinates": [square]}}]
    path = tmp_path / "districts.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    record = ingest_into(empty_con, "population", path, options={"population": "pop"})
    assert _total(empty_con) == pytest.approx(1000)
    assert record.row_counts["population_cells"] > 50
    assert any("features 2" in i for i in record.issues)
