"""Districts connector: polygons from a GeoJSON or GeoPackage file (`observatory ingest
districts PATH`). They replace the districts derived from OpenStreetMap; the forecast step
then rebuilds the population-weighted crosswalk (observatory/districts.py)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import geopandas as gpd
import polars as pl

from data_sources._common import slug, study_area_bounds
from observatory.connectors import Connector, Option, Options, Progress
from observatory.districts import replace_districts
from observatory.errors import SourceFileError
from observatory.store import SourceRecord, file_sha256

TABLES = ("districts", "district_cells")
NAME_COLUMNS = ("name", "nimi", "NAME", "Name", "district", "nom")


def source_id(path: Path, options: Options) -> str:
    """`districts:<file stem>`."""
    return f"districts:{slug(path.stem)}"


def _read(path: Path) -> gpd.GeoDataFrame:
    if not path.is_file():
        raise SourceFileError(f"{path}: not found. Give a GeoJSON or GeoPackage of polygons.")
    try:
        shapes = gpd.read_file(path)
    except Exception as exc:  # pyogrio raises several types for unreadable files
        raise SourceFileError(f"{path}: cannot be read as GeoJSON/GeoPackage "
                              f"({str(exc).splitlines()[0]}).") from exc
    if shapes.empty:
        raise SourceFileError(f"{path}: no features; give one polygon per district.")
    if shapes.crs is None:
        shapes = shapes.set_crs("EPSG:4326")
    return shapes.to_crs("EPSG:4326").reset_index(drop=True)


def _name_column(path: Path, shapes: gpd.GeoDataFrame, options: Options) -> str:
    asked = options.get("name_field")
    found = [str(asked)] if asked else [c for c in NAME_COLUMNS if c in shapes.columns]
    if not found or found[0] not in shapes.columns:
        columns = ", ".join(c for c in shapes.columns if c != "geometry")
        raise SourceFileError(f"{path}: no district name column (looked for "
                              f"{', '.join([str(asked)] if asked else NAME_COLUMNS)}; the file "
                              f"has {columns}); name it with --name-field.")
    return found[0]


def _check(path: Path, shapes: gpd.GeoDataFrame, column: str) -> None:
    polygon = shapes.geometry.geom_type.isin(["Polygon", "MultiPolygon"])
    bad = shapes[~polygon | shapes.geometry.isna() | ~shapes.geometry.is_valid
                 | shapes[column].isna()]
    if len(bad):
        features = ", ".join(str(i + 1) for i in bad.index[:5])
        raise SourceFileError(f"{path}: feature {features}{', …' if len(bad) > 5 else ''} "
                              f"has no polygon, an invalid geometry or no `{column}`; fix or "
                              "remove it.")


def ingest(con: duckdb.DuckDBPyConnection, path: Path, progress: Progress,
           options: Options) -> SourceRecord:
    """Load district polygons; they replace any districts in the store."""
    shapes = _read(path)
    column = _name_column(path, shapes, options)
    _check(path, shapes, column)
    bounds = study_area_bounds(con)
    if bounds is not None:
        from shapely.geometry import box

        south, north, west, east = bounds
        if not shapes.intersects(box(west, south, east, north)).any():
            raise SourceFileError(f"{path}: no district overlaps the study area (lat {south:.3f}"
                                  f"–{north:.3f}, lon {west:.3f}–{east:.3f}); wrong file or CRS?")
    sid = source_id(path, options)
    centres = shapes.geometry.representative_point()
    frame = pl.DataFrame({
        "district_id": [f"{slug(path.stem)}-{i + 1}" for i in range(len(shapes))],
        "name": shapes[column].astype(str).tolist(), "source_id": sid, "method": "boundary",
        "geometry_wkt": shapes.geometry.to_wkt().tolist(),
        "lat": centres.y.tolist(), "lon": centres.x.tolist()})
    replace_districts(con, frame)
    progress(f"{frame.height} districts")
    return SourceRecord(
        source_id=sid, type="districts", path=str(path), sha256=file_sha256(path),
        licence=str(options.get("licence") or "not stated"),
        row_counts={"districts": frame.height, "district_cells": 0},
        notes=f"{frame.height} districts; replaces those derived from OpenStreetMap")


connector = Connector(
    name="districts", help="district boundaries (GeoJSON or GeoPackage polygons)",
    ingest=ingest, tables=TABLES, source_id=source_id,
    options=(
        Option("name_field", "property holding the district name (default: name, nimi, …)"),
        Option("licence", "the data's licence"),
    ),
)
