"""Population grid connector: points or H3 cells (CSV), or polygons (GeoPackage, GeoJSON).

Polygons are apportioned to resolution-10 H3 cells by the area of their intersection, so
each polygon's population is conserved; coarser H3 cells are split evenly over their
resolution-10 children. A loaded grid replaces the modelled population, so a grid that
spans less than MIN_STUDY_SHARE of the study area (a file cut short, one district) is
refused unless `--force` is given; an infinite or implausible count is refused with its
line.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import polars as pl
import polars_h3 as plh3
import shapely

from data_sources._common import (
    LINE,
    describe_rows,
    outside_area,
    read_text_table,
    slug,
    study_area_bounds,
)
from observatory.connectors import Connector, Option, Options, Progress
from observatory.errors import SourceFileError
from observatory.h3grid import BASE_RESOLUTION
from observatory.store import SourceRecord, file_sha256

TABLES = ("population_cells",)
POLYGON_SUFFIXES = (".gpkg", ".geojson", ".json", ".shp")
MAX_RESIDENTS = 1e9  # per row or feature: more is a broken value, not a place
MIN_STUDY_SHARE = 0.5  # of the study area's cells the grid must span, without --force
_SPAN_MARGIN_M = 150.0  # a cell's centre this close to the grid's span counts as spanned
_NEAR_M = 1_000.0  # the grid's cells this close to the study area's bounds make its span


def _cell_id(text: str | None) -> int | None:
    if text is None:
        return None
    text = text.strip()
    try:
        value = int(text) if text.isdigit() else h3.str_to_int(text)
    except (ValueError, TypeError):
        return None
    return value if h3.is_valid_cell(h3.int_to_str(value)) else None


def _split_cells(frame: pl.DataFrame) -> pl.DataFrame:
    """Cells at any resolution to resolution 10: coarser ones split evenly, finer ones summed."""
    rows: dict[int, float] = {}
    for cell, people in frame.select("cell", "population").iter_rows():
        text = h3.int_to_str(cell)
        res = h3.get_resolution(text)
        if res <= BASE_RESOLUTION:
            children = h3.cell_to_children(text, BASE_RESOLUTION)
            for child in children:
                key = h3.str_to_int(child)
                rows[key] = rows.get(key, 0.0) + people / len(children)
        else:
            key = h3.str_to_int(h3.cell_to_parent(text, BASE_RESOLUTION))
            rows[key] = rows.get(key, 0.0) + people
    return pl.DataFrame({"h3_cell": list(rows), "population": list(rows.values())},
                        schema={"h3_cell": pl.Int64, "population": pl.Float64})


def _from_csv(path: Path, options: Options, issues: list[str],
              bounds: tuple[float, ...] | None) -> pl.DataFrame:
    column = str(options.get("population") or "population")
    cell_column = options.get("cell")
    required = [column, str(cell_column)] if cell_column else [column, str(options.get("lat") or
                                                                           "lat"),
                                                                str(options.get("lon") or "lon")]
    frame = read_text_table(path, required=required, rows_required=True).with_columns(
        pl.col(column).cast(pl.Float64, strict=False).fill_nan(None).alias("__people"))
    huge = frame.filter(pl.col("__people").abs() > MAX_RESIDENTS)
    if huge.height:
        raise SourceFileError(
            f"{path} line {huge[LINE][0]}: `{column}` {huge[column][0]!r} is not a number of "
            f"residents (infinite, or more than {MAX_RESIDENTS:.0e}); fix the value "
            f"({huge.height} such row{'s' if huge.height > 1 else ''}).")
    bad = frame.filter(pl.col("__people").is_null() | (pl.col("__people") < 0))
    _note(issues, describe_rows(str(path), bad, f"with a `{column}` that is not a number ≥ 0",
                                column=column))
    frame = frame.join(bad.select(LINE), on=LINE, how="anti").drop(
        "population", strict=False).rename({"__people": "population"})
    if cell_column:
        frame = frame.with_columns(pl.col(str(cell_column)).map_elements(
            _cell_id, return_dtype=pl.Int64).alias("cell"))
        invalid = frame.filter(pl.col("cell").is_null())
        _note(issues, describe_rows(str(path), invalid, "with an invalid H3 cell",
                                    column=str(cell_column)))
        return _split_cells(frame.filter(pl.col("cell").is_not_null()))
    lat, lon = str(options.get("lat") or "lat"), str(options.get("lon") or "lon")
    points = frame.with_columns(pl.col(lat).cast(pl.Float64, strict=False).alias("lat"),
                                pl.col(lon).cast(pl.Float64, strict=False).alias("lon"))
    unplaced = points.filter(pl.col("lat").is_null() | pl.col("lon").is_null()
                             | (pl.col("lat").abs() > 90) | (pl.col("lon").abs() > 180))
    _note(issues, describe_rows(str(path), unplaced, "with missing or impossible coordinates",
                                column=lat))
    points = points.join(unplaced.select(LINE), on=LINE, how="anti")
    far = points.filter(outside_area(bounds, pl.col("lat"), pl.col("lon")))
    _note(issues, describe_rows(str(path), far, "outside the study area (a typo in lat/lon?)",
                                column=lat, action="kept; they count in no study-area cell"))
    return (points.with_columns(plh3.latlng_to_cell("lat", "lon", BASE_RESOLUTION)
                                .cast(pl.Int64).alias("h3_cell"))
            .group_by("h3_cell").agg(pl.col("population").sum()))


def _covering_cells(geometry: object) -> list[int]:
    cells = set(h3.geo_to_cells(geometry, BASE_RESOLUTION))
    minx, miny, maxx, maxy = geometry.bounds  # type: ignore[attr-defined]
    for lng, lat in ((minx, miny), (maxx, maxy), (minx, maxy), (maxx, miny)):
        cells.add(h3.latlng_to_cell(lat, lng, BASE_RESOLUTION))
    ring = set()
    for cell in cells:
        ring.update(h3.grid_disk(cell, 1))
    return [h3.str_to_int(c) for c in ring]


def _from_polygons(path: Path, options: Options, issues: list[str]) -> pl.DataFrame:
    from shapely.geometry import Polygon

    column = str(options.get("population") or "population")
    try:
        shapes = gpd.read_file(path)
    except Exception as exc:  # pyogrio raises several types for unreadable files
        raise SourceFileError(f"{path}: cannot be read as GeoPackage/GeoJSON "
                              f"({str(exc).splitlines()[0]}).") from exc
    if column not in shapes.columns:
        raise SourceFileError(f"{path}: no column `{column}` (columns: "
                              f"{', '.join(c for c in shapes.columns if c != 'geometry')}); "
                              "name it with --population.")
    if shapes.empty:
        raise SourceFileError(f"{path}: no features; nothing to load.")
    shapes = shapes.to_crs("EPSG:4326").reset_index(drop=True)
    shapes["population"] = pd.to_numeric(shapes[column], errors="coerce")
    huge = shapes.index[shapes["population"].abs() > MAX_RESIDENTS]
    if len(huge):
        raise SourceFileError(
            f"{path}: feature {huge[0] + 1}: `{column}` {shapes[column][huge[0]]!r} is not a "
            f"number of residents (infinite, or more than {MAX_RESIDENTS:.0e}); fix the value.")
    bad = shapes[shapes["population"].isna() | (shapes["population"] < 0)
                 | shapes.geometry.isna() | ~shapes.geometry.is_valid]
    if len(bad):
        issues.append(f"{path}: {len(bad)} features with a missing or negative `{column}` or an "
                      f"invalid geometry (features {', '.join(str(i + 1) for i in bad.index[:5])}"
                      f"{', …' if len(bad) > 5 else ''}); skipped.")
    shapes = shapes.drop(index=bad.index)
    cells = sorted({c for g in shapes.geometry for c in _covering_cells(g)})
    grid = gpd.GeoDataFrame({"h3_cell": cells}, crs="EPSG:4326", geometry=[
        Polygon([(lng, lat) for lat, lng in h3.cell_to_boundary(h3.int_to_str(c))])
        for c in cells])
    shapes = shapes.assign(feature=range(len(shapes)))[["feature", "population", "geometry"]]
    metric = shapes.estimate_utm_crs()
    pieces = gpd.overlay(shapes.to_crs(metric), grid.to_crs(metric), how="intersection")
    pieces["area"] = pieces.geometry.area
    pieces["share"] = pieces["area"] / pieces.groupby("feature")["area"].transform("sum")
    pieces["people"] = pieces["population"] * pieces["share"]
    summed = pieces.groupby("h3_cell")["people"].sum()
    return pl.DataFrame({"h3_cell": summed.index.astype("int64"), "population": summed.values})


def study_share(con: duckdb.DuckDBPyConnection, cells: pl.DataFrame) -> tuple[int, int]:
    """(spanned, all): how many of the study area's cells lie within the span of the
    grid's populated cells (their convex hull, _SPAN_MARGIN_M wider), and how many there
    are; (0, 0) before any study area is loaded.

    The span, not the populated cells themselves: a complete 250 m grid has one point per
    square and leaves most resolution-10 cells (parks, water, other squares' cells) empty.
    """
    exists = con.execute("SELECT count(*) FROM information_schema.tables "
                         "WHERE table_name = 'study_cells'").fetchall()[0][0]
    study = (con.sql("SELECT lat, lon FROM study_cells").pl() if exists
             else pl.DataFrame(schema={"lat": pl.Float64, "lon": pl.Float64}))
    if study.height == 0:
        return 0, 0
    # an equirectangular plane around the study area, in metres
    scale = np.cos(np.radians(float(study["lat"].mean())))
    # only the grid near the study area: a point far away (a typo) would stretch the hull
    near = _NEAR_M / 111_320.0
    grid = cells.select(plh3.cell_to_lat("h3_cell").alias("lat"),
                        plh3.cell_to_lng("h3_cell").alias("lon")).filter(
        pl.col("lat").is_between(study["lat"].min() - near, study["lat"].max() + near),
        pl.col("lon").is_between(study["lon"].min() - near / scale,
                                 study["lon"].max() + near / scale))
    if grid.height == 0:
        return 0, study.height

    def metres(frame: pl.DataFrame) -> np.ndarray:
        return np.column_stack([frame["lon"].to_numpy() * scale,
                                frame["lat"].to_numpy()]) * 111_320.0

    span = shapely.multipoints(metres(grid)).convex_hull.buffer(_SPAN_MARGIN_M)
    xy = metres(study)
    return int(shapely.contains_xy(span, xy[:, 0], xy[:, 1]).sum()), study.height


def _check_coverage(con: duckdb.DuckDBPyConnection, path: Path, rows: pl.DataFrame, *,
                    force: bool, issues: list[str]) -> str:
    """`, spanning N % of the study area` for the notes; SourceFileError when the grid
    spans less than MIN_STUDY_SHARE of it and `force` is not given."""
    spanned, total = study_share(con, rows)
    if total == 0:
        return ""
    share = spanned / total
    said = (f"spans {100 * share:.3g} % of the study area ({spanned} of its {total} "
            "resolution-10 cells lie within the span of its populated cells)")
    if share >= MIN_STUDY_SHARE:
        return f", spanning {100 * share:.3g} % of the study area"
    before = con.execute("SELECT coalesce(sum(population), 0) FROM population_cells"
                         ).fetchall()[0][0]
    replaced = (f"the {before:,.0f} residents in the store would become "
                f"{rows['population'].sum():,.0f}")
    if not force:
        raise SourceFileError(
            f"{path}: the grid {said}; loading it, {replaced}. Give a grid of the whole study "
            f"area, or --force to load this one anyway (less than "
            f"{100 * MIN_STUDY_SHARE:.0f} % is refused without it).")
    issues.append(f"{path}: the grid {said}; loaded with --force ({before:,.0f} residents "
                  f"before, {rows['population'].sum():,.0f} after).")
    return f", spanning only {100 * share:.3g} % of the study area (--force)"


def _note(issues: list[str], message: str | None) -> None:
    if message:
        issues.append(message)


def source_id(path: Path, options: Options) -> str:
    """`population:<file stem>`."""
    return f"population:{slug(path.stem)}"


def ingest(con: duckdb.DuckDBPyConnection, path: Path, progress: Progress,
           options: Options) -> SourceRecord:
    """Load a population grid; it replaces any other population in the store."""
    if not path.is_file():
        raise SourceFileError(f"{path}: not found. Give a CSV, GeoPackage or GeoJSON file.")
    issues: list[str] = []
    polygons = path.suffix.lower() in POLYGON_SUFFIXES
    cells = (_from_polygons(path, options, issues) if polygons
             else _from_csv(path, options, issues, study_area_bounds(con)))
    sid = source_id(path, options)
    rows = cells.filter(pl.col("population") > 0).select(
        pl.col("h3_cell").cast(pl.Int64), "population", pl.lit("grid").alias("method"),
        pl.lit(sid).alias("source_id"))
    if rows.height == 0:
        skipped = f" ({' '.join(issues)})" if issues else ""
        raise SourceFileError(f"{path}: no residents to load{skipped}. Give a grid with a "
                              "population above 0 in at least one place.")
    coverage = _check_coverage(con, path, rows, force=bool(options.get("force")),
                               issues=issues)
    con.execute("DELETE FROM population_cells")
    con.execute("DELETE FROM sources WHERE type IN ('population_model', 'population')")
    con.register("_rows", rows.to_arrow())
    con.execute("INSERT INTO population_cells BY NAME SELECT * FROM _rows")
    con.unregister("_rows")
    total = float(rows["population"].sum())
    progress(f"{rows.height} populated cells, {total:.0f} residents{coverage}")
    return SourceRecord(
        source_id=sid, type="population", path=str(path), sha256=file_sha256(path),
        licence=str(options.get("licence") or "not stated"),
        row_counts={"population_cells": rows.height}, issues=issues,
        expected_cadence_days=int(options.get("cadence_days") or 365),
        notes=f"{total:.0f} residents{coverage}; replaces the modelled population",
    )


connector = Connector(
    name="population", help="a population grid (CSV points or H3 cells, GeoPackage, GeoJSON)",
    ingest=ingest, tables=TABLES, source_id=source_id,
    options=(
        Option("population", "column holding the population (default `population`)"),
        Option("cell", "CSV column holding H3 cells (hex or integer), instead of lat/lon"),
        Option("lat", "CSV column holding the latitude (default `lat`)"),
        Option("lon", "CSV column holding the longitude (default `lon`)"),
        Option("licence", "the data's licence"),
        Option("cadence_days", "days within which new data is expected", kind=int,
               default=365),
        # A flag (`--force`, no value) once the CLI maps kind=bool to store_true.
        Option("force", f"load the grid even when it spans less than "
               f"{100 * MIN_STUDY_SHARE:.0f} %% of the study area", kind=bool),
    ),
)
